// concat merges ranges of rows; these shards answer a single int.
// expect: sg::gather: the merge cannot take the shards' answer type (sg::merge_for)
#include <sg/sg.hpp>
#include <vector>
int main() {
  std::vector<int (*)(int)> shards{+[](int x) { return x; }};
  auto pipe = sg::scatter(shards) | sg::gather(sg::merge::concat());
  auto r = pipe(42);
  (void)r;
}
