// result holds values, never references (a reference into a backend's state would dangle).
// expect: result<T&> is not supported
#include <pvmkit/core/result.hpp>

int main() {
  pvmkit::result<int&> r = pvmkit::unexpected{pvmkit::errc::invalid_argument};
  (void)r;
}
