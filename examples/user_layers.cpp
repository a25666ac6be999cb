// Your own policies as attempt layers (sg/policy/layer.hpp): a bulkhead that lets at most
// two calls run on a shard at once across every gather, queueing the rest, and a layer
// that stamps each attempt's request with a trace id. Six gathers run at once over three
// shards that answer after a few milliseconds on real timers; the program prints what
// each shard saw. docs/resilience.md, "Your own layers".
#include <sg/sg.hpp>

#include "layers/bulkhead.hpp"
#include "layers/decorate.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;

struct request {
  int query = 0;
  std::string trace;  // set by the decorating layer, per attempt
};

// An async shard that answers {query * 10 + id} after `latency`, and notes how many of its
// calls run at once, and the traces it was sent.
struct timed_shard {
  asio::io_context* io;
  int id;
  std::chrono::milliseconds latency;
  std::shared_ptr<int> running = std::make_shared<int>(0);
  std::shared_ptr<int> peak = std::make_shared<int>(0);
  std::shared_ptr<std::vector<std::string>> traces = std::make_shared<std::vector<std::string>>();

  template <class Token>
  auto async_execute(request const& r, Token&& token) {
    return asio::async_initiate<Token, void(std::error_code, std::vector<int>)>(
        [this](auto handler, request q) {
          traces->push_back(q.trace);
          *peak = std::max(*peak, ++*running);
          auto timer = std::make_shared<asio::steady_timer>(*io, latency);
          timer->async_wait([this, timer, q, h = std::move(handler)](boost::system::error_code ec) mutable {
            --*running;
            if (ec)
              std::move(h)(std::make_error_code(std::errc::operation_canceled), std::vector<int>{});
            else
              std::move(h)(std::error_code{}, std::vector<int>{q.query * 10 + id});
          });
        },
        token, r);
  }
};

int main() {
  asio::io_context io;
  std::vector<timed_shard> shards{{&io, 1, 5ms}, {&io, 2, 8ms}, {&io, 3, 3ms}};

  example::bulkhead_limits limits({.max_concurrent = 2, .max_queued = 16});  // shared by every gather
  auto trace = example::decorate{[](request& r, auto const& ctx) {
    r.trace = "q" + std::to_string(r.query) + "/shard" + std::to_string(ctx.shard()) + "/try" +
              std::to_string(ctx.attempt());
  }};
  auto pipe = sg::scatter(shards) | sg::with(sg::timeout{1s}, trace, example::bulkhead{&limits}) |
              sg::on(io.get_executor()) | sg::gather(sg::merge::concat());

  int complete = 0;
  for (int q = 0; q < 6; ++q)
    pipe.async(request{q, {}}, [&](std::error_code ec, sg::gathered<std::vector<int>> g) {
      if (!ec && g.completeness.complete() && g.value.size() == 3) ++complete;
    });
  io.run();

  int worst = 0;
  for (auto const& s : shards) {
    std::printf("shard %d: %zu calls, at most %d at once; first trace %s\n", s.id, s.traces->size(), *s.peak,
                s.traces->empty() ? "-" : s.traces->front().c_str());
    worst = std::max(worst, *s.peak);
  }
  std::printf("%d of 6 gathers complete; at most %d calls at once on any shard (limit 2)\n", complete, worst);
  return complete == 6 && worst <= 2 ? 0 : 1;
}
