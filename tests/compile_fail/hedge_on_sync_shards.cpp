// Hedging cancels the attempts that lose: a synchronous shard cannot be cancelled.
// expect: sg::hedge needs async shards
#include <sg/sg.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <system_error>
#include <vector>
struct sync_shard {
  std::vector<int> execute(int r) const { return {r}; }
};
int main() {
  using namespace std::chrono_literals;
  boost::asio::io_context io;
  std::vector<sync_shard> shards(2);
  auto pipe = sg::scatter(shards) | sg::with(sg::hedge{.delay = 10ms}) | sg::on(io.get_executor()) |
              sg::gather(sg::merge::concat());
  pipe.async(1, [](std::error_code, auto) {});
}
