// RouterCluster's longer steps (routing_harness.hpp): delivery, time and the driver's pump.
#include "support/routing_harness.hpp"

namespace apiary::test {

void RouterCluster::settle_transitions() {
  const TimePoint limit = now_ + 2 * config_.handoff_wait_timeout;
  auto busy = [this] {
    for (auto i : ring_) {
      if (rep(i).partitions_in_transition() != 0) return true;
    }
    return false;
  };
  settle();
  while (busy() && now_ < limit) advance(10ms);
  REQUIRE_FALSE(busy());
}

void RouterCluster::settle() {
  pump_all();
  for (bool progress = true; progress;) {
    progress = false;
    for (auto it = queue_.begin(); it != queue_.end(); ++it) {
      if (held_.count(it->to) != 0) continue;
      InFlight m = std::move(*it);
      queue_.erase(it);
      if (dropped_.count(m.to) == 0 && dropped_.count(m.from) == 0) {
        rep(m.to).handle_message(now_, wall(), m.bytes);
        pump(m.to);
      }
      pump_all();
      progress = true;
      break;  // the queue changed: start over from its front to keep FIFO order
    }
  }
}

void RouterCluster::advance(Duration d) {
  const TimePoint end = now_ + d;
  settle();
  for (int spins = 0;; ++spins) {
    // A deadline that handle_timeout() does not move would spin here forever.
    REQUIRE(spins < 100000);
    TimePoint next = end;
    for (auto& n : nodes_) {
      next = std::min({next, n->rep->next_deadline(), n->server->next_deadline(),
                       n->router->next_deadline()});
    }
    now_ = std::max(now_, next);
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      if (rep(i).next_deadline() <= now_) rep(i).handle_timeout(now_, wall());
      if (node(i).server->next_deadline() <= now_) node(i).server->on_timer(now_, wall());
      if (router(i).next_deadline() <= now_) router(i).on_timer(now_, wall());
    }
    settle();
    if (now_ >= end) return;
  }
}

void RouterCluster::pump(std::size_t i) {
  Node& n = node(i);
  for (bool progress = true; progress;) {
    progress = false;
    while (auto c = n.rep->poll_completion()) {
      progress = true;
      n.router->on_completion(*c, now_, wall());
    }
    n.router->settle(now_, wall());  // parked blocking commands whose keys were written
    for (auto& reply : n.router->take_replies()) {
      progress = true;
      resp::Connection* conn = n.server->find_client(reply.client);
      if (conn == nullptr) {
        ++orphan_replies_;
        continue;
      }
      conn->complete(reply.token, reply.bytes, now_, wall());
    }
    while (auto out = n.rep->poll_send()) {
      progress = true;
      const std::size_t to = index_by_addr(out->to);
      if (to < nodes_.size()) queue_.push_back(InFlight{i, to, std::move(out->bytes)});
    }
  }
}

}  // namespace apiary::test
