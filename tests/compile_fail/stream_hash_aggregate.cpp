// A hash aggregate needs every row before its first result: it cannot stream.
// expect: sg::stream::open: this merge cannot run as a stream
#include <sg/agg/count.hpp>
#include <sg/merge/hash_aggregate.hpp>
#include <sg/stream/stream.hpp>
#include <boost/asio/io_context.hpp>
#include <vector>
int main() {
  boost::asio::io_context io;
  std::vector<sg::stream::rows_source<int, boost::asio::io_context::executor_type>> sources;
  auto s = sg::stream::open(io.get_executor(), std::move(sources),
                            sg::merge::hash_aggregate([](int v) { return v; }, sg::agg::count()));
}
