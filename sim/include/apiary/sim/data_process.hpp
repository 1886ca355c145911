// DataProcess: one simulated node running the real data path -- gossip::Swim, store::Store
// and replication::Replicator -- driven the way the runtime drives them.
//
// Gossip datagrams go to "n<i>:7946", data messages to "n<i>:data" (the same simulated
// network). The replication view is rebuilt with replication::view_from_members() (the ring
// policy the runtime uses) after every membership event and at next_ring_change().
//
// Client operations (the workload's GET and SET) follow the runtime's routing: a node that
// owns the key coordinates (SET: Store::put_local, then Replicator::replicate; GET: the local
// copy when read_is_local(), else Replicator::read and then the local copy); any other node
// calls Replicator::forward, and the owner's executor does the same and answers through
// reply_forwarded(). Results come out of poll_result().
//
// A graceful leave hands the data off first (Replicator::leave until handoff_pending() is
// false) and only then leaves the gossip cluster. Deterministic; not thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "apiary/data/dvv.hpp"
#include "apiary/gossip/swim.hpp"
#include "apiary/gossip/swim_config.hpp"
#include "apiary/replication/membership_view.hpp"
#include "apiary/replication/replicator.hpp"
#include "apiary/sim/process.hpp"
#include "apiary/store/store.hpp"

namespace apiary::sim {

struct DataConfig {
  replication::ReplicationConfig replication;  // partition_count is the store's too
  replication::RingPolicy ring;
};

struct ClientOp {
  std::uint64_t id = 0;
  bool write = false;
  std::string key;
  std::string value;  // write
};

struct ClientResult {
  std::uint64_t id = 0;
  bool ok = false;
  std::string error;
  std::vector<std::string> values;  // read: the sibling values found (empty: missing)
  // Write: the new version's dot and the clock it carried (what the write saw).
  std::optional<data::Dot> dot;
  std::vector<data::ClockEntry> clock;
  std::uint32_t executed_on = 0;  // node index whose store ran the command
  bool forwarded = false;
};

class DataProcess final : public Process {
 public:
  DataProcess(gossip::SwimConfig swim, const DataConfig& data, const ProcessSpec& spec, Rng rng,
              TimePoint now);
  ~DataProcess() override;

  void join(TimePoint now, std::vector<std::string> seeds) override;
  void leave(TimePoint now) override;
  bool leave_done() const override;
  void handle_message(TimePoint now, std::span<const std::uint8_t> bytes) override;
  void handle_data_message(TimePoint now, std::span<const std::uint8_t> bytes) override;
  void handle_timeout(TimePoint now) override;
  TimePoint next_deadline() const override;
  std::optional<gossip::Outgoing> poll_send() override;
  std::optional<gossip::MemberEvent> poll_event() override;
  std::vector<gossip::Member> members() const override { return swim_.members(); }
  ProcessCounters counters() const override;
  DataProcess* data() override { return this; }

  // A client's command arrives at this node.
  void client_op(TimePoint now, const ClientOp& op);
  std::optional<ClientResult> poll_result();

  store::Store& store() { return *store_; }
  replication::Replicator& replicator() { return *replicator_; }
  const replication::Replicator& replicator() const { return *replicator_; }
  std::uint32_t index() const { return index_; }
  // The key's entry as this node holds it (tests and checkers).
  std::optional<store::VersionedEntry> entry(std::string_view key, TimePoint now) const;
  static WallTime wall_of(TimePoint local);

 private:
  // What a completion id of the Replicator stands for.
  struct Pending {
    enum class Kind : std::uint8_t { client, executor, forward } kind = Kind::client;
    std::uint64_t client_id = 0;  // client, forward
    std::uint64_t token = 0;      // executor: the ForwardedCommand's token
    bool write = false;
    std::string key;
    ClientResult partial;  // write: the dot and clock, known at put time
  };

  std::optional<std::string> execute(const replication::ForwardedCommand& cmd);
  // Runs a command on this node's store; the reply (or result) comes at once or through a
  // Replicator completion registered under `pending`.
  void run_local(TimePoint now, bool write, const std::string& key, const std::string& value,
                 Pending pending);
  void finish(TimePoint now, Pending& pending, const replication::Completion* c);
  ClientResult read_result(const std::string& key, TimePoint now) const;
  void after_input(TimePoint now);
  void refresh_view(TimePoint now);

  std::uint32_t index_ = 0;
  DataConfig config_;
  gossip::Swim swim_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<replication::Replicator> replicator_;
  std::deque<gossip::MemberEvent> events_;
  std::deque<ClientResult> results_;
  std::map<std::uint64_t, Pending> pending_;
  std::uint64_t next_completion_ = 1;
  TimePoint now_{};  // of the input being handled (the executor has no time argument)
  TimePoint ring_change_ = kNever;
  bool joined_ = false;  // a view is set only from then on
  bool leaving_ = false;
  bool swim_left_ = false;
};

ProcessFactory data_factory(gossip::SwimConfig swim, DataConfig data);

// Reply encoding of forwarded commands between simulated nodes (not RESP: the simulator has
// no RESP layer). Exposed for tests.
std::string encode_result(const ClientResult& r);
std::optional<ClientResult> decode_result(std::string_view bytes);

}  // namespace apiary::sim
