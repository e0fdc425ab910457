// Files for the topology tests: a scratch directory, reading a file whole, and where the test inputs
// in the source tree are.
#pragma once

#include "topology_test_data.hpp"

#include <doctest/doctest.h>

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>

namespace pvmkit::test {

// hwloc's own test exports (tests/topology/data/README.md) and the XML inputs that crashed libhwloc
// or pvmkit (every file there is a regression input).
inline const std::filesystem::path hwloc_exports{PVMKIT_TOPOLOGY_DATA_DIR};
inline const std::filesystem::path xml_crashes{PVMKIT_TOPOLOGY_XML_CRASHES_DIR};

// A fresh directory, removed with everything in it at the end of its scope.
class temp_dir {
 public:
  temp_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "pvmkit-topology-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path_ = tmpl;
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  [[nodiscard]] std::filesystem::path write(const std::string& name, const std::string& text) const {
    const auto p = path_ / name;
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), p.string());
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace pvmkit::test
