#include "apiary/resp/server_config.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "apiary/resp/keyspace_events.hpp"
#include "apiary/resp/request_parser.hpp"

namespace apiary::resp {
namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

constexpr std::int64_t kMaxInt64 = std::numeric_limits<std::int64_t>::max();

}  // namespace

std::vector<std::string_view> split_spaces(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    std::size_t j = i;
    while (j < s.size() && s[j] != ' ') ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

bool parse_memory(std::string_view s, std::uint64_t& out) {
  if (!s.empty() && s[0] == '-') return false;
  std::size_t digits = 0;
  while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9') ++digits;
  if (digits >= 128) return false;  // Redis copies the digits into a 128-byte buffer
  const std::string unit = lowered(s.substr(digits));
  std::int64_t mul = 1;
  if (unit.empty() || unit == "b") {
    mul = 1;
  } else if (unit == "k") {
    mul = 1000;
  } else if (unit == "kb") {
    mul = 1024;
  } else if (unit == "m") {
    mul = 1000 * 1000;
  } else if (unit == "mb") {
    mul = 1024 * 1024;
  } else if (unit == "g") {
    mul = 1000LL * 1000 * 1000;
  } else if (unit == "gb") {
    mul = 1024LL * 1024 * 1024;
  } else {
    return false;
  }
  // strtoull: no digits is 0, too many saturates; the unit then multiplies modulo 2^64.
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < digits; ++i) {
    const auto d = static_cast<std::uint64_t>(s[i] - '0');
    v = v > (kMax - d) / 10 ? kMax : v * 10 + d;
  }
  out = v * static_cast<std::uint64_t>(mul);
  return true;
}

bool glob_match(std::string_view pattern, std::string_view text, bool nocase) {
  // Iterative matcher with single-star backtracking; classes and escapes as in Redis.
  std::size_t p = 0, t = 0;
  std::size_t star_p = std::string_view::npos, star_t = 0;
  auto eq = [nocase](char a, char b) { return nocase ? lower(a) == lower(b) : a == b; };
  while (t < text.size()) {
    bool matched = false;
    std::size_t next_p = p;
    if (p < pattern.size()) {
      const char pc = pattern[p];
      if (pc == '*') {
        while (p < pattern.size() && pattern[p] == '*') ++p;
        if (p == pattern.size()) return true;
        star_p = p;
        star_t = t;
        continue;
      } else if (pc == '?') {
        matched = true;
        next_p = p + 1;
      } else if (pc == '[') {
        std::size_t q = p + 1;
        bool negate = false;
        if (q < pattern.size() && pattern[q] == '^') {
          negate = true;
          ++q;
        }
        bool hit = false;
        while (q < pattern.size() && pattern[q] != ']') {
          if (pattern[q] == '\\' && q + 1 < pattern.size()) {
            ++q;
            if (eq(pattern[q], text[t])) hit = true;
          } else if (q + 2 < pattern.size() && pattern[q + 1] == '-') {
            char lo = pattern[q], hi = pattern[q + 2];
            if (lo > hi) std::swap(lo, hi);
            char c = text[t];
            if (nocase) {
              lo = lower(lo);
              hi = lower(hi);
              c = lower(c);
            }
            if (c >= lo && c <= hi) hit = true;
            q += 2;
          } else if (eq(pattern[q], text[t])) {
            hit = true;
          }
          ++q;
        }
        matched = negate ? !hit : hit;
        next_p = q < pattern.size() ? q + 1 : q;
      } else if (pc == '\\' && p + 1 < pattern.size()) {
        matched = eq(pattern[p + 1], text[t]);
        next_p = p + 2;
      } else {
        matched = eq(pc, text[t]);
        next_p = p + 1;
      }
    }
    if (matched) {
      p = next_p;
      ++t;
    } else if (star_p != std::string_view::npos) {
      p = star_p;
      t = ++star_t;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

namespace {

// strtoll(s, &end, 10) with *end == '\0' required: optional sign, saturating on overflow.
bool parse_strtoll(std::string_view s, std::int64_t& out) {
  std::size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r'))) ++i;
  bool negative = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
  const std::size_t first = i;
  std::uint64_t v = 0;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
    v = std::min<std::uint64_t>(v * 10 + static_cast<std::uint64_t>(s[i] - '0'),
                                std::uint64_t{1} << 63);
  }
  if (i == first) {  // no digits: strtoll stops at the start, fine only for ""
    out = 0;
    return s.empty();
  }
  if (i != s.size()) return false;
  out = negative ? static_cast<std::int64_t>(0 - v)
                 : static_cast<std::int64_t>(std::min<std::uint64_t>(v, kMaxInt64));
  return true;
}

std::string range_error(std::int64_t lo, std::int64_t hi) {
  return "argument must be between " + std::to_string(lo) + " and " + std::to_string(hi) +
         " inclusive";
}

std::string set_int(std::int64_t& field, std::string_view v, std::int64_t lo, std::int64_t hi) {
  std::int64_t n = 0;
  if (!parse_int64(v, n)) return "argument couldn't be parsed into an integer";
  if (n < lo || n > hi) return range_error(lo, hi);
  field = n;
  return "";
}

// Like Redis, a memory value above INT64_MAX reads as negative here (and fails the range
// check), except for `unsigned_field` parameters (maxmemory), which keep all 64 bits.
std::string set_mem(std::int64_t& field, std::string_view v, std::int64_t lo, std::int64_t hi,
                    bool unsigned_field) {
  std::uint64_t u = 0;
  if (!parse_memory(v, u)) return "argument must be a memory value";
  const auto n = static_cast<std::int64_t>(u);
  if (!unsigned_field && (n < lo || n > hi)) return range_error(lo, hi);
  field = n;
  return "";
}

}  // namespace

std::string trimmed_double(double d) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%f", d);
  std::string out(buf);
  if (out.find('.') != std::string::npos) {
    while (!out.empty() && out.back() == '0') out.pop_back();
    if (!out.empty() && out.back() == '.') out.pop_back();
  }
  return out;
}

ServerConfig::ServerConfig() {
  enum class Kind { integer, memory, unsigned_memory };
  auto int_param = [this](std::string name, std::int64_t ServerConfig::*field, std::int64_t lo,
                          std::int64_t hi, Kind kind) {
    params_.push_back(Param{std::move(name),
                            [field, kind](const ServerConfig& c) {
                              return kind == Kind::unsigned_memory
                                         ? std::to_string(static_cast<std::uint64_t>(c.*field))
                                         : std::to_string(c.*field);
                            },
                            [field, lo, hi, kind](ServerConfig& c, std::string_view v) {
                              return kind == Kind::integer ? set_int(c.*field, v, lo, hi)
                                                           : set_mem(c.*field, v, lo, hi,
                                                                     kind == Kind::unsigned_memory);
                            }});
  };
  // maxmemory is unsigned in Redis (any 64-bit value); maxmemory() returns its bits.
  int_param("maxmemory", &ServerConfig::maxmemory_, 0, kMaxInt64, Kind::unsigned_memory);
  int_param("maxmemory-samples", &ServerConfig::maxmemory_samples_, 1,
            std::numeric_limits<int>::max(), Kind::integer);
  int_param("timeout", &ServerConfig::timeout_, 0, std::numeric_limits<int>::max(), Kind::integer);
  int_param("maxclients", &ServerConfig::maxclients_, 1, 4294967295LL, Kind::integer);
  int_param("proto-max-bulk-len", &ServerConfig::proto_max_bulk_len_, 1024 * 1024, kMaxInt64,
            Kind::memory);
  int_param("client-query-buffer-limit", &ServerConfig::query_buffer_limit_, 1024 * 1024, kMaxInt64,
            Kind::memory);
  int_param("busy-reply-threshold", &ServerConfig::busy_reply_threshold_, 0, kMaxInt64,
            Kind::integer);
  int_param("lua-time-limit", &ServerConfig::busy_reply_threshold_, 0, kMaxInt64, Kind::integer);
  int_param("tracking-table-max-keys", &ServerConfig::tracking_table_max_keys_, 0, kMaxInt64,
            Kind::integer);
  params_.push_back(Param{
      "notify-keyspace-events",
      [](const ServerConfig& c) { return keyspace_events_string(c.notify_keyspace_events_); },
      [](ServerConfig& c, std::string_view v) -> std::string {
        const auto flags = parse_keyspace_events(v);
        if (!flags) return "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.";
        c.notify_keyspace_events_ = *flags;
        return "";
      }});
  // Redis accepts any hz and clamps it to [1, 500].
  params_.push_back(Param{"hz", [](const ServerConfig& c) { return std::to_string(c.hz_); },
                          [](ServerConfig& c, std::string_view v) {
                            std::string err = set_int(c.hz_, v, 0, std::numeric_limits<int>::max());
                            c.hz_ = std::clamp<std::int64_t>(c.hz_, 1, 500);
                            return err;
                          }});
  params_.push_back(
      Param{"maxmemory-policy", [](const ServerConfig& c) { return c.maxmemory_policy_; },
            [](ServerConfig& c, std::string_view v) -> std::string {
              static const char* kPolicies[] = {"volatile-lru",   "volatile-lfu", "volatile-random",
                                                "volatile-ttl",   "allkeys-lru",  "allkeys-lfu",
                                                "allkeys-random", "noeviction"};
              const std::string want = lowered(v);
              for (const char* p : kPolicies) {
                if (want == p) {
                  c.maxmemory_policy_ = want;
                  return "";
                }
              }
              return "argument(s) must be one of the following: volatile-lru, volatile-lfu, "
                     "volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, "
                     "noeviction";
            }});
  params_.push_back(Param{
      "lazyfree-lazy-user-flush",
      [](const ServerConfig& c) { return std::string(c.lazyfree_lazy_user_flush_ ? "yes" : "no"); },
      [](ServerConfig& c, std::string_view v) -> std::string {
        const std::string want = lowered(v);
        if (want != "yes" && want != "no") return "argument must be 'yes' or 'no'";
        c.lazyfree_lazy_user_flush_ = want == "yes";
        return "";
      }});
  auto bool_param = [this](std::string name, bool ServerConfig::*field) {
    params_.push_back(Param{std::move(name),
                            [field](const ServerConfig& c) {
                              return std::string(c.*field ? "yes" : "no");
                            },
                            [field](ServerConfig& c, std::string_view v) -> std::string {
                              const std::string want = lowered(v);
                              if (want != "yes" && want != "no") {
                                return "argument must be 'yes' or 'no'";
                              }
                              c.*field = want == "yes";
                              return "";
                            }});
  };
  bool_param("appendonly", &ServerConfig::appendonly_);
  bool_param("latency-tracking", &ServerConfig::latency_tracking_);
  bool_param("protected-mode", &ServerConfig::protected_mode_);
  int_param("acllog-max-len", &ServerConfig::acllog_max_len_, 0, kMaxInt64, Kind::integer);
  // The default user's password (the Server applies it to the ACL users); shown as set.
  params_.push_back(Param{"requirepass", [](const ServerConfig& c) { return c.requirepass_; },
                          [](ServerConfig& c, std::string_view v) {
                            c.requirepass_ = std::string(v);
                            return std::string();
                          }});
  int_param("slowlog-log-slower-than", &ServerConfig::slowlog_log_slower_than_, -1, kMaxInt64,
            Kind::integer);
  int_param("slowlog-max-len", &ServerConfig::slowlog_max_len_, 0, kMaxInt64, Kind::integer);
  int_param("latency-monitor-threshold", &ServerConfig::latency_monitor_threshold_, 0, kMaxInt64,
            Kind::integer);
  // Redis prints each with "%f" and drops the trailing zeros ("99.9", "10").
  params_.push_back(Param{
      "latency-tracking-info-percentiles",
      [](const ServerConfig& c) {
        std::string out;
        for (double p : c.latency_percentiles_) {
          if (!out.empty()) out.push_back(' ');
          out += trimmed_double(p);
        }
        return out;
      },
      [](ServerConfig& c, std::string_view v) -> std::string {
        std::vector<double> parsed;
        for (std::string_view word : split_spaces(v)) {
          const std::string text(word);
          char* end = nullptr;
          const double p = std::strtod(text.c_str(), &end);
          if (end != text.c_str() + text.size() || text.empty()) {
            return "Invalid latency-tracking-info-percentiles parameters";
          }
          if (!(p >= 0.0 && p <= 100.0)) {
            return "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]";
          }
          parsed.push_back(p);
        }
        c.latency_percentiles_ = std::move(parsed);
        return "";
      }});
  bool_param("aof-load-truncated", &ServerConfig::aof_load_truncated_);
  bool_param("stop-writes-on-bgsave-error", &ServerConfig::stop_writes_on_bgsave_error_);
  params_.push_back(Param{"appendfsync", [](const ServerConfig& c) { return c.appendfsync_; },
                          [](ServerConfig& c, std::string_view v) -> std::string {
                            const std::string want = lowered(v);
                            if (want != "everysec" && want != "always" && want != "no") {
                              return "argument(s) must be one of the following: everysec, "
                                     "always, no";
                            }
                            c.appendfsync_ = want;
                            return "";
                          }});
  // "seconds changes" pairs, "" for none (Redis 7's CONFIG SET save syntax).
  params_.push_back(Param{"save", [](const ServerConfig& c) { return c.save_; },
                          [](ServerConfig& c, std::string_view v) -> std::string {
                            const auto words = split_spaces(v);
                            std::string normal;
                            for (std::size_t i = 0; i < words.size(); ++i) {
                              std::int64_t n = 0;
                              if (!parse_strtoll(words[i], n) || words[i].empty() || n < 0 ||
                                  (i % 2 == 0 && n < 1)) {
                                return "Invalid save parameters";
                              }
                              if (!normal.empty()) normal += ' ';
                              normal += std::to_string(n);
                            }
                            if (words.size() % 2 != 0) return "Invalid save parameters";
                            c.save_ = normal;
                            return "";
                          }});
  int_param("auto-aof-rewrite-percentage", &ServerConfig::aof_rewrite_percentage_, 0,
            std::numeric_limits<int>::max(), Kind::integer);
  int_param("auto-aof-rewrite-min-size", &ServerConfig::aof_rewrite_min_size_, 0, kMaxInt64,
            Kind::memory);
  params_.push_back(
      Param{"client-output-buffer-limit",
            [](const ServerConfig& c) {
              // Only normal clients exist here; the other classes are shown with Redis's defaults
              // so tools that parse the value keep working.
              return "normal " + std::to_string(c.output_limit_.hard_bytes) + " " +
                     std::to_string(c.output_limit_.soft_bytes) + " " +
                     std::to_string(c.output_limit_.soft_seconds) +
                     " slave 268435456 67108864 60 pubsub 33554432 8388608 60";
            },
            [](ServerConfig& c, std::string_view v) -> std::string {
              const auto words = split_spaces(v);
              if (words.size() % 4 != 0) {
                return "Wrong number of arguments in buffer limit configuration.";
              }
              OutputBufferLimit next = c.output_limit_;
              for (std::size_t i = 0; i < words.size(); i += 4) {
                const std::string cls = lowered(words[i]);
                if (cls != "normal" && cls != "slave" && cls != "replica" && cls != "pubsub") {
                  return "Invalid client class specified in buffer limit configuration.";
                }
                std::uint64_t hard = 0, soft = 0;
                std::int64_t seconds = 0;
                if (!parse_memory(words[i + 1], hard) || !parse_memory(words[i + 2], soft) ||
                    !parse_strtoll(words[i + 3], seconds) || seconds < 0) {
                  return "Error in hard, soft or soft_seconds setting in buffer limit "
                         "configuration.";
                }
                // Limits above INT64_MAX are as good as none.
                const auto clamp = [](std::uint64_t b) {
                  return static_cast<std::int64_t>(std::min<std::uint64_t>(b, kMaxInt64));
                };
                if (cls == "normal") next = OutputBufferLimit{clamp(hard), clamp(soft), seconds};
              }
              c.output_limit_ = next;
              return "";
            }});
  // TLS on the Redis port (Redis's defaults): files and lists are kept as given; the runtime
  // loads them through the TLS applier.
  auto tls_param = [this](std::string name, std::string initial,
                          std::function<std::string(std::string_view, std::string&)> check) {
    tls_[name] = std::move(initial);
    params_.push_back(Param{name, [name](const ServerConfig& c) { return c.tls_.at(name); },
                            [name, check](ServerConfig& c, std::string_view v) -> std::string {
                              std::string value(v);
                              if (check) {
                                if (std::string err = check(v, value); !err.empty()) return err;
                              }
                              c.tls_[name] = std::move(value);
                              return "";
                            }});
  };
  auto tls_int = [](std::int64_t hi) {
    return [hi](std::string_view v, std::string& out) -> std::string {
      std::int64_t n = 0;
      if (std::string err = set_int(n, v, 0, hi); !err.empty()) return err;
      out = std::to_string(n);
      return "";
    };
  };
  auto tls_bool = [](std::string_view v, std::string& out) -> std::string {
    out = lowered(v);
    return out == "yes" || out == "no" ? "" : "argument must be 'yes' or 'no'";
  };
  for (const char* name : {"tls-cert-file", "tls-key-file", "tls-key-file-pass", "tls-ca-cert-file",
                           "tls-ca-cert-dir", "tls-protocols", "tls-ciphers", "tls-ciphersuites"}) {
    tls_param(name, "", nullptr);
  }
  tls_param("tls-port", "0", tls_int(65535));
  tls_param("tls-auth-clients", "yes", [](std::string_view v, std::string& out) -> std::string {
    out = lowered(v);
    return out == "yes" || out == "no" || out == "optional"
               ? ""
               : "argument(s) must be one of the following: no, yes, optional";
  });
  tls_param("tls-prefer-server-ciphers", "no", tls_bool);
  tls_param("tls-session-caching", "yes", tls_bool);
  tls_param("tls-session-cache-size", "20480", tls_int(std::numeric_limits<int>::max()));
  tls_param("tls-session-cache-timeout", "300", tls_int(std::numeric_limits<int>::max()));
  std::sort(params_.begin(), params_.end(),
            [](const Param& a, const Param& b) { return a.name < b.name; });
  readonly_["databases"] = "1";
  readonly_["appendfilename"] = "appendonly.aof";
  set_protected("dir", ".");
  set_protected("dbfilename", "dump.apiary");
}

const ServerConfig::Param* ServerConfig::find(std::string_view name) const {
  const std::string want = lowered(name);
  for (const auto& p : params_) {
    if (p.name == want) return &p;
  }
  return nullptr;
}

void ServerConfig::set_readonly(std::string name, std::string value) {
  readonly_[lowered(name)] = std::move(value);
}

void ServerConfig::refuse(std::string name, std::string detail) {
  refused_[lowered(name)] = std::move(detail);
}

void ServerConfig::set_protected(std::string name, std::string value) {
  std::string key = lowered(name);
  if (std::find(protected_.begin(), protected_.end(), key) == protected_.end()) {
    protected_.push_back(key);
  }
  readonly_[std::move(key)] = std::move(value);
}

std::string ServerConfig::get_one(std::string_view name) const {
  if (const Param* p = find(name)) return p->get(*this);
  auto it = readonly_.find(lowered(name));
  return it == readonly_.end() ? std::string() : it->second;
}

std::vector<std::pair<std::string, std::string>> ServerConfig::get(
    const std::vector<std::string_view>& patterns) const {
  std::map<std::string, std::string> found;
  auto consider = [&](const std::string& name, auto&& value) {
    for (std::string_view pat : patterns) {
      if (glob_match(pat, name, true)) {
        found.emplace(name, value());
        return;
      }
    }
  };
  for (const auto& p : params_) consider(p.name, [&] { return p.get(*this); });
  for (const auto& [name, value] : readonly_) consider(name, [&] { return value; });
  return {found.begin(), found.end()};
}

Status ServerConfig::set(const std::vector<std::pair<std::string_view, std::string_view>>& pairs) {
  auto failure = [](std::string_view name, const std::string& detail) {
    return Status(
        StatusCode::invalid_argument,
        "CONFIG SET failed (possibly related to argument '" + std::string(name) + "') - " + detail);
  };
  std::vector<std::string> names;
  for (const auto& [name, value] : pairs) {
    const std::string key = lowered(name);
    if (std::find(names.begin(), names.end(), key) != names.end()) {
      return failure(name, "duplicate parameter");
    }
    names.push_back(key);
    // A refused parameter may still be set to what it is ("appendonly no", "save ''").
    if (auto refused = refused_.find(key);
        refused != refused_.end() && lowered(value) != get_one(key)) {
      return failure(name, refused->second);
    }
    if (find(name) == nullptr) {
      if (std::find(protected_.begin(), protected_.end(), key) != protected_.end()) {
        return failure(name, "can't set protected config");
      }
      if (readonly_.count(key) != 0) return failure(name, "can't set immutable config");
      return Status(
          StatusCode::invalid_argument,
          "Unknown option or number of arguments for CONFIG SET - '" + std::string(name) + "'");
    }
  }
  // All or nothing, like Redis 7: apply to a copy, keep it only if every value was accepted.
  ServerConfig next = *this;
  for (const auto& [name, value] : pairs) {
    const std::string detail = next.find(name)->set(next, value);
    if (!detail.empty()) return failure(name, detail);
  }
  if (next.tls_applier_) {
    for (const auto& name : names) {
      if (name.rfind("tls-", 0) != 0) continue;
      // Every changed tls-* value at once; the first one names the failure, as in Redis.
      if (std::string detail = next.tls_applier_(next); !detail.empty()) {
        return failure(name, detail);
      }
      break;
    }
  }
  auto listener = std::move(listener_);
  auto listeners = std::move(more_listeners_);
  *this = std::move(next);
  listener_ = std::move(listener);
  more_listeners_ = std::move(listeners);
  if (listener_) listener_(names);
  for (const auto& l : more_listeners_) l(names);
  return Status::Ok();
}

}  // namespace apiary::resp
