#include "apiary/sim/node_process.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <variant>

#include "apiary/persist/sim_env.hpp"
#include "apiary/resp/server.hpp"

namespace apiary::sim {

namespace {

// In RESP2 a subscribed connection's messages are arrays "message" channel payload,
// "pmessage" pattern channel payload and "smessage" channel payload; no reply the simulated
// clients ask for starts that way (their elements are named e<id>, m<id>, f<id>, v<id>, ...).
bool is_pubsub_message(const RespReply& r) {
  if (r.kind != RespReply::Kind::array || r.elements.empty()) return false;
  const RespReply& kind = r.elements[0];
  if (kind.kind != RespReply::Kind::bulk) return false;
  if (r.elements.size() == 3) return kind.text == "message" || kind.text == "smessage";
  return r.elements.size() == 4 && kind.text == "pmessage";
}

// The simulated wall clock: a fixed epoch plus the node's local time (TTLs, tombstone grace
// and the HLC only need it to move with the local clock).
constexpr std::int64_t kWallEpochMs = 1'700'000'000'000;

core::NodeCoreConfig core_config(const gossip::SwimConfig& swim, const NodeOptions& options,
                                 const ProcessSpec& spec, std::uint64_t seed,
                                 persist::Env* disk = nullptr) {
  core::NodeCoreConfig c;
  c.name = spec.name;
  c.swim = swim;
  c.gossip_addr = spec.addr;
  c.meta.data_addr = node_data_addr(spec.index);
  c.meta.client_addr = spec.name + ":6379";
  c.replication = options.replication;
  c.ring = options.ring;
  c.seed = seed;
  c.handoff_timeout = options.handoff_timeout;
  c.leave_timeout = options.leave_timeout;
  if (disk != nullptr && !options.appendfsync.empty()) {
    c.persistence.env = disk;
    c.persistence.dir = "/data";
    c.persistence.appendonly = true;
    c.persistence.appendfsync =
        persist::parse_fsync_policy(options.appendfsync).value_or(persist::FsyncPolicy::always);
    c.persistence.auto_aof_rewrite_min_size = options.aof_rewrite_min_size;
  }
  return c;
}

// One disk per node index, for the whole run: it outlives the node's processes.
struct Disks {
  std::map<std::uint32_t, std::unique_ptr<persist::SimEnv>> by_node;
};

}  // namespace

WallTime NodeProcess::wall_of(TimePoint local) {
  return WallTime{kWallEpochMs + to_nanos(local) / 1'000'000};
}

NodeProcess::NodeProcess(const gossip::SwimConfig& swim, const NodeOptions& options,
                         const ProcessSpec& spec, Rng rng, TimePoint now, persist::Env* disk)
    : index_(spec.index) {
  auto made =
      core::NodeCore::create(core_config(swim, options, spec, rng.next(), disk), now, wall_of(now));
  // node_factory's caller checked the options (check_node_options); a disk the AOF cannot be
  // loaded from (damage before its tail) is a failure of the run.
  if (!made.ok()) {
    std::fprintf(stderr, "sim: node %u cannot start: %s\n", spec.index,
                 made.status().to_string().c_str());
    std::abort();
  }
  core_ = std::move(made).value();
}

NodeProcess::~NodeProcess() {
  // Connections first: they unregister from the core's server.
  by_id_.clear();
  clients_.clear();
}

void NodeProcess::join(TimePoint now, std::vector<std::string> seeds) {
  core_->join(now, wall_of(now), std::move(seeds));
  pump(now);
}

void NodeProcess::leave(TimePoint now) {
  core_->leave(now, wall_of(now));
  pump(now);
}

bool NodeProcess::leave_done() const { return core_->leave_state() == core::LeaveState::done; }

void NodeProcess::handle_message(TimePoint now, std::span<const std::uint8_t> bytes) {
  core_->handle_gossip(now, wall_of(now), bytes);
  pump(now);
}

void NodeProcess::handle_data_message(TimePoint now, std::span<const std::uint8_t> bytes) {
  core_->handle_data(now, wall_of(now), bytes);
  pump(now);
}

void NodeProcess::handle_timeout(TimePoint now) {
  const WallTime wall = wall_of(now);
  if (core_->next_deadline() <= now) core_->handle_timeout(now, wall);
  // Deferred replies and idle timeouts of the Redis layer (the runtime's listener timer).
  if (core_->resp_server().next_deadline() <= now) {
    for (resp::ClientId id : core_->resp_server().on_timer(now, wall)) {
      if (Client* c = client_by_id(id)) drain_output(*c);
    }
  }
  pump(now);
}

TimePoint NodeProcess::next_deadline() const {
  return std::min(core_->next_deadline(), core_->resp_server().next_deadline());
}

std::optional<gossip::Outgoing> NodeProcess::poll_send() {
  if (dead_) return std::nullopt;
  if (auto out = core_->poll_gossip_send()) return out;
  if (!data_out_.empty()) {
    replication::Outgoing d = std::move(data_out_.front());
    data_out_.pop_front();
    return gossip::Outgoing{std::move(d.to), std::move(d.bytes)};
  }
  if (auto d = core_->poll_data_send()) {
    return gossip::Outgoing{std::move(d->to), std::move(d->bytes)};
  }
  return std::nullopt;
}

std::optional<gossip::MemberEvent> NodeProcess::poll_event() {
  if (events_.empty()) return std::nullopt;
  gossip::MemberEvent e = std::move(events_.front());
  events_.pop_front();
  return e;
}

std::vector<gossip::Member> NodeProcess::members() const { return core_->swim().members(); }

ProcessCounters NodeProcess::counters() const {
  const auto& s = core_->swim().stats();
  return ProcessCounters{s.refutations, s.malformed_dropped, s.local_health};
}

// ---- Clients ---------------------------------------------------------------------------------

void NodeProcess::send(TimePoint now, std::uint32_t client, std::uint64_t request,
                       std::string_view bytes, std::uint32_t replies) {
  auto it = clients_.find(client);
  if (it == clients_.end()) {
    Client c;
    c.index = client;
    c.conn = core_->resp_server().connect(
        now, resp::ClientAddress{"c" + std::to_string(client) + ":1", core_->name() + ":6379", -1});
    by_id_[c.conn->id()] = client;
    it = clients_.emplace(client, std::move(c)).first;
  }
  Client& c = it->second;
  c.requests.insert(c.requests.end(), replies, request);
  c.conn->feed(now, wall_of(now), bytes);
  // As the runtime's listener: the replies leave after the pass (settle() syncs the AOF).
  pump(now);
  drain_output(c);
}

void NodeProcess::disconnect(TimePoint now, std::uint32_t client) {
  auto it = clients_.find(client);
  if (it == clients_.end()) return;
  by_id_.erase(it->second.conn->id());
  clients_.erase(it);
  pump(now);
}

std::optional<ClientReply> NodeProcess::poll_reply() {
  if (replies_.empty()) return std::nullopt;
  ClientReply r = std::move(replies_.front());
  replies_.pop_front();
  return r;
}

NodeProcess::Client* NodeProcess::client_by_id(resp::ClientId id) {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return nullptr;
  auto c = clients_.find(it->second);
  return c == clients_.end() ? nullptr : &c->second;
}

// What a connection wrote is what its socket would carry: parse the complete replies in it
// and match them with the requests in order.
void NodeProcess::drain_output(Client& c) {
  if (dead_) return;
  std::string_view out = c.conn->output();
  std::size_t used = 0;
  while (used < out.size()) {
    ParsedReply p = parse_reply(out.substr(used));
    if (p.status == ParsedReply::Status::incomplete) break;
    if (p.status == ParsedReply::Status::malformed) {
      // Never expected from the node: surface it as an error reply and drop the rest.
      p.reply.kind = RespReply::Kind::error;
      p.reply.text = "SIM malformed reply from the node";
      p.used = out.size() - used;
    }
    used += p.used;
    if (is_pubsub_message(p.reply)) {
      replies_.push_back(ClientReply{c.index, 0, std::move(p.reply), true});
      continue;
    }
    if (c.requests.empty()) continue;  // a reply nobody asked for: nothing to match it with
    replies_.push_back(ClientReply{c.index, c.requests.front(), std::move(p.reply)});
    c.requests.pop_front();
  }
  c.conn->consume_output(used);
}

void NodeProcess::pump(TimePoint now) {
  const WallTime wall = wall_of(now);
  // As the runtime's deliver(): a reply delivered to a connection resumes its pipeline, which
  // may start new operations; loop until nothing is left to move.
  if (dead_) return;
  for (bool progress = true; progress;) {
    progress = false;
    core_->settle(now, wall);
    if (core_->persistence_fatal()) {
      // The runtime exits here, before the pass's replies and acknowledgements leave.
      dead_ = true;
      data_out_.clear();
      while (core_->poll_gossip_send()) {
      }
      while (core_->poll_data_send()) {
      }
      return;
    }
    for (auto& reply : core_->take_client_replies()) {
      progress = true;
      Client* c = client_by_id(reply.client);
      if (c == nullptr) continue;
      c->conn->complete(reply.token, reply.bytes, now, wall);
      drain_output(*c);
    }
    // Pub/sub messages (handed out as pushes) and invalidations.
    for (resp::ClientId id : core_->resp_server().take_pushed()) {
      if (Client* c = client_by_id(id)) drain_output(*c);
    }
    // No embedding calls run in the simulator; drop what cannot come.
    if (!core_->take_call_replies().empty()) progress = true;
    while (auto out = core_->poll_data_send()) data_out_.push_back(std::move(*out));
  }
  while (auto event = core_->poll_event()) {
    if (auto* m = std::get_if<core::MemberChanged>(&*event)) events_.push_back(m->event);
  }
}

Status check_node_options(const NodeOptions& options) {
  ProcessSpec spec{0, node_name(0), node_addr(0)};
  auto made =
      core::NodeCore::create(core_config(gossip::SwimConfig{}, options, spec, 1), TimePoint{});
  return made.ok() ? Status::Ok() : made.status();
}

ProcessFactory node_factory(gossip::SwimConfig swim, NodeOptions options) {
  auto disks = std::make_shared<Disks>();
  return [swim, options, disks](const ProcessSpec& spec, Rng rng, TimePoint now) {
    persist::SimEnv* disk = nullptr;
    if (!options.appendfsync.empty()) {
      auto& slot = disks->by_node[spec.index];
      if (slot) {
        slot->crash();  // the previous process died: a power loss for its disk
      } else {
        persist::SimEnvOptions o;
        o.seed = options.disk_seed ^ (0x9e3779b97f4a7c15ULL * (spec.index + 1));
        o.zeroed_tail_probability = options.zeroed_tail_probability;
        slot = std::make_unique<persist::SimEnv>(o);
      }
      disk = slot.get();
    }
    return std::make_unique<NodeProcess>(swim, options, spec, rng, now, disk);
  };
}

}  // namespace apiary::sim
