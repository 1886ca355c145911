// Subscribers: the callbacks of one kind of node event (apiary::Node::on_member,
// on_partitions). Internal to libnode/runtime.
//
// publish() calls every callback registered before it started, one at a time, while holding
// a recursive mutex; remove() takes the same mutex, so once remove() returns on another
// thread the callback is not running and will not run again. A callback may subscribe or
// unsubscribe (itself included) from inside publish().
// Thread safety: every method from any thread.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <vector>

#include "apiary/node.hpp"

namespace apiary::runtime {

template <typename Event>
class Subscribers {
 public:
  using Fn = std::function<void(const Event&)>;

  void add(SubscriptionId id, Fn fn) {
    std::lock_guard<std::recursive_mutex> lock(mutex_);
    fns_.emplace(id, std::move(fn));
  }
  bool remove(SubscriptionId id) {
    std::lock_guard<std::recursive_mutex> lock(mutex_);
    return fns_.erase(id) > 0;
  }
  bool empty() const {
    std::lock_guard<std::recursive_mutex> lock(mutex_);
    return fns_.empty();
  }
  void publish(const Event& event) {
    std::lock_guard<std::recursive_mutex> lock(mutex_);
    std::vector<SubscriptionId> ids;
    ids.reserve(fns_.size());
    for (const auto& [id, fn] : fns_) ids.push_back(id);
    for (SubscriptionId id : ids) publish_to(id, event);
  }
  void publish_to(SubscriptionId id, const Event& event) {
    std::lock_guard<std::recursive_mutex> lock(mutex_);
    auto it = fns_.find(id);
    if (it == fns_.end()) return;
    const Fn fn = it->second;  // a copy: the callback may unsubscribe itself
    fn(event);
  }

 private:
  mutable std::recursive_mutex mutex_;
  std::map<SubscriptionId, Fn> fns_;
};

}  // namespace apiary::runtime
