#include "apiary/resp/server.hpp"

#include <algorithm>
#include <chrono>

namespace apiary::resp {
namespace {

void line(std::string& out, std::string_view key, std::string_view value) {
  out.append(key);
  out.push_back(':');
  out.append(value);
  out.append("\r\n");
}
void line(std::string& out, std::string_view key, std::uint64_t value) {
  line(out, key, std::to_string(value));
}

// Redis 7.0.15's words (its own typo included: "Setup a an").
constexpr std::string_view kProtectedModeDenied =
    "-DENIED Redis is running in protected mode because protected mode is enabled and no "
    "password is set for the default user. In this mode connections are only accepted from the "
    "loopback interface. If you want to connect from external computers to Redis you may adopt "
    "one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG "
    "SET protected-mode no' from the loopback interface by connecting to Redis from the same "
    "host the server is running, however MAKE SURE Redis is not publicly accessible from "
    "internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively "
    "you can just disable the protected mode by editing the Redis configuration file, and "
    "setting the protected mode option to 'no', and then restarting the server. 3) If you "
    "started the server manually just for testing, restart it with the '--protected-mode no' "
    "option. 4) Setup a an authentication password for the default user. NOTE: You only need "
    "to do one of the above things in order for the server to start accepting connections from "
    "the outside.";

std::string lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return out;
}

}  // namespace

Server::Server(ServerIdentity identity, const CommandTable& commands)
    : ServerAcl(*this),
      identity_(std::move(identity)),
      commands_(commands),
      diagnostics_(std::make_unique<Diagnostics>(*this)),
      pubsub_(std::make_unique<PubSub>(*this)),
      tracking_(std::make_unique<Tracking>(*this)) {
  config_.set_readonly("port", std::to_string(identity_.tcp_port));
  init_acl();
  config_.add_listener([this](const std::vector<std::string>& names) {
    if (std::find(names.begin(), names.end(), "requirepass") != names.end()) {
      acl().set_default_password(config_.requirepass());
      acl_changed();
    }
  });
}

Server::~Server() = default;

std::unique_ptr<Connection> Server::connect(TimePoint now, ClientAddress address) {
  if (!started_set_) {
    started_ = now;
    started_set_ = true;
  }
  const bool full = static_cast<std::int64_t>(clients_.size()) >= config_.maxclients();
  const bool denied = config_.protected_mode() && !address.loopback &&
                      acl().find("default") != nullptr && acl().find("default")->nopass;
  auto conn = std::make_unique<Connection>(*this, next_id_++, std::move(address), now);
  if (full) {
    ++stats_.rejected_connections;
    conn->reject("max number of clients reached");
  } else if (denied) {
    ++stats_.rejected_connections;
    conn->reject(kProtectedModeDenied);
  } else {
    ++stats_.connections_received;
  }
  return conn;
}

void Server::reset_stats() {
  stats_ = {};
  command_stats_.reset();
  if (store_ != nullptr && reset_store_stats_ != nullptr) reset_store_stats_(store_);
}

Outcome Server::on_exception(CommandContext& ctx, const CommandSpec& spec, std::size_t mark,
                             std::string_view what) {
  ++stats_.command_exceptions;
  ++stats_.error_replies;
  std::string& out = ctx.reply.buffer();
  if (out.size() > mark) out.resize(mark);
  ctx.reply.error("internal error");
  if (exception_log_) {
    std::string text = "command '" + spec.name +
                       "' threw an exception (answered "
                       "-ERR internal error): ";
    text.append(what);
    exception_log_(text);
  }
  return Outcome::done();
}

void Server::register_client(Connection* c) {
  clients_[c->id()] = c;
  idle_dirty_ = true;
}

void Server::unregister_client(ClientId id) {
  clients_.erase(id);
  diagnostics_->client_closed(id);
  pubsub_->drop_client(id);
  tracking_->client_closed(id);
  if (blocking_.closed) blocking_.closed(id);
}

std::vector<ClientId> Server::take_pushed() {
  std::vector<ClientId> out;
  out.swap(pushed_);
  return out;
}

std::vector<std::string> Server::member_op(std::string_view op, std::span<const std::string> args) {
  if (op.starts_with("pubsub.")) return pubsub_->on_member_op(op, args);
  if (op.starts_with("tracking.")) return tracking_->on_member_op(op, args);
  if (op.starts_with("acl.")) return acl_member_op(op, args);
  if (!member_handler_) return {};
  return member_handler_(op, args);
}

void Server::member_gap(std::string_view from) {
  pubsub_->resync(from);
  tracking_->lost_invalidations();
  acl_pull(noted_time_);
}

void Server::on_members(TimePoint now, const std::vector<std::string>& live) {
  pubsub_->on_members(now, live);
  tracking_->on_members(live);
  if (!live.empty()) acl_pull(now);
}

Connection* Server::find_client(ClientId id) const {
  auto it = clients_.find(id);
  return it == clients_.end() ? nullptr : it->second;
}

std::vector<ClientId> Server::take_closing() {
  std::vector<ClientId> out;
  out.swap(closing_);
  return out;
}

TimePoint Server::next_deadline() const {
  TimePoint next = kNever;
  if (waiting_clients_ > 0) {
    for (const auto& [id, c] : clients_) next = std::min(next, c->wake_at());
  }
  const std::int64_t timeout = config_.timeout_seconds();
  if (timeout != idle_timeout_cached_) idle_dirty_ = true;
  if (timeout > 0) {
    if (idle_dirty_) {
      idle_deadline_ = kNever;
      for (const auto& [id, c] : clients_) {
        if (c->waiting() || c->should_close()) continue;
        idle_deadline_ =
            std::min(idle_deadline_, c->last_activity() + std::chrono::seconds(timeout));
      }
      idle_dirty_ = false;
      idle_timeout_cached_ = timeout;
    }
    next = std::min(next, idle_deadline_);
  }
  return std::min(next, pubsub_->next_deadline());
}

std::vector<ClientId> Server::on_timer(TimePoint now, WallTime wall) {
  std::vector<ClientId> touched;
  idle_dirty_ = true;
  if (pubsub_->next_deadline() <= now) pubsub_->on_timer(now);
  const std::int64_t timeout = config_.timeout_seconds();
  // Collect first: resuming a client runs commands that may kill or add other clients.
  std::vector<ClientId> ids;
  for (const auto& [id, c] : clients_) ids.push_back(id);
  for (ClientId id : ids) {
    Connection* c = find_client(id);
    if (c == nullptr) continue;
    if (c->waiting() && c->wake_at() <= now) {
      c->on_timer(now, wall);
      touched.push_back(id);
    } else if (timeout > 0 && !c->waiting() && !c->should_close() &&
               now - c->last_activity() >= std::chrono::seconds(timeout)) {
      c->kill();
      touched.push_back(id);
    }
  }
  return touched;
}

Server::InfoSection Server::info_section(std::string_view name) const {
  auto it = info_sections_.find(lowered(name));
  return it == info_sections_.end() ? InfoSection{} : it->second;
}

void Server::set_info_section(std::string name, InfoSection section) {
  if (!section) {
    info_sections_.erase(lowered(name));
    return;
  }
  info_sections_[lowered(name)] = std::move(section);
}

// Redis 7.0's rules: INFO and INFO default show the default sections; all and everything
// add the others (Redis's commandstats and latencystats, Apiary's localkeyspace); any other
// argument names one section, case-insensitively; unknown names show nothing.
bool Server::info_includes(const std::vector<std::string_view>& sections, std::string_view name) {
  static constexpr std::string_view kDefaultSections[] = {
      "server", "clients", "memory",     "persistence", "stats",   "replication",
      "cpu",    "modules", "errorstats", "cluster",     "keyspace"};
  const bool is_default = std::find(std::begin(kDefaultSections), std::end(kDefaultSections),
                                    name) != std::end(kDefaultSections);
  if (sections.empty()) return is_default;
  for (std::string_view s : sections) {
    const std::string wanted = lowered(s);
    if (wanted == "all" || wanted == "everything" || wanted == name) return true;
    if (wanted == "default" && is_default) return true;
  }
  return false;
}

std::string Server::info(const std::vector<std::string_view>& sections, TimePoint now,
                         const std::map<std::string, std::string>& replaced) const {
  static const std::vector<std::string> kDefault = {
      "server",  "clients",      "memory",     "persistence",  "stats",   "replication",
      "modules", "commandstats", "errorstats", "latencystats", "cluster", "keyspace"};
  auto want = [&](const std::string& name) { return info_includes(sections, name); };
  std::string out;
  auto header = [&](std::string_view title) {
    if (!out.empty()) out.append("\r\n");
    out.append("# ");
    out.append(title);
    out.append("\r\n");
  };
  for (const std::string& name : kDefault) {
    if (!want(name)) continue;
    if (name == "server") {
      header("Server");
      line(out, "redis_version", identity_.version);
      line(out, "apiary_version", identity_.apiary_version);
      line(out, "redis_mode", "standalone");
      line(out, "node_name", identity_.node_name);
      line(out, "run_id", identity_.run_id);
      // The bound port (CONFIG's "port", set once the listener is bound; port 0 picks one).
      line(out, "tcp_port", config_.get_one("port"));
      const auto up = std::chrono::duration_cast<std::chrono::seconds>(now - started_).count();
      line(out, "uptime_in_seconds", std::to_string(up));
      line(out, "uptime_in_days", std::to_string(up / 86400));
      line(out, "hz", config_.get_one("hz"));
    } else if (name == "clients") {
      header("Clients");
      line(out, "connected_clients", clients_.size());
      line(out, "maxclients", static_cast<std::uint64_t>(config_.maxclients()));
      std::size_t max_in = 0, max_out = 0, waiting = 0;
      for (const auto& [id, c] : clients_) {
        max_in = std::max(max_in, c->query_buffer_size());
        max_out = std::max(max_out, c->output_buffer_size());
        if (c->blocked()) ++waiting;  // in a blocking command, as Redis counts
      }
      line(out, "client_recent_max_input_buffer", max_in);
      line(out, "client_recent_max_output_buffer", max_out);
      line(out, "blocked_clients", waiting);
      line(out, "tracking_clients", tracking_->tracking_clients());
    } else if (name == "stats") {
      header("Stats");
      line(out, "total_connections_received", stats_.connections_received);
      line(out, "total_commands_processed", stats_.commands_processed);
      line(out, "total_net_input_bytes", stats_.net_input_bytes);
      line(out, "total_net_output_bytes", stats_.net_output_bytes);
      line(out, "rejected_connections", stats_.rejected_connections);
      line(out, "pubsub_channels", pubsub_->local_count(SubKind::channel));
      line(out, "pubsub_patterns", pubsub_->local_count(SubKind::pattern));
      line(out, "pubsubshard_channels", pubsub_->local_count(SubKind::shard));
      line(out, "tracking_total_keys", tracking_->total_keys());
      line(out, "tracking_total_items", tracking_->total_items());
      line(out, "tracking_total_prefixes", tracking_->total_prefixes());
      line(out, "total_error_replies", stats_.error_replies);
      line(out, "client_query_buffer_limit_disconnections", stats_.query_buffer_disconnections);
      line(out, "client_output_buffer_limit_disconnections", stats_.output_buffer_disconnections);
      line(out, "apiary_command_exceptions", stats_.command_exceptions);
      // Messages this node sent to other members for their subscribers, and received.
      line(out, "apiary_pubsub_sent_to_members", pubsub_->stats().sent_to_members);
      line(out, "apiary_pubsub_received_from_members", pubsub_->stats().received_from_members);
    } else if (name == "replication") {
      // Every member is a primary for the clients that talk to it (HELLO says role master);
      // Apiary's own replication between members is in the cluster section.
      header("Replication");
      line(out, "role", "master");
      line(out, "connected_slaves", "0");
    } else if (name == "modules") {
      header("Modules");  // no modules
    } else if (name == "commandstats") {
      header("Commandstats");
      append_commandstats(out, command_stats_);
    } else if (name == "errorstats") {
      header("Errorstats");
      append_errorstats(out, command_stats_);
    } else if (name == "latencystats") {
      header("Latencystats");
      append_latencystats(out, command_stats_, config_.latency_percentiles());
    } else if (name == "cluster") {
      header("Cluster");
      line(out, "cluster_enabled", "0");
    }
    // Sections other components provide (memory, keyspace, cluster details) come after the
    // built-in lines of the same section.
    auto it = info_sections_.find(name);
    if (auto given = replaced.find(name); given != replaced.end()) {
      if (name == "memory" || name == "keyspace") {
        header(name == "memory" ? "Memory" : "Keyspace");
      }
      out.append(given->second);
    } else if (it != info_sections_.end()) {
      if (name != "server" && name != "clients" && name != "stats" && name != "cluster") {
        std::string title = name;
        title[0] = static_cast<char>(title[0] - 'a' + 'A');
        header(title);
      }
      it->second(out);
    } else if (name == "memory" || name == "keyspace") {
      header(name == "memory" ? "Memory" : "Keyspace");
    }
  }
  for (const auto& [name, fn] : info_sections_) {
    if (std::find(kDefault.begin(), kDefault.end(), name) != kDefault.end()) continue;
    if (!want(name)) continue;
    std::string title = name;
    title[0] =
        static_cast<char>(title[0] >= 'a' && title[0] <= 'z' ? title[0] - 'a' + 'A' : title[0]);
    header(title);
    fn(out);
  }
  return out;
}

}  // namespace apiary::resp
