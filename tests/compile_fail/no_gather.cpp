// A pipeline without a merge cannot answer.
// expect: sg: the pipeline has no merge: end it with | sg::gather(merge)
#include <sg/sg.hpp>
#include <vector>
int main() {
  std::vector<std::vector<int>> shards{{1}};
  auto pipe = sg::scatter(shards) | sg::with(sg::partial{});
  auto r = pipe([](std::vector<int> const& v) { return v; });
  (void)r;
}
