// A type that answers nothing is not a shard.
// expect: sg::scatter: a shard in the set is not a shard for Req (sg::shard_for)
#include <sg/sg.hpp>
#include <vector>
struct not_a_shard {};
int main() {
  std::vector<not_a_shard> shards(2);
  auto pipe = sg::scatter(shards) | sg::gather(sg::merge::concat());
  auto r = pipe(42);
  (void)r;
}
