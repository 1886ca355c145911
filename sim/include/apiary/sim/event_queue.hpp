// EventQueue: the discrete-event world's agenda.
//
// A binary min-heap ordered by (time, sequence number): events at the same virtual time run in
// the order they were scheduled, so a run never depends on heap internals. Entries are small
// plain values (no std::function, no payload); message bytes live in the world's slot pool and
// an entry refers to them by index. Not thread-safe.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "apiary/base/time.hpp"

namespace apiary::sim {

enum class EventKind : std::uint8_t {
  deliver,  // a = message slot
  timer,    // a = node
  action,   // a = index into the world's action list
  resume,   // a = node (end of a pause)
  control,  // a = control code, b = argument (world internals: leave polling, progress)
};

struct Event {
  std::int64_t time = 0;  // virtual nanoseconds
  std::uint64_t seq = 0;
  std::uint32_t a = 0;
  std::uint32_t b = 0;
  EventKind kind = EventKind::deliver;
};

class EventQueue {
 public:
  void push(TimePoint at, EventKind kind, std::uint32_t a, std::uint32_t b = 0) {
    heap_.push_back(Event{to_nanos(at), next_seq_++, a, b, kind});
    std::push_heap(heap_.begin(), heap_.end(), Later{});
  }
  bool empty() const { return heap_.empty(); }
  std::size_t size() const { return heap_.size(); }
  TimePoint next_time() const { return from_nanos(heap_.front().time); }
  Event pop() {
    std::pop_heap(heap_.begin(), heap_.end(), Later{});
    Event e = heap_.back();
    heap_.pop_back();
    return e;
  }
  std::uint64_t scheduled() const { return next_seq_; }

 private:
  struct Later {
    bool operator()(const Event& x, const Event& y) const {
      return x.time != y.time ? x.time > y.time : x.seq > y.seq;
    }
  };
  std::vector<Event> heap_;
  std::uint64_t next_seq_ = 0;
};

}  // namespace apiary::sim
