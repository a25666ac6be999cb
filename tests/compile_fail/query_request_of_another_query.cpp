// A pipeline built for query q runs q: a request that is another query is refused.
// expect: sg::gather(q): the request is a different query from the one the pipeline
#include <sg/sg.hpp>
#include <vector>
struct row {
  int k;
  long v;
};
struct shard {
  std::vector<row> rows;
  auto execute(auto const& q) const { return sg::local::run(q, rows); }
};
int main() {
  std::vector<shard> shards(2);
  auto top = sg::query(sg::order_by(sg::desc(&row::v)), sg::limit(10));
  auto filtered = sg::query(sg::where(sg::gt(&row::v, 5L)), sg::limit(10));
  auto pipe = sg::scatter(shards) | sg::gather(top);
  auto r = pipe(filtered);
  (void)r;
}
