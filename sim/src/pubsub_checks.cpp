// The pub/sub workload's checks (sim/pubsub_workload.hpp says what each one claims).
#include <algorithm>
#include <cstdio>
#include <tuple>

#include "apiary/resp/server_config.hpp"
#include "apiary/sim/pubsub_workload.hpp"

namespace apiary::sim {

namespace {

double seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

bool inside(const std::vector<PubSubWorkload::Window>& windows, TimePoint a, TimePoint b) {
  for (const auto& w : windows) {
    if (w.from <= a && b <= w.to) return true;
  }
  return false;
}

}  // namespace

std::string PubSubWorkload::describe(const Sub& sub) {
  return (sub.first == 1 ? "pattern " : "channel ") + sub.second;
}

std::string PubSubWorkload::describe(const Publish& p) const {
  const Session& s = sessions_[p.session];
  char buf[160];
  std::snprintf(buf, sizeof buf, "PUBLISH %s %u:%llu @n%u at %.3fs", p.channel.c_str(), s.client,
                static_cast<unsigned long long>(p.seq), s.node, seconds(p.sent - from_));
  std::string out = buf;
  if (p.answered) {
    out += p.error ? " -> error" : " -> :" + std::to_string(p.count);
  } else {
    out += " -> no reply";
  }
  return out;
}

void PubSubWorkload::check(const std::vector<Window>& windows, PubSubReport& r) const {
  std::vector<std::string> samples = live_samples_;
  auto note = [&](std::string what) {
    if (samples.size() < 10) samples.push_back("pubsub: " + std::move(what));
  };
  const Duration grace = options_.pubsub_grace;
  r.subscribers = options_.pubsub;
  r.publishers = options_.pubsub_publishers;
  r.channels = channels_.size();
  r.sessions = sessions_.size();
  for (const SubOp& op : sub_ops_) ++(op.subscribe ? r.subscribes : r.unsubscribes);
  r.subscribe_errors = sub_errors_;
  r.published = publishes_.size();
  for (const Publish& p : publishes_) {
    if (!p.answered) {
      ++r.publish_unanswered;
    } else if (p.error || p.count < 0) {
      ++r.publish_bad_replies;
    } else {
      ++r.publish_acked;
    }
  }
  r.delivered = deliveries_.size();
  r.unsubscribed_deliveries = unsubscribed_deliveries_;
  r.phantoms = unparsed_pushes_;

  // Order, duplicates, phantoms: per (subscriber session, subscription, publisher session).
  using Stream = std::tuple<std::uint32_t, Sub, std::uint32_t>;
  std::map<Stream, std::uint64_t> last;
  std::set<std::tuple<std::uint32_t, Sub, std::uint32_t, std::uint64_t>> seen;
  std::map<std::pair<std::uint32_t, std::uint64_t>, std::int64_t> receivers;  // per message
  for (const Delivery& d : deliveries_) {
    const std::string where = "c" + std::to_string(sessions_[d.session].client) + " @n" +
                              std::to_string(sessions_[d.session].node) + " " + describe(d.sub) +
                              " got " + d.channel + " " + std::to_string(d.publisher) + "/" +
                              std::to_string(d.seq) + " at " +
                              std::to_string(seconds(d.at - from_)) + "s";
    auto pit =
        d.publisher == kUnknown ? publish_index_.end() : publish_index_.find({d.publisher, d.seq});
    const bool matches =
        d.sub.first == 0 ? d.sub.second == d.channel : resp::glob_match(d.sub.second, d.channel);
    if (pit == publish_index_.end() || publishes_[pit->second].channel != d.channel ||
        publishes_[pit->second].sent > d.at || !matches) {
      ++r.phantoms;
      note("phantom: " + where);
      continue;
    }
    ++receivers[{d.publisher, d.seq}];
    const Stream stream{d.session, d.sub, d.publisher};
    if (!seen.insert({d.session, d.sub, d.publisher, d.seq}).second) {
      ++r.duplicated;
      note("duplicate: " + where + " (" + describe(publishes_[pit->second]) + ")");
      continue;
    }
    auto [lit, first] = last.emplace(stream, d.seq);
    if (first) continue;
    if (d.seq < lit->second) {
      ++r.reordered;
      note("reordered: " + where + " after seq " + std::to_string(lit->second));
      continue;
    }
    lit->second = d.seq;
  }

  // Subscription intervals: from the SUBSCRIBE reply to the UNSUBSCRIBE's sending (or the
  // session's end).
  struct Interval {
    std::uint32_t session = 0;
    Sub sub;
    TimePoint confirmed{};
    TimePoint end = kNever;
  };
  std::vector<Interval> intervals;
  std::map<std::pair<std::uint32_t, Sub>, std::size_t> open;
  for (const SubOp& op : sub_ops_) {
    const auto key = std::make_pair(op.session, op.sub);
    if (op.subscribe) {
      if (op.replied == kNever) continue;  // never confirmed: nothing is owed to it
      open[key] = intervals.size();
      intervals.push_back(Interval{op.session, op.sub, op.replied, sessions_[op.session].closed});
    } else if (auto it = open.find(key); it != open.end()) {
      intervals[it->second].end = op.sent;
      open.erase(it);
    }
  }

  for (const Publish& p : publishes_) {
    if (!p.answered || p.error || p.count < 0) continue;
    const bool stable = !p.lossy && inside(windows, p.sent, p.sent + grace);
    for (const Interval& in : intervals) {
      const bool matches = in.sub.first == 0 ? in.sub.second == p.channel
                                             : resp::glob_match(in.sub.second, p.channel);
      if (!matches || !(in.confirmed < p.sent) || in.end < p.sent + grace) continue;
      ++r.expected;
      if (seen.count({in.session, in.sub, p.session, p.seq})) continue;
      if (!stable) {
        ++r.lost_near_faults;
        continue;
      }
      ++r.lost_stable;
      note("lost in a stable window: " + describe(p) + " never reached c" +
           std::to_string(sessions_[in.session].client) + " @n" +
           std::to_string(sessions_[in.session].node) + " on " + describe(in.sub) +
           " (subscribed at " + std::to_string(seconds(in.confirmed - from_)) + "s)");
    }
    // The receiver count, where no (un)subscribe of a matching name is near.
    if (!stable || !inside(windows, p.sent - grace, p.sent + grace)) continue;
    bool churn = false;
    for (const SubOp& op : sub_ops_) {
      const bool matches = op.sub.first == 0 ? op.sub.second == p.channel
                                             : resp::glob_match(op.sub.second, p.channel);
      if (!matches) continue;
      const TimePoint until = op.replied == kNever ? kNever : op.replied + grace;
      if (op.sent - grace <= p.sent && p.sent <= until) {
        churn = true;
        break;
      }
    }
    if (churn) continue;
    ++r.count_checked;
    auto it = receivers.find({p.session, p.seq});
    const std::int64_t got = it == receivers.end() ? 0 : it->second;
    if (got == p.count) continue;
    ++r.count_mismatches;
    if (p.count > got) ++r.count_over;
    note("receiver count: " + describe(p) + " reached " + std::to_string(got));
  }
  r.samples = std::move(samples);
}

}  // namespace apiary::sim
