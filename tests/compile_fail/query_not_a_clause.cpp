// Only clauses make a query.
// expect: sg::query: every argument must be a clause
#include <sg/sg.hpp>
int main() {
  auto q = sg::query(sg::limit(10), [](int x) { return x > 0; });
  (void)q;
}
