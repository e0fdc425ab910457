// A controller only takes policies: a type without decide() is refused by the Policy concept.
// expect: Policy
#include <pvmkit/backend/mock.hpp>
#include <pvmkit/controller.hpp>

namespace {
struct not_a_policy {
  [[nodiscard]] std::string_view name() const { return "nothing to decide"; }
};
}  // namespace

int main() {
  pvmkit::mock_host host{pvmkit::make_uniform_topology(1, 1, pvmkit::bytes{1ULL << 30})};
  pvmkit::controller<pvmkit::mock_host, not_a_policy> ctl{host, not_a_policy{}};
  (void)ctl;
}
