// A temporary pool would die before the pipeline runs.
// expect: sg::on: pass the execution context by lvalue reference
#include <sg/sg.hpp>
#include <boost/asio/thread_pool.hpp>
int main() {
  auto stage = sg::on(boost::asio::thread_pool(2));
  (void)stage;
}
