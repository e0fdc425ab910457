// Umbrella header: the core (no hwloc, no Xen). Components have their own headers.
#pragma once

#include <pvmkit/backend/concepts.hpp>
#include <pvmkit/backend/host_view.hpp>
#include <pvmkit/backend/mock.hpp>
#include <pvmkit/controller.hpp>
#include <pvmkit/core/clock.hpp>
#include <pvmkit/core/error.hpp>
#include <pvmkit/core/id_set.hpp>
#include <pvmkit/core/ids.hpp>
#include <pvmkit/core/json_writer.hpp>
#include <pvmkit/core/result.hpp>
#include <pvmkit/core/units.hpp>
#include <pvmkit/decision.hpp>
#include <pvmkit/plan.hpp>
#include <pvmkit/policy.hpp>
#include <pvmkit/topology/topology.hpp>
