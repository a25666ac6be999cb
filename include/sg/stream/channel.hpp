// sg/stream/channel.hpp — sg::stream::from_channel: an Asio channel of batches as a source.
//
//   asio::experimental::channel<void(boost::system::error_code, std::vector<row>)> ch(io, 1);
//   // producer: co_await ch.async_send({}, batch, use_awaitable); … ch.close();  (the end)
//   std::vector<sg::stream::channel_source<…>> sources{sg::stream::from_channel(ch)};
//
// Each receive is one batch. Closing the channel ends the source; a batch sent with an
// error code fails it with that code (an empty batch sent without one also ends it). The
// channel's capacity is the producer's own buffer: with capacity 0, a send completes only
// when the stream takes the batch, so the producer runs no further ahead than the stream's
// options::buffer. Cancelling a read (the stream's limit, close, read timeout) cancels the
// receive; the channel stays open, and the producer's pending send is not taken. The
// channel must outlive the source's reads. Example: tests/stream/stream.cpp.
#pragma once

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/experimental/channel_error.hpp>
#include <boost/system/error_code.hpp>

#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace sg::stream {

template <class Channel, class Row>
class channel_source {
 public:
  using batch_type = std::vector<Row>;

  explicit channel_source(Channel& channel) noexcept : channel_(&channel) {}

  // Completes with void(std::error_code, batch_type): channel_closed becomes the end.
  template <class Token>
  auto async_next(Token&& token) {
    return boost::asio::async_initiate<Token, void(std::error_code, batch_type)>(
        [channel = channel_](auto handler) { channel->async_receive(adapt<decltype(handler)>{std::move(handler)}); },
        token);
  }

  Channel& channel() const noexcept { return *channel_; }

 private:
  // The receive's completion, passed on as the stream expects it.
  template <class Handler>
  struct adapt {
    Handler handler;
    void operator()(boost::system::error_code ec, batch_type batch) {
      if (ec == boost::asio::experimental::error::channel_closed) {
        std::move(handler)(std::error_code{}, batch_type{});
        return;
      }
      std::move(handler)(static_cast<std::error_code>(ec), std::move(batch));
    }
    // The receive runs on the handler's executor and is cancelled by its slot.
    using executor_type = boost::asio::associated_executor_t<Handler>;
    executor_type get_executor() const noexcept { return boost::asio::get_associated_executor(handler); }
    using cancellation_slot_type = boost::asio::associated_cancellation_slot_t<Handler>;
    cancellation_slot_type get_cancellation_slot() const noexcept {
      return boost::asio::get_associated_cancellation_slot(handler);
    }
  };

  Channel* channel_;
};

// The channel as a source of batches; see the top of this file.
template <class Executor, class Traits, class Row>
channel_source<boost::asio::experimental::basic_channel<Executor, Traits,
                                                        void(boost::system::error_code, std::vector<Row>)>,
               Row>
from_channel(boost::asio::experimental::basic_channel<Executor, Traits,
                                                      void(boost::system::error_code, std::vector<Row>)>& channel) {
  return channel_source<boost::asio::experimental::basic_channel<Executor, Traits,
                                                                 void(boost::system::error_code, std::vector<Row>)>,
                        Row>(channel);
}

}  // namespace sg::stream
