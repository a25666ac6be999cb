// A policy of a kind the engine does not apply would be silently ignored: refused.
// expect: sg::with: a policy is of a kind the engine does not know
#include <sg/sg.hpp>
struct my_tag {};
struct my_policy {
  using policy_tag = my_tag;
};
int main() {
  auto w = sg::with(my_policy{});
  (void)w;
}
