// The snippets of docs/concepts.md, compiled and run. Keep the two in step: each block
// here is marked with the heading it appears under.
#include <sg/sg.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <vector>

// ## Shards — a member function
namespace docs_member {
struct row {
  int key;
  std::string value;
  friend bool operator==(row const&, row const&) = default;
};
struct get_range {
  int lo, hi;
};

class kv_shard {
 public:
  explicit kv_shard(std::map<int, std::string> data) : data_(std::move(data)) {}
  std::vector<row> execute(get_range const& r) const {
    std::vector<row> out;
    for (auto it = data_.lower_bound(r.lo); it != data_.end() && it->first <= r.hi; ++it)
      out.push_back({it->first, it->second});
    return out;
  }

 private:
  std::map<int, std::string> data_;
};
}  // namespace docs_member

// ## Shards — a free function found by ADL, for a type you cannot change
namespace vendor {
struct client {
  std::string host;
};
}  // namespace vendor
namespace vendor {
inline std::vector<std::string> execute(client const& c, std::string const& query) {
  return {c.host + ": " + query};
}
}  // namespace vendor

// ## Merges — writing your own
namespace docs_merge {
// Counts the rows of every answer.
struct count_rows {
  template <class Resp>
  struct accumulator_type {
    std::size_t rows = 0;
    void add(std::size_t /*shard*/, Resp&& answer) { rows += std::size(answer); }
    std::size_t finish() && { return rows; }
  };
  template <class Resp>
  accumulator_type<Resp> accumulator() const {
    return {};
  }
};
}  // namespace docs_merge

TEST_CASE("docs/concepts.md: shards", "[docs]") {
  using namespace docs_member;
  std::vector<kv_shard> shards{kv_shard({{1, "a"}, {5, "e"}}), kv_shard({{3, "c"}, {9, "i"}})};
  auto pipe = sg::scatter(shards) | sg::gather(sg::merge::concat());
  sg::gathered r = pipe(get_range{2, 6});
  CHECK(r.value == std::vector<row>{{5, "e"}, {3, "c"}});

  std::vector<vendor::client> clients{{"db1"}, {"db2"}};
  auto fan = sg::scatter(clients) | sg::gather(sg::merge::concat());
  CHECK(fan(std::string("select 1")).value ==
        std::vector<std::string>{"db1: select 1", "db2: select 1"});

  // plain data is a shard when the request is a function of it
  std::vector<std::vector<int>> partitions{{1, 2, 3}, {4, 5}};
  auto sum = [](std::vector<int> const& p) { return std::vector<long>{p[0] + 0L}; };
  CHECK((sg::scatter(partitions) | sg::gather(sg::merge::concat()))(sum).value ==
        std::vector<long>{1, 4});
}

TEST_CASE("docs/concepts.md: merges", "[docs]") {
  std::vector<std::vector<int>> answers{{1, 2}, {3}};
  CHECK(sg::merge::concat()(answers) == std::vector<int>{1, 2, 3});
  CHECK(sg::detail::merge_all(docs_merge::count_rows{}, answers) == 3);

  auto acc = sg::merge::concat().accumulator<std::vector<int>>();
  acc.add(1, {3});     // answers may arrive in any order...
  acc.add(0, {1, 2});
  CHECK(std::move(acc).finish() == std::vector<int>{1, 2, 3});  // ...shard order is kept

  std::vector<std::vector<int>> shards{{1, 2}, {3}};
  auto identity = [](std::vector<int> const& p) { return p; };
  auto pipe = sg::scatter(shards) | sg::gather(docs_merge::count_rows{});
  CHECK(pipe(identity).value == 3);
}

TEST_CASE("docs/concepts.md: completeness and failures", "[docs]") {
  auto healthy = [](int x) { return std::vector<int>{x}; };
  auto broken = [](int) -> std::vector<int> { throw std::runtime_error("disk full"); };
  std::vector<std::function<std::vector<int>(int)>> shards{healthy, broken, healthy};

  auto strict = sg::scatter(shards) | sg::gather(sg::merge::concat());
  try {
    strict(7);
  } catch (sg::scatter_error const& e) {
    // e.what(): "sg: 1 of 3 shards failed (shard 1: disk full): fewer shards answered than required"
    CHECK(std::string(e.what()) ==
          "sg: 1 of 3 shards failed (shard 1: disk full): fewer shards answered than required");
    CHECK(e.code() == sg::errc::partial_result);
    CHECK(e.partial<std::vector<int>>()->value == std::vector<int>{7, 7});
  }

  std::error_code ec;
  sg::gathered r = strict(7, ec);  // the same, without an exception
  CHECK(ec == sg::errc::partial_result);

  auto lenient = sg::scatter(shards) | sg::with(sg::partial{.min_success_ratio = 0.6}) |
                 sg::gather(sg::merge::concat());
  sg::gathered ok = lenient(7);  // 2 of 3 >= 0.6: a success, flagged
  CHECK(ok.value == std::vector<int>{7, 7});
  CHECK(!ok.completeness.complete());
  CHECK(ok.failures.at(0).shard == 1);
  CHECK(ok.failures.at(0).what == "disk full");
}

TEST_CASE("docs/concepts.md: running shards in parallel", "[docs]") {
  boost::asio::thread_pool pool(4);  // yours: it must outlive the pipeline's calls
  std::vector<std::vector<int>> shards{{1}, {2}, {3}};
  auto identity = [](std::vector<int> const& p) { return p; };
  auto pipe = sg::scatter(shards) | sg::on(pool) | sg::gather(sg::merge::concat());
  CHECK(pipe(identity).value == std::vector<int>{1, 2, 3});
}

// docs/partitioners.md — Routing
namespace docs_route {
struct get_orders {
  std::vector<int> customers;
};
struct order_shard {
  std::vector<int> customers;  // the customers whose orders this shard holds
  std::vector<int> execute(get_orders const& r) const {
    std::vector<int> out;
    for (int c : r.customers)
      if (std::find(customers.begin(), customers.end(), c) != customers.end()) out.push_back(c);
    return out;
  }
};
}  // namespace docs_route

TEST_CASE("docs/partitioners.md: routing", "[docs]") {
  using namespace docs_route;
  const sg::partition::jump<> p(8);
  std::vector<order_shard> shards(8);
  for (int c = 0; c < 100; ++c) shards[p.shard_of(c)].customers.push_back(c);
  auto pipe = sg::scatter(shards)
            | sg::route(sg::partition::jump{8}, [](get_orders const& r) { return sg::key_set{r.customers}; })
            | sg::gather(sg::merge::concat());
  sg::gathered r = pipe(get_orders{{5, 6}});
  std::sort(r.value.begin(), r.value.end());
  CHECK(r.value == std::vector<int>{5, 6});
  CHECK(r.completeness.targeted + r.completeness.pruned == 8);
  CHECK(r.completeness.targeted == (p.shard_of(5) == p.shard_of(6) ? 1u : 2u));
}

// ## The pipeline — Asynchronous: `pipe.async(request, token)`, and docs/resilience.md
namespace docs_async {
using rows = std::vector<int>;
// An async shard: answers {request * 10} through its handler's executor.
struct remote_shard {
  boost::asio::io_context* io;
  template <class Token>
  auto async_execute(int request, Token&& token) {
    return boost::asio::async_initiate<Token, void(std::error_code, rows)>(
        [this](auto handler, int r) {
          auto ex = boost::asio::get_associated_executor(handler, io->get_executor());
          boost::asio::post(ex, [h = std::move(handler), r]() mutable { std::move(h)(std::error_code{}, rows{r * 10}); });
        },
        token, request);
  }
};
}  // namespace docs_async

TEST_CASE("docs/concepts.md and docs/resilience.md: the asynchronous gather", "[docs]") {
  using namespace docs_async;
  using namespace std::chrono_literals;
  boost::asio::io_context io;
  std::vector<remote_shard> shards(3, remote_shard{&io});
  auto pipe = sg::scatter(shards)
            | sg::with(sg::deadline{200ms}, sg::timeout{50ms}, sg::partial{.min_success_ratio = 0.9})
            | sg::on(io.get_executor())
            | sg::gather(sg::merge::concat());
  rows got;
  pipe.async(4, [&](std::error_code ec, sg::gathered<rows> g) {
    CHECK(!ec);
    got = g.value;
  });
  auto f = pipe.async(5, boost::asio::use_future);
  auto op = pipe.async(6, boost::asio::deferred);
  rows deferred_result;
  std::move(op)([&](std::error_code, sg::gathered<rows> g) { deferred_result = g.value; });
  io.run();
  CHECK(got == rows{40, 40, 40});
  auto [ec, g] = f.get();
  CHECK(!ec);
  CHECK(g.value == rows{50, 50, 50});
  CHECK(deferred_result == rows{60, 60, 60});
}

// docs/resilience.md — every policy at once, over replica sets, awaited in a coroutine.
TEST_CASE("docs/resilience.md: the whole stack over replica sets, in a coroutine", "[docs]") {
  using namespace docs_async;
  using namespace std::chrono_literals;
  boost::asio::io_context io;
  std::vector<remote_shard> a(3, remote_shard{&io}), b(3, remote_shard{&io});

  sg::breaker_registry<> breakers({.window_size = 50, .minimum_calls = 20, .wait_in_open = 10s});
  sg::retry_budget budget;      // 10 tokens; a success gives back 0.1
  sg::latency_tracker latencies;  // each shard's running p95
  std::vector<decltype(sg::replicas(sg::latency_aware{}, a[0], b[0]))> shards;
  for (std::size_t i = 0; i < a.size(); ++i) shards.push_back(sg::replicas(sg::latency_aware{}, a[i], b[i]));

  auto pipe = sg::scatter(shards)
            | sg::with(sg::deadline{200ms}, sg::timeout{50ms},
                       sg::retry{.max_attempts = 3, .budget = &budget},
                       sg::hedge{.delay = 20ms, .adaptive = &latencies, .max_extra = 2},
                       sg::breaker{breakers},
                       sg::partial{.min_success_ratio = 0.9})
            | sg::on(io.get_executor())
            | sg::gather(sg::merge::concat());

  rows got;
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        auto [ec, g] = co_await pipe.async(7, boost::asio::use_awaitable);
        if (!ec) got = g.value;
      },
      boost::asio::detached);
  io.run();
  CHECK(got == rows{70, 70, 70});
  CHECK(breakers.state(0, 0) == sg::breaker_state::closed);
}
