// Your own shard over any client library: here, an HTTP service read with Boost.Beast.
//
// A shard is any type with execute(request) or async_execute(request, token). The
// asynchronous one below is a coroutine started with asio::co_spawn: co_spawn turns it into
// an Asio operation that takes any completion token, completes with
// void(std::exception_ptr, std::vector<order>) — a signature sg accepts, so a thrown
// std::system_error becomes the shard's failure with its code and words — and stops at its
// next co_await when sg cancels it (a timeout, a hedge that lost, the gather's cancellation).
// What remains is the client code: connect, send, read, parse; and sorting errors into
// retryable (connection failures, 503) and not (400: the request's fault).
//
// To run without a network, the program serves three shards itself on 127.0.0.1 (ephemeral
// ports): each answers GET /orders?min_cents=N with its orders, one per line, "id,cents";
// the second answers 503 to its first request, which sg::retry absorbs. Exit status 0 when
// the merged answer is every shard's rows, each once, in order.
#include <sg/sg.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;

struct order {
  std::int64_t id;
  std::int64_t cents;
  friend bool operator==(order const&, order const&) = default;
};

// The request every shard is sent.
struct orders_above {
  std::int64_t min_cents;
};

// --- the shard ------------------------------------------------------------------------------

// Parses "id,cents" lines; anything else is the service's fault, so not worth a retry.
std::vector<order> parse(std::string_view body) {
  std::vector<order> rows;
  while (!body.empty()) {
    const auto end = body.find('\n');
    const auto line = body.substr(0, end);
    order o{};
    const auto comma = line.find(',');
    const char* const last = line.data() + line.size();
    if (comma == std::string_view::npos ||
        std::from_chars(line.data(), line.data() + comma, o.id).ptr != line.data() + comma ||
        std::from_chars(line.data() + comma + 1, last, o.cents).ptr != last)
      throw std::system_error(make_error_code(sg::errc::bad_input), "orders service: bad line \"" + std::string(line) + "\"");
    rows.push_back(o);
    body = end == std::string_view::npos ? std::string_view{} : body.substr(end + 1);
  }
  return rows;
}

awaitable<std::vector<order>> fetch(tcp::endpoint server, orders_above request) {
  beast::tcp_stream stream(co_await asio::this_coro::executor);
  co_await stream.async_connect(server, use_awaitable);  // a refused connection: retryable
  http::request<http::empty_body> req(http::verb::get, "/orders?min_cents=" + std::to_string(request.min_cents), 11);
  req.set(http::field::host, "127.0.0.1");
  co_await http::async_write(stream, req, use_awaitable);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  co_await http::async_read(stream, buffer, res, use_awaitable);
  if (res.result() == http::status::service_unavailable)  // overloaded: try again (elsewhere)
    throw std::system_error(std::make_error_code(std::errc::connection_refused), "orders service: 503, busy");
  if (res.result() != http::status::ok)  // 400 and the rest: the request's fault
    throw std::system_error(make_error_code(sg::errc::bad_input),
                            "orders service: HTTP " + std::to_string(res.result_int()) + ": " + res.body());
  co_return parse(res.body());
}

// The shard: an address and an executor. Cheap to copy; nothing to inherit.
struct http_shard {
  asio::any_io_executor executor;
  tcp::endpoint server;

  template <class Token>
  auto async_execute(orders_above const& request, Token&& token) const {
    return asio::co_spawn(executor, fetch(server, request), std::forward<Token>(token));
  }
};

// --- a stand-in for the service -------------------------------------------------------------

awaitable<void> serve(tcp::acceptor acceptor, std::vector<order> rows, int busy_answers) {
  for (;;) {
    tcp::socket socket = co_await acceptor.async_accept(use_awaitable);
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    co_await http::async_read(socket, buffer, req, use_awaitable);
    http::response<http::string_body> res(http::status::ok, 11);
    const std::string_view target = req.target();
    const std::string_view prefix = "/orders?min_cents=";
    std::int64_t min = 0;
    if (busy_answers > 0) {
      --busy_answers;
      res.result(http::status::service_unavailable);
    } else if (!target.starts_with(prefix) ||
               std::from_chars(target.data() + prefix.size(), target.data() + target.size(), min).ec != std::errc{}) {
      res.result(http::status::bad_request);
      res.body() = "expected /orders?min_cents=N";
    } else {
      for (auto const& o : rows)
        if (o.cents >= min) res.body() += std::to_string(o.id) + ',' + std::to_string(o.cents) + '\n';
    }
    res.prepare_payload();
    co_await http::async_write(socket, res, use_awaitable);
  }
}

int main() {
  asio::io_context io;
  std::vector<http_shard> shards;
  std::vector<order> everything;
  for (int s = 0; s < 3; ++s) {
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    shards.push_back({io.get_executor(), acceptor.local_endpoint()});
    std::vector<order> rows;  // shard s holds the ids ≡ s (mod 3), ascending
    for (std::int64_t id = s; id < 30; id += 3) rows.push_back({id, (id * 37) % 100});
    everything.insert(everything.end(), rows.begin(), rows.end());
    asio::co_spawn(io, serve(std::move(acceptor), std::move(rows), s == 1 ? 1 : 0), asio::detached);
  }

  auto by_id = [](order const& a, order const& b) { return a.id < b.id; };
  auto pipe = sg::scatter(shards) |
              sg::with(sg::retry{.max_attempts = 3, .backoff = {.initial = std::chrono::milliseconds(5)}},
                       sg::timeout{std::chrono::seconds(2)}) |
              sg::on(io.get_executor()) | sg::gather(sg::merge::sorted(by_id));

  bool ok = false;
  pipe.async(orders_above{50}, [&](std::error_code ec, sg::gathered<std::vector<order>> r) {
    std::printf("%s: %zu of %zu shards answered, %zu orders of at least 50 cents\n",
                r.completeness.complete() ? "complete" : "PARTIAL", r.completeness.succeeded, r.completeness.targeted,
                r.value.size());
    for (auto const& f : r.failures) std::printf("  shard %zu failed: %s\n", f.shard, f.what.c_str());
    std::erase_if(everything, [](order const& o) { return o.cents < 50; });
    std::ranges::sort(everything, by_id);
    ok = !ec && r.value == everything;
    io.stop();  // the stand-in servers run forever
  });
  io.run();
  std::printf("%s\n", ok ? "every shard's rows, each once, in order" : "WRONG ANSWER");
  return ok ? 0 : 1;
}
