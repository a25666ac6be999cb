// The example of README.md, verbatim (a test checks they stay equal).
#include <sg/sg.hpp>
#include <vector>

struct order { int id; double amount; };
struct min_amount { double value; };

struct order_shard {                       // any type with execute(request) is a shard
  std::vector<order> orders;
  std::vector<order> execute(min_amount r) const {
    std::vector<order> out;
    for (auto const& o : orders) if (o.amount >= r.value) out.push_back(o);
    return out;
  }
};

int main() {
  std::vector<order_shard> shards{{{{1, 120.0}}}, {{{2, 15.5}, {3, 310.0}}}};
  auto pipe = sg::scatter(shards)
            | sg::with(sg::partial{.min_success_ratio = 0.5})   // accept half the shards
            | sg::gather(sg::merge::concat());                  // union all, shard order
  sg::gathered r = pipe(min_amount{100});   // r.value: orders 1 and 3
  return r.completeness.complete() ? 0 : 1;  // r.failures says who did not answer, and why
}
