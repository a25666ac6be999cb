// Every pipeline starts with sg::scatter.
// expect: sg: a pipeline starts with sg::scatter(shards)
#include <sg/sg.hpp>
int main() {
  auto p = sg::with(sg::partial{}) | sg::gather(sg::merge::concat());
  (void)p;
}
