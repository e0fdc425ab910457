// The core alone, compiled with nothing but what pkg-config says.
#include <pvmkit/pvmkit.hpp>

int main() {
  pvmkit::mock_host host{pvmkit::make_uniform_topology(2, 2, pvmkit::bytes{1ULL << 30})};
  return host.snapshot().has_value() ? 0 : 1;
}
