// A fixture for the include-direction test: core reaching up into model must be refused.
#pragma once
#include <pvmkit/model/thing.hpp>
