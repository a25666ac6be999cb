// The WHERE predicate must take the shard's rows.
// expect: sg::local::run: the sg::where predicate cannot be called with a row
#include <sg/sg.hpp>
#include <string>
#include <vector>
struct order { int region; };
int main() {
  auto q = sg::query(sg::where([](std::string const& s) { return s.empty(); }));
  std::vector<order> rows;
  auto answer = sg::local::run(q, rows);
  (void)answer;
}
