// sg::with takes policies only.
// expect: sg::with: an argument is not a policy
#include <sg/sg.hpp>
int main() {
  auto w = sg::with(0.5);
  (void)w;
}
