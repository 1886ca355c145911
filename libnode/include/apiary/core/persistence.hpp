// Persistence: what the node keeps on disk -- the append-only file and snapshots -- as a
// sans-IO component of NodeCore, on an Env the driver gives it (PosixEnv in the runtime, a
// SimEnv per simulated node in the simulator). docs/persistence.md has the guarantees.
//
//  - Loading (open): the AOF when `appendonly` is on and the file exists, else the snapshot.
//    A torn AOF tail is truncated to its last whole record when `aof-load-truncated` is on
//    (Redis's default); damage before the tail, an unknown record type or a corrupt snapshot
//    refuse the start with a message naming the file, the offset and `apiary check-aof`.
//  - The change feed: Persistence is the store's ChangeListener. It notes the keys that changed
//    during an event-loop pass; pass() then appends one record per key (its entry as it is
//    now, or a removal) and one per flush, and syncs by `appendfsync` (Redis's group commit in
//    beforeSleep: one write and at most one fsync per pass). A key of which every change in
//    the pass was a write to its hash or set (ChangeListener::collection_delta) gets those
//    deltas, in order, instead of its entry when they are smaller: an HSET to a big hash
//    appends about the field, not the hash. Loading replays a delta on the entry it was built
//    on (Store::replay_delta), skips one the entry already holds, and refuses the file when
//    neither is the case. The driver releases the pass's
//    client replies and replica acknowledgements only after pass(), so under `always` nothing
//    is acknowledged before it is on disk.
//  - Background work without a fork: BGSAVE and BGREWRITEAOF scan the store a slice at a time
//    (entries_per_step per pass) into a temporary file that is synced and renamed into place.
//    A rewrite also receives every record appended meanwhile, so the new AOF is complete when
//    it replaces the old one (a key's deltas only once the scan has passed its partition: before
//    that its put, or nothing while the scan has yet to reach it and will take it whole). A snapshot is consistent per key (each key as it was at some
//    moment during the save), not a point-in-time image of the whole table.
//  - Failure: a failed AOF write or fsync is sticky; writes are refused with Redis's MISCONF
//    error (write_refusal) until a rewrite into a fresh file succeeds (retried every 5 s). A
//    failed background save refuses writes too when save rules are set and
//    stop-writes-on-bgsave-error is on, as in Redis. Under `always` a failed write or fsync
//    is fatal() instead: the pass's writes cannot be made durable, so they must never be
//    acknowledged (Redis exits too).
// Deterministic: time comes from the caller, no threads; not thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/base/ids.hpp"
#include "apiary/base/status.hpp"
#include "apiary/base/time.hpp"
#include "apiary/persist/aof_writer.hpp"
#include "apiary/persist/env.hpp"
#include "apiary/resp/persistence_control.hpp"
#include "apiary/store/store.hpp"

namespace apiary::persist {
class AtomicFileWriter;
}

namespace apiary::core {

// One `save <seconds> <changes>` rule: snapshot when at least `changes` keys changed and
// `seconds` passed since the last snapshot.
struct SaveRule {
  std::int64_t seconds = 0;
  std::int64_t changes = 0;
  friend bool operator==(const SaveRule&, const SaveRule&) = default;
};
// Redis's syntax: "3600 1 300 100" (pairs), "" for none. nullopt when malformed.
std::optional<std::vector<SaveRule>> parse_save_rules(std::string_view text);
std::string format_save_rules(const std::vector<SaveRule>& rules);

struct PersistenceConfig {
  persist::Env* env = nullptr;  // not owned; nullptr: nothing is read or written
  std::string dir = ".";
  std::string dbfilename = "dump.apiary";
  std::string appendfilename = "appendonly.aof";
  bool appendonly = false;
  persist::FsyncPolicy appendfsync = persist::FsyncPolicy::everysec;
  std::vector<SaveRule> save;  // empty: no automatic snapshots
  std::int64_t auto_aof_rewrite_percentage = 100;  // 0: no automatic rewrite
  std::uint64_t auto_aof_rewrite_min_size = 64ull << 20;
  bool aof_load_truncated = true;
  bool stop_writes_on_bgsave_error = true;
  // A background save or rewrite writes this many entries per pass of the event loop (about
  // 2 µs each), and syncs its file every 4 MiB, so a client waits at most about a millisecond
  // behind it.
  std::size_t entries_per_step = 512;
};

// What open() loaded.
struct LoadSummary {
  enum class Source : unsigned char { none, aof, snapshot };
  Source source = Source::none;
  std::uint64_t records = 0;       // AOF records, or snapshot entries
  std::uint64_t keys = 0;          // keys in the store afterwards
  std::uint64_t truncated_bytes = 0;
  std::string detail;  // one line for the log
};

// What BGSAVE and BGREWRITEAOF did: the reply the RESP command renders.
using BackgroundStart = resp::BackgroundReply;

class Persistence final : public store::ChangeListener {
 public:
  // Loads the data directory into `store` (see above) and opens the AOF when enabled. The
  // store must be empty. Errors: what was wrong with which file (the node must not start).
  static Result<std::unique_ptr<Persistence>> open(PersistenceConfig config, store::Store& store,
                                                   NodeId actor, TimePoint now, WallTime wall);
  ~Persistence() override;
  Persistence(const Persistence&) = delete;
  Persistence& operator=(const Persistence&) = delete;

  const LoadSummary& loaded() const { return loaded_; }

  // Lines for the node's log (a background job started, ended or failed; the AOF failed).
  struct LogLine {
    bool error = false;
    std::string text;
  };
  std::optional<LogLine> poll_log();
  // Under `appendfsync always` a failed write or fsync of the AOF leaves writes applied that
  // cannot be made durable: the node must stop before it acknowledges them (Redis exits).
  bool fatal() const { return fatal_; }
  const PersistenceConfig& config() const { return config_; }

  // After every pass of the event loop, before its replies and acknowledgements leave:
  // appends the pass's records and syncs by policy. Cheap when nothing changed.
  void pass(TimePoint now, WallTime wall);
  // At next_deadline(): the everysec fsync, a slice of a background save or rewrite, the
  // save rules and automatic rewrites (checked once a second), retries after failures.
  void handle_timeout(TimePoint now, WallTime wall);
  TimePoint next_deadline() const;
  // A clean stop: what is appended is synced, a save rule's snapshot is written (as Redis's
  // SHUTDOWN). Afterwards nothing more is written.
  Status close(TimePoint now, WallTime wall);

  // ---- Commands -------------------------------------------------------------------------
  Status save(TimePoint now, WallTime wall);  // SAVE: the whole snapshot, now
  BackgroundStart bgsave(TimePoint now, WallTime wall, bool schedule);
  BackgroundStart bgrewriteaof(TimePoint now, WallTime wall);
  std::int64_t lastsave_seconds() const { return last_save_.ms / 1000; }
  // Redis's MISCONF text while writes must be refused; empty otherwise.
  const std::string& write_refusal() const { return refusal_; }
  // INFO persistence, Redis's fields.
  void info(std::string& out, TimePoint now) const;
  // The same state as numbers, for the admin port's /metrics.
  struct Figures {
    std::uint64_t changes_since_save = 0;
    bool bgsave_in_progress = false;
    std::int64_t last_save_seconds = 0;  // Unix time
    bool last_bgsave_ok = true;
    std::uint64_t saves = 0;
    bool aof_enabled = false;
    bool aof_rewrite_in_progress = false;
    bool aof_last_rewrite_ok = true;
    bool aof_last_write_ok = true;
    std::uint64_t aof_rewrites = 0;
    std::uint64_t aof_size = 0;  // bytes appended to the current AOF
  };
  Figures figures() const;

  // ---- CONFIG SET ------------------------------------------------------------------------
  // Turning the AOF on writes a complete one first (a rewrite; writes continue meanwhile),
  // as Redis does; off closes it.
  void set_appendonly(bool on, TimePoint now, WallTime wall);
  void set_appendfsync(persist::FsyncPolicy policy);
  void set_save_rules(std::vector<SaveRule> rules);
  void set_auto_rewrite(std::int64_t percentage, std::uint64_t min_size);
  void set_aof_load_truncated(bool on) { config_.aof_load_truncated = on; }
  void set_stop_writes_on_bgsave_error(bool on);

  // ---- store::ChangeListener ---------------------------------------------------------------
  void key_changed(std::string_view key) override;
  void flushed(HlcTimestamp horizon) override;
  void collection_delta(const store::CollectionDelta& delta) override;

  std::string aof_path() const;
  std::string snapshot_path() const;

 private:
  struct Job;
  Persistence(PersistenceConfig config, store::Store& store, NodeId actor, TimePoint now,
              WallTime wall);
  Status load(TimePoint now, WallTime wall);
  Status load_aof(WallTime wall);
  Status load_snapshot(WallTime wall);
  Status open_writer(TimePoint now);
  void drain(WallTime wall);
  BackgroundStart start(bool snapshot, TimePoint now);
  void step(TimePoint now, WallTime wall);
  void finish(TimePoint now, WallTime wall);
  void fail_job(const Status& s, TimePoint now);
  void aof_failed(const Status& s, TimePoint now);
  void check_rules(TimePoint now, WallTime wall);
  void update_refusal();
  // Whether changes become records: an AOF or a running rewrite takes them.
  bool records_wanted() const;

  PersistenceConfig config_;
  store::Store& store_;
  NodeId actor_;
  LoadSummary loaded_;
  std::unique_ptr<persist::AofWriter> writer_;
  std::unique_ptr<Job> job_;
  bool closed_ = false;

  // The pass's changes: keys (with repeats) and flush horizons, in order. `delta`: the
  // change came with a collection delta (kept in deltas_, in order per key).
  struct Change {
    std::string key;
    bool delta = false;
  };
  std::vector<Change> dirty_;
  std::map<std::string, std::vector<store::CollectionDelta>, std::less<>> deltas_;
  std::optional<HlcTimestamp> flushed_;

  // Statistics and schedules (INFO persistence, save rules).
  std::uint64_t changes_since_save_ = 0;
  WallTime last_save_{};
  TimePoint last_bgsave_try_{};
  bool last_bgsave_ok_ = true;
  std::int64_t last_bgsave_seconds_ = -1;
  std::uint64_t saves_ = 0;
  bool bgsave_scheduled_ = false;
  bool rewrite_scheduled_ = false;
  bool last_rewrite_ok_ = true;
  std::int64_t last_rewrite_seconds_ = -1;
  std::uint64_t rewrites_ = 0;
  std::uint64_t rewrite_failures_ = 0;  // consecutive
  TimePoint rewrite_retry_at_ = kNever;
  Status aof_status_;
  std::uint64_t aof_base_size_ = 0;  // after the last rewrite or load
  TimePoint rules_next_{};  // when check_rules() looks next ({}: at the next timeout)
  std::string refusal_;
  bool fatal_ = false;
  std::deque<LogLine> log_;
};

}  // namespace apiary::core
