// The guest the libvirt tests start on libvirt's test driver (test:///default: two NUMA cells of
// eight CPUs, 0-7 and 8-15), and what they read back through libvirt itself.
#pragma once

#include <pvmkit/core/ids.hpp>
#include <pvmkit/libvirt/libvirt_backend.hpp>
#include <pvmkit/libvirt/libvirt_error.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <string>

namespace pvmkit::test {

inline const cpuset node0_cpus = cpuset::range(0, 8);
inline const cpuset node1_cpus = cpuset::range(8, 16);

// A running test-driver guest on node 1: 4 vCPUs pinned to cells 1's CPUs, memory bound to cell 1,
// two I/O threads and a passed-through PCI device. Destroyed with the fixture.
class test_guest {
 public:
  explicit test_guest(virConnectPtr conn, std::string extra_devices = {}) {
    static std::atomic<int> serial{0};
    name_ = "pvmkit-g" + std::to_string(serial++);
    const std::string xml = "<domain type='test'><name>" + name_ +
                            "</name><memory>1048576</memory><currentMemory>524288</currentMemory>"
                            "<vcpu placement='static' cpuset='8-15'>4</vcpu><iothreads>2</iothreads>"
                            "<numatune><memory mode='strict' nodeset='1'/></numatune><os><type>hvm</type></os>"
                            "<devices>" + extra_devices + "</devices></domain>";
    dom_ = virDomainCreateXML(conn, xml.c_str(), 0);
    REQUIRE_MESSAGE(dom_ != nullptr, "the test driver refused the guest: " << last_libvirt_error("virDomainCreateXML").message());
  }
  ~test_guest() {
    if (dom_) {
      (void)virDomainDestroy(dom_);
      virDomainFree(dom_);
    }
  }
  test_guest(const test_guest&) = delete;
  test_guest& operator=(const test_guest&) = delete;

  [[nodiscard]] domain_id id() const { return domain_id{virDomainGetID(dom_)}; }
  [[nodiscard]] const std::string& name() const { return name_; }
  [[nodiscard]] virDomainPtr handle() const { return dom_; }

  // What libvirt itself says, not what the backend reports.
  [[nodiscard]] cpuset emulator_pin() const {
    unsigned char map[2] = {0, 0};
    REQUIRE(virDomainGetEmulatorPinInfo(dom_, map, 2, 0) >= 0);
    return to_set(map);
  }
  [[nodiscard]] cpuset iothread_pin(unsigned id) const {
    virDomainIOThreadInfoPtr* info = nullptr;
    const int n = virDomainGetIOThreadInfo(dom_, &info, 0);
    REQUIRE(n >= 0);
    cpuset out;
    for (int i = 0; i < n; ++i) {
      if (info[i]->iothread_id == id) out = to_set(info[i]->cpumap, static_cast<std::size_t>(info[i]->cpumaplen));
      virDomainIOThreadInfoFree(info[i]);
    }
    std::free(info);
    return out;
  }
  [[nodiscard]] cpuset vcpu_pin(unsigned v) const {
    unsigned char maps[8 * 2] = {};
    const int n = virDomainGetVcpuPinInfo(dom_, 8, maps, 2, 0);
    REQUIRE(n > static_cast<int>(v));
    return to_set(maps + 2 * v);
  }

  static cpuset to_set(const unsigned char* map, std::size_t len = 2) {
    cpuset s;
    for (std::size_t i = 0; i < len * 8; ++i)
      if (map[i / 8] & (1U << (i % 8))) s.insert(cpu_id{static_cast<cpu_id::rep>(i)});
    return s;
  }

 private:
  std::string name_;
  virDomainPtr dom_ = nullptr;
};

inline const std::string hostdev =
    "<hostdev mode='subsystem' type='pci' managed='yes'><source>"
    "<address domain='0x0000' bus='0x06' slot='0x12' function='0x5'/></source></hostdev>";

inline libvirt_options test_host() { return {"test:///default", {}, true}; }

}  // namespace pvmkit::test
