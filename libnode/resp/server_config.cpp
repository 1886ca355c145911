#include "apiary/resp/server_config.hpp"

#include <algorithm>
#include <limits>

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

bool parse_memory(std::string_view s, std::int64_t& out) {
  std::size_t digits = 0;
  while (digits < s.size() && (s[digits] == '-' || (s[digits] >= '0' && s[digits] <= '9'))) {
    ++digits;
  }
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
  std::int64_t v = 0;
  if (!parse_int64(s.substr(0, digits), v) || v < 0) return false;
  if (v > kMaxInt64 / mul) return false;
  out = v * mul;
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

std::string set_mem(std::int64_t& field, std::string_view v, std::int64_t lo, std::int64_t hi) {
  std::int64_t n = 0;
  if (!parse_memory(v, n)) return "argument must be a memory value";
  if (n < lo || n > hi) return range_error(lo, hi);
  field = n;
  return "";
}

}  // namespace

ServerConfig::ServerConfig() {
  auto int_param = [this](std::string name, std::int64_t ServerConfig::*field, std::int64_t lo,
                          std::int64_t hi, bool memory) {
    params_.push_back(
        Param{std::move(name), [field](const ServerConfig& c) { return std::to_string(c.*field); },
              [field, lo, hi, memory](ServerConfig& c, std::string_view v) {
                return memory ? set_mem(c.*field, v, lo, hi) : set_int(c.*field, v, lo, hi);
              }});
  };
  int_param("maxmemory", &ServerConfig::maxmemory_, 0, kMaxInt64, true);
  int_param("maxmemory-samples", &ServerConfig::maxmemory_samples_, 1,
            std::numeric_limits<int>::max(), false);
  int_param("timeout", &ServerConfig::timeout_, 0, std::numeric_limits<int>::max(), false);
  int_param("maxclients", &ServerConfig::maxclients_, 1, 4294967295LL, false);
  int_param("proto-max-bulk-len", &ServerConfig::proto_max_bulk_len_, 1024 * 1024, kMaxInt64, true);
  int_param("client-query-buffer-limit", &ServerConfig::query_buffer_limit_, 1024 * 1024, kMaxInt64,
            true);
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
                OutputBufferLimit l;
                if ((cls != "normal" && cls != "slave" && cls != "replica" && cls != "pubsub") ||
                    !parse_memory(words[i + 1], l.hard_bytes) ||
                    !parse_memory(words[i + 2], l.soft_bytes) ||
                    !parse_int64(words[i + 3], l.soft_seconds) || l.soft_seconds < 0) {
                  return "Invalid argument in buffer limit configuration.";
                }
                if (cls == "normal") next = l;
              }
              c.output_limit_ = next;
              return "";
            }});
  std::sort(params_.begin(), params_.end(),
            [](const Param& a, const Param& b) { return a.name < b.name; });
  readonly_["databases"] = "1";
  readonly_["save"] = "";
  readonly_["appendonly"] = "no";
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
    if (find(name) == nullptr) {
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
  auto listener = std::move(listener_);
  *this = std::move(next);
  listener_ = std::move(listener);
  if (listener_) listener_(names);
  return Status::Ok();
}

}  // namespace apiary::resp
