// A time limit needs the asynchronous gather: a synchronous call cannot interrupt a shard.
// expect: sg::deadline and sg::timeout apply to pipe.async(request, token)
#include <sg/sg.hpp>
#include <chrono>
#include <vector>
int main() {
  using namespace std::chrono_literals;
  std::vector<std::vector<int>> shards{{1}, {2}};
  auto pipe = sg::scatter(shards) | sg::with(sg::deadline{100ms}) | sg::gather(sg::merge::concat());
  auto r = pipe([](std::vector<int> const& rows) { return rows; });
  (void)r;
}
