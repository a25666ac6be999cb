// Every policy that keeps time must keep it on one clock (here steady and system).
// expect: sg::with: the policies keep time on different clocks
#include <sg/sg.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/system_timer.hpp>
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
  auto pipe = sg::scatter(shards) |
              sg::with(sg::deadline<boost::asio::system_timer>{100ms}, sg::timeout{10ms}) |
              sg::on(io.get_executor()) | sg::gather(sg::merge::concat());
  pipe.async(1, [](std::error_code, auto) {});
}
