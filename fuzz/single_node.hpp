// A single-node NodeCore for the fuzz targets: the first member of its own cluster (it
// serves at once), driven with virtual time like the simulator drives a node. Everything a
// command does runs for real: RESP server, router, replicator, store.
#pragma once

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "apiary/core/node_core.hpp"
#include "apiary/resp/connection.hpp"
#include "apiary/resp/server.hpp"
#include "resp_check.hpp"

namespace apiary::fuzz {

class SingleNode {
 public:
  SingleNode() {
    core::NodeCoreConfig c;
    c.name = "fuzz";
    c.gossip_addr = "127.0.0.1:7946";
    c.meta.data_addr = "127.0.0.1:7947";
    c.meta.client_addr = "127.0.0.1:6379";
    c.replication.partition_count = 16;  // cheap to build once per input
    c.seed = 1;
    auto made = core::NodeCore::create(std::move(c), now_);
    if (!made.ok()) std::abort();
    core_ = std::move(made).value();
    core_->join(now_, wall_, {});
    pump();
  }
  ~SingleNode() { client_.reset(); }  // connections unregister from the core's server

  core::NodeCore& core() { return *core_; }
  TimePoint now() const { return now_; }
  WallTime wall() const { return wall_; }

  // Bytes from one client; false once the node has closed that connection.
  bool feed_client(std::string_view bytes) {
    if (!client_) {
      client_ = core_->resp_server().connect(
          now_, resp::ClientAddress{"127.0.0.1:40000", "127.0.0.1:6379", 7});
    }
    if (client_->should_close()) return false;
    client_->feed(now_, wall_, bytes);
    pump();
    return !client_->should_close();
  }

  void handle_data(std::span<const std::uint8_t> bytes) {
    core_->handle_data(now_, wall_, bytes);
    pump();
  }
  void handle_gossip(std::span<const std::uint8_t> bytes) {
    core_->handle_gossip(now_, wall_, bytes);
    pump();
  }

  // Moves virtual time on and runs whatever fell due (expiry, timeouts, deferred replies).
  void advance(std::chrono::milliseconds d) {
    now_ += d;
    wall_ = WallTime{wall_.ms + d.count()};
    if (core_->next_deadline() <= now_) core_->handle_timeout(now_, wall_);
    if (core_->resp_server().next_deadline() <= now_) core_->resp_server().on_timer(now_, wall_);
    pump();
  }

 private:
  // As the runtime's deliver(): replies resume pipelines; loop until nothing moves. Every
  // reply the node writes must be well-formed RESP2/RESP3 (resp_check.hpp), else it traps.
  void pump() {
    for (bool progress = true; progress;) {
      progress = false;
      core_->settle(now_, wall_);
      for (auto& reply : core_->take_client_replies()) {
        progress = true;
        if (client_ && client_->id() == reply.client) {
          client_->complete(reply.token, reply.bytes, now_, wall_);
        }
      }
      if (!core_->take_call_replies().empty()) progress = true;
      while (core_->poll_data_send()) progress = true;
    }
    while (core_->poll_gossip_send()) {
    }
    while (core_->poll_event()) {
    }
    if (client_) check_output();
  }

  void check_output() {
    std::string_view out = client_->output();
    std::size_t used = 0;
    while (used < out.size()) {
      ReplyChecker reply(out.substr(used));
      const Check c = reply.one();
      if (c == Check::incomplete) break;
      if (c == Check::malformed) {
        std::fprintf(stderr, "malformed reply at byte %zu of:\n%.*s\n", used,
                     static_cast<int>(std::min<std::size_t>(out.size(), 4096)), out.data());
        std::abort();
      }
      used += reply.used();
    }
    client_->consume_output(used);
  }

  TimePoint now_ = from_nanos(1'000'000'000);
  WallTime wall_{1'700'000'000'000};
  std::unique_ptr<core::NodeCore> core_;
  std::unique_ptr<resp::Connection> client_;
};

}  // namespace apiary::fuzz
