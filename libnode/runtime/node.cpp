// The runtime driver of one member: binds the sockets, runs the event loop thread and moves
// bytes and time between the network and the sans-IO cores. The embedding API's calls,
// events and views are in node_api.cpp.
#include "apiary/node.hpp"

#include "apiary/runtime/json_log.hpp"
#include "node_impl.hpp"
#include "observability.hpp"

namespace apiary {

namespace {

using runtime::core_now;
using runtime::EventLoop;

std::string first_non_loopback_ipv4() {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return "127.0.0.1";
  std::string found = "127.0.0.1";
  for (ifaddrs* ifa = list; ifa != nullptr; ifa = ifa->ifa_next) {
    if (ifa->ifa_addr == nullptr || ifa->ifa_addr->sa_family != AF_INET) continue;
    auto* sin = reinterpret_cast<sockaddr_in*>(ifa->ifa_addr);
    if ((ntohl(sin->sin_addr.s_addr) >> 24) == 127) continue;
    char buf[INET_ADDRSTRLEN];
    if (::inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof buf) != nullptr) {
      found = buf;
      break;
    }
  }
  ::freeifaddrs(list);
  return found;
}

// Advertise address: explicit, else the bound address with a routable host.
Result<std::string> resolve_advertise(const std::string& configured, const std::string& bound) {
  auto base = parse_host_port(configured.empty() ? bound : configured);
  if (!base.ok())
    return make_error(StatusCode::invalid_argument, "advertise address " + base.status().message());
  if (base->host == "0.0.0.0" || base->host == "*") base->host = first_non_loopback_ipv4();
  if (base->port == 0) base->port = parse_host_port(bound)->port;
  return base->to_string();
}

std::string default_name(const std::string& advertise) {
  char host[256] = {0};
  if (::gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "node");
  return std::string(host) + "-" + advertise.substr(advertise.rfind(':') + 1);
}

}  // namespace

Node::Node(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<Node>> Node::start(NodeConfig config) {
  auto impl = std::make_unique<Impl>();
  impl->config = std::move(config);
  auto& cfg = impl->config;
  if (!cfg.log_level.empty()) {
    const auto level = spdlog::level::from_str(cfg.log_level);
    // from_str answers `off` for any unknown name: only "off" itself may mean it.
    if (level == spdlog::level::off && cfg.log_level != "off") {
      return make_error(
          StatusCode::invalid_argument,
          "unknown log level '" + cfg.log_level + "' (trace, debug, info, warn, error, off)");
    }
    spdlog::set_level(level);
  }
  cfg.swim.cluster_name = cfg.cluster_name;
  auto seed_specs = runtime::parse_seed_specs(cfg.seeds);
  if (!seed_specs.ok()) return seed_specs.status();
  // Sealed messages are this much longer than the core's (0 without a cluster key).
  std::size_t seal_overhead = 0;
  if (!cfg.cluster_key_file.empty() || !cfg.cluster_keys.empty()) {
    auto keys =
        runtime::ClusterKeys::create(cfg.cluster_key_file, cfg.cluster_keys, cfg.cluster_name);
    if (!keys.ok()) return keys.status();
    impl->cluster_keys = std::move(keys).value();
    impl->key_file_checked = core_now();
    seal_overhead = runtime::Keyring::kOverhead;
  }

  zmqx::MailboxOptions box_options;
  box_options.max_message_bytes = cfg.swim.max_message_bytes + seal_overhead;
  auto box = zmqx::Mailbox::bind(impl->context, cfg.gossip_addr, box_options);
  if (!box.ok()) return box.status();
  impl->gossip_box = std::move(box).value();
  auto advertise = resolve_advertise(cfg.advertise_addr, impl->gossip_box->bound_addr());
  if (!advertise.ok()) return advertise.status();
  impl->advertise = std::move(advertise).value();
  impl->name = cfg.name.empty() ? default_name(impl->advertise) : cfg.name;
  runtime::set_log_node_if_unset(impl->name);  // the JSON log's `node` (apiaryd without --name)

  std::string data_bind = cfg.data_addr;
  if (data_bind.empty()) {
    HostPort gossip_bind = *parse_host_port(impl->gossip_box->bound_addr());
    gossip_bind.port = 0;
    data_bind = gossip_bind.to_string();
  }
  runtime::DataLinkOptions data_options;
  data_options.max_message_bytes = cfg.replication.max_message_bytes + 4096 + seal_overhead;
  auto data_link = runtime::DataLink::bind(impl->loop, data_bind, data_options);
  if (!data_link.ok()) return data_link.status();
  impl->data_link = std::move(data_link).value();
  {
    HostPort reachable = *parse_host_port(impl->advertise);
    reachable.port = parse_host_port(impl->data_link->bound_addr())->port;
    impl->data_advertised = reachable.to_string();
  }

  // The core first: loading the data directory may refuse the start (a damaged file), and
  // the admin server's thread is better not started then (with cpp-httplib 0.11.4 a stop
  // that lands before its listen loop runs is lost, and the join hangs).
  std::random_device entropy;  // the runtime is where real randomness enters
  const std::uint64_t seed = (static_cast<std::uint64_t>(entropy()) << 32) ^ entropy();
  if (auto made = impl->start_core(seed); !made.ok()) return made;

  Impl* raw = impl.get();
  if (!cfg.http_addr.empty()) {
    http::AdminSources sources;
    sources.self_name = [raw] { return raw->name; };
    sources.members = [raw] {
      std::lock_guard<std::mutex> lock(raw->snapshot_mutex);
      return raw->snapshot;
    };
    sources.partitions = [raw] {
      std::lock_guard<std::mutex> lock(raw->snapshot_mutex);
      return raw->table;
    };
    sources.metrics = [raw](bool openmetrics) {
      return raw->ask_loop<std::string>(
          [raw, openmetrics] { return runtime::render_metrics(*raw, openmetrics); });
    };
    sources.stats = [raw] {
      return raw->ask_loop<std::string>([raw] { return runtime::render_stats_json(*raw); });
    };
    sources.events = [raw](std::uint64_t after) { return raw->events.json_after(after); };
    sources.ops.meet = [raw](const std::string& addr) { return raw->meet(addr); };
    sources.drain = [raw](bool wait) {
      auto result = raw->begin_drain();
      if (wait) {
        result.wait_for(raw->config.handoff_timeout + raw->config.leave_timeout +
                        std::chrono::seconds(2));
      }
      http::DrainAnswer answer;
      answer.by_drain = raw->draining.load();
      answer.done = result.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
      if (answer.done) answer.status = result.get();
      return answer;
    };
    sources.ready = [raw]() -> std::optional<std::pair<bool, std::string>> {
      return raw->ask_loop<std::pair<bool, std::string>>([raw] {
        bool ready = false;
        std::string body = runtime::render_ready_json(*raw, ready);
        return std::make_pair(ready, std::move(body));
      });
    };
    http::AdminSecurity security;
    security.tls_cert_file = cfg.http_tls_cert_file;
    security.tls_key_file = cfg.http_tls_key_file;
    security.tls_ca_file = cfg.http_tls_ca_file;
    security.token = cfg.admin_token;
    auto admin = http::AdminServer::start(cfg.http_addr, sources, std::move(security));
    if (!admin.ok()) return admin.status();
    impl->admin = std::move(admin).value();
    impl->http_bound = impl->admin->bound_addr();
  }

  if (auto listening = impl->start_listener(); !listening.ok()) return listening;

  gossip::MemberMeta meta;
  meta.http_addr = impl->http_bound;
  meta.data_addr = impl->data_advertised;
  if (!impl->client_bound.empty()) {
    // Publish a reachable client address: the advertised host with the bound port.
    HostPort reachable = *parse_host_port(impl->advertise);
    reachable.port = parse_host_port(impl->client_bound)->port;
    meta.client_addr = reachable.to_string();
  }
  meta.tags = cfg.tags;
  impl->core->set_meta(std::move(meta));
  if (Status s = impl->join_seeds(*seed_specs); !s.ok()) return s;
  impl->refresh_snapshot();

  // Gossip and data messages are drained in pump(), which runs after every batch.
  auto status =
      impl->loop.watch(impl->gossip_box->fd(), EventLoop::kReadable, [](std::uint32_t) {});
  if (!status.ok()) return status;
  impl->loop.set_after_batch([raw] { raw->pump(); });
  impl->loop.post([raw] { raw->housekeeping(); });
  if (impl->cluster_keys) {
    spdlog::info("cluster key: node-to-node traffic sealed with AES-256-GCM, {} key(s){}",
                 impl->cluster_keys->key_count(),
                 cfg.cluster_key_file.empty() ? "" : " from " + cfg.cluster_key_file);
  }
  spdlog::info(
      "node {} gossip on {} (advertised {}), data {}, redis {}, redis tls {}, http {}, cluster "
      "'{}', {} seed(s), N={} W={} R={}",
      impl->name, impl->gossip_box->bound_addr(), impl->advertise, impl->data_advertised,
      impl->client_bound.empty() ? "off" : impl->client_bound,
      impl->tls_bound.empty() ? "off" : impl->tls_bound,
      impl->http_bound.empty() ? "off" : impl->http_bound, cfg.cluster_name, cfg.seeds.size(),
      cfg.replicas, cfg.write_quorum, cfg.read_quorum);
  impl->running = true;
  impl->thread = std::thread([raw] {
    raw->calls->set_loop_thread(std::this_thread::get_id());
    raw->loop.run();
    raw->running = false;  // the cores are quiet from here on: stats() may read them
  });
  return std::unique_ptr<Node>(new Node(std::move(impl)));
}

Status Node::leave() {
  if (impl_->calls->on_loop_thread()) {
    return make_error(StatusCode::invalid_argument,
                      "leave() from a callback would wait for itself; call it from another thread");
  }
  // The first caller leaves; later (or concurrent) callers get its result.
  std::promise<Status> mine;
  std::shared_future<Status> earlier;
  {
    std::lock_guard<std::mutex> lock(impl_->leave_mutex);
    if (impl_->leave_result.valid()) {
      earlier = impl_->leave_result;
    } else if (impl_->stopped.load()) {
      return make_error(StatusCode::unavailable, "the node has stopped");
    } else {
      impl_->leave_result = mine.get_future().share();
    }
  }
  if (earlier.valid()) {
    Status status = earlier.get();
    if (impl_->draining.load()) stop();  // after a drain, leaving is only stopping
    return status;
  }
  auto done = impl_->left.get_future();
  impl_->leaving = true;
  Impl* raw = impl_.get();
  raw->loop.post([raw] { raw->start_leave(); });
  const auto limit =
      impl_->config.handoff_timeout + impl_->config.leave_timeout + std::chrono::seconds(2);
  const bool finished = done.wait_for(limit) == std::future_status::ready;
  stop();
  Status status = Status::Ok();
  if (!finished || impl_->leave_incomplete.load()) {
    status = make_error(StatusCode::timeout,
                        "leave ran out of time before every partition was handed off and the "
                        "departure announced");
  }
  mine.set_value(status);
  return status;
}

Status Node::drain() {
  if (impl_->calls->on_loop_thread()) {
    return make_error(StatusCode::invalid_argument,
                      "drain() from a callback would wait for itself; call it from another thread");
  }
  auto result = impl_->begin_drain();
  const auto limit =
      impl_->config.handoff_timeout + impl_->config.leave_timeout + std::chrono::seconds(2);
  if (result.wait_for(limit) != std::future_status::ready) {
    return make_error(StatusCode::timeout, "the drain did not finish in time");
  }
  return result.get();
}

bool Node::drained() const { return impl_->drained.load(); }

std::shared_future<Status> Node::Impl::begin_drain() {
  std::lock_guard<std::mutex> lock(leave_mutex);
  if (leave_result.valid()) return leave_result;
  if (stopped.load()) {
    std::promise<Status> refused;
    refused.set_value(make_error(StatusCode::unavailable, "the node has stopped"));
    return refused.get_future().share();
  }
  leave_result = drain_done.get_future().share();
  draining = true;
  leaving = true;
  loop.post([this] { start_leave(); });
  return leave_result;
}

void Node::stop() {
  std::call_once(impl_->stop_once, [this] {
    impl_->stopped = true;  // also ends a busy script, so the loop thread can stop
    impl_->loop.stop();
    if (impl_->thread.joinable()) impl_->thread.join();
    if (impl_->draining.load()) {
      impl_->finish_drain(make_error(StatusCode::unavailable, "stopped before the drain ended"));
    }
    // The loop is gone: this thread may touch the core. Sync the AOF, or write the snapshot
    // that save rules ask for, as Redis's SHUTDOWN does.
    if (Status s = impl_->core->close_persistence(core_now(), runtime::wall_now()); !s.ok()) {
      spdlog::error("persistence: closing: {}", s.to_string());
    }
    if (impl_->admin) impl_->admin->stop();
    if (impl_->resp_listener) impl_->resp_listener->shutdown();
    impl_->calls->close();
  });
}

Status Node::reload_cluster_keys() {
  Impl* raw = impl_.get();
  auto done = raw->ask_loop<Status>([raw]() -> Status {
    if (!raw->cluster_keys || raw->cluster_keys->file().empty()) {
      return make_error(StatusCode::invalid_argument,
                        "this node was not started with a cluster key file");
    }
    return raw->cluster_keys->reload("reload requested");
  });
  return done ? *done : make_error(StatusCode::timeout, "the node's loop did not answer in 5 s");
}

Status Node::meet(std::string_view gossip_addr) { return impl_->meet(gossip_addr); }

Status Node::Impl::meet(std::string_view gossip_addr) {
  auto parsed = parse_host_port(gossip_addr);
  if (!parsed.ok()) {
    return make_error(StatusCode::invalid_argument, "meet: " + parsed.status().message());
  }
  if (stopped.load()) return make_error(StatusCode::unavailable, "the node has stopped");
  spdlog::info("meet: contacting {}", gossip_addr);
  loop.post([this, addr = std::string(gossip_addr)] {
    core->meet(core_now(), addr);  // its messages go out in this batch's pump()
  });
  return Status::Ok();
}

Node::~Node() {
  if (!impl_->stopped.load()) (void)leave();
  stop();
}

const std::string& Node::name() const { return impl_->name; }
const std::string& Node::gossip_addr() const { return impl_->advertise; }
const std::string& Node::http_addr() const { return impl_->http_bound; }
const std::string& Node::client_addr() const { return impl_->client_bound; }
const std::string& Node::data_addr() const { return impl_->data_advertised; }

}  // namespace apiary
