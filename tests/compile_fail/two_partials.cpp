// One completion rule per pipeline.
// expect: sg::with: two policies of the same kind
#include <sg/sg.hpp>
int main() {
  auto w = sg::with(sg::partial{.min_success_ratio = 0.5}, sg::partial{.min_success_ratio = 0.9});
  (void)w;
}
