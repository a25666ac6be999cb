// scatter takes a set of shards, not one shard.
// expect: sg::scatter: the argument is not a shard set
#include <sg/sg.hpp>
struct one_shard {
  int execute(int x) const { return x; }
};
int main() {
  one_shard s;
  auto pipe = sg::scatter(s);
  (void)pipe;
}
