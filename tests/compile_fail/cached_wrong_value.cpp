// A cache holds the pipeline's results: its value type must be sg::gathered<T> of them.
// expect: sg::cached: the cache's value type must be the pipeline's result type
#include <sg/sg.hpp>
#include <vector>
struct shard {
  std::vector<int> execute(int r) const { return {r}; }
};
int main() {
  std::vector<shard> shards(2);
  sg::cache<int, std::vector<int>> results;
  auto pipe = sg::scatter(shards) | sg::gather(sg::merge::concat()) | sg::cached(results);
  pipe(1);
}
