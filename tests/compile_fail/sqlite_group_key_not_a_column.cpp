// A group key comes back from SQLite as a column value, so it must have a column type.
// expect: sg::sqlite: each sg::group_by key must give a column type
#include <sg/adapters/sqlite_query.hpp>
#include <sg/agg/count.hpp>
#include <cstdint>
#include <utility>
struct sale {
  std::int64_t id;
  std::int64_t store;
};
int main() {
  sg::sqlite::table_shard<sale> s(":memory:", sg::sqlite::table<sale>("sales", {"id", "store"}));
  auto q = sg::query(sg::group_by([](sale const& r) { return std::pair<std::int64_t, std::int64_t>(r.store, 1); }),
                     sg::aggregate(sg::agg::count()));
  return static_cast<int>(s.execute(q).size());
}
