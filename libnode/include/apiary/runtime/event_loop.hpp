// EventLoop: the single thread that drives a node's protocol cores.
//
// epoll over file descriptors (TCP sockets, ZeroMQ notification fds, a signal or wake-up
// fd), one-shot timers on the core clock, and post() for handing work to the loop from any
// other thread. Callbacks run on the loop thread, one at a time; they must not block.
//
// Thread safety: post() and stop() may be called from any thread; everything else only from
// the loop thread (or before run() starts).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "apiary/base/status.hpp"
#include "apiary/base/time.hpp"

namespace apiary::runtime {

// The real clocks, converted at the edge into the core's types.
TimePoint core_now();
WallTime wall_now();

class EventLoop {
 public:
  enum Interest : std::uint32_t { kReadable = 1, kWritable = 2 };
  using FdCallback = std::function<void(std::uint32_t ready)>;  // ready: Interest bits
  using TimerId = std::uint64_t;

  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  Status watch(int fd, std::uint32_t interest, FdCallback callback);
  Status modify(int fd, std::uint32_t interest);
  void unwatch(int fd);

  TimerId schedule(TimePoint when, std::function<void()> callback);
  void cancel(TimerId id);

  // Runs `fn` on the loop thread soon. Safe from any thread, including from the loop itself.
  void post(std::function<void()> fn);

  // Runs until stop(). Returns immediately if stop() was already called. The stop is consumed:
  // run() may be called again afterwards.
  void run();
  void stop();

  // Called after every batch of callbacks (the place to flush queued output).
  void set_after_batch(std::function<void()> fn) { after_batch_ = std::move(fn); }

 private:
  void run_due_timers();
  void run_posted();
  int timeout_ms() const;

  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  bool stopping_ = false;
  std::unordered_map<int, FdCallback> fds_;
  std::multimap<TimePoint, std::pair<TimerId, std::function<void()>>> timers_;
  std::unordered_map<TimerId, TimePoint> timer_index_;
  TimerId next_timer_ = 1;
  std::mutex posted_mutex_;
  std::vector<std::function<void()>> posted_;
  bool stop_requested_ = false;  // guarded by posted_mutex_
  std::function<void()> after_batch_;
};

}  // namespace apiary::runtime
