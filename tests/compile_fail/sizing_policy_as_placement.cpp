// A sizing policy is not a placement policy, though both have decide(): the family is a type, so
// any_placement_policy refuses it at compile time.
// expect: placement_family
#include <pvmkit/runtime/any_policy.hpp>
#include <pvmkit/sizing/static_xen_default.hpp>

int main() {
  pvmkit::runtime::any_placement_policy p{pvmkit::sizing::static_xen_default{}};
  (void)p;
}
