#include "apiary/resp/command_stats.hpp"

#include <algorithm>
#include <bit>
#include <cstdio>

#include "apiary/resp/command_table.hpp"
#include "apiary/resp/server_config.hpp"

namespace apiary::resp {

namespace {

constexpr std::size_t kMaxErrorCodes = 128;  // Redis's ERROR_STATS_NUMBER

std::uint64_t ns_of(Duration d) {
  const auto n = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
  return n > 0 ? static_cast<std::uint64_t>(n) : 0;
}

void append_usec(std::string& out, std::uint64_t ns, const char* format = "%.3f") {
  char buf[48];
  const int n = std::snprintf(buf, sizeof(buf), format, static_cast<double>(ns) / 1000.0);
  out.append(buf, static_cast<std::size_t>(n));
}

}  // namespace

// Values below 2^(kSubBits+1) have a bucket each; above, a power of two [2^m, 2^(m+1)) is cut
// into 2^kSubBits equal buckets.
std::size_t LatencyHistogram::bucket_of(std::uint64_t ns) {
  constexpr std::uint64_t kLinear = std::uint64_t{1} << (kSubBits + 1);
  if (ns < kLinear) return static_cast<std::size_t>(ns);
  const int msb = 63 - std::countl_zero(ns);
  const std::size_t sub = (ns >> (msb - kSubBits)) & ((std::uint64_t{1} << kSubBits) - 1);
  const std::size_t bucket = (static_cast<std::size_t>(msb - kSubBits + 1) << kSubBits) + sub;
  return std::min(bucket, kBuckets - 1);
}

std::uint64_t LatencyHistogram::bucket_upper(std::size_t bucket) {
  constexpr std::size_t kLinear = std::size_t{1} << (kSubBits + 1);
  if (bucket < kLinear) return bucket;
  const int msb = static_cast<int>(bucket >> kSubBits) + kSubBits - 1;
  const std::uint64_t sub = bucket & ((std::size_t{1} << kSubBits) - 1);
  const std::uint64_t width = std::uint64_t{1} << (msb - kSubBits);
  return ((std::uint64_t{1} << msb) + sub * width) + width - 1;
}

void LatencyHistogram::record(std::uint64_t ns) {
  ++buckets_[bucket_of(ns)];
  ++count_;
  sum_ns_ += ns;
  // The bounds in whole nanoseconds (all of kBoundsSeconds are whole microseconds).
  static constexpr auto kBoundsNs = [] {
    std::array<std::uint64_t, kBoundsSeconds.size()> out{};
    for (std::size_t i = 0; i < out.size(); ++i) {
      out[i] = static_cast<std::uint64_t>(kBoundsSeconds[i] * 1e6 + 0.5) * 1000;
    }
    return out;
  }();
  const auto bound = std::lower_bound(kBoundsNs.begin(), kBoundsNs.end(), ns);
  if (bound != kBoundsNs.end()) ++bounded_[static_cast<std::size_t>(bound - kBoundsNs.begin())];
}

std::uint64_t LatencyHistogram::percentile_ns(double percent) const {
  if (count_ == 0) return 0;
  const double wanted = std::clamp(percent, 0.0, 100.0) / 100.0 * static_cast<double>(count_);
  std::uint64_t rank = static_cast<std::uint64_t>(wanted);
  if (static_cast<double>(rank) < wanted) ++rank;  // ceil
  rank = std::max<std::uint64_t>(rank, 1);
  std::uint64_t seen = 0;
  for (std::size_t b = 0; b < kBuckets; ++b) {
    seen += buckets_[b];
    if (seen >= rank) return bucket_upper(b);
  }
  return bucket_upper(kBuckets - 1);
}

std::uint64_t LatencyHistogram::at_most(std::size_t bound_index) const {
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i <= bound_index && i < bounded_.size(); ++i) sum += bounded_[i];
  return sum;
}

CommandStat& CommandStats::of(const CommandSpec& spec) {
  if (&spec != last_spec_) {  // a pipeline mostly repeats one command
    last_stat_ = &by_spec_[&spec];
    last_spec_ = &spec;
  }
  return *last_stat_;
}

void CommandStats::call(const CommandSpec& spec, Duration took, bool failed) {
  CommandStat& s = of(spec);
  ++s.calls;
  if (failed) ++s.failed_calls;
  const std::uint64_t ns = ns_of(took);
  s.total_ns += ns;
  if (latency_tracking_) {
    if (!s.latency) s.latency = std::make_unique<LatencyHistogram>();
    s.latency->record(ns);
  }
}

void CommandStats::rejected(const CommandSpec& spec) { ++of(spec).rejected_calls; }

void CommandStats::error(std::string_view reply_line) {
  if (!reply_line.empty() && reply_line.front() == '-') reply_line.remove_prefix(1);
  std::size_t end = 0;
  while (end < reply_line.size() && reply_line[end] != ' ' && reply_line[end] != '\r' &&
         reply_line[end] != '\n') {
    ++end;
  }
  const std::string_view code = reply_line.substr(0, end);
  if (auto it = errors_.find(code); it != errors_.end()) {
    ++it->second;
  } else if (errors_.size() < kMaxErrorCodes) {
    errors_.emplace(std::string(code), 1);
  } else {
    ++errors_untracked_;
  }
}

void CommandStats::remote(Duration took) {
  if (latency_tracking_) remote_.record(ns_of(took));
}

std::vector<std::pair<std::string_view, const CommandStat*>> CommandStats::sorted() const {
  std::vector<std::pair<std::string_view, const CommandStat*>> out;
  out.reserve(by_spec_.size());
  for (const auto& [spec, stat] : by_spec_) out.emplace_back(spec->name, &stat);
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

void CommandStats::reset() {
  by_spec_.clear();
  last_spec_ = nullptr;
  last_stat_ = nullptr;
  errors_.clear();
  errors_untracked_ = 0;
  remote_ = LatencyHistogram{};
}

void append_commandstats(std::string& out, const CommandStats& stats) {
  for (const auto& [name, s] : stats.sorted()) {
    out.append("cmdstat_");
    out.append(name);
    out.append(":calls=" + std::to_string(s->calls) + ",usec=" + std::to_string(s->total_ns / 1000) +
               ",usec_per_call=");
    append_usec(out, s->calls == 0 ? 0 : s->total_ns / s->calls, "%.2f");
    out.append(",rejected_calls=" + std::to_string(s->rejected_calls) +
               ",failed_calls=" + std::to_string(s->failed_calls) + "\r\n");
  }
}

void append_errorstats(std::string& out, const CommandStats& stats) {
  for (const auto& [code, count] : stats.errors()) {
    out.append("errorstat_");
    out.append(code);
    out.append(":count=" + std::to_string(count) + "\r\n");
  }
}

void append_latencystats(std::string& out, const CommandStats& stats,
                         const std::vector<double>& percentiles) {
  for (const auto& [name, s] : stats.sorted()) {
    if (!s->latency || s->latency->count() == 0) continue;
    out.append("latency_percentiles_usec_");
    out.append(name);
    out.push_back(':');
    bool first = true;
    for (double p : percentiles) {
      if (!first) out.push_back(',');
      first = false;
      out.push_back('p');
      out.append(trimmed_double(p));
      out.push_back('=');
      append_usec(out, s->latency->percentile_ns(p));
    }
    out.append("\r\n");
  }
}

}  // namespace apiary::resp
