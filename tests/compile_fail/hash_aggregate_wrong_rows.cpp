// The key projection names a member of another row type than the shards answer.
// expect: sg::merge::hash_aggregate: the answers are neither partial tables nor rows
#include <sg/sg.hpp>
#include <vector>
struct order {
  int region;
};
struct customer {
  int id;
};
int main() {
  std::vector<std::vector<customer>> answers{{{1}}};
  auto by_region = sg::merge::hash_aggregate(&order::region, sg::agg::count());
  auto r = by_region(answers);
  (void)r;
}
