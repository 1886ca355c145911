#include "apiary/sim/data_process.hpp"

#include <charconv>
#include <sstream>

namespace apiary::sim {

namespace {

// The simulated wall clock: a fixed epoch plus the node's local time (TTL and tombstone
// grace only need it to move with the local clock).
constexpr std::int64_t kWallEpochMs = 1'700'000'000'000;

NodeId actor_for(Rng& rng) {
  // One actor id per instance: a restarted node never reuses the dots it issued before.
  return NodeId{rng.next() | 1};
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    const auto at = s.find(sep, start);
    out.push_back(s.substr(start, at == s.npos ? s.npos : at - start));
    if (at == s.npos) break;
    start = at + 1;
  }
  return out;
}

std::optional<std::uint64_t> number(std::string_view s) {
  std::uint64_t v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

}  // namespace

WallTime DataProcess::wall_of(TimePoint local) {
  return WallTime{kWallEpochMs + to_nanos(local) / 1'000'000};
}

DataProcess::DataProcess(gossip::SwimConfig swim, const DataConfig& data, const ProcessSpec& spec,
                         Rng rng, TimePoint now)
    : index_(spec.index),
      config_(data),
      swim_(std::move(swim),
            gossip::LocalNode{spec.name, spec.addr,
                              gossip::MemberMeta{{}, {}, node_data_addr(spec.index), {}}},
            rng.split(), now) {
  store::StoreConfig sc;
  sc.self = actor_for(rng);
  sc.partition_count = config_.replication.partition_count;
  sc.seed = rng.next();
  store_ = std::make_unique<store::Store>(sc);
  auto rc = config_.replication;
  rc.seed = rng.next();
  replicator_ = std::make_unique<replication::Replicator>(rc, *store_);
  replicator_->set_executor(
      [this](const replication::ForwardedCommand& cmd) { return execute(cmd); });
  now_ = now;
}

DataProcess::~DataProcess() = default;

void DataProcess::join(TimePoint now, std::vector<std::string> seeds) {
  now_ = now;
  // The first node of a cluster serves at once; a joining node only once gossip brought it
  // the others: with a view of itself alone it would own every key and answer "missing".
  joined_ = seeds.empty();
  swim_.join(now, std::move(seeds));
  if (joined_) refresh_view(now);
  after_input(now);
}

void DataProcess::leave(TimePoint now) {
  now_ = now;
  leaving_ = true;
  replicator_->leave(now, wall_of(now));
  after_input(now);
}

bool DataProcess::leave_done() const { return swim_left_ && swim_.leave_done(); }

void DataProcess::handle_message(TimePoint now, std::span<const std::uint8_t> bytes) {
  now_ = now;
  swim_.handle_message(now, bytes);
  after_input(now);
}

void DataProcess::handle_data_message(TimePoint now, std::span<const std::uint8_t> bytes) {
  now_ = now;
  replicator_->handle_message(now, wall_of(now), bytes);
  after_input(now);
}

void DataProcess::handle_timeout(TimePoint now) {
  now_ = now;
  if (now >= swim_.next_deadline()) swim_.handle_timeout(now);
  if (now >= replicator_->next_deadline()) replicator_->handle_timeout(now, wall_of(now));
  if (now >= ring_change_) refresh_view(now);
  after_input(now);
}

TimePoint DataProcess::next_deadline() const {
  return std::min({swim_.next_deadline(), replicator_->next_deadline(), ring_change_});
}

std::optional<gossip::Outgoing> DataProcess::poll_send() {
  if (auto out = swim_.poll_send()) return out;
  if (auto out = replicator_->poll_send()) {
    return gossip::Outgoing{std::move(out->to), std::move(out->bytes)};
  }
  return std::nullopt;
}

std::optional<gossip::MemberEvent> DataProcess::poll_event() {
  if (events_.empty()) return std::nullopt;
  gossip::MemberEvent e = std::move(events_.front());
  events_.pop_front();
  return e;
}

ProcessCounters DataProcess::counters() const {
  const auto& s = swim_.stats();
  return ProcessCounters{s.refutations, s.malformed_dropped, s.local_health};
}

std::optional<ClientResult> DataProcess::poll_result() {
  if (results_.empty()) return std::nullopt;
  ClientResult r = std::move(results_.front());
  results_.pop_front();
  return r;
}

std::optional<store::VersionedEntry> DataProcess::entry(std::string_view key, TimePoint now) const {
  return store_->export_entry(key, wall_of(now));
}

// ---- Driving the cores -------------------------------------------------------------------

void DataProcess::refresh_view(TimePoint now) {
  const auto members = swim_.members();
  if (!joined_) {
    // Not before a seed's member list arrived: another node that is joining at the same time
    // may be the first member gossip brings, and a view of the two would own every key
    // (found by the data sweep: a joiner answered "missing" for a key the cluster held).
    joined_ = !swim_.joining();
    if (!joined_) return;  // no view yet: client operations answer "unavailable"
  }
  replicator_->set_view(now, wall_of(now),
                        replication::view_from_members(swim_.self().name, members, now,
                                                       config_.replication, config_.ring));
  ring_change_ = replication::next_ring_change(members, now, config_.ring);
}

void DataProcess::after_input(TimePoint now) {
  bool membership_changed = false;
  while (auto e = swim_.poll_event()) {
    membership_changed = true;
    events_.push_back(std::move(*e));
  }
  // The join may complete without news (gossip brought every member first).
  if (membership_changed || (!joined_ && !swim_.joining())) refresh_view(now);
  // Completions may start more work (an executor's read finishing): loop until none are left.
  while (auto c = replicator_->poll_completion()) {
    auto it = pending_.find(c->id);
    if (it == pending_.end()) continue;
    Pending p = std::move(it->second);
    pending_.erase(it);
    finish(now, p, &*c);
  }
  if (leaving_ && !swim_left_ && !replicator_->handoff_pending()) {
    swim_left_ = true;
    swim_.leave(now);
    while (auto e = swim_.poll_event()) events_.push_back(std::move(*e));
  }
}

// ---- Client operations -------------------------------------------------------------------

void DataProcess::client_op(TimePoint now, const ClientOp& op) {
  now_ = now;
  Pending p;
  p.kind = Pending::Kind::client;
  p.client_id = op.id;
  p.write = op.write;
  p.key = op.key;
  if (replicator_->owns(op.key)) {
    run_local(now, op.write, op.key, op.value, std::move(p));
  } else {
    const std::uint64_t id = next_completion_++;
    p.kind = Pending::Kind::forward;
    pending_.emplace(id, std::move(p));
    std::vector<std::string_view> argv;
    if (op.write) {
      argv = {"SET", op.key, op.value};
    } else {
      argv = {"GET", op.key};
    }
    replicator_->forward(now, op.key, argv, 2, id);
  }
  after_input(now);
}

std::optional<std::string> DataProcess::execute(const replication::ForwardedCommand& cmd) {
  const bool write = cmd.argv.size() == 3 && cmd.argv[0] == "SET";
  const bool read = cmd.argv.size() == 2 && cmd.argv[0] == "GET";
  if (!write && !read) {
    ClientResult r;
    r.error = "unknown command";
    return encode_result(r);
  }
  Pending p;
  p.kind = Pending::Kind::executor;
  p.token = cmd.token;
  p.write = write;
  p.key = cmd.argv[1];
  run_local(now_, write, cmd.argv[1], write ? cmd.argv[2] : std::string(), std::move(p));
  return std::nullopt;  // finish() answers through reply_forwarded, possibly right away
}

void DataProcess::run_local(TimePoint now, bool write, const std::string& key,
                            const std::string& value, Pending pending) {
  const WallTime wall = wall_of(now);
  pending.partial.executed_on = index_;
  if (write) {
    const Status st = store_->put_local(key, value, wall);
    if (!st.ok()) {
      pending.partial.error = st.message();
      finish(now, pending, nullptr);
      return;
    }
    if (auto e = store_->export_entry(key, wall)) {
      for (const auto& s : e->version.siblings()) {
        if (s.value == value) pending.partial.dot = s.dot;
      }
      pending.partial.clock = e->version.clock();
    }
    const std::uint64_t id = next_completion_++;
    pending_.emplace(id, std::move(pending));
    replicator_->replicate(now, wall, key, 0, id);
    return;
  }
  if (replicator_->read_is_local(key, 0)) {
    finish(now, pending, nullptr);
    return;
  }
  const std::uint64_t id = next_completion_++;
  pending_.emplace(id, std::move(pending));
  replicator_->read(now, wall, key, 0, id);
}

ClientResult DataProcess::read_result(const std::string& key, TimePoint now) const {
  ClientResult r;
  r.ok = true;
  r.executed_on = index_;
  if (auto e = store_->export_entry(key, wall_of(now))) {
    for (const auto& s : e->version.siblings()) r.values.push_back(s.value);
  }
  return r;
}

void DataProcess::finish(TimePoint now, Pending& p, const replication::Completion* c) {
  ClientResult r;
  if (p.kind == Pending::Kind::forward) {
    if (c == nullptr || !c->status.ok()) {
      r.error = c == nullptr ? "no completion" : c->status.message();
    } else if (auto decoded = decode_result(c->reply)) {
      r = std::move(*decoded);
    } else {
      r.error = "undecodable forwarded reply";
    }
    r.forwarded = true;
  } else if (!p.partial.error.empty()) {
    r = p.partial;
  } else if (c != nullptr && !c->status.ok()) {
    r = p.partial;
    r.error = c->status.message();
  } else if (p.write) {
    r = p.partial;
    r.ok = true;
  } else {
    r = read_result(p.key, now);
  }
  if (p.kind == Pending::Kind::executor) {
    replicator_->reply_forwarded(now, p.token, encode_result(r));
    return;
  }
  r.id = p.client_id;
  results_.push_back(std::move(r));
}

ProcessFactory data_factory(gossip::SwimConfig swim, DataConfig data) {
  return [swim, data](const ProcessSpec& spec, Rng rng, TimePoint now) {
    return std::make_unique<DataProcess>(swim, data, spec, rng, now);
  };
}

// ---- Forwarded replies -------------------------------------------------------------------
// Lines: "OK" or "ERR <message>"; executed_on; "actor counter" or "-"; "actor:counter,..."
// (the write's clock); then one sibling value per line (generated values hold no newline).

std::string encode_result(const ClientResult& r) {
  std::ostringstream s;
  if (r.ok) {
    s << "OK";
  } else {
    s << "ERR " << r.error;
  }
  s << '\n' << r.executed_on << '\n';
  if (r.dot) {
    s << r.dot->actor.value << ' ' << r.dot->counter;
  } else {
    s << '-';
  }
  s << '\n';
  for (std::size_t i = 0; i < r.clock.size(); ++i) {
    s << (i ? "," : "") << r.clock[i].actor.value << ':' << r.clock[i].counter;
  }
  for (const auto& v : r.values) s << '\n' << v;
  return s.str();
}

std::optional<ClientResult> decode_result(std::string_view bytes) {
  const auto lines = split(bytes, '\n');
  if (lines.size() < 4) return std::nullopt;
  ClientResult r;
  if (lines[0] == "OK") {
    r.ok = true;
  } else if (lines[0].substr(0, 4) == "ERR ") {
    r.error = std::string(lines[0].substr(4));
  } else {
    return std::nullopt;
  }
  const auto node = number(lines[1]);
  if (!node) return std::nullopt;
  r.executed_on = static_cast<std::uint32_t>(*node);
  if (lines[2] != "-") {
    const auto parts = split(lines[2], ' ');
    if (parts.size() != 2) return std::nullopt;
    const auto actor = number(parts[0]);
    const auto counter = number(parts[1]);
    if (!actor || !counter) return std::nullopt;
    r.dot = data::Dot{NodeId{*actor}, *counter};
  }
  if (!lines[3].empty()) {
    for (auto item : split(lines[3], ',')) {
      const auto colon = item.find(':');
      if (colon == item.npos) return std::nullopt;
      const auto actor = number(item.substr(0, colon));
      const auto counter = number(item.substr(colon + 1));
      if (!actor || !counter) return std::nullopt;
      r.clock.push_back(data::ClockEntry{NodeId{*actor}, *counter, {}});
    }
  }
  for (std::size_t i = 4; i < lines.size(); ++i) r.values.emplace_back(lines[i]);
  return r;
}

}  // namespace apiary::sim
