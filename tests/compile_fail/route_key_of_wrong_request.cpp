// The key function must accept the request.
// expect: sg::route: the key function cannot be called with the request
#include <sg/sg.hpp>
#include <string>
#include <vector>
int main() {
  std::vector<std::vector<int>> shards(4);
  auto pipe = sg::scatter(shards) |
              sg::route(sg::partition::jump<>(4), [](std::string const& s) { return s.size(); }) |
              sg::gather(sg::merge::concat());
  auto r = pipe([](std::vector<int> const& v) { return v; });
  (void)r;
}
