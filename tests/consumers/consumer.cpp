// A user's program: built by both consumer projects (find_package and add_subdirectory)
// with none of sg's own flags, it must compile against <sg/sg.hpp> and run.
#include <sg/sg.hpp>

#include <cstdio>
#include <vector>

int main() {
  std::vector<std::vector<int>> shards{{1, 2}, {3}};
  auto everything = [](std::vector<int> const& rows) { return rows; };
  auto pipe = sg::scatter(shards) | sg::gather(sg::merge::concat());
  sg::gathered r = pipe(everything);
  std::printf("sg %d.%d.%d: %zu rows from %zu shards\n", SG_VERSION_MAJOR, SG_VERSION_MINOR,
              SG_VERSION_PATCH, r.value.size(), r.completeness.succeeded);
  return r.value == std::vector<int>{1, 2, 3} && r.completeness.complete() ? 0 : 1;
}
