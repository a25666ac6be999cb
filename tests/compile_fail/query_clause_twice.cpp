// Each clause at most once.
// expect: sg::query: a clause is given twice
#include <sg/sg.hpp>
int main() {
  auto q = sg::query(sg::limit(10), sg::where([](int x) { return x > 0; }), sg::limit(5));
  (void)q;
}
