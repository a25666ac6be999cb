// A table's row is a tuple or a struct of columns; a lone column type is not a table row.
// expect: sg::sqlite::table<Row>: Row must be a std::tuple or an aggregate struct
#include <sg/adapters/sqlite_query.hpp>
#include <cstdint>
int main() {
  sg::sqlite::table<std::int64_t> t("ids", {"id"});
  return static_cast<int>(t.columns().size());
}
