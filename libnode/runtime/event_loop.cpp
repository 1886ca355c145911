#include "apiary/runtime/event_loop.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace apiary::runtime {

TimePoint core_now() {
  return TimePoint(
      std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now().time_since_epoch()));
}

WallTime wall_now() {
  return WallTime{std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count()};
}

namespace {
std::uint32_t to_epoll(std::uint32_t interest) {
  std::uint32_t ev = 0;
  if (interest & EventLoop::kReadable) ev |= EPOLLIN | EPOLLRDHUP;
  if (interest & EventLoop::kWritable) ev |= EPOLLOUT;
  return ev;
}
}  // namespace

EventLoop::EventLoop() {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wake_fd_;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
}

EventLoop::~EventLoop() {
  if (wake_fd_ >= 0) ::close(wake_fd_);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

Status EventLoop::watch(int fd, std::uint32_t interest, FdCallback callback) {
  epoll_event ev{};
  ev.events = to_epoll(interest);
  ev.data.fd = fd;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    return make_error(StatusCode::io_error, std::string("epoll_ctl add: ") + std::strerror(errno));
  }
  fds_[fd] = std::move(callback);
  return Status::Ok();
}

Status EventLoop::modify(int fd, std::uint32_t interest) {
  epoll_event ev{};
  ev.events = to_epoll(interest);
  ev.data.fd = fd;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev) != 0) {
    return make_error(StatusCode::io_error, std::string("epoll_ctl mod: ") + std::strerror(errno));
  }
  return Status::Ok();
}

void EventLoop::unwatch(int fd) {
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  fds_.erase(fd);
}

EventLoop::TimerId EventLoop::schedule(TimePoint when, std::function<void()> callback) {
  const TimerId id = next_timer_++;
  timers_.emplace(when, std::make_pair(id, std::move(callback)));
  timer_index_.emplace(id, when);
  return id;
}

void EventLoop::cancel(TimerId id) {
  auto it = timer_index_.find(id);
  if (it == timer_index_.end()) return;
  auto range = timers_.equal_range(it->second);
  for (auto t = range.first; t != range.second; ++t) {
    if (t->second.first == id) {
      timers_.erase(t);
      break;
    }
  }
  timer_index_.erase(it);
}

void EventLoop::post(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(posted_mutex_);
    posted_.push_back(std::move(fn));
  }
  const std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
}

void EventLoop::stop() {
  {
    std::lock_guard<std::mutex> lock(posted_mutex_);
    stop_requested_ = true;
  }
  const std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
}

int EventLoop::timeout_ms() const {
  if (timers_.empty()) return 1000;
  const auto wait = timers_.begin()->first - core_now();
  if (wait <= Duration::zero()) return 0;
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(wait).count();
  return static_cast<int>(std::min<long long>(ms, 1000));
}

void EventLoop::run_due_timers() {
  const TimePoint now = core_now();
  while (!timers_.empty() && timers_.begin()->first <= now) {
    auto node = timers_.extract(timers_.begin());
    timer_index_.erase(node.mapped().first);
    node.mapped().second();
  }
}

void EventLoop::run_posted() {
  std::vector<std::function<void()>> batch;
  {
    std::lock_guard<std::mutex> lock(posted_mutex_);
    batch.swap(posted_);
    if (stop_requested_) stopping_ = true;
  }
  for (auto& fn : batch) fn();
}

void EventLoop::run() {
  epoll_event events[64];
  run_posted();
  while (!stopping_) {
    const int n = ::epoll_wait(epoll_fd_, events, 64, timeout_ms());
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == wake_fd_) {
        std::uint64_t count = 0;
        [[maybe_unused]] auto r = ::read(wake_fd_, &count, sizeof count);
        continue;
      }
      auto it = fds_.find(fd);
      if (it == fds_.end()) continue;
      std::uint32_t ready = 0;
      if (events[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) ready |= kReadable;
      if (events[i].events & EPOLLOUT) ready |= kWritable;
      // Copy: the callback may unwatch its own fd.
      FdCallback cb = it->second;
      cb(ready);
    }
    run_posted();
    run_due_timers();
    if (after_batch_) after_batch_();
  }
  // The stop is consumed: a later run() runs again (tests drive one loop in steps).
  std::lock_guard<std::mutex> lock(posted_mutex_);
  stop_requested_ = false;
  stopping_ = false;
}

}  // namespace apiary::runtime
