// sg quickstart: orders spread over four in-memory shards. One request goes to every
// shard, the answers are merged in shard order, and the result says who answered.
//
// Build and run: ./scripts/demo.sh   (see README.md)
#include <sg/sg.hpp>

#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

namespace shop {

struct order {
  int id;
  std::string customer;
  double amount;
};

// The request: orders of at least this amount.
struct min_amount {
  double value;
};

// A shard is any type that answers a request; this one holds its orders in memory.
class order_shard {
 public:
  order_shard(std::string name, std::vector<order> orders, bool down = false)
      : name_(std::move(name)), orders_(std::move(orders)), down_(down) {}

  std::vector<order> execute(min_amount const& req) const {
    if (down_) throw std::runtime_error(name_ + " is unreachable");
    std::vector<order> out;
    for (auto const& o : orders_)
      if (o.amount >= req.value) out.push_back(o);
    return out;
  }

  void take_down() { down_ = true; }

 private:
  std::string name_;
  std::vector<order> orders_;
  bool down_;
};

}  // namespace shop

namespace {

void print(char const* title, sg::gathered<std::vector<shop::order>> const& r) {
  std::printf("%s\n", title);
  for (auto const& o : r.value)
    std::printf("  order %3d  %-6s %8.2f\n", o.id, o.customer.c_str(), o.amount);
  std::printf("  %s: %zu of %zu shards answered\n",
              r.completeness.complete() ? "complete" : "PARTIAL", r.completeness.succeeded,
              r.completeness.targeted);
  for (auto const& f : r.failures)
    std::printf("  shard %zu failed: %s (%s)\n", f.shard, f.what.c_str(), f.error.message().c_str());
}

}  // namespace

int main() {
  std::vector<shop::order_shard> shards{
      {"eu-1", {{1, "ada", 120.0}, {2, "bob", 15.5}}},
      {"eu-2", {{3, "cy", 310.0}}},
      {"us-1", {{4, "dee", 99.0}, {5, "eve", 250.0}}},
      {"us-2", {{6, "fay", 75.0}, {7, "gus", 180.0}}},
  };

  // 1. Every shard must answer (the default rule).
  auto all = sg::scatter(shards) | sg::gather(sg::merge::concat());
  print("orders >= 100, all shards:", all(shop::min_amount{100}));

  // 2. A shard goes down. The default rule now fails the request, with a clear error...
  shards[2].take_down();
  try {
    (void)all(shop::min_amount{100});
  } catch (sg::scatter_error const& e) {
    std::printf("\nwithout a partial rule: %s\n", e.what());
  }

  // 3. ...and a pipeline that accepts 3 of 4 shards answers, flagged as partial.
  auto most = sg::scatter(shards) | sg::with(sg::partial{.min_success_ratio = 0.75}) |
              sg::gather(sg::merge::concat());
  print("\norders >= 100, at least 75% of the shards:", most(shop::min_amount{100}));
  return 0;
}
