// A layer that cannot be called as layer(ctx, request, next, done) is refused in words.
// expect: sg::with: an attempt layer (policy_tag sg::layer_tag) cannot be called
#include <sg/sg.hpp>
#include <boost/asio/io_context.hpp>
#include <vector>
struct wrong_layer {
  using policy_tag = sg::layer_tag;
  void operator()(int) const {}
};
int main() {
  boost::asio::io_context io;
  std::vector<std::vector<int>> shards{{1}, {2}};
  auto pipe = sg::scatter(shards) | sg::with(wrong_layer{}) | sg::on(io.get_executor()) |
              sg::gather(sg::merge::concat());
  pipe.async([](std::vector<int> const& s) { return s; }, [](std::error_code, auto) {});
  io.run();
}
