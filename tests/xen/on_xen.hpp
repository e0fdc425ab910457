// Whether this machine runs on Xen (as dom0): the tests of opening a backend without a hypervisor
// do not apply there.
#pragma once

#include <filesystem>

namespace pvmkit::test {

inline bool on_xen() { return std::filesystem::exists("/proc/xen/capabilities") || std::filesystem::exists("/dev/xen/privcmd"); }

}  // namespace pvmkit::test
