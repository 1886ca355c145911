#include "apiary/sim/scenario.hpp"

#include <charconv>
#include <cmath>
#include <sstream>

namespace apiary::sim {
namespace {

constexpr std::size_t kMaxNodeIndex = 1'000'000;
constexpr std::size_t kMaxLines = 100'000;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

std::vector<std::string_view> split_words(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r')) ++i;
    const std::size_t start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t' && s[i] != '\r') ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

Status bad(std::string message) { return make_error(StatusCode::invalid_argument, message); }

Result<std::uint32_t> parse_index(std::string_view s) {
  s = trim(s);
  std::uint64_t v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) {
    return bad("not a node index: '" + std::string(s) + "'");
  }
  if (v > kMaxNodeIndex) return bad("node index too large: " + std::string(s));
  return static_cast<std::uint32_t>(v);
}

Result<double> parse_probability(std::string_view s) {
  double v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || !(v >= 0.0 && v <= 1.0)) {
    return bad("not a probability in [0,1]: '" + std::string(s) + "'");
  }
  return v;
}

Result<NodeSelector> parse_selector(const std::vector<std::string_view>& w, std::size_t i) {
  if (i >= w.size()) return bad("missing node set");
  NodeSelector sel;
  if (w[i] == "random") {
    if (i + 1 >= w.size()) return bad("missing count after 'random'");
    auto k = parse_index(w[i + 1]);
    if (!k) return k.status();
    sel.random_count = *k;
    return sel;
  }
  auto set = parse_node_set(w[i]);
  if (!set) return set.status();
  sel.nodes = std::move(*set);
  return sel;
}

// Splits "... for 20s" off the end of a word list; returns the length or 0.
Result<Duration> take_for(std::vector<std::string_view>& w) {
  if (w.size() >= 2 && w[w.size() - 2] == "for") {
    auto d = parse_duration(w.back());
    if (!d) return d.status();
    w.resize(w.size() - 2);
    return *d;
  }
  return Duration{0};
}

Result<Action> parse_command(std::vector<std::string_view> w) {
  Action a;
  const std::string_view cmd = w[0];
  auto length = take_for(w);
  if (!length) return length.status();
  a.length = *length;
  auto expect_words = [&](std::size_t n) -> Status {
    if (w.size() != n) return bad("wrong number of arguments for '" + std::string(cmd) + "'");
    return Status::Ok();
  };
  if (cmd == "crash" || cmd == "restart" || cmd == "leave" || cmd == "pause") {
    a.kind = cmd == "crash"     ? ActionKind::crash
             : cmd == "restart" ? ActionKind::restart
             : cmd == "leave"   ? ActionKind::leave
                                : ActionKind::pause;
    auto sel = parse_selector(w, 1);
    if (!sel) return sel.status();
    a.targets = std::move(*sel);
    if (Status s = expect_words(a.targets.random_count > 0 ? 3 : 2); !s.ok()) return s;
    if (a.kind == ActionKind::pause && a.length.count() <= 0) {
      return bad("pause needs 'for <duration>'");
    }
    if (a.kind != ActionKind::pause && a.length.count() != 0) {
      return bad("'for' only applies to pause and partition");
    }
    return a;
  }
  if (cmd == "join") {
    a.kind = ActionKind::join;
    if (Status s = expect_words(2); !s.ok()) return s;
    auto k = parse_index(w[1]);
    if (!k) return k.status();
    a.count = *k;
    return a;
  }
  if (cmd == "partition") {
    a.kind = ActionKind::partition;
    std::string spec;
    for (std::size_t i = 1; i < w.size(); ++i) spec += std::string(w[i]);
    auto rule = parse_partition(spec);
    if (!rule) return rule.status();
    a.rule = std::move(*rule);
    return a;
  }
  if (cmd == "heal") {
    a.kind = ActionKind::heal;
    if (Status s = expect_words(1); !s.ok()) return s;
    return a;
  }
  if (cmd == "loss" || cmd == "duplicate") {
    a.kind = cmd == "loss" ? ActionKind::set_loss : ActionKind::set_duplicate;
    if (Status s = expect_words(2); !s.ok()) return s;
    auto p = parse_probability(w[1]);
    if (!p) return p.status();
    a.value = *p;
    return a;
  }
  if (cmd == "jitter") {
    a.kind = ActionKind::set_jitter;
    if (Status s = expect_words(2); !s.ok()) return s;
    auto d = parse_duration(w[1]);
    if (!d) return d.status();
    a.lo = *d;
    return a;
  }
  if (cmd == "latency") {
    a.kind = ActionKind::set_latency;
    if (Status s = expect_words(2); !s.ok()) return s;
    std::string_view spec = w[1];
    std::string unit = "ms";
    for (std::string_view u : {"ms", "s"}) {
      if (spec.ends_with(u)) {
        unit = std::string(u);
        spec.remove_suffix(u.size());
        break;
      }
    }
    const auto dots = spec.find("..");
    if (dots == std::string_view::npos) return bad("latency wants A..B, e.g. 1..5ms");
    auto lo = parse_duration(std::string(spec.substr(0, dots)) + unit);
    auto hi = parse_duration(std::string(spec.substr(dots + 2)) + unit);
    if (!lo) return lo.status();
    if (!hi) return hi.status();
    if (*hi < *lo) return bad("latency A..B needs A <= B");
    a.lo = *lo;
    a.hi = *hi;
    return a;
  }
  return bad("unknown command '" + std::string(cmd) + "'");
}

}  // namespace

std::string_view to_string(ActionKind kind) {
  switch (kind) {
    case ActionKind::crash:
      return "crash";
    case ActionKind::restart:
      return "restart";
    case ActionKind::leave:
      return "leave";
    case ActionKind::pause:
      return "pause";
    case ActionKind::join:
      return "join";
    case ActionKind::partition:
      return "partition";
    case ActionKind::heal:
      return "heal";
    case ActionKind::set_loss:
      return "loss";
    case ActionKind::set_duplicate:
      return "duplicate";
    case ActionKind::set_latency:
      return "latency";
    case ActionKind::set_jitter:
      return "jitter";
  }
  return "unknown";
}

Result<Duration> parse_duration(std::string_view text) {
  text = trim(text);
  double scale = 1e9;
  if (text.ends_with("ms")) {
    scale = 1e6;
    text.remove_suffix(2);
  } else if (text.ends_with("s")) {
    text.remove_suffix(1);
  } else if (text.ends_with("m")) {
    scale = 60e9;
    text.remove_suffix(1);
  }
  double v = 0;
  const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size() || !(v >= 0) || v > 1e7) {
    return bad("not a duration: '" + std::string(text) + "' (use e.g. 30s, 250ms, 2m)");
  }
  return Duration(static_cast<std::int64_t>(std::llround(v * scale)));
}

Result<std::vector<std::uint32_t>> parse_node_set(std::string_view text) {
  std::vector<std::uint32_t> out;
  text = trim(text);
  if (text.empty()) return bad("empty node set");
  while (!text.empty()) {
    const auto comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    const auto dash = item.find('-');
    auto lo = parse_index(item.substr(0, dash));
    if (!lo) return lo.status();
    std::uint32_t hi = *lo;
    if (dash != std::string_view::npos) {
      auto h = parse_index(item.substr(dash + 1));
      if (!h) return h.status();
      hi = *h;
    }
    if (hi < *lo) return bad("range end before start: '" + std::string(item) + "'");
    if (out.size() + (hi - *lo) > kMaxNodeIndex) return bad("node set too large");
    for (std::uint32_t n = *lo; n <= hi; ++n) out.push_back(n);
  }
  return out;
}

Result<PartitionRule> parse_partition(std::string_view text) {
  std::string compact;
  for (char c : text) {
    if (c != ' ' && c != '\t') compact.push_back(c);
  }
  PartitionRule rule;
  std::string_view s = compact;
  std::size_t sep = s.find("->");
  std::size_t sep_len = 2;
  if (sep != std::string_view::npos) {
    rule.one_way = true;
  } else {
    sep = s.find('|');
    sep_len = 1;
  }
  if (sep == std::string_view::npos) return bad("partition wants 'A | B' or 'A -> B'");
  auto a = parse_node_set(s.substr(0, sep));
  if (!a) return a.status();
  rule.side_a = std::move(*a);
  const std::string_view right = s.substr(sep + sep_len);
  if (right == "rest") {
    rule.b_is_rest = true;
  } else {
    auto b = parse_node_set(right);
    if (!b) return b.status();
    rule.side_b = std::move(*b);
  }
  return rule;
}

namespace {

// "workload keys=1000 read-ratio=0.5 ..." (every setting optional).
Result<WorkloadOptions> parse_workload(const std::vector<std::string_view>& words) {
  WorkloadOptions w;
  w.enabled = true;
  for (std::size_t i = 1; i < words.size(); ++i) {
    const auto eq = words[i].find('=');
    if (eq == std::string_view::npos) return bad("workload settings are name=value");
    const std::string_view name = words[i].substr(0, eq);
    const std::string_view value = words[i].substr(eq + 1);
    if (name == "read-ratio") {
      auto r = parse_probability(value);
      if (!r) return r.status();
      w.read_ratio = *r;
      continue;
    }
    if (name == "collection-ratio") {
      auto r = parse_probability(value);
      if (!r) return r.status();
      w.collection_ratio = *r;
      continue;
    }
    if (name == "transfer-ratio") {
      auto r = parse_probability(value);
      if (!r) return r.status();
      w.transfer_ratio = *r;
      continue;
    }
    if (name == "blocking-ratio") {
      auto r = parse_probability(value);
      if (!r) return r.status();
      w.blocking_ratio = *r;
      continue;
    }
    auto n = parse_index(value);
    if (!n) return n.status();
    if (name == "keys") {
      w.keys = *n;
    } else if (name == "counters") {
      w.counters = *n;
    } else if (name == "sets") {
      w.sets = *n;
    } else if (name == "hashes") {
      w.hashes = *n;
    } else if (name == "zsets") {
      w.zsets = *n;
    } else if (name == "lists") {
      w.lists = *n;
    } else if (name == "hash-counters") {
      w.hash_counters = *n;
    } else if (name == "transfers") {
      w.transfers = *n;
    } else if (name == "pubsub") {
      w.pubsub = *n;
    } else if (name == "pubsub-channels") {
      if (*n == 0) return bad("pubsub-channels must be at least 1");
      w.pubsub_channels = *n;
    } else if (name == "pubsub-publishers") {
      w.pubsub_publishers = *n;
    } else if (name == "clients") {
      w.clients = *n;
    } else if (name == "replicas") {
      w.replicas = *n;
    } else if (name == "write-quorum") {
      w.write_quorum = *n;
    } else if (name == "read-quorum") {
      w.read_quorum = *n;
    } else if (name == "partitions") {
      w.partitions = *n;
    } else {
      return bad("unknown workload setting '" + std::string(name) + "'");
    }
  }
  return w;
}

}  // namespace

Result<Scenario> parse_scenario(std::string_view text) {
  Scenario sc;
  std::size_t line_no = 0;
  while (!text.empty()) {
    if (++line_no > kMaxLines) return bad("scenario too long");
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (const auto hash = line.find('#'); hash != std::string_view::npos) {
      line = line.substr(0, hash);
    }
    auto words = split_words(line);
    if (words.empty()) continue;
    auto fail = [&](const Status& s) {
      return bad("scenario line " + std::to_string(line_no) + ": " + s.message());
    };
    Duration at{0};
    if (words[0] == "at") {
      if (words.size() < 3) return fail(bad("'at' needs a time and a command"));
      auto t = parse_duration(words[1]);
      if (!t) return fail(t.status());
      at = *t;
      words.erase(words.begin(), words.begin() + 2);
    }
    if (words[0] == "workload") {
      if (at.count() != 0) return fail(bad("workload can only be set at the start"));
      auto w = parse_workload(words);
      if (!w) return fail(w.status());
      sc.workload = *w;
      continue;
    }
    if (words[0] == "skew") {
      if (at.count() != 0) return fail(bad("skew can only be set at the start"));
      if (words.size() != 2) return fail(bad("skew wants one number, e.g. skew 0.001"));
      auto eps = parse_probability(words[1]);
      if (!eps) return fail(eps.status());
      sc.clock_skew = *eps;
      sc.has_skew = true;
      continue;
    }
    if (words[0] == "simultaneous-start") {
      if (at.count() != 0) return fail(bad("simultaneous-start can only be set at the start"));
      if (words.size() != 1) return fail(bad("simultaneous-start takes no arguments"));
      sc.simultaneous_start = true;
      continue;
    }
    if (words[0] == "split-start") {
      if (at.count() != 0) return fail(bad("split-start can only be set at the start"));
      std::string spec;
      for (std::size_t i = 1; i < words.size(); ++i) spec += std::string(words[i]) + " ";
      auto rule = parse_partition(spec);
      if (!rule) return fail(rule.status());
      if (rule->one_way) return fail(bad("split-start wants two sides, 'A | B'"));
      sc.split_start = std::move(*rule);
      sc.simultaneous_start = true;
      continue;
    }
    auto action = parse_command(std::move(words));
    if (!action) return fail(action.status());
    action->at = at;
    sc.actions.push_back(std::move(*action));
  }
  return sc;
}

}  // namespace apiary::sim
