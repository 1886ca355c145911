// Node::Impl's driver steps: what runs on the loop thread after every batch (feed the core,
// deliver its replies, log and publish its events), the graceful leave, and building the core
// and the Redis listener at start.
#include "node_impl.hpp"

namespace apiary {

void Node::Impl::refresh_snapshot() {
  auto members = core->swim().members();
  std::lock_guard<std::mutex> lock(snapshot_mutex);
  snapshot = std::move(members);
  stats_snapshot = core->swim().stats();
}

void Node::Impl::pump() {
  const TimePoint now = core_now();
  const WallTime wall = runtime::wall_now();
  // ZeroMQ's fds are edge-like: never leave messages unread.
  if (cluster_keys) {
    receive_sealed(now, wall);
  } else {
    while (gossip_box->receive(rx)) core->handle_gossip(now, wall, rx);
    while (data_link->receive(data_rx)) core->handle_data(now, wall, data_rx);
  }
  deliver(now, wall);
  while (auto out = core->poll_gossip_send()) send_gossip(out->to, out->bytes, now);
  on_events(now, wall);
  check_leave();
  core_timer.follow(loop, core->next_deadline(),
                    [this] { core->handle_timeout(core_now(), runtime::wall_now()); });
}

void Node::Impl::deliver(TimePoint now, WallTime wall) {
  for (bool progress = true; progress;) {
    progress = false;
    core->settle(now, wall);
    if (core->persistence_fatal()) {
      // Under appendfsync always the AOF failed: the writes of this pass cannot be made
      // durable, so none of their replies or acknowledgements may leave. Redis exits too.
      while (auto event = core->poll_event()) {
        if (auto* p = std::get_if<core::PersistenceLogged>(&*event)) {
          spdlog::critical("persistence: {}", p->text);
        }
      }
      spdlog::critical("stopping: the AOF cannot be written under appendfsync always");
      spdlog::shutdown();
      std::_Exit(1);
    }
    for (auto& reply : core->take_client_replies()) {
      progress = true;
      if (resp_listener) resp_listener->complete(reply.client, reply.token.value, reply.bytes);
    }
    if (auto replies = core->take_call_replies(); !replies.empty()) {
      progress = true;
      calls->deliver(std::move(replies));
    }
    while (auto out = core->poll_data_send()) send_data(out->to, out->bytes, now);
  }
  if (resp_listener) resp_listener->flush_completed();
}

void Node::Impl::receive_sealed(TimePoint now, WallTime wall) {
  using runtime::KeyChannel;
  while (gossip_box->receive(rx)) {
    if (cluster_keys->open(KeyChannel::gossip, rx, opened, now,
                           [this] { return gossip_box->last_sender(); })) {
      core->handle_gossip(now, wall, opened);
    }
  }
  while (data_link->receive(data_rx)) {
    if (cluster_keys->open(KeyChannel::data, data_rx, opened, now,
                           [this] { return data_link->last_sender(); })) {
      core->handle_data(now, wall, opened);
    }
  }
}

namespace {

// The event log's entry for a membership change.
void record_member(runtime::EventLog& events, WallTime wall, const gossip::MemberEvent& e) {
  const auto& member = e.member;
  const std::string state(gossip::to_string(e.kind));
  runtime::JsonFields fields;
  fields.add("member", member.name)
      .add("addr", member.addr)
      .add("state", state)
      .add("incarnation", member.incarnation.value);
  const bool failure =
      e.kind == gossip::MemberEventKind::suspect || e.kind == gossip::MemberEventKind::dead;
  events.record(wall, "member",
                "member " + member.name + " (" + member.addr + ") " + state +
                    " incarnation=" + std::to_string(member.incarnation.value),
                fields, failure ? runtime::EventLog::Level::warn : runtime::EventLog::Level::info);
}

// ... for a new ring view: the partitions this node owns now, gained and lost.
void record_view(runtime::EventLog& events, WallTime wall, const core::ViewChanged& v,
                 const std::string& self) {
  const auto change = partition_event(v.before.get(), *v.table, self);
  std::size_t owned = 0;
  for (std::uint32_t p = 0; p < v.table->partition_count(); ++p) {
    owned += v.table->owns(self, PartitionId{p}) ? 1 : 0;
  }
  runtime::JsonFields fields;
  fields.add("members", v.table->members().size())
      .add("partitions", owned)
      .add("gained", change.gained.size())
      .add("lost", change.lost.size());
  events.record(wall, "view",
                "ring view: " + std::to_string(v.table->members().size()) + " members, " +
                    std::to_string(owned) + " of " + std::to_string(v.table->partition_count()) +
                    " partitions here (" + std::to_string(change.gained.size()) + " gained, " +
                    std::to_string(change.lost.size()) + " lost)",
                fields);
}

// ... for a partition transfer with a peer.
void record_handoff(runtime::EventLog& events, WallTime wall, const replication::HandoffEvent& h) {
  using Event = replication::HandoffEvent;
  const bool out = h.direction == Event::Direction::out;
  const bool started = h.phase == Event::Phase::started;
  runtime::JsonFields fields;
  fields.add("direction", out ? "out" : "in")
      .add("phase", started ? "started" : "finished")
      .add("peer", h.peer);
  std::string message = std::string("handoff ") + (out ? "to " : "from ") + h.peer;
  if (started) {
    if (out) fields.add("partitions", h.partitions);
    message +=
        out ? " started: " + std::to_string(h.partitions) + " partitions to send" : " started";
  } else {
    fields.add("partitions", h.partitions)
        .add("keys", h.keys)
        .add("bytes", h.bytes)
        .add("complete", h.complete);
    message += std::string(h.complete ? " finished: " : " ended incomplete: ") +
               std::to_string(h.partitions) + " partitions, " + std::to_string(h.keys) + " keys, " +
               std::to_string(h.bytes) + " bytes " + (out ? "sent" : "received");
  }
  events.record(
      wall, "handoff", message, fields,
      started || h.complete ? runtime::EventLog::Level::info : runtime::EventLog::Level::warn);
}

}  // namespace

void Node::Impl::on_events(TimePoint now, WallTime wall) {
  bool members_changed = false;
  while (auto event = core->poll_event()) {
    if (auto* m = std::get_if<core::MemberChanged>(&*event)) {
      members_changed = true;
      const auto& member = m->event.member;
      record_member(events, wall, m->event);
      if (m->ring_mismatch) {
        spdlog::error(
            "member {} uses partitions/replicas {} but this node {}: it gets no partitions "
            "here (every member must use the same --partitions and --replicas)",
            member.name, member.meta.tags.at(std::string(replication::kRingTag)),
            replication::ring_signature(core->config().replication));
      }
      member_subscribers.publish(m->event);
    } else if (auto* v = std::get_if<core::ViewChanged>(&*event)) {
      {
        std::lock_guard<std::mutex> lock(snapshot_mutex);
        table = v->table;
      }
      calls->set_ready(now, wall);
      record_view(events, wall, *v, name);
      if (!partition_subscribers.empty()) {
        partition_subscribers.publish(partition_event(v->before.get(), *v->table, name));
      }
    } else if (auto* t = std::get_if<core::LeaveTimedOut>(&*event)) {
      leave_incomplete = true;
      runtime::JsonFields fields;
      fields.add("phase", t->during_handoff ? "handoff_timed_out" : "announce_timed_out");
      if (t->during_handoff) {
        events.record(wall, "leave",
                      "leave: handoff did not finish within " +
                          std::to_string(config.handoff_timeout.count()) + " ms; leaving anyway",
                      fields, runtime::EventLog::Level::warn);
      } else {
        events.record(wall, "leave", "leave timed out before the announcement finished", fields,
                      runtime::EventLog::Level::warn);
      }
    } else if (std::holds_alternative<core::JoinTimedOut>(*event)) {
      events.record(wall, "join_timeout",
                    "no seed answered within 10 s; serving data with the members known", {},
                    runtime::EventLog::Level::warn);
    } else if (auto* h = std::get_if<core::HandoffChanged>(&*event)) {
      record_handoff(events, wall, h->event);
    } else if (auto* q = std::get_if<core::WriteQuorumFailed>(&*event)) {
      events.write_quorum_failed(wall, q->failures.command, q->failures.key, q->failures.count);
    } else if (auto* p = std::get_if<core::PersistenceLogged>(&*event)) {
      if (p->error) {
        spdlog::error("persistence: {}", p->text);
      } else {
        spdlog::info("persistence: {}", p->text);
      }
    } else if (auto* l = std::get_if<core::ScriptLogged>(&*event)) {
      if (l->level >= 3) {
        spdlog::warn("script: {}", l->text);
      } else {
        spdlog::info("script: {}", l->text);
      }
    }
  }
  if (members_changed) refresh_snapshot();
}

void Node::Impl::check_leave() {
  if (leave_signalled || core->leave_state() != core::LeaveState::done) return;
  leave_signalled = true;
  runtime::JsonFields fields;
  fields.add("phase", "finished").add("complete", !core->leave_incomplete());
  events.record(runtime::wall_now(), "leave",
                core->leave_incomplete() ? "leave: finished after a timeout"
                                         : "leave: every partition handed off",
                fields);
  refresh_snapshot();
  if (draining.load()) {
    // Drained: nothing is owned here any more; the loop keeps running (the admin port, and
    // clients still connected, whose commands are forwarded) until the process stops it.
    finish_drain(core->leave_incomplete()
                     ? make_error(StatusCode::timeout,
                                  "the drain ran out of time before every partition was handed "
                                  "off and the departure announced")
                     : Status::Ok());
    return;
  }
  left.set_value();
  loop.stop();
}

void Node::Impl::finish_drain(Status status) {
  if (drain_done_set) return;
  drain_done_set = true;
  drained = status.code() != StatusCode::unavailable;
  drain_done.set_value(std::move(status));
}

void Node::Impl::start_leave() {
  runtime::JsonFields fields;
  fields.add("phase", "started");
  events.record(runtime::wall_now(), "leave", "leave: handing partitions off", fields);
  core->leave(core_now(), runtime::wall_now());
}

void Node::Impl::housekeeping() {
  refresh_snapshot();
  events.flush(runtime::wall_now());  // write quorum failures held back by the rate limit
  gossip_box->close_idle_peers(core_now());
  data_link->close_idle_peers(core_now());
  if (cluster_keys && config.cluster_key_check_interval.count() > 0 &&
      core_now() - key_file_checked >= config.cluster_key_check_interval) {
    key_file_checked = core_now();
    cluster_keys->check_file();  // rotation by editing the keyring file
  }
  loop.schedule(core_now() + std::chrono::seconds(1), [this] { housekeeping(); });
}

Status Node::Impl::start_core(std::uint64_t seed) {
  core::NodeCoreConfig c;
  c.name = name;
  c.swim = config.swim;
  c.gossip_addr = advertise;
  c.cluster_name = config.cluster_name;
  c.replication = config.replication;
  c.replication.partition_count = config.partition_count;
  c.replication.replicas = config.replicas;
  c.replication.write_quorum = config.write_quorum;
  c.replication.read_quorum = config.read_quorum;
  c.ring.dead_grace = config.dead_grace;
  c.store.maxmemory = config.maxmemory;
  auto policy = store::parse_eviction_policy(config.maxmemory_policy);
  if (!policy) {
    return make_error(StatusCode::invalid_argument,
                      "unknown maxmemory policy '" + config.maxmemory_policy + "'");
  }
  c.store.policy = *policy;
  c.seed = seed;
  c.handoff_timeout = config.handoff_timeout;
  if (!config.dir.empty()) {
    core::PersistenceConfig& p = c.persistence;
    // A background save replaces the old snapshot: its blocks are freed off the loop.
    disk.set_closer([](int fd) { std::thread([fd] { ::close(fd); }).detach(); });
    p.env = &disk;
    p.dir = config.dir;
    p.appendonly = config.appendonly;
    auto fsync = persist::parse_fsync_policy(config.appendfsync);
    if (!fsync) {
      return make_error(
          StatusCode::invalid_argument,
          "appendfsync must be always, everysec or no, not '" + config.appendfsync + "'");
    }
    p.appendfsync = *fsync;
    p.appendfilename = config.appendfilename;
    p.dbfilename = config.dbfilename;
    auto rules = core::parse_save_rules(config.save);
    if (!rules) {
      return make_error(StatusCode::invalid_argument,
                        "save must be '<seconds> <changes>' pairs, not '" + config.save + "'");
    }
    p.save = std::move(*rules);
    p.auto_aof_rewrite_percentage = config.auto_aof_rewrite_percentage;
    p.auto_aof_rewrite_min_size = config.auto_aof_rewrite_min_size;
    p.aof_load_truncated = config.aof_load_truncated;
  }
  c.leave_timeout = config.leave_timeout;
  char run_id[41];
  std::uint64_t id_state = seed;
  for (int i = 0; i < 40; i += 16) {
    std::snprintf(run_id + i, sizeof run_id - static_cast<std::size_t>(i), "%016llx",
                  static_cast<unsigned long long>(splitmix64(id_state)));
  }
  run_id[40] = 0;
  c.identity.run_id = run_id;
  c.identity.tcp_port = 0;
  if (!config.client_addr.empty()) {
    auto client = parse_host_port(config.client_addr);
    if (!client.ok()) {
      return make_error(StatusCode::invalid_argument,
                        "client address " + client.status().message());
    }
    c.identity.tcp_port = client->port;
  }
  auto made = core::NodeCore::create(std::move(c), core_now(), runtime::wall_now());
  if (!made.ok()) return made.status();
  core = std::move(made).value();
  resp::Server& server = core->resp_server();
  server.set_clock(&core_now);  // commands are timed (commandstats, slow log)
  if (Status s = server.config().set(
          {{"proto-max-bulk-len", std::to_string(config.proto_max_bulk_len)},
           {"busy-reply-threshold", std::to_string(config.busy_reply_threshold.count())},
           {"notify-keyspace-events", config.notify_keyspace_events},
           {"requirepass", config.requirepass},
           {"protected-mode", config.protected_mode ? "yes" : "no"}});
      !s.ok()) {
    return s;
  }
  if (Status s = setup_acl(server); !s.ok()) return s;
  server.set_exception_log([](std::string_view what) { spdlog::error("{}", what); });
  auto cluster_lines = server.info_section("cluster");
  server.set_info_section("cluster", [this, cluster_lines](std::string& out) {
    if (cluster_lines) cluster_lines(out);
    if (cluster_keys) {
      cluster_keys->info(out);
    } else {
      out += "cluster_key_enabled:0\r\n";
    }
  });
  calls = std::make_unique<runtime::DataCalls>(loop, config.replicas);
  calls->set_router(&core->router());
  if (config.near_cache_keys > 0) {
    near_cache = std::make_unique<runtime::NearCache>(config.near_cache_keys,
                                                      config.near_cache_max_age);
    server.tracking().set_internal_listener(
        [cache = near_cache.get()](std::optional<std::string_view> key) { cache->invalidate(key); });
    calls->set_near_cache(near_cache.get(), [&server](std::string_view key) {
      resp::ClusterKeyspace* cluster = server.cluster_members();
      if (cluster == nullptr || cluster->key_owners(key).self) return false;
      server.tracking().track_internal(key);
      return true;
    });
  }
  migrator = std::make_unique<runtime::Migrator>(
      loop, *calls, [this](resp::ClientId client, resp::PendingToken token, std::string reply) {
        if (!resp_listener) return;
        resp_listener->complete(client, token.value, reply);
        // The reply leaves with the next batch's flush; resuming the client's pipeline may
        // have started work that the batch's pump moves on, so make sure there is one.
        loop.post([] {});
      });
  server.set_migrator(migrator.get());
  return Status::Ok();
}

Status Node::Impl::start_listener() {
  if (config.client_addr.empty() && config.tls.addr.empty()) return Status::Ok();
  std::shared_ptr<const runtime::TlsContext> tls;
  if (!config.tls.addr.empty()) {
    auto made = runtime::TlsContext::create(config.tls);
    if (!made.ok()) return make_error(made.status().code(), "TLS: " + made.status().message());
    tls = std::move(made).value();
  }
  auto listener = runtime::RespListener::start(loop, core->resp_server(), config.client_addr);
  if (!listener.ok()) return listener.status();
  resp_listener = std::move(listener).value();
  client_bound = resp_listener->bound_addr();
  const HostPort bound = *parse_host_port(client_bound.empty() ? config.tls.addr : client_bound);
  core->resp_server().config().set_readonly("port",
                                            std::to_string(client_bound.empty() ? 0 : bound.port));
  core->resp_server().config().set_readonly("bind", bound.host);
  if (tls) {
    if (Status s = resp_listener->listen_tls(config.tls.addr, tls); !s.ok()) return s;
    tls_bound = resp_listener->tls_bound_addr();
  }
  // CONFIG GET shows the TLS settings; CONFIG SET of one reloads the context.
  const TlsConfig& t = config.tls;
  if (Status s = core->resp_server().config().set(
          {{"tls-port", tls_bound.empty() ? "0" : std::to_string(parse_host_port(tls_bound)->port)},
           {"tls-cert-file", t.cert_file},
           {"tls-key-file", t.key_file},
           {"tls-key-file-pass", t.key_file_pass},
           {"tls-ca-cert-file", t.ca_cert_file},
           {"tls-ca-cert-dir", t.ca_cert_dir},
           {"tls-auth-clients", t.auth_clients},
           {"tls-protocols", t.protocols},
           {"tls-ciphers", t.ciphers},
           {"tls-ciphersuites", t.ciphersuites},
           {"tls-prefer-server-ciphers", t.prefer_server_ciphers ? "yes" : "no"},
           {"tls-session-caching", t.session_caching ? "yes" : "no"},
           {"tls-session-cache-size", std::to_string(t.session_cache_size)},
           {"tls-session-cache-timeout", std::to_string(t.session_cache_timeout_seconds)}});
      !s.ok()) {
    return s;
  }
  core->resp_server().config().set_tls_applier(
      [this](const resp::ServerConfig& next) { return apply_tls_config(next); });
  // A script past busy-reply-threshold: the other clients are read and answered (BUSY, or
  // SCRIPT KILL) from inside it, on this thread.
  // A node asked to leave or stop ends the script (SIGTERM must not wait for it).
  runtime::RespListener* clients = resp_listener.get();
  core->resp_server().set_busy_watch(
      {[] { return runtime::core_now(); },
       [this, clients](resp::ClientId scripted) {
         clients->serve_busy(scripted);
         return leaving.load() || stopped.load();
       },
       [this] {
         // Gossip only (acks to probes): peers keep seeing this node alive during the script.
         const TimePoint now = core_now();
         std::vector<std::uint8_t> message;
         std::vector<std::uint8_t> plain;  // not `opened`: the script may run inside a message
         while (gossip_box->receive(message)) {
           if (!cluster_keys) {
             core->handle_gossip_while_busy(now, message);
           } else if (cluster_keys->open(runtime::KeyChannel::gossip, message, plain, now,
                                         [this] { return gossip_box->last_sender(); })) {
             core->handle_gossip_while_busy(now, plain);
           }
         }
         while (auto out = core->poll_gossip_send()) send_gossip(out->to, out->bytes, now);
       }});
  return Status::Ok();
}

std::string Node::Impl::apply_tls_config(const resp::ServerConfig& next) {
  TlsConfig t;
  t.cert_file = next.get_one("tls-cert-file");
  t.key_file = next.get_one("tls-key-file");
  t.key_file_pass = next.get_one("tls-key-file-pass");
  t.ca_cert_file = next.get_one("tls-ca-cert-file");
  t.ca_cert_dir = next.get_one("tls-ca-cert-dir");
  t.auth_clients = next.get_one("tls-auth-clients");
  t.protocols = next.get_one("tls-protocols");
  t.ciphers = next.get_one("tls-ciphers");
  t.ciphersuites = next.get_one("tls-ciphersuites");
  t.prefer_server_ciphers = next.get_one("tls-prefer-server-ciphers") == "yes";
  t.session_caching = next.get_one("tls-session-caching") == "yes";
  t.session_cache_size = std::stoll(next.get_one("tls-session-cache-size"));
  t.session_cache_timeout_seconds = std::stoll(next.get_one("tls-session-cache-timeout"));
  const int port = std::stoi(next.get_one("tls-port"));
  const int current = tls_bound.empty() ? 0 : parse_host_port(tls_bound)->port;
  // As Redis: with no TLS port the settings are only kept; port 0 closes the TLS port.
  if (port == 0) {
    if (current != 0) {
      (void)resp_listener->listen_tls("", nullptr);
      tls_bound.clear();
      spdlog::info("TLS port closed (CONFIG SET tls-port 0)");
    }
    return "";
  }
  auto made = runtime::TlsContext::create(t);
  if (!made.ok()) {
    spdlog::warn("{}", made.status().message());
    spdlog::warn("Failed applying new TLS configuration. Restoring previous settings.");
    return "Unable to update TLS configuration. Check server logs.";
  }
  if (port == current) {
    resp_listener->set_tls_context(std::move(made).value());
    spdlog::info("TLS configuration reloaded: new connections use it");
    return "";
  }
  HostPort where = *parse_host_port(config.tls.addr.empty()
                                        ? (client_bound.empty() ? "0.0.0.0:0" : client_bound)
                                        : config.tls.addr);
  where.port = static_cast<std::uint16_t>(port);
  if (Status s = resp_listener->listen_tls(where.to_string(), std::move(made).value()); !s.ok()) {
    spdlog::warn("Failed to listen on TLS port {}: {}", port, s.message());
    return "Unable to listen on this port. Check server logs.";
  }
  tls_bound = resp_listener->tls_bound_addr();
  spdlog::info("TLS port now {}", tls_bound);
  return "";
}

// ACL GENPASS's random bytes, the ACL file (read at start, then by ACL LOAD; ACL SAVE writes it
// whole through a temporary file), and the users' state at start, which is not spread: the
// running members' users win over a restarted node's settings (docs/security.md).
Status Node::Impl::setup_acl(resp::Server& server) {
  server.set_entropy([](std::span<std::uint8_t> out) {
    if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) {
      std::random_device rd;
      for (auto& b : out) b = static_cast<std::uint8_t>(rd());
    }
  });
  if (!config.aclfile.empty()) {
    resp::Server::AclFile file;
    file.path = config.aclfile;
    file.read = [path = config.aclfile]() -> Result<std::string> {
      std::ifstream in(path, std::ios::binary);
      if (!in) return make_error(StatusCode::io_error, std::strerror(errno));
      std::ostringstream text;
      text << in.rdbuf();
      return text.str();
    };
    file.write = [path = config.aclfile](std::string_view text) -> Status {
      const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
      {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out.write(text.data(), static_cast<std::streamsize>(text.size()));
        out.flush();
        if (!out) {
          spdlog::warn("ACL SAVE: writing {}: {}", tmp, std::strerror(errno));
          std::remove(tmp.c_str());
          return make_error(StatusCode::io_error, "write failed");
        }
      }
      if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        spdlog::warn("ACL SAVE: renaming {}: {}", tmp, std::strerror(errno));
        std::remove(tmp.c_str());
        return make_error(StatusCode::io_error, "rename failed");
      }
      return Status::Ok();
    };
    auto text = file.read();
    if (!text.ok()) {
      return make_error(StatusCode::invalid_argument, "Error loading ACLs, opening file '" +
                                                          config.aclfile +
                                                          "': " + text.status().message());
    }
    if (Status loaded = server.acl().load_text(*text, config.aclfile); !loaded.ok()) {
      return make_error(StatusCode::invalid_argument,
                        "Aborting startup because of ACL errors: " + loaded.message());
    }
    server.set_acl_file(std::move(file));
  }
  server.acl_settled();
  return Status::Ok();
}

}  // namespace apiary
