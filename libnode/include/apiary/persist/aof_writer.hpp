// AofWriter: appends records to the append-only file through an Env, with Redis's fsync
// policies expressed sans-IO: the caller passes the core clock's TimePoint, the writer says
// when a sync is due (sync_due, next_deadline) and whether a record is durable yet
// (is_durable), so the node can hold an `appendfsync always` client's reply until the record
// it wrote is synced, and batch every write of one event-loop pass into one write and one
// fsync (Redis's group commit in beforeSleep).
//
// Policies (the guarantees are spelled out in docs/persistence.md):
//   always    a sync is due whenever anything appended is not durable; the node syncs before
//             it releases replies, so an acknowledged write survives a crash.
//   everysec  a sync is due when something is not durable and `interval` (1 s) has passed
//             since the last sync: a crash loses at most about the last second of writes.
//   no        never due; the OS writes back when it likes (Linux: within ~30 s).
//
// Costs: append() encodes into a memory buffer (no I/O); flush() is one Env::append of the
// buffer; sync() is flush() plus one fdatasync. Failure is sticky: after a failed write or
// sync, status() holds the error, every later call returns it, and nothing more is durable
// (the node must stop acknowledging writes that need the AOF, as Redis answers MISCONF, and
// recover by rewriting into a fresh file). Not thread-safe: owned by the node's loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/base/ids.hpp"
#include "apiary/base/status.hpp"
#include "apiary/base/time.hpp"
#include "apiary/persist/env.hpp"
#include "apiary/persist/record.hpp"

namespace apiary::persist {

enum class FsyncPolicy : std::uint8_t { always, everysec, no };

// Redis's spellings: "always", "everysec", "no".
std::optional<FsyncPolicy> parse_fsync_policy(std::string_view name);
std::string_view to_string(FsyncPolicy policy);

struct AofWriterOptions {
  FsyncPolicy policy = FsyncPolicy::everysec;
  Duration everysec_interval = std::chrono::seconds(1);
};

class AofWriter {
 public:
  // Opens `path` for appending. A missing or empty file is created with a header carrying
  // `actor` and synced before open returns. An existing file must start with a whole AOF
  // header (else malformed / unsupported) and is appended to as is: load it with AofReader
  // first and truncate a torn tail (report().good_offset), or records appended after the tear
  // would be unreachable.
  static Result<std::unique_ptr<AofWriter>> open(Env& env, const std::string& path, NodeId actor,
                                                 AofWriterOptions options, TimePoint now);
  ~AofWriter();

  // Encodes one record into the buffer; returns its position: the file offset at which the
  // record ends, which is_durable() takes. No I/O.
  Result<std::uint64_t> append(const Record& record);
  // The records appended between begin_group() and end_group() go into one group record
  // (RecordType::group), which a load applies whole or not at all; end_group() returns the
  // position where the group ends. A group of one record is written as that record.
  void begin_group();
  Result<std::uint64_t> end_group();

  // Writes the buffer to the file (not synced). Call once per event-loop pass.
  Status flush();
  // Whether the policy wants sync() now.
  bool sync_due(TimePoint now) const;
  // When the policy will want a sync, if nothing else is appended: kNever when everything is
  // durable or the policy is `no`; `now`-independent, so the loop can arm a timer.
  TimePoint next_deadline() const;
  // flush() + fdatasync; marks everything appended so far durable.
  Status sync(TimePoint now);
  // flush(), then sync() if sync_due(now): what the node calls after each pass and on its
  // timer.
  Status handle_timeout(TimePoint now);

  bool is_durable(std::uint64_t position) const { return position <= durable_; }
  std::uint64_t appended() const { return appended_; }  // end of the last record appended
  std::uint64_t written() const { return written_; }    // end of what the file has received
  std::uint64_t durable() const { return durable_; }    // end of what survives a crash
  const Status& status() const { return status_; }
  FsyncPolicy policy() const { return options_.policy; }
  // Redis lets CONFIG SET change appendfsync on a live file.
  void set_policy(FsyncPolicy policy) { options_.policy = policy; }

  // Flushes, syncs and closes the file (a clean shutdown). Every later call returns an error
  // (`unavailable` when the close itself went well).
  Status close(TimePoint now);

 private:
  AofWriter(std::unique_ptr<WritableFile> file, AofWriterOptions options, TimePoint now);
  Status fail(Status s);

  std::unique_ptr<WritableFile> file_;
  AofWriterOptions options_;
  std::vector<std::uint8_t> buffer_;
  std::uint64_t appended_ = 0;
  bool in_group_ = false;
  std::size_t group_start_ = 0;    // where its frame header is reserved in buffer_
  std::size_t group_records_ = 0;
  std::uint64_t written_ = 0;
  std::uint64_t durable_ = 0;
  TimePoint last_sync_;
  Status status_;
};

}  // namespace apiary::persist
