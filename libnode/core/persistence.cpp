#include "apiary/core/persistence.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <utility>

#include "apiary/data/partition.hpp"
#include "apiary/persist/aof_reader.hpp"
#include "apiary/persist/aof_rewrite.hpp"
#include "apiary/persist/atomic_file.hpp"
#include "apiary/persist/snapshot.hpp"

namespace apiary::core {

using persist::FsyncPolicy;

namespace {

constexpr auto kRetryDelay = std::chrono::seconds(5);  // Redis's CONFIG_BGSAVE_RETRY_DELAY
constexpr auto kRuleCheck = std::chrono::seconds(1);
constexpr std::uint64_t kSyncEvery = 1u << 20;  // background files: bytes between fsyncs

std::int64_t seconds_between(TimePoint from, TimePoint to) {
  return std::chrono::duration_cast<std::chrono::seconds>(to - from).count();
}

// Whether every byte of `path` from `offset` on is zero: a tail that a crash brought back as
// zeros (XFS, ext4 without data=ordered) is a torn tail, not damage in the middle.
bool zero_tail(persist::Env& env, const std::string& path, std::uint64_t offset) {
  auto file = env.open_read(path);
  if (!file.ok()) return false;
  std::array<std::uint8_t, 64 << 10> buf{};
  std::uint64_t at = 0;
  for (;;) {
    auto n = file.value()->read(buf);
    if (!n.ok()) return false;
    if (n.value() == 0) return true;
    for (std::size_t i = 0; i < n.value(); ++i, ++at) {
      if (at >= offset && buf[i] != 0) return false;
    }
  }
}

// Every entry of the store, partition by partition: the source of SAVE and of the AOF written
// when it is turned on over a loaded snapshot.
persist::EntrySource whole_store(store::Store& store, WallTime wall) {
  struct Scan {
    std::uint32_t partition = 0;
    store::ScanCursor cursor;
    std::vector<store::VersionedEntry> batch;
    std::size_t next = 0;
  };
  auto scan = std::make_shared<Scan>();
  return [&store, wall, scan](store::VersionedEntry& out) {
    Scan& s = *scan;
    while (s.next == s.batch.size()) {
      if (s.partition >= store.config().partition_count) return false;
      s.batch = store.scan_partition(PartitionId{s.partition}, s.cursor, 1024, wall);
      s.next = 0;
      if (s.cursor.done()) {
        ++s.partition;
        s.cursor = {};
      }
    }
    out = std::move(s.batch[s.next++]);
    return true;
  };
}

// Estimates of the encoded sizes (store/entry_codec.hpp) that decide between a key's deltas
// and its entry: bytes of the elements, plus the clocks and dots around them.
std::size_t delta_bytes(const store::CollectionDelta& d) {
  std::size_t n = 40 + d.key.size() + 20 * (d.base.size() + d.base_dots.size());
  for (const auto& c : d.changes) n += 4 + c.name.size() + c.value.size();
  return n;
}

std::size_t entry_bytes(const store::VersionedEntry& e) {
  std::size_t n = 16 + e.key.size() + 20 * e.version.clock().size();
  for (const auto& sib : e.version.siblings()) {
    n += 24 + (sib.collection != nullptr ? sib.collection->encoded_size() : sib.value.size());
  }
  return n;
}

}  // namespace

std::optional<std::vector<SaveRule>> parse_save_rules(std::string_view text) {
  std::vector<std::string_view> words;
  for (std::size_t i = 0; i < text.size();) {
    if (text[i] == ' ') {
      ++i;
      continue;
    }
    const std::size_t end = std::min(text.find(' ', i), text.size());
    words.push_back(text.substr(i, end - i));
    i = end;
  }
  if (words.size() % 2 != 0) return std::nullopt;
  std::vector<SaveRule> rules;
  for (std::size_t i = 0; i < words.size(); i += 2) {
    SaveRule r;
    for (auto [word, field] : {std::pair{words[i], &r.seconds}, {words[i + 1], &r.changes}}) {
      if (word.empty() || word.size() > 18) return std::nullopt;
      std::int64_t v = 0;
      for (char c : word) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + (c - '0');
      }
      *field = v;
    }
    if (r.seconds < 1 || r.changes < 0) return std::nullopt;
    rules.push_back(r);
  }
  return rules;
}

std::string format_save_rules(const std::vector<SaveRule>& rules) {
  std::string out;
  for (const auto& r : rules) {
    if (!out.empty()) out += ' ';
    out += std::to_string(r.seconds) + " " + std::to_string(r.changes);
  }
  return out;
}

// A background save or rewrite: a temporary file filled a slice of the table per pass.
struct Persistence::Job {
  bool snapshot = true;  // else an AOF rewrite
  bool enable_aof = false;  // a rewrite for CONFIG SET appendonly yes: open the AOF after it
  std::unique_ptr<persist::AtomicFileWriter> file;
  std::uint32_t partition = 0;
  store::ScanCursor cursor;
  std::uint64_t entries = 0;
  std::uint64_t total = 0;  // keys in the store when it started
  std::uint64_t changes_at_start = 0;
  TimePoint started{};
  TimePoint next{};  // the pass that takes the next slice (at once)
  bool restart = false;  // a flush made the snapshot's earlier entries wrong
};

Persistence::Persistence(PersistenceConfig config, store::Store& store, NodeId actor,
                         TimePoint now, WallTime wall)
    : config_(std::move(config)), store_(store), actor_(actor), last_save_(wall) {
  last_bgsave_try_ = now;
}

Persistence::~Persistence() { store_.set_change_listener(nullptr); }

std::string Persistence::aof_path() const {
  return persist::join_path(config_.dir, config_.appendfilename);
}
std::string Persistence::snapshot_path() const {
  return persist::join_path(config_.dir, config_.dbfilename);
}

Result<std::unique_ptr<Persistence>> Persistence::open(PersistenceConfig config,
                                                       store::Store& store, NodeId actor,
                                                       TimePoint now, WallTime wall) {
  if (config.env == nullptr) {
    return make_error(StatusCode::invalid_argument, "persistence needs an Env");
  }
  std::unique_ptr<Persistence> p(new Persistence(std::move(config), store, actor, now, wall));
  if (Status s = p->config_.env->create_dir(p->config_.dir); !s.ok()) {
    return make_error(s.code(), "dir " + p->config_.dir + ": " + s.message());
  }
  if (Status s = p->load(now, wall); !s.ok()) return s;
  store.set_change_listener(p.get());
  return p;
}

Status Persistence::load(TimePoint now, WallTime wall) {
  persist::Env& env = *config_.env;
  const bool aof_exists = config_.appendonly && env.exists(aof_path());
  if (aof_exists) {
    if (Status s = load_aof(wall); !s.ok()) return s;
  } else if (env.exists(snapshot_path())) {
    if (Status s = load_snapshot(wall); !s.ok()) return s;
  }
  loaded_.keys = store_.size();
  if (!config_.appendonly) return Status::Ok();
  if (!aof_exists && store_.size() + store_.tombstones() > 0) {
    // The AOF starts as the whole loaded table, so that it alone rebuilds it.
    auto written = persist::rewrite_aof(env, aof_path(), actor_, store_.flush_horizon(),
                                        whole_store(store_, wall));
    if (!written.ok()) return written.status();
  }
  return open_writer(now);
}

Status Persistence::load_aof(WallTime wall) {
  persist::Env& env = *config_.env;
  const std::string path = aof_path();
  auto opened = persist::AofReader::open(env, path);
  if (!opened.ok()) {
    return Status(opened.status().code(), "AOF " + path + ": " + opened.status().message());
  }
  persist::AofReader& reader = *opened.value();
  // Live entries a put brought back already expired (restore drops them): a later delta may
  // still build on one (an EXPIRE or PERSIST made before it expired, say).
  std::map<std::string, store::VersionedEntry, std::less<>> expired;
  // Keys a delta left expired: removed when the load ends.
  std::vector<std::string> replayed_expired;
  while (auto record = reader.next()) {
    if (auto* put = std::get_if<persist::PutRecord>(&*record)) {
      store::VersionedEntry& e = put->entry;
      if (e.expiry && wall.ms >= e.expiry->ms && !e.version.siblings().empty()) {
        expired.insert_or_assign(e.key, e);
      } else {
        expired.erase(e.key);
      }
      store_.restore(e.key, std::move(e.version), e.expiry, wall);
    } else if (auto* rm = std::get_if<persist::RemoveRecord>(&*record)) {
      expired.erase(rm->key);
      store_.remove(rm->key);
    } else if (auto* flush = std::get_if<persist::FlushRecord>(&*record)) {
      expired.clear();  // a key kept by the flush is written whole after it
      store_.flush_before(flush->horizon, wall);
    } else if (auto* d = std::get_if<persist::DeltaRecord>(&*record)) {
      const store::CollectionDelta& delta = d->delta;
      auto outcome = store_.replay_delta(delta, wall);
      if (outcome == store::ReplayOutcome::base_mismatch) {
        if (auto it = expired.find(delta.key); it != expired.end()) {
          // Its base expired by now: bring it back without the expiry for the delta.
          store_.restore(it->second.key, std::move(it->second.version), std::nullopt, wall);
          expired.erase(it);
          outcome = store_.replay_delta(delta, wall);
        }
      }
      if (outcome == store::ReplayOutcome::base_mismatch) {
        return make_error(
            StatusCode::malformed,
            "AOF " + path + ": record at offset " + std::to_string(reader.last_offset()) +
                ": a delta of the hash or set '" + delta.key + "' (write " +
                std::to_string(delta.dot.actor.value) + ":" + std::to_string(delta.dot.counter) +
                ") does not apply: the entry loaded before it is not the version it was built "
                "on (the file's records do not follow each other; move the AOF away to start "
                "from the snapshot, or empty, and let the replicas fill the node in)");
      }
      if (outcome == store::ReplayOutcome::applied && delta.expiry &&
          wall.ms >= delta.expiry->ms) {
        replayed_expired.push_back(delta.key);
      }
    }
  }
  for (const auto& key : replayed_expired) {
    if (!store_.export_entry(key, wall)) store_.remove(key);
  }
  const persist::AofLoadReport report = reader.report();
  loaded_.source = LoadSummary::Source::aof;
  loaded_.records = report.records;
  loaded_.detail = "AOF " + path + ": " + report.summary();
  if (report.clean() || (report.reason == persist::StopReason::truncated && !report.has_header &&
                         report.file_size == 0)) {
    return Status::Ok();
  }
  const bool torn_tail =
      report.reason == persist::StopReason::truncated ||
      (report.repairable() && zero_tail(env, path, report.good_offset));
  if (!torn_tail || !config_.aof_load_truncated) {
    return make_error(
        report.reason == persist::StopReason::unsupported ? StatusCode::unsupported
                                                          : StatusCode::malformed,
        loaded_.detail + (report.repairable()
                              ? ". Run `apiary check-aof --fix " + path +
                                    "` to truncate it to its last good record (" +
                                    std::to_string(report.bytes_after_good()) + " bytes dropped)"
                              : ""));
  }
  if (Status s = env.truncate(path, report.good_offset); !s.ok()) return s;
  loaded_.truncated_bytes = report.bytes_after_good();
  loaded_.detail += " (truncated to its last whole record: aof-load-truncated yes)";
  return Status::Ok();
}

Status Persistence::load_snapshot(WallTime wall) {
  const std::string path = snapshot_path();
  auto loaded = persist::load_snapshot(*config_.env, path);
  if (!loaded.ok()) return loaded.status();
  auto& contents = loaded.value();
  if (contents.flush_horizon.packed != 0) store_.flush_before(contents.flush_horizon, wall);
  for (auto& e : contents.entries) {
    store_.restore(e.key, std::move(e.version), e.expiry, wall);
  }
  loaded_.source = LoadSummary::Source::snapshot;
  loaded_.records = contents.entries.size();
  loaded_.detail = "snapshot " + path + ": " + std::to_string(contents.entries.size()) + " entries";
  return Status::Ok();
}

Status Persistence::open_writer(TimePoint now) {
  persist::AofWriterOptions options;
  options.policy = config_.appendfsync;
  auto opened = persist::AofWriter::open(*config_.env, aof_path(), actor_, options, now);
  if (!opened.ok()) return opened.status();
  writer_ = std::move(opened).value();
  aof_status_ = Status::Ok();
  aof_base_size_ = writer_->appended();
  rules_next_ = {};
  update_refusal();
  return Status::Ok();
}

// ---- the change feed ----------------------------------------------------------------------

bool Persistence::records_wanted() const { return writer_ != nullptr || (job_ && !job_->snapshot); }

void Persistence::key_changed(std::string_view key) {
  ++changes_since_save_;
  if (records_wanted()) dirty_.push_back(Change{std::string(key), false});
}

void Persistence::collection_delta(const store::CollectionDelta& delta) {
  // It describes the change key_changed() just reported.
  if (!records_wanted() || dirty_.empty() || dirty_.back().delta || dirty_.back().key != delta.key) {
    return;
  }
  dirty_.back().delta = true;
  deltas_[delta.key].push_back(delta);
}

void Persistence::flushed(HlcTimestamp horizon) {
  ++changes_since_save_;
  if (records_wanted()) flushed_ = horizon;
  // The flush record goes first in the pass: a delta made before it would be replayed on
  // the flushed table. Such keys are written whole (or removed).
  for (auto& c : dirty_) c.delta = false;
  deltas_.clear();
  if (job_ && job_->snapshot) job_->restart = true;
}

void Persistence::drain(WallTime wall) {
  const bool to_aof = writer_ != nullptr && aof_status_.ok();
  persist::AtomicFileWriter* to_job = job_ && !job_->snapshot ? job_->file.get() : nullptr;
  auto emit_aof = [&](const persist::Record& record) {
    if (!to_aof) return;
    if (auto pos = writer_->append(record); !pos.ok()) aof_status_ = pos.status();
  };
  auto emit_job = [&](const persist::Record& record) {
    if (to_job == nullptr) return;
    if (Status s = to_job->add(record); !s.ok() && job_->restart == false) {
      job_->restart = true;  // fail_job in step() reports it
    }
  };
  auto emit = [&](const persist::Record& record) {
    emit_aof(record);
    emit_job(record);
  };
  // The pass's records go to the AOF as one group: the keys of a transaction or script,
  // which replicas receive and apply as one unit, are loaded as one unit too.
  if (to_aof) writer_->begin_group();
  if (flushed_) emit(persist::FlushRecord{*flushed_});
  flushed_.reset();
  // Grouped by key (records of different keys commute; a flush went first).
  std::sort(dirty_.begin(), dirty_.end(),
            [](const Change& a, const Change& b) { return a.key < b.key; });
  for (std::size_t i = 0; i < dirty_.size();) {
    const std::string& key = dirty_[i].key;
    std::size_t j = i;
    bool all_deltas = true;
    for (; j < dirty_.size() && dirty_[j].key == key; ++j) all_deltas = all_deltas && dirty_[j].delta;
    const std::size_t changes = j - i;
    auto entry = store_.export_entry(key, wall);
    const std::vector<store::CollectionDelta>* deltas = nullptr;
    if (auto it = deltas_.find(key); all_deltas && entry && it != deltas_.end() &&
                                     it->second.size() == changes) {
      std::size_t bytes = 0;
      for (const auto& d : it->second) bytes += delta_bytes(d);
      if (bytes < entry_bytes(*entry)) deltas = &it->second;
    }
    if (!entry) {
      emit(persist::RemoveRecord{key});
    } else if (deltas == nullptr) {
      emit(persist::PutRecord{std::move(*entry)});
    } else {
      for (const auto& d : *deltas) emit_aof(persist::DeltaRecord{d});
      if (to_job != nullptr) {
        // The rewrite holds the key's entry (and every change since) once the scan passed its
        // partition: the deltas follow it. In the partition being scanned, the entry may or
        // may not be there yet: it goes whole. The scan takes the key as it is then from a
        // partition it has not reached.
        const std::uint32_t p =
            data::partition_of(key, store_.config().partition_count).value;
        if (p < job_->partition) {
          for (const auto& d : *deltas) emit_job(persist::DeltaRecord{d});
        } else if (p == job_->partition) {
          emit_job(persist::PutRecord{std::move(*entry)});
        }
      }
    }
    i = j;
  }
  if (to_aof) {
    if (auto end = writer_->end_group(); !end.ok()) aof_status_ = end.status();
  }
  dirty_.clear();
  deltas_.clear();
}

void Persistence::pass(TimePoint now, WallTime wall) {
  if (closed_) return;
  if (!dirty_.empty() || flushed_) drain(wall);
  if (writer_ && aof_status_.ok()) {
    if (Status s = writer_->handle_timeout(now); !s.ok()) aof_status_ = s;
  }
  if (writer_ && !aof_status_.ok() && refusal_.empty() && !fatal_) aof_failed(aof_status_, now);
}

void Persistence::handle_timeout(TimePoint now, WallTime wall) {
  if (closed_) return;
  if (job_ && job_->next <= now) step(now, wall);
  if (rewrite_retry_at_ <= now && !job_) {
    rewrite_retry_at_ = kNever;
    (void)start(false, now);
  }
  if (rules_next_ <= now) check_rules(now, wall);
  pass(now, wall);
}

TimePoint Persistence::next_deadline() const {
  if (closed_) return kNever;
  TimePoint t = std::min(rewrite_retry_at_, rules_next_);
  if (writer_ && aof_status_.ok()) t = std::min(t, writer_->next_deadline());
  if (job_) t = std::min(t, job_->next);
  return t;
}

Status Persistence::close(TimePoint now, WallTime wall) {
  if (closed_) return Status::Ok();
  if (!dirty_.empty() || flushed_) drain(wall);
  job_.reset();  // an unfinished background file is removed
  Status result = Status::Ok();
  if (writer_ && aof_status_.ok()) result = writer_->close(now);
  writer_.reset();
  if (!config_.save.empty()) {
    if (Status s = save(now, wall); !s.ok() && result.ok()) result = s;
  }
  closed_ = true;
  store_.set_change_listener(nullptr);
  return result;
}

// ---- background saves and rewrites ------------------------------------------------------------

Status Persistence::save(TimePoint now, WallTime wall) {
  auto written = persist::write_snapshot(*config_.env, snapshot_path(), actor_,
                                         store_.flush_horizon(), whole_store(store_, wall));
  last_bgsave_try_ = now;
  if (!written.ok()) {
    last_bgsave_ok_ = false;
    update_refusal();
    return written.status();
  }
  last_save_ = wall;
  changes_since_save_ = 0;
  last_bgsave_ok_ = true;
  ++saves_;
  update_refusal();
  return Status::Ok();
}

BackgroundStart Persistence::bgsave(TimePoint now, WallTime, bool schedule) {
  if (job_ && job_->snapshot) return BackgroundStart::already_running;
  if (job_) {
    if (!schedule) return BackgroundStart::other_running;
    bgsave_scheduled_ = true;
    return BackgroundStart::scheduled;
  }
  return start(true, now);
}

BackgroundStart Persistence::bgrewriteaof(TimePoint now, WallTime) {
  if (job_ && !job_->snapshot) return BackgroundStart::already_running;
  if (job_) {
    rewrite_scheduled_ = true;
    return BackgroundStart::scheduled;
  }
  return start(false, now);
}

BackgroundStart Persistence::start(bool snapshot, TimePoint now) {
  auto job = std::make_unique<Job>();
  job->snapshot = snapshot;
  job->started = now;
  job->next = now;
  job->total = store_.size();
  job->changes_at_start = changes_since_save_;
  auto file = persist::AtomicFileWriter::begin(
      *config_.env, snapshot ? snapshot_path() : aof_path(),
      snapshot ? persist::FileKind::snapshot : persist::FileKind::aof, actor_);
  if (file.ok()) job->file = std::move(file).value();
  Status s = file.ok() ? Status::Ok() : file.status();
  if (s.ok() && store_.flush_horizon().packed != 0) {
    s = job->file->add(persist::FlushRecord{store_.flush_horizon()});
  }
  job_ = std::move(job);
  if (snapshot) last_bgsave_try_ = now;
  log_.push_back({false, snapshot ? "background save started" : "background AOF rewrite started"});
  if (!s.ok()) fail_job(s, now);
  return BackgroundStart::started;
}

void Persistence::step(TimePoint now, WallTime wall) {
  Job& job = *job_;
  if (job.restart) {
    if (!job.snapshot) return fail_job(make_error(StatusCode::io_error, "write failed"), now);
    const bool enable = job.enable_aof;
    job_.reset();  // removes the temporary file before the new one is made
    (void)start(true, now);
    if (job_) job_->enable_aof = enable;
    return;
  }
  std::size_t budget = std::max<std::size_t>(1, config_.entries_per_step);
  const std::uint32_t partitions = store_.config().partition_count;
  while (budget > 0 && job.partition < partitions) {
    auto batch = store_.scan_partition(PartitionId{job.partition}, job.cursor, budget, wall);
    for (auto& e : batch) {
      if (Status s = job.file->add(persist::PutRecord{std::move(e)}); !s.ok()) {
        return fail_job(s, now);
      }
    }
    job.entries += batch.size();
    budget -= std::min(budget, batch.size());
    if (job.cursor.done()) {
      ++job.partition;
      job.cursor = {};
    }
  }
  job.next = now;
  if (job.partition >= partitions) return finish(now, wall);
  // A MiB synced at a time keeps each fsync short, and the last one at commit too.
  if (job.file->bytes() - job.file->synced() >= kSyncEvery) {
    if (Status s = job.file->sync(); !s.ok()) return fail_job(s, now);
  }
}

void Persistence::finish(TimePoint now, WallTime wall) {
  std::unique_ptr<Job> job = std::move(job_);
  Status s = job->snapshot ? persist::add_snapshot_trailer(*job->file, job->entries) : Status::Ok();
  if (s.ok()) s = job->file->commit();
  if (!s.ok()) {
    job_ = std::move(job);
    return fail_job(s, now);
  }
  const std::int64_t took = seconds_between(job->started, now);
  if (job->snapshot) {
    last_save_ = wall;
    changes_since_save_ -= std::min(changes_since_save_, job->changes_at_start);
    last_bgsave_ok_ = true;
    last_bgsave_seconds_ = took;
    ++saves_;
    log_.push_back({false, "background save done: " + std::to_string(job->entries) + " entries"});
  } else {
    // The new file holds the table plus every record appended meanwhile: it replaces the AOF.
    writer_.reset();
    last_rewrite_ok_ = true;
    last_rewrite_seconds_ = took;
    ++rewrites_;
    rewrite_failures_ = 0;
    if (config_.appendonly || job->enable_aof) {
      config_.appendonly = true;
      if (Status o = open_writer(now); !o.ok()) aof_failed(o, now);
    }
    log_.push_back({false, "background AOF rewrite done: " + std::to_string(job->entries) +
                               " entries"});
  }
  update_refusal();
  if (bgsave_scheduled_) {
    bgsave_scheduled_ = false;
    (void)start(true, now);
  } else if (rewrite_scheduled_) {
    rewrite_scheduled_ = false;
    (void)start(false, now);
  }
}

void Persistence::fail_job(const Status& s, TimePoint now) {
  std::unique_ptr<Job> job = std::move(job_);
  log_.push_back({true, std::string(job->snapshot ? "background save" : "background AOF rewrite") +
                            " failed: " + s.message()});
  if (job->snapshot) {
    last_bgsave_ok_ = false;
  } else {
    last_rewrite_ok_ = false;
    ++rewrite_failures_;
    if (!aof_status_.ok() || job->enable_aof) rewrite_retry_at_ = now + kRetryDelay;
  }
  job.reset();
  update_refusal();
}

void Persistence::aof_failed(const Status& s, TimePoint now) {
  aof_status_ = s;
  if (config_.appendfsync == FsyncPolicy::always) {
    fatal_ = true;
    log_.push_back({true, "writing the AOF failed under appendfsync always: " + s.message() +
                              "; the node must stop (the last writes cannot be made durable)"});
    update_refusal();
    return;
  }
  log_.push_back({true, "writing the AOF failed: " + s.message() +
                            "; writes are refused until a rewrite into a new file succeeds"});
  if (!job_) rewrite_retry_at_ = now + kRetryDelay;
  update_refusal();
}

void Persistence::check_rules(TimePoint now, WallTime wall) {
  const bool rules = !config_.save.empty() || (writer_ && config_.auto_aof_rewrite_percentage > 0);
  rules_next_ = rules ? now + kRuleCheck : kNever;
  if (!rules || job_) return;
  const std::int64_t since_save = (wall.ms - last_save_.ms) / 1000;
  const bool may_retry = last_bgsave_ok_ || now - last_bgsave_try_ >= kRetryDelay;
  for (const SaveRule& r : config_.save) {
    if (may_retry && changes_since_save_ >= static_cast<std::uint64_t>(std::max<std::int64_t>(
                                                 r.changes, 1)) &&
        since_save >= r.seconds) {
      (void)start(true, now);
      return;
    }
  }
  if (writer_ && aof_status_.ok() && config_.auto_aof_rewrite_percentage > 0) {
    const std::uint64_t size = writer_->appended();
    const std::uint64_t base = std::max<std::uint64_t>(aof_base_size_, 1);
    if (size >= config_.auto_aof_rewrite_min_size &&
        (size - std::min(size, base)) * 100 / base >=
            static_cast<std::uint64_t>(config_.auto_aof_rewrite_percentage)) {
      (void)start(false, now);
    }
  }
}

void Persistence::update_refusal() {
  if (writer_ && !aof_status_.ok()) {
    refusal_ = "-MISCONF Errors writing to the AOF file: " + aof_status_.message();
  } else if (!last_bgsave_ok_ && config_.stop_writes_on_bgsave_error && !config_.save.empty()) {
    refusal_ =
        "-MISCONF Redis is configured to save RDB snapshots, but it's currently unable to "
        "persist to disk. Commands that may modify the data set are disabled, because this "
        "instance is configured to report errors during writes if RDB snapshotting fails "
        "(stop-writes-on-bgsave-error option). Please check the Redis logs for details about "
        "the RDB error.";
  } else {
    refusal_.clear();
  }
}

// ---- CONFIG SET -------------------------------------------------------------------------------

void Persistence::set_appendonly(bool on, TimePoint now, WallTime) {
  if (on == config_.appendonly && (on == (writer_ != nullptr))) return;
  if (!on) {
    config_.appendonly = false;
    if (writer_) (void)writer_->close(now);
    writer_.reset();
    aof_status_ = Status::Ok();
    rewrite_retry_at_ = kNever;
    update_refusal();
    return;
  }
  if (job_ && !job_->snapshot) {
    job_->enable_aof = true;
    return;
  }
  if (job_) {
    rewrite_scheduled_ = true;
    config_.appendonly = true;  // finish() opens the AOF after the scheduled rewrite
    return;
  }
  (void)start(false, now);
  if (job_) job_->enable_aof = true;
}

void Persistence::set_appendfsync(FsyncPolicy policy) {
  config_.appendfsync = policy;
  if (writer_) writer_->set_policy(policy);
}

void Persistence::set_auto_rewrite(std::int64_t percentage, std::uint64_t min_size) {
  config_.auto_aof_rewrite_percentage = percentage;
  config_.auto_aof_rewrite_min_size = min_size;
  rules_next_ = {};
}

void Persistence::set_save_rules(std::vector<SaveRule> rules) {
  config_.save = std::move(rules);
  rules_next_ = {};
  update_refusal();
}

void Persistence::set_stop_writes_on_bgsave_error(bool on) {
  config_.stop_writes_on_bgsave_error = on;
  update_refusal();
}

// ---- INFO persistence ---------------------------------------------------------------------------

void Persistence::info(std::string& out, TimePoint now) const {
  auto put = [&out](std::string_view key, const std::string& value) {
    out.append(key);
    out += ':';
    out += value;
    out += "\r\n";
  };
  auto num = [&put](std::string_view key, std::int64_t v) { put(key, std::to_string(v)); };
  const bool saving = job_ && job_->snapshot;
  const bool rewriting = job_ && !job_->snapshot;
  num("loading", 0);
  num("async_loading", 0);
  num("current_cow_peak", 0);
  num("current_cow_size", 0);
  num("current_cow_size_age", 0);
  put("current_fork_perc", "0.00");
  num("current_save_keys_processed", job_ ? static_cast<std::int64_t>(job_->entries) : 0);
  num("current_save_keys_total", job_ ? static_cast<std::int64_t>(job_->total) : 0);
  num("rdb_changes_since_last_save", static_cast<std::int64_t>(changes_since_save_));
  num("rdb_bgsave_in_progress", saving ? 1 : 0);
  num("rdb_last_save_time", last_save_.ms / 1000);
  put("rdb_last_bgsave_status", last_bgsave_ok_ ? "ok" : "err");
  num("rdb_last_bgsave_time_sec", last_bgsave_seconds_);
  num("rdb_current_bgsave_time_sec", saving ? seconds_between(job_->started, now) : -1);
  num("rdb_saves", static_cast<std::int64_t>(saves_));
  num("rdb_last_cow_size", 0);
  num("rdb_last_load_keys_expired", 0);
  num("rdb_last_load_keys_loaded",
      loaded_.source == LoadSummary::Source::snapshot ? static_cast<std::int64_t>(loaded_.keys)
                                                      : 0);
  num("aof_enabled", config_.appendonly ? 1 : 0);
  num("aof_rewrite_in_progress", rewriting ? 1 : 0);
  num("aof_rewrite_scheduled", rewrite_scheduled_ ? 1 : 0);
  num("aof_last_rewrite_time_sec", last_rewrite_seconds_);
  num("aof_current_rewrite_time_sec", rewriting ? seconds_between(job_->started, now) : -1);
  put("aof_last_bgrewrite_status", last_rewrite_ok_ ? "ok" : "err");
  num("aof_rewrites", static_cast<std::int64_t>(rewrites_));
  num("aof_rewrites_consecutive_failures", static_cast<std::int64_t>(rewrite_failures_));
  put("aof_last_write_status", aof_status_.ok() ? "ok" : "err");
  num("aof_last_cow_size", 0);
  num("module_fork_in_progress", 0);
  num("module_fork_last_cow_size", 0);
  if (writer_) {
    num("aof_current_size", static_cast<std::int64_t>(writer_->appended()));
    num("aof_base_size", static_cast<std::int64_t>(aof_base_size_));
    num("aof_pending_rewrite", rewrite_scheduled_ ? 1 : 0);
    num("aof_buffer_length", static_cast<std::int64_t>(writer_->appended() - writer_->written()));
    num("aof_pending_bio_fsync", 0);
    num("aof_delayed_fsync", 0);
  }
  num("apiary_aof_durable_offset", writer_ ? static_cast<std::int64_t>(writer_->durable()) : 0);
  static constexpr const char* kSources[] = {"none", "aof", "snapshot"};
  put("apiary_loaded_from", kSources[static_cast<int>(loaded_.source)]);
  num("apiary_loaded_records", static_cast<std::int64_t>(loaded_.records));
  num("apiary_loaded_truncated_bytes", static_cast<std::int64_t>(loaded_.truncated_bytes));
}

Persistence::Figures Persistence::figures() const {
  Figures f;
  f.changes_since_save = changes_since_save_;
  f.bgsave_in_progress = job_ && job_->snapshot;
  f.last_save_seconds = last_save_.ms / 1000;
  f.last_bgsave_ok = last_bgsave_ok_;
  f.saves = saves_;
  f.aof_enabled = config_.appendonly;
  f.aof_rewrite_in_progress = job_ && !job_->snapshot;
  f.aof_last_rewrite_ok = last_rewrite_ok_;
  f.aof_last_write_ok = aof_status_.ok();
  f.aof_rewrites = rewrites_;
  f.aof_size = writer_ ? writer_->appended() : 0;
  return f;
}

std::optional<Persistence::LogLine> Persistence::poll_log() {
  if (log_.empty()) return std::nullopt;
  LogLine line = std::move(log_.front());
  log_.pop_front();
  return line;
}

}  // namespace apiary::core
