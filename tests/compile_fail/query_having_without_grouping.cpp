// HAVING filters groups, so the query must group.
// expect: sg::query: sg::having filters groups
#include <sg/sg.hpp>
int main() {
  auto q = sg::query(sg::having([](auto const&) { return true; }), sg::limit(3));
  (void)q;
}
