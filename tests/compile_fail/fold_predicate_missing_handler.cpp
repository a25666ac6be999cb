// A visitor of sg::fold_predicate that lacks the handler of a node kind the tree holds is
// refused with a sentence naming the handler.
// expect: sg::fold_predicate: the visitor has no v.like(node) for LIKE
#include <sg/query/predicate.hpp>

#include <string>

struct row {
  int n;
  std::string name;
};

// Handles comparisons and AND / OR only.
struct counter {
  template <class N>
  int compare(N const&) const {
    return 1;
  }
  template <class N>
  int logic(N const&, int a, int b) const {
    return a + b;
  }
};

int main() {
  return sg::fold_predicate(sg::eq(&row::n, 1) && sg::like(&row::name, "a%"), counter{});
}
