// pipe(request) over async shards runs pipe.async and waits: it needs the executor to run.
// expect: pipe(request) over async shards runs pipe.async and waits
#include <sg/sg.hpp>
#include <boost/asio/async_result.hpp>
#include <system_error>
#include <vector>
struct async_only {
  template <class Token>
  auto async_execute(int r, Token&& token) {
    return boost::asio::async_initiate<Token, void(std::error_code, std::vector<int>)>(
        [](auto handler, int v) { std::move(handler)(std::error_code{}, std::vector<int>{v}); }, token, r);
  }
};
int main() {
  std::vector<async_only> shards(2);
  auto pipe = sg::scatter(shards) | sg::gather(sg::merge::concat());
  auto r = pipe(1);
  (void)r;
}
