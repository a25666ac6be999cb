// Policies go between scatter and gather.
// expect: sg::with(...) must come before sg::gather(...)
#include <sg/sg.hpp>
#include <vector>
int main() {
  std::vector<std::vector<int>> shards{{1}};
  auto pipe = sg::scatter(shards) | sg::gather(sg::merge::concat()) | sg::with(sg::partial{});
  (void)pipe;
}
