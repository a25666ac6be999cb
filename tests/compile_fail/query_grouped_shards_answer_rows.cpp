// A grouped query's shards answer partial tables (sg::local::run), not their rows.
// expect: sg::gather(query): the query groups, so each shard answers its partial table
#include <sg/sg.hpp>
#include <vector>
struct order { int region; };
struct raw_shard {
  std::vector<order> rows;
  std::vector<order> execute(auto const&) const { return rows; }
};
int main() {
  auto q = sg::query(sg::group_by(&order::region), sg::aggregate(sg::agg::count()));
  std::vector<raw_shard> shards(2);
  auto pipe = sg::scatter(shards) | sg::gather(q);
  auto r = pipe(q);
  (void)r;
}
