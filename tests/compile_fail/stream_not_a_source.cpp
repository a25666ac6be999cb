// A stream reads batch sources; a vector of rows is not one (sg::stream::from_rows is).
// expect: sg::stream::open: the sources are not batch sources
#include <sg/merge/sorted.hpp>
#include <sg/stream/stream.hpp>
#include <boost/asio/io_context.hpp>
#include <vector>
int main() {
  boost::asio::io_context io;
  std::vector<std::vector<int>> answers{{1, 2}, {3}};
  auto s = sg::stream::open(io.get_executor(), answers, sg::merge::sorted());
}
