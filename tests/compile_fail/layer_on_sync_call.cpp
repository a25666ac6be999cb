// An attempt layer is an asynchronous operation: the synchronous pipe(request) refuses it.
// expect: as do sg::retry, sg::hedge, sg::breaker, sg::observe and attempt layers
#include <sg/sg.hpp>
#include <vector>
struct pass_through {
  using policy_tag = sg::layer_tag;
  template <class Ctx, class Req, class Next, class Done>
  void operator()(Ctx const&, Req const& r, Next next, Done done) const {
    next(r, std::move(done));
  }
};
int main() {
  std::vector<std::vector<int>> shards{{1}, {2}};
  auto pipe = sg::scatter(shards) | sg::with(pass_through{}) | sg::gather(sg::merge::concat());
  auto r = pipe([](std::vector<int> const& s) { return s; });
  (void)r;
}
