// sg/exec/completion_executor.hpp — the executor an sg operation completes on when its
// handler names none: the pipeline's own (sg::on(io.get_executor())) if it is an Asio
// executor, else the system executor — as an Asio I/O object's executor is the default for
// its operations. Private to sg (pipe.async, a cached pipeline's async).
#pragma once

#include <boost/asio/execution/executor.hpp>
#include <boost/asio/is_executor.hpp>
#include <boost/asio/system_executor.hpp>

namespace sg::detail {

template <class Exec>
auto default_completion_executor(Exec const& exec) {
  if constexpr (boost::asio::execution::is_executor<Exec>::value || boost::asio::is_executor<Exec>::value)
    return exec;
  else
    return boost::asio::system_executor();
}

}  // namespace sg::detail
