#include "apiary/core/node_core.hpp"

#include <algorithm>
#include <cstdio>

#include "apiary/base/rng.hpp"
#include "apiary/base/version.hpp"
#include "apiary/data/partition.hpp"
#include "apiary/script/service.hpp"
#include "change_observer.hpp"
#include "functions_file.hpp"

namespace apiary::core {

namespace {

bool same_ring(const replication::ClusterView& a, const replication::ClusterView& b) {
  const auto& x = a.members();
  const auto& y = b.members();
  if (x.size() != y.size()) return false;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (x[i].name != y[i].name || x[i].data_addr != y[i].data_addr || x[i].live != y[i].live) {
      return false;
    }
  }
  return true;
}

}  // namespace

NodeId actor_for(std::string_view name, std::uint64_t seed) {
  std::uint64_t mix = seed;
  for (char c : name) mix = (mix ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  return NodeId{splitmix64(mix)};
}

struct NodeCore::Impl {
  NodeCoreConfig config;
  replication::ReplicationConfig repl_config;
  // Declared in dependency order (destroyed in reverse): the router points at the server and
  // the replicator, the replicator at the store.
  std::unique_ptr<gossip::Swim> swim;
  Rng swim_rng{1};  // what the Swim was made with (set_meta makes it again before join)
  TimePoint created{};
  bool join_called = false;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<replication::Replicator> replicator;
  std::unique_ptr<resp::Server> resp_server;
  std::unique_ptr<routing::Router> router;
  std::unique_ptr<script::Service> scripts;  // EVAL, FCALL, SCRIPT, FUNCTION
  std::unique_ptr<ChangeObserver> observer;  // tracking and keyspace events (the store's)
  // After the store (whose change listener it is) so that it goes first.
  std::unique_ptr<Persistence> persistence;
  std::unique_ptr<resp::PersistenceControl> persistence_commands;
  TimePoint now{};  // of the input being handled (the router's clock for peers' commands)
  WallTime wall{};

  replication::ClusterView current_view;  // the last view given to the replicator
  std::shared_ptr<const cluster::PartitionTable> table;
  bool has_view = false;
  bool joined = false;  // false until a seed's member list arrived (when seeded)
  TimePoint join_deadline = kNever;
  TimePoint ring_next = kNever;
  TimePoint expire_next = kNever;
  TimePoint expire_fast_next = kNever;
  bool swim_touched = true;  // the gossip core got input since its output was drained

  LeaveState leave_phase = LeaveState::none;
  TimePoint leave_deadline = kNever;
  bool leave_incomplete = false;

  std::deque<CoreEvent> events;
  std::vector<routing::ClientReply> client_replies;
  std::vector<routing::CallReply> call_replies;

  void pump_gossip(TimePoint t, WallTime w) {
    if (!swim_touched) return;
    swim_touched = false;
    bool changed = false;
    while (auto event = swim->poll_event()) {
      changed = true;
      MemberChanged m{*event, false};
      m.ring_mismatch = event->kind == gossip::MemberEventKind::joined &&
                        !replication::ring_compatible(event->member, repl_config);
      events.emplace_back(std::move(m));
    }
    if (changed || (!joined && !swim->joining())) update_view(t, w);
  }

  // Rebuilds the replication view from the member list (the ring policy decides who is in
  // the ring and live) and hands it to the replicator when it changed.
  void update_view(TimePoint t, WallTime w) {
    const auto members = swim->members();
    if (!joined) {
      // Not before a seed's member list arrived: a node joining at the same moment may be
      // the first member gossip brings, and a view of the two would own every key.
      if (swim->joining() && t < join_deadline) return;
      if (swim->joining()) events.emplace_back(JoinTimedOut{});
      joined = true;
    }
    auto view = replication::view_from_members(config.name, members, t, repl_config, config.ring);
    ring_next = replication::next_ring_change(members, t, config.ring);
    if (has_view && same_ring(view, current_view)) return;
    has_view = true;
    current_view = view;
    auto published = std::make_shared<const cluster::PartitionTable>(view.table());
    replicator->set_view(t, w, std::move(view));
    router->on_view_change(t, w);  // parked blocking commands follow their keys
    scripts->sync(t);              // a member that joined or came back shares its scripts
    std::vector<std::string> others;  // pub/sub registries, tracking (sorted, as members())
    for (const auto& m : replicator->view().members()) {
      if (m.live && m.name != config.name) others.push_back(m.name);
    }
    resp_server->on_members(t, others);
    events.emplace_back(ViewChanged{std::move(table), published});
    table = std::move(published);
  }

  void check_leave(TimePoint t) {
    if (leave_phase == LeaveState::handoff &&
        (!replicator->handoff_pending() || t >= leave_deadline)) {
      if (replicator->handoff_pending()) {
        leave_incomplete = true;
        events.emplace_back(LeaveTimedOut{true});
      }
      swim->leave(t);
      swim_touched = true;
      leave_phase = LeaveState::announce;
      leave_deadline = t + config.leave_timeout;
    }
    if (leave_phase == LeaveState::announce && (swim->leave_done() || t >= leave_deadline)) {
      if (!swim->leave_done()) {
        leave_incomplete = true;
        events.emplace_back(LeaveTimedOut{false});
      }
      leave_phase = LeaveState::done;
      leave_deadline = kNever;
    }
  }

  void settle(TimePoint t, WallTime w) {
    now = t;
    wall = w;
    while (auto c = replicator->poll_completion()) router->on_completion(*c, t, w);
    router->settle(t, w);  // parked blocking commands whose keys were written
    while (auto c = replicator->poll_completion()) router->on_completion(*c, t, w);
    for (auto& r : router->take_replies()) client_replies.push_back(std::move(r));
    for (auto& r : router->take_call_replies()) call_replies.push_back(std::move(r));
    while (auto h = replicator->poll_handoff_event()) events.emplace_back(HandoffChanged{*h});
    if (auto f = router->take_quorum_failures(); f.count != 0) {
      events.emplace_back(WriteQuorumFailed{std::move(f)});
    }
    check_leave(t);
  }

  void drain_persistence_log() {
    if (!persistence) return;
    while (auto line = persistence->poll_log()) {
      events.emplace_back(PersistenceLogged{line->error, std::move(line->text)});
    }
  }

  // CONFIG SET of the persistence parameters applies to the running node.
  void apply_persistence_config(const std::vector<std::string>& names) {
    if (!persistence) return;
    const auto& conf = resp_server->config();
    for (const auto& name : names) {
      if (name == "appendonly") {
        persistence->set_appendonly(conf.appendonly(), now, wall);
      } else if (name == "appendfsync") {
        if (auto p = persist::parse_fsync_policy(conf.appendfsync())) {
          persistence->set_appendfsync(*p);
        }
      } else if (name == "save") {
        persistence->set_save_rules(parse_save_rules(conf.save()).value_or(
            std::vector<SaveRule>{}));
      } else if (name == "auto-aof-rewrite-percentage" || name == "auto-aof-rewrite-min-size") {
        persistence->set_auto_rewrite(
            conf.auto_aof_rewrite_percentage(),
            static_cast<std::uint64_t>(conf.auto_aof_rewrite_min_size()));
      } else if (name == "aof-load-truncated") {
        persistence->set_aof_load_truncated(conf.aof_load_truncated());
      } else if (name == "stop-writes-on-bgsave-error") {
        persistence->set_stop_writes_on_bgsave_error(conf.stop_writes_on_bgsave_error());
      }
    }
  }

  void cluster_info(std::string& out) const {
    const auto members = swim->members();
    std::size_t alive = 0;
    for (const auto& m : members) {
      if (m.state == gossip::MemberState::alive || m.state == gossip::MemberState::suspect) {
        ++alive;
      }
    }
    const std::string& name = config.name;
    out += "cluster_name:" + config.cluster_name + "\r\n";
    out += "cluster_node:" + name + "\r\n";
    out += "cluster_known_members:" + std::to_string(members.size()) + "\r\n";
    out += "cluster_alive_members:" + std::to_string(alive) + "\r\n";
    if (table) {
      std::size_t primary = 0, owned = 0;
      for (std::uint32_t p = 0; p < table->partition_count(); ++p) {
        auto owners = table->owner_indices(PartitionId{p});
        for (std::size_t r = 0; r < owners.size(); ++r) {
          if (table->members()[owners[r]] != name) continue;
          ++owned;
          if (r == 0) ++primary;
        }
      }
      out += "cluster_partitions:" + std::to_string(table->partition_count()) + "\r\n";
      out += "cluster_replicas:" + std::to_string(table->replicas()) + "\r\n";
      out += "cluster_partitions_primary:" + std::to_string(primary) + "\r\n";
      out += "cluster_partitions_owned:" + std::to_string(owned) + "\r\n";
    }
    const auto& r = replicator->stats();
    const auto& routed = router->stats();
    auto put = [&out](std::string_view key, std::uint64_t v) {
      out.append(key);
      out += ":" + std::to_string(v) + "\r\n";
    };
    put("cluster_write_quorum", repl_config.write_quorum);
    put("cluster_read_quorum", repl_config.read_quorum);
    // What members must agree on (partitions/replicas): see replication::ring_compatible.
    out += "cluster_ring:" + replication::ring_signature(repl_config) + "\r\n";
    put("cluster_handoff_pending", replicator->handoff_pending() ? 1 : 0);
    put("cluster_partitions_promoting", replicator->partitions_promoting());
    put("cluster_pending_operations", replicator->pending_operations() + router->pending());
    put("cluster_parked_commands", router->parked());  // blocking commands held here
    put("cluster_hints", replicator->hint_count());
    put("cluster_commands_local", routed.local);
    put("cluster_commands_forwarded", routed.forwarded);
    put("cluster_commands_fanned_out", routed.fanned_out);
    put("cluster_commands_run_for_peers", routed.run_for_peers);
    put("cluster_write_quorum_failures", routed.write_failures);
    put("cluster_forward_failures", routed.forward_failures);
    put("cluster_keyspace_commands", routed.keyspace_commands);
    put("cluster_keyspace_failures", routed.keyspace_failures);
    put("cluster_keyspace_queries_answered", r.keyspace_queries_answered);
    put("cluster_member_notices_sent", r.keyspace_notices_sent);
    put("cluster_member_notice_gaps", r.told_gaps);
    put("cluster_flush_horizons_adopted", r.flush_horizons_adopted);
    put("cluster_writes_ok", r.writes_ok);
    put("cluster_write_timeouts", r.write_timeouts);
    put("cluster_read_repairs", r.read_repairs);
    put("cluster_reads_same", r.reads_same);
    put("cluster_reads_same_retried", r.reads_same_retried);
    put("cluster_hints_delivered", r.hints_delivered);
    put("cluster_anti_entropy_rounds", r.anti_entropy_rounds);
    put("cluster_anti_entropy_keys_received", r.anti_entropy_keys_received);
    put("cluster_handoff_entries_sent", r.handoff_entries_sent);
    put("cluster_handoff_bytes_sent", r.handoff_bytes_sent);
    put("cluster_handoff_entries_received", r.handoff_entries_received);
    put("cluster_partitions_dropped", r.partitions_dropped);
    put("cluster_promotions", r.promotions_started);
    put("cluster_promotions_completed", r.promotions_completed);
    put("cluster_start_catch_ups", r.start_catch_ups);
    put("cluster_carried_versions_received", r.carried_versions_received);
    put("cluster_delta_writes", r.delta_writes);
    put("cluster_delta_fallbacks", r.delta_fallbacks);
    put("cluster_data_malformed_dropped", r.malformed_dropped);
    put("cluster_data_messages_sent", r.messages_sent);
    put("cluster_data_envelopes_sent", r.envelopes_sent);
    put("cluster_data_batches_sent", r.batches_sent);
    put("cluster_data_bytes_sent", r.bytes_sent);
    std::size_t i = 0;
    for (const auto& m : members) {
      out += "member" + std::to_string(i++) + ":name=" + m.name + ",addr=" + m.addr +
             ",state=" + std::string(gossip::to_string(m.state)) +
             ",incarnation=" + std::to_string(m.incarnation.value) +
             ",client_addr=" + (m.meta.client_addr.empty() ? "-" : m.meta.client_addr) + "\r\n";
    }
  }
};

namespace {

// SAVE, BGSAVE, BGREWRITEAOF, LASTSAVE and MISCONF, answered by the node's Persistence.
class PersistenceCommands final : public resp::PersistenceControl {
 public:
  explicit PersistenceCommands(Persistence& p) : p_(p) {}
  Status save(const resp::CommandContext& ctx) override { return p_.save(ctx.now, ctx.wall); }
  resp::BackgroundReply bgsave(const resp::CommandContext& ctx, bool schedule) override {
    return p_.bgsave(ctx.now, ctx.wall, schedule);
  }
  resp::BackgroundReply bgrewriteaof(const resp::CommandContext& ctx) override {
    return p_.bgrewriteaof(ctx.now, ctx.wall);
  }
  std::int64_t lastsave() const override { return p_.lastsave_seconds(); }
  const std::string& write_refusal() const override { return p_.write_refusal(); }

 private:
  Persistence& p_;
};

// The persistence parameters CONFIG GET shows, from the node's configuration.
Status publish_persistence_config(resp::ServerConfig& conf, const PersistenceConfig& p) {
  conf.set_protected("dir", p.dir);
  conf.set_protected("dbfilename", p.dbfilename);
  conf.set_readonly("appendfilename", p.appendfilename);
  const std::string percentage = std::to_string(p.auto_aof_rewrite_percentage);
  const std::string min_size = std::to_string(p.auto_aof_rewrite_min_size);
  const std::string save = format_save_rules(p.save);
  return conf.set({{"appendonly", p.appendonly ? "yes" : "no"},
                   {"appendfsync", persist::to_string(p.appendfsync)},
                   {"save", save},
                   {"auto-aof-rewrite-percentage", percentage},
                   {"auto-aof-rewrite-min-size", min_size},
                   {"aof-load-truncated", p.aof_load_truncated ? "yes" : "no"},
                   {"stop-writes-on-bgsave-error", p.stop_writes_on_bgsave_error ? "yes" : "no"}});
}

}  // namespace

Result<std::unique_ptr<NodeCore>> NodeCore::create(NodeCoreConfig config, TimePoint now,
                                                   WallTime wall) {
  if (!data::valid_partition_count(config.replication.partition_count) ||
      config.replication.replicas == 0) {
    return make_error(StatusCode::invalid_argument,
                      "partition count must be a power of two and replicas at least 1");
  }
  const auto& rc = config.replication;
  if (rc.write_quorum == 0 || rc.write_quorum > rc.replicas || rc.read_quorum == 0 ||
      rc.read_quorum > rc.replicas) {
    return make_error(StatusCode::invalid_argument,
                      "write and read quorums must be between 1 and the replica count (" +
                          std::to_string(rc.replicas) + ")");
  }
  auto impl = std::make_unique<Impl>();
  Impl& s = *impl;
  Rng rng(config.seed);
  config.swim.cluster_name = config.cluster_name;
  config.store.self = actor_for(config.name, config.seed);
  config.store.seed = rng.next();
  // The store scans and drops whole partitions for handoff: it must split keys exactly as
  // the replication core does.
  config.store.partition_count = rc.partition_count;
  // A hash or set travels whole in handoff, anti-entropy and repair: keep each one inside a
  // data message, with room for the envelope and the rest of a batch.
  if (config.store.max_collection_bytes == 0) {
    config.store.max_collection_bytes = rc.max_message_bytes - rc.max_message_bytes / 8;
  }
  s.repl_config = config.replication;
  s.repl_config.cluster_name = config.cluster_name;
  s.repl_config.seed = rng.next();
  // Members with other ring settings would route keys elsewhere: they keep out of each
  // other's rings (replication::ring_compatible).
  config.meta.tags[std::string(replication::kRingTag)] =
      replication::ring_signature(s.repl_config);
  config.meta.tags[std::string(replication::kWireTag)] =
      std::to_string(replication::kWireVersion);
  config.meta.tags[std::string(kVersionTag)] = std::string(apiary::version());
  s.config = std::move(config);
  const NodeCoreConfig& c = s.config;

  s.swim_rng = rng.split();
  s.created = now;
  s.swim = std::make_unique<gossip::Swim>(
      c.swim, gossip::LocalNode{c.name, c.gossip_addr, c.meta}, s.swim_rng, now);
  s.store = std::make_unique<store::Store>(c.store);
  if (c.persistence.env != nullptr) {
    auto opened = Persistence::open(c.persistence, *s.store, c.store.self, now, wall);
    if (!opened.ok()) return opened.status();
    s.persistence = std::move(opened).value();
    if (!s.persistence->loaded().detail.empty()) {
      s.events.emplace_back(PersistenceLogged{false, "loaded " + s.persistence->loaded().detail});
    }
  }
  s.replicator = std::make_unique<replication::Replicator>(s.repl_config, *s.store);
  s.replicator->set_identity(c.name, c.meta.data_addr);
  resp::ServerIdentity identity = c.identity;
  identity.node_name = c.name;
  identity.apiary_version = std::string(apiary::version());
  s.resp_server = std::make_unique<resp::Server>(identity);
  s.resp_server->attach_store(s.store.get());
  Impl* raw = impl.get();
  if (s.persistence) {
    if (Status st = publish_persistence_config(s.resp_server->config(), c.persistence); !st.ok()) {
      return st;
    }
    s.persistence_commands = std::make_unique<PersistenceCommands>(*s.persistence);
    s.resp_server->set_persistence(s.persistence_commands.get());
    s.resp_server->set_info_section("persistence", [raw](std::string& out) {
      raw->persistence->info(out, raw->now);
    });
  } else {
    for (const char* name : {"appendonly", "save"}) {
      s.resp_server->config().refuse(name, "this node has no data directory (apiaryd --dir)");
    }
  }
  // CONFIG SET of the memory and persistence parameters applies to the running node.
  s.resp_server->config().set_listener([raw](const std::vector<std::string>& names) {
    raw->apply_persistence_config(names);
    const auto& conf = raw->resp_server->config();
    auto p = store::parse_eviction_policy(conf.maxmemory_policy());
    raw->store->set_memory_policy(static_cast<std::size_t>(conf.maxmemory()),
                                  p ? *p : raw->store->config().policy,
                                  static_cast<std::size_t>(conf.maxmemory_samples()));
  });
  s.resp_server->set_info_section("cluster",
                                  [raw](std::string& out) { raw->cluster_info(out); });
  routing::RouterConfig route;
  route.write_quorum = rc.write_quorum;
  route.read_quorum = rc.read_quorum;
  // Room for the envelope, the key's version vector and siblings.
  route.max_command_args = s.repl_config.max_forward_args;
  route.max_command_bytes = c.max_command_bytes != 0 ? c.max_command_bytes
                                                     : s.repl_config.max_message_bytes -
                                                           (64u << 10);
  s.router = std::make_unique<routing::Router>(*s.resp_server, *s.replicator, route, [raw] {
    return std::make_pair(raw->now, raw->wall);
  });
  s.observer = std::make_unique<ChangeObserver>(*s.resp_server);
  s.store->set_change_observer(s.observer.get());
  s.scripts = std::make_unique<script::Service>(*s.resp_server);
  s.resp_server->set_scripting(s.scripts.get());
  s.scripts->set_log_sink([raw](int level, std::string_view text) {
    if (level >= 2) raw->events.emplace_back(ScriptLogged{level, std::string(text)});
  });
  s.resp_server->set_info_section(
      "memory", [raw, store_lines = s.resp_server->info_section("memory")](std::string& out) {
        if (store_lines) store_lines(out);
        raw->scripts->info(out);
      });
  if (c.persistence.env != nullptr) {
    // The FUNCTION libraries live beside the data (functions_file.hpp).
    const std::string path = persist::join_path(c.persistence.dir, std::string(kFunctionsFile));
    auto payload = load_functions(*c.persistence.env, path);
    if (!payload.ok()) return payload.status();
    if (Status st = s.scripts->restore_libraries(*payload); !st.ok()) {
      return make_error(StatusCode::malformed, path + ": " + st.message() +
                                                   " (move the file away to start without it)");
    }
    persist::Env* env = c.persistence.env;
    s.scripts->set_libraries_listener([raw, env, path] {
      if (Status st = save_functions(*env, path, raw->scripts->dump_libraries()); !st.ok()) {
        raw->events.emplace_back(PersistenceLogged{true, "saving " + path + ": " + st.message()});
      }
    });
  }
  s.now = now;
  s.expire_next = now + c.expire_interval;
  return std::unique_ptr<NodeCore>(new NodeCore(std::move(impl)));
}

NodeCore::NodeCore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
NodeCore::~NodeCore() {
  if (impl_ != nullptr && impl_->store != nullptr) impl_->store->set_change_observer(nullptr);
}

void NodeCore::set_meta(gossip::MemberMeta meta) {
  Impl& s = *impl_;
  if (s.join_called) return;
  meta.tags[std::string(replication::kRingTag)] = replication::ring_signature(s.repl_config);
  meta.tags[std::string(replication::kWireTag)] = std::to_string(replication::kWireVersion);
  meta.tags[std::string(kVersionTag)] = std::string(apiary::version());
  s.config.meta = std::move(meta);
  const NodeCoreConfig& c = s.config;
  s.replicator->set_identity(c.name, c.meta.data_addr);
  s.swim = std::make_unique<gossip::Swim>(
      c.swim, gossip::LocalNode{c.name, c.gossip_addr, c.meta}, s.swim_rng, s.created);
}

void NodeCore::join(TimePoint now, WallTime wall, std::vector<std::string> seeds,
                    bool seeds_pending) {
  Impl& s = *impl_;
  s.join_called = true;
  s.now = now;
  s.wall = wall;
  s.joined = seeds.empty() && !seeds_pending;
  s.join_deadline = now + s.config.join_timeout;
  s.swim->join(now, std::move(seeds), seeds_pending);
  s.swim_touched = true;
  s.update_view(now, wall);
  s.pump_gossip(now, wall);
}

void NodeCore::set_seeds(TimePoint now, std::vector<std::string> addrs) {
  Impl& s = *impl_;
  s.swim->set_seeds(now, std::move(addrs));
  s.swim_touched = true;  // only messages out: the driver drains them after this input
}

void NodeCore::meet(TimePoint now, std::string gossip_addr) {
  Impl& s = *impl_;
  s.swim->meet(now, std::move(gossip_addr));
  s.swim_touched = true;
}

void NodeCore::leave(TimePoint now, WallTime wall) {
  Impl& s = *impl_;
  if (s.leave_phase != LeaveState::none) return;
  s.replicator->leave(now, wall);
  s.leave_phase = LeaveState::handoff;
  s.leave_deadline = now + s.config.handoff_timeout;
  s.settle(now, wall);
}

LeaveState NodeCore::leave_state() const { return impl_->leave_phase; }
bool NodeCore::leave_incomplete() const { return impl_->leave_incomplete; }

void NodeCore::handle_gossip(TimePoint now, WallTime wall, std::span<const std::uint8_t> bytes) {
  Impl& s = *impl_;
  s.swim->handle_message(now, bytes);
  s.swim_touched = true;
  s.pump_gossip(now, wall);
  s.settle(now, wall);
}

void NodeCore::handle_gossip_while_busy(TimePoint now, std::span<const std::uint8_t> bytes) {
  Impl& s = *impl_;
  s.swim->handle_message(now, bytes);
  s.swim_touched = true;  // pumped after the script, by the driver's next pass
}

void NodeCore::handle_data(TimePoint now, WallTime wall, std::span<const std::uint8_t> bytes) {
  Impl& s = *impl_;
  s.now = now;
  s.wall = wall;
  s.replicator->handle_message(now, wall, bytes);
  s.settle(now, wall);
}

void NodeCore::handle_timeout(TimePoint now, WallTime wall) {
  Impl& s = *impl_;
  s.now = now;
  s.wall = wall;
  if (s.swim->next_deadline() <= now) {
    s.swim->handle_timeout(now);
    s.swim_touched = true;
  }
  if (s.replicator->next_deadline() <= now) s.replicator->handle_timeout(now, wall);
  if (s.router->next_deadline() <= now) s.router->on_timer(now, wall);
  if (s.expire_next <= now || s.expire_fast_next <= now) {
    // The slow cycle every expire_interval; fast ones in between while the store reports a
    // backlog (Redis's ACTIVE_EXPIRE_CYCLE_FAST, run from its event loop's beforeSleep).
    const bool slow = s.expire_next <= now;
    const TimePoint started = s.resp_server->clock_now(now);
    s.store->active_expire_cycle(wall, slow ? store::ExpireCycle::slow : store::ExpireCycle::fast);
    s.resp_server->diagnostics().latency_sample(  // LATENCY's "expire-cycle", as Redis's
        "expire-cycle", s.resp_server->clock_now(now) - started, wall);
    if (slow) s.expire_next = now + s.config.expire_interval;
    s.expire_fast_next = s.store->expire_backlog() ? now + s.config.expire_fast_interval : kNever;
  }
  if (s.persistence && s.persistence->next_deadline() <= now) {
    s.persistence->handle_timeout(now, wall);
    s.drain_persistence_log();
  }
  s.pump_gossip(now, wall);
  if (s.ring_next <= now || (!s.joined && s.join_deadline <= now)) s.update_view(now, wall);
  s.settle(now, wall);
}

void NodeCore::settle(TimePoint now, WallTime wall) {
  Impl& s = *impl_;
  s.settle(now, wall);
  if (s.persistence) {
    s.persistence->pass(now, wall);
    s.drain_persistence_log();
  }
}

bool NodeCore::persistence_fatal() const {
  return impl_->persistence && impl_->persistence->fatal();
}

Status NodeCore::close_persistence(TimePoint now, WallTime wall) {
  Impl& s = *impl_;
  if (!s.persistence) return Status::Ok();
  Status result = s.persistence->close(now, wall);
  s.drain_persistence_log();
  return result;
}

Persistence* NodeCore::persistence() { return impl_->persistence.get(); }

TimePoint NodeCore::next_deadline() const {
  const Impl& s = *impl_;
  TimePoint t = std::min({s.swim->next_deadline(), s.replicator->next_deadline(), s.expire_next,
                          s.expire_fast_next, s.ring_next, s.router->next_deadline()});
  if (s.persistence) t = std::min(t, s.persistence->next_deadline());
  if (!s.joined) t = std::min(t, s.join_deadline);
  if (s.leave_phase == LeaveState::handoff || s.leave_phase == LeaveState::announce) {
    t = std::min(t, s.leave_deadline);
  }
  return t;
}

std::optional<gossip::Outgoing> NodeCore::poll_gossip_send() { return impl_->swim->poll_send(); }

std::optional<replication::Outgoing> NodeCore::poll_data_send() {
  return impl_->replicator->poll_send();
}

std::optional<CoreEvent> NodeCore::poll_event() {
  Impl& s = *impl_;
  if (s.events.empty()) return std::nullopt;
  CoreEvent e = std::move(s.events.front());
  s.events.pop_front();
  return e;
}

std::vector<routing::ClientReply> NodeCore::take_client_replies() {
  std::vector<routing::ClientReply> out;
  out.swap(impl_->client_replies);
  return out;
}

std::vector<routing::CallReply> NodeCore::take_call_replies() {
  std::vector<routing::CallReply> out;
  out.swap(impl_->call_replies);
  return out;
}

const std::string& NodeCore::name() const { return impl_->config.name; }
const NodeId& NodeCore::actor() const { return impl_->config.store.self; }
bool NodeCore::serving() const { return impl_->has_view; }
const NodeCoreConfig& NodeCore::config() const { return impl_->config; }
gossip::Swim& NodeCore::swim() { return *impl_->swim; }
const gossip::Swim& NodeCore::swim() const { return *impl_->swim; }
store::Store& NodeCore::store() { return *impl_->store; }
replication::Replicator& NodeCore::replicator() { return *impl_->replicator; }
const replication::Replicator& NodeCore::replicator() const { return *impl_->replicator; }
resp::Server& NodeCore::resp_server() { return *impl_->resp_server; }
routing::Router& NodeCore::router() { return *impl_->router; }

}  // namespace apiary::core
