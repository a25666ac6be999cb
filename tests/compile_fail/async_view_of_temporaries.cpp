// A view that makes its shards on the fly cannot be scattered asynchronously: the shards
// would be gone before their answers come back.
// expect: sg::scatter: pipe.async needs shards that outlive the call
#include <sg/sg.hpp>
#include <boost/asio/io_context.hpp>
#include <range/v3/view/iota.hpp>
#include <range/v3/view/transform.hpp>
#include <vector>
struct shard {
  int base;
  std::vector<int> execute(int r) const { return {base + r}; }
};
int main() {
  boost::asio::io_context io;
  auto shards = ranges::views::iota(0, 4) | ranges::views::transform([](int i) { return shard{i}; });
  auto pipe = sg::scatter(shards) | sg::on(io.get_executor()) | sg::gather(sg::merge::concat());
  pipe.async(1, [](std::error_code, sg::gathered<std::vector<int>>) {});
  io.run();
}
