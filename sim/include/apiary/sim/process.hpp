// Process: what the simulated world drives on each node.
//
// The world does not know which protocol runs on a node; it drives this small interface the
// same way the real runtime drives a sans-IO core: join(), handle_message() when a datagram
// arrives, handle_timeout() once the node's local clock reaches next_deadline(), and after
// every call it drains poll_send() and poll_event(). The Swim adapter (swim_process.hpp)
// implements it with the real gossip core, NodeProcess (node_process.hpp) with the whole node
// (core::NodeCore); heartbeat_process.hpp is a trivial protocol used to test the world itself.
//
// All times passed in are the node's *local* time (virtual time bent by its clock skew).
// Not thread-safe; the world is single-threaded.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "apiary/base/rng.hpp"
#include "apiary/base/time.hpp"
#include "apiary/gossip/member.hpp"
#include "apiary/gossip/swim.hpp"

namespace apiary::sim {

class NodeProcess;

// Counters a process exposes to the report; all optional.
struct ProcessCounters {
  std::uint64_t refutations = 0;
  std::uint64_t malformed_dropped = 0;
  std::uint32_t local_health = 0;
};

class Process {
 public:
  virtual ~Process() = default;

  virtual void join(TimePoint now, std::vector<std::string> seeds) = 0;
  virtual void leave(TimePoint now) = 0;
  virtual bool leave_done() const = 0;

  virtual void handle_message(TimePoint now, std::span<const std::uint8_t> bytes) = 0;
  // A message sent to the node's data address ("n<index>:data"). Only processes that run the
  // data layer get any; the default drops it.
  virtual void handle_data_message(TimePoint now, std::span<const std::uint8_t> bytes) {
    (void)now;
    (void)bytes;
  }
  virtual void handle_timeout(TimePoint now) = 0;
  virtual TimePoint next_deadline() const = 0;

  virtual std::optional<gossip::Outgoing> poll_send() = 0;
  virtual std::optional<gossip::MemberEvent> poll_event() = 0;

  // The node's full view; expensive (copies), only for end-of-run cross-checks and tests.
  virtual std::vector<gossip::Member> members() const = 0;
  virtual ProcessCounters counters() const { return {}; }
  // The whole node (core::NodeCore: store, replication, Redis commands, routing) when this
  // process runs one, else nullptr.
  virtual NodeProcess* node() { return nullptr; }
};

// Identity of one node instance. `name` is "n<index>" and `addr` is "n<index>:7946".
struct ProcessSpec {
  std::uint32_t index = 0;
  std::string name;
  std::string addr;
};

// Builds a fresh process instance (at start and at every restart). The Rng is split from the
// world's master generator, so the instance's randomness replays with the seed.
using ProcessFactory =
    std::function<std::unique_ptr<Process>(const ProcessSpec& spec, Rng rng, TimePoint now)>;

std::string node_name(std::uint32_t index);
std::string node_addr(std::uint32_t index);
std::string node_data_addr(std::uint32_t index);  // "n<index>:data"
bool is_data_addr(std::string_view addr);
// Index of "n<index>" or "n<index>:port"; nullopt for anything else.
std::optional<std::uint32_t> parse_node_index(std::string_view name_or_addr);

}  // namespace apiary::sim
