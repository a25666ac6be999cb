// The cache stores merged results, so sg::cached comes after sg::gather.
// expect: sg::cached(...) comes last, after sg::gather(...)
#include <sg/sg.hpp>
#include <vector>
struct shard {
  std::vector<int> execute(int r) const { return {r}; }
};
int main() {
  std::vector<shard> shards(2);
  sg::cache<int, sg::gathered<std::vector<int>>> results;
  auto pipe = sg::scatter(shards) | sg::cached(results);
  (void)pipe;
}
