// Tuple shards whose answers have no common type.
// expect: sg::scatter: the shards of the tuple answer Req with types that have no common type
#include <sg/sg.hpp>
#include <string>
#include <tuple>
#include <vector>
int main() {
  auto shards = std::make_tuple([](int) { return std::vector<int>{1}; },
                                [](int) { return std::string("one"); });
  auto pipe = sg::scatter(shards) | sg::gather(sg::merge::concat());
  auto r = pipe(42);
  (void)r;
}
