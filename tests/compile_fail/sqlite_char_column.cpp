// A char read from SQLite could be an INTEGER (its code) or TEXT (one letter); sg does not
// guess.
// expect: sg::sqlite: a char (or wchar_t, char8_t, char16_t, char32_t) column or value could be an INTEGER
#include <sg/adapters/sqlite.hpp>
int main() {
  sg::sqlite::connection db(":memory:");
  return static_cast<int>(db.rows<char>("SELECT 65").size());
}
