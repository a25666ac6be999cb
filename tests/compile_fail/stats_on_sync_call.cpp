// Statistics of attempts come from the asynchronous gather.
// expect: sg::deadline and sg::timeout apply to pipe.async(request, token), as do sg::retry, sg::hedge, sg::breaker, sg::observe and sg::collect_stats
#include <sg/sg.hpp>
#include <vector>
int main() {
  std::vector<std::vector<int>> shards{{1}, {2}};
  auto pipe = sg::scatter(shards) | sg::with(sg::collect_stats{}) | sg::gather(sg::merge::concat());
  auto r = pipe([](std::vector<int> const& rows) { return rows; });
  (void)r;
}
