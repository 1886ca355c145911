#include "import.hpp"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "apiary/persist/posix_env.hpp"
#include "apiary/persist/rdb_reader.hpp"
#include "cluster_http.hpp"
#include "resp_client.hpp"

namespace apiary::cli {

namespace {

using persist::RdbHashKey;
using persist::RdbListKey;
using persist::RdbReader;
using persist::RdbReport;
using persist::RdbSetKey;
using persist::RdbStringKey;
using persist::RdbZsetKey;

// A pipelined batch is sent when it holds this many bytes, even if short of `batch` commands.
constexpr std::size_t kBatchBytes = 4u << 20;
// One HSET, SADD, ZADD or RPUSH carries at most this many fields, members or elements, or this
// many bytes of them (a single larger element goes alone), so that no command is a huge write.
constexpr std::size_t kElementsPerCommand = 1000;
constexpr std::size_t kBytesPerCommand = 1u << 20;

void fail(const std::string& message) {
  std::fprintf(stderr, "apiary import: %s\n", message.c_str());
}

std::int64_t wall_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void append_set(std::string& out, const RdbStringKey& k) {
  if (k.expiry_ms) {
    append_command(out, {"SET", k.key, k.value, "PXAT", std::to_string(*k.expiry_ms)});
  } else {
    append_command(out, {"SET", k.key, k.value});
  }
}

void append_views(std::string& out, const std::vector<std::string_view>& args) {
  out += "*" + std::to_string(args.size()) + "\r\n";
  for (const std::string_view a : args) {
    out += "$" + std::to_string(a.size()) + "\r\n";
    out.append(a);
    out += "\r\n";
  }
}

// --- the two passes ---

std::unique_ptr<RdbReader> open_rdb(persist::Env& env, const std::string& path) {
  auto reader = RdbReader::open(env, path);
  if (!reader.ok()) {
    fail(path + ": " + reader.status().to_string());
    return nullptr;
  }
  return std::move(reader.value());
}

// Reads the whole file; its report, or nullopt (and a message) when it is damaged.
std::optional<RdbReport> check_file(persist::Env& env, const std::string& path) {
  auto reader = open_rdb(env, path);
  if (!reader) return std::nullopt;
  while (reader->next()) {
  }
  if (!reader->status().ok()) {
    fail(path + ": " + reader->status().to_string() + " (nothing was imported)");
    return std::nullopt;
  }
  return reader->report();
}

struct Progress {
  std::uint64_t strings = 0;
  std::uint64_t hashes = 0;
  std::uint64_t sets = 0;
  std::uint64_t fields = 0;
  std::uint64_t members = 0;
  std::uint64_t zsets = 0;
  std::uint64_t zset_members = 0;
  std::uint64_t lists = 0;
  std::uint64_t list_elements = 0;
  std::uint64_t expired = 0;             // keys whose expiry had passed
  std::uint64_t expired_fields = 0;      // hash fields whose own TTL had passed
  std::uint64_t field_ttls_dropped = 0;  // hash fields written without their own TTL
  std::uint64_t empty = 0;               // collections with nothing left to write
};

// Writes keys through one connection in pipelined batches and checks every reply. A hash,
// set, sorted set or list is HSET/SADD/ZADD/RPUSH in commands of bounded size; its expiry is a
// PEXPIREAT sent only after the batch holding its last write was acknowledged, so it never
// reaches the cluster before the key exists (whatever a forwarded pipeline's order on the
// way). For the same reason each RPUSH of a list after its first is sent only once the one
// before was acknowledged: the list's order never rests on a pipeline's.
class Importer {
 public:
  enum class Done : unsigned char { none, string, hash, set, zset, list };

  Importer(RespClient& conn, std::size_t batch, Progress& progress)
      : conn_(conn), batch_(batch), progress_(progress) {}

  bool add(const RdbStringKey& k) {
    append_set(pending_, k);
    return queued({k.key, "SET", Expect::ok, Done::string, 0});
  }

  // `elements`: field, value, field, value... for a hash (HSET); members for a set (SADD);
  // score, member, score, member... for a sorted set (ZADD); elements head to tail for a list
  // (RPUSH).
  bool add_collection(const std::string& key, std::optional<std::int64_t> expiry_ms,
                      const std::vector<std::string_view>& elements, Done kind) {
    const std::string_view command = kind == Done::hash   ? "HSET"
                                     : kind == Done::set  ? "SADD"
                                     : kind == Done::list ? "RPUSH"
                                                          : "ZADD";
    const std::size_t step = step_of(command);
    std::vector<std::string_view> args = {command, key};
    std::size_t bytes = 0;
    for (std::size_t i = 0; i < elements.size(); i += step) {
      std::size_t size = elements[i].size();
      if (step == 2) size += elements[i + 1].size();
      const bool full = args.size() - 2 >= kElementsPerCommand * step ||
                        (bytes > 0 && bytes + size > kBytesPerCommand);
      if (full && !send_part(key, command, args, Done::none)) return false;
      if (full && kind == Done::list && !flush()) return false;  // order: acknowledged first
      if (full) bytes = 0;
      args.insert(args.end(), elements.begin() + static_cast<std::ptrdiff_t>(i),
                  elements.begin() + static_cast<std::ptrdiff_t>(i + step));
      bytes += size;
    }
    if (!send_part(key, command, args, kind)) return false;
    if (expiry_ms) expiries_.emplace_back(key, *expiry_ms);
    return true;
  }

  // Sends what is pending, checks every reply, then sends the expiries of the collections
  // acknowledged and checks theirs.
  bool flush() {
    if (!send_pending()) return false;
    if (expiries_.empty()) return true;
    for (const auto& [key, ms] : expiries_) {
      append_command(pending_, {"PEXPIREAT", key, std::to_string(ms)});
      sent_.push_back({key, "PEXPIREAT", Expect::one, Done::none, 0});
    }
    expiries_.clear();
    return send_pending();
  }

 private:
  enum class Expect : unsigned char { ok, integer, one };
  struct Sent {
    std::string key;
    std::string_view command;
    Expect expect;
    Done done;  // what the key counts as once this, its last write, is acknowledged
    std::uint64_t elements;
  };

  bool send_part(const std::string& key, std::string_view command,
                 std::vector<std::string_view>& args, Done done) {
    const std::uint64_t elements = (args.size() - 2) / step_of(command);
    append_views(pending_, args);
    args.resize(2);
    return queued({key, command, Expect::integer, done, elements});
  }

  // Arguments an element takes: field and value, score and member; a member, a list element.
  static std::size_t step_of(std::string_view command) {
    return command == "SADD" || command == "RPUSH" ? 1 : 2;
  }

  bool queued(Sent sent) {
    sent_.push_back(std::move(sent));
    if (sent_.size() >= batch_ || pending_.size() >= kBatchBytes) return flush();
    return true;
  }

  bool send_pending() {
    if (sent_.empty()) return true;
    if (Status s = conn_.send(pending_); !s.ok()) {
      fail("sending to the cluster failed: " + s.message());
      return false;
    }
    pending_.clear();
    for (const Sent& sent : sent_) {
      auto reply = conn_.read_reply();
      if (!reply.ok()) {
        fail("reading the cluster's replies failed: " + reply.status().message());
        return false;
      }
      if (!expected(*reply, sent.expect)) {
        fail(std::string(sent.command) + " " + persist::printable_key(sent.key) + " was refused: " +
             (reply->is_error()                         ? "-" + reply->text
              : reply->type == RespReply::Type::integer ? ":" + std::to_string(reply->integer)
                                                        : reply->text));
        return false;
      }
      count(sent);
    }
    sent_.clear();
    return true;
  }

  static bool expected(const RespReply& reply, Expect expect) {
    switch (expect) {
      case Expect::ok:
        return reply.type == RespReply::Type::simple && reply.text == "OK";
      case Expect::integer:
        return reply.type == RespReply::Type::integer;
      case Expect::one:
        return reply.type == RespReply::Type::integer && reply.integer == 1;
    }
    return false;
  }

  void count(const Sent& sent) {
    if (sent.command == "HSET") progress_.fields += sent.elements;
    if (sent.command == "SADD") progress_.members += sent.elements;
    if (sent.command == "ZADD") progress_.zset_members += sent.elements;
    if (sent.command == "RPUSH") progress_.list_elements += sent.elements;
    switch (sent.done) {
      case Done::string:
        ++progress_.strings;
        break;
      case Done::hash:
        ++progress_.hashes;
        break;
      case Done::set:
        ++progress_.sets;
        break;
      case Done::zset:
        ++progress_.zsets;
        break;
      case Done::list:
        ++progress_.lists;
        break;
      case Done::none:
        break;
    }
  }

  RespClient& conn_;
  std::size_t batch_;
  Progress& progress_;
  std::string pending_;
  std::vector<Sent> sent_;
  std::vector<std::pair<std::string, std::int64_t>> expiries_;
};

// The fields to write: those whose own TTL (Redis 7.4) has not passed, without the TTL.
std::vector<std::string_view> live_fields(const RdbHashKey& h, std::int64_t now,
                                          Progress& progress) {
  std::vector<std::string_view> out;
  out.reserve(h.fields.size() * 2);
  for (const auto& f : h.fields) {
    if (f.expiry_ms && *f.expiry_ms <= now) {
      ++progress.expired_fields;
      continue;
    }
    if (f.expiry_ms) ++progress.field_ttls_dropped;
    out.push_back(f.name);
    out.push_back(f.value);
  }
  return out;
}

// Sends one key; false when the cluster refused it (already reported).
bool import_item(Importer& importer, const persist::RdbItem& item, Progress& progress) {
  const std::int64_t now = wall_ms_now();
  // Left out: a key whose expiry has passed, and a collection with nothing to write.
  const auto expired = [&](const std::optional<std::int64_t>& expiry_ms) {
    if (!expiry_ms || *expiry_ms > now) return false;
    ++progress.expired;
    return true;
  };
  const auto empty = [&](bool nothing) {
    if (nothing) ++progress.empty;
    return nothing;
  };
  if (const auto* k = std::get_if<RdbStringKey>(&item)) {
    return expired(k->expiry_ms) || importer.add(*k);
  }
  if (const auto* h = std::get_if<RdbHashKey>(&item)) {
    if (expired(h->expiry_ms)) return true;
    const auto elements = live_fields(*h, now, progress);
    return empty(elements.empty()) ||
           importer.add_collection(h->key, h->expiry_ms, elements, Importer::Done::hash);
  }
  if (const auto* s = std::get_if<RdbSetKey>(&item)) {
    if (expired(s->expiry_ms) || empty(s->members.empty())) return true;
    const std::vector<std::string_view> members(s->members.begin(), s->members.end());
    return importer.add_collection(s->key, s->expiry_ms, members, Importer::Done::set);
  }
  if (const auto* z = std::get_if<RdbZsetKey>(&item)) {
    if (expired(z->expiry_ms) || empty(z->members.empty())) return true;
    // %.17g reads back as the same double (ZADD parses it as Redis's strtod does).
    std::vector<std::string> scores;
    scores.reserve(z->members.size());
    for (const auto& m : z->members) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.17g", m.score);
      scores.emplace_back(buf);
    }
    std::vector<std::string_view> elements;
    elements.reserve(z->members.size() * 2);
    for (std::size_t i = 0; i < z->members.size(); ++i) {
      elements.push_back(scores[i]);
      elements.push_back(z->members[i].member);
    }
    return importer.add_collection(z->key, z->expiry_ms, elements, Importer::Done::zset);
  }
  if (const auto* l = std::get_if<RdbListKey>(&item)) {
    if (expired(l->expiry_ms) || empty(l->elements.empty())) return true;
    const std::vector<std::string_view> elements(l->elements.begin(), l->elements.end());
    return importer.add_collection(l->key, l->expiry_ms, elements, Importer::Done::list);
  }
  return true;  // a skipped type: counted by the reader's report
}

std::optional<Progress> import_keys(persist::Env& env, const std::string& path, RespClient& conn,
                                    std::size_t batch) {
  auto reader = open_rdb(env, path);
  if (!reader) return std::nullopt;
  Progress progress;
  Importer importer(conn, batch, progress);
  while (auto item = reader->next()) {
    if (!import_item(importer, *item, progress)) return std::nullopt;
  }
  if (!reader->status().ok()) {  // the file changed since it was checked
    fail(path + ": " + reader->status().to_string());
    return std::nullopt;
  }
  if (!importer.flush()) return std::nullopt;
  return progress;
}

using ull = unsigned long long;

void print_file_summary(const std::string& path, const RdbReport& r) {
  const std::string ver = r.aux_value("redis-ver");
  std::printf(
      "%s: RDB version %u%s%s, %llu keys (%llu strings, %llu hashes, %llu sets, %llu sorted "
      "sets, %llu lists), checksum %s\n",
      path.c_str(), r.version, ver.empty() ? "" : ", written by Redis ", ver.c_str(), ull{r.keys()},
      ull{r.strings}, ull{r.hashes}, ull{r.sets}, ull{r.zsets}, ull{r.lists},
      r.checksum_verified ? "verified" : "not present");
}

// "12 string keys, 3 hashes (40 fields), 2 sets (9 members), 1 sorted sets (5 members) and 4
// lists (70 elements)"
std::string what_is_written(const Progress& p) {
  return std::to_string(p.strings) + " string keys, " + std::to_string(p.hashes) + " hashes (" +
         std::to_string(p.fields) + " fields), " + std::to_string(p.sets) + " sets (" +
         std::to_string(p.members) + " members), " + std::to_string(p.zsets) + " sorted sets (" +
         std::to_string(p.zset_members) + " members) and " + std::to_string(p.lists) + " lists (" +
         std::to_string(p.list_elements) + " elements)";
}

// What the file holds, as the counts of a complete import.
Progress in_file(const RdbReport& r) {
  Progress p;
  p.strings = r.strings;
  p.hashes = r.hashes;
  p.fields = r.hash_fields;
  p.sets = r.sets;
  p.members = r.set_members;
  p.zsets = r.zsets;
  p.zset_members = r.zset_members;
  p.lists = r.lists;
  p.list_elements = r.list_elements;
  return p;
}

void print_skipped(const RdbReport& r) {
  if (!r.skipped.empty()) {
    std::string list;
    for (const auto& [type, n] : r.skipped) {
      if (!list.empty()) list += ", ";
      list += std::to_string(n) + " " + type;
    }
    std::printf("skipped (types Apiary does not hold yet): %s\n", list.c_str());
  }
  for (const auto& [db, n] : r.keys_by_db) {
    if (db == 0) continue;
    std::printf("keys from db %llu: %llu (Apiary has one keyspace: they go into it)\n",
                static_cast<unsigned long long>(db), static_cast<unsigned long long>(n));
  }
  if (r.functions > 0) {
    std::printf("skipped %llu function libraries\n", static_cast<unsigned long long>(r.functions));
  }
  if (r.module_aux > 0) {
    std::printf("skipped %llu module auxiliary records\n",
                static_cast<unsigned long long>(r.module_aux));
  }
}

}  // namespace

int run_import(const ImportOptions& options) {
  persist::PosixEnv env;
  const auto report = check_file(env, options.path);
  if (!report) return 1;
  print_file_summary(options.path, *report);
  if (options.dry_run) {
    const RdbReport& r = *report;
    std::printf("dry run: would import %s (fewer if some expire first)\n",
                what_is_written(in_file(r)).c_str());
    if (r.hash_field_ttls > 0) {
      std::printf(
          "%llu hash fields have their own TTL: Apiary has none, they would be written "
          "without it (those already expired left out)\n",
          ull{r.hash_field_ttls});
    }
    print_skipped(r);
    return 0;
  }

  auto live = fetch_live_redis_addrs(options.http_addr);
  if (!live.ok()) {
    fail(live.status().message());
    return 1;
  }
  const std::vector<std::string>& addrs = live.value();
  RespClient conn;
  std::string used;
  for (const auto& addr : addrs) {
    if (Status s = conn.connect(addr, std::chrono::seconds(10)); s.ok()) {
      used = addr;
      break;
    } else {
      std::fprintf(stderr, "apiary import: cannot connect to %s: %s\n", addr.c_str(),
                   s.message().c_str());
    }
  }
  if (used.empty()) {
    fail("no member's Redis port accepted a connection");
    return 1;
  }

  const auto progress = import_keys(env, options.path, conn, options.batch);
  if (!progress) return 1;
  const Progress& p = *progress;
  std::printf("imported %s through %s\n", what_is_written(p).c_str(), used.c_str());
  if (p.expired > 0) std::printf("skipped %llu keys already expired\n", ull{p.expired});
  if (p.field_ttls_dropped > 0) {
    std::printf("wrote %llu hash fields without their own TTL (Apiary has no field TTLs)\n",
                ull{p.field_ttls_dropped});
  }
  if (p.expired_fields > 0) {
    std::printf("skipped %llu hash fields whose own TTL had passed\n", ull{p.expired_fields});
  }
  if (p.empty > 0) {
    std::printf(
        "skipped %llu hashes, sets, sorted sets and lists with nothing to write (empty, or every "
        "field expired)\n",
        ull{p.empty});
  }
  print_skipped(*report);
  return 0;
}

}  // namespace apiary::cli
