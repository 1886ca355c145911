// Tracking, the local side: which clients read which keys, and the invalidations a change,
// a flush or a lost view sends them, as Redis 7.0's tracking.c does. The cluster side
// (registrations at other owners) is tracking_cluster.cpp.
#include "apiary/resp/tracking.hpp"

#include <algorithm>
#include <utility>

#include "apiary/resp/command_table.hpp"
#include "apiary/resp/connection.hpp"
#include "apiary/resp/server.hpp"
#include "tracking_impl.hpp"

namespace apiary::resp {

namespace {

constexpr std::size_t kMaxPending = 256;  // as Connection's replies in flight
constexpr std::size_t kMaxOwnWrites = 4096;

std::string bulk(std::string_view s) {
  std::string out = "$" + std::to_string(s.size()) + "\r\n";
  out.append(s);
  out.append("\r\n");
  return out;
}

std::string one_key(std::string_view key) { return "*1\r\n" + bulk(key); }

// Scripts: Redis remembers the keys the commands inside a script read; Apiary remembers the
// keys the script declares (a superset of what it can read).
bool is_script(const CommandSpec& spec) {
  return spec.name == "eval" || spec.name == "evalsha" || spec.name == "eval_ro" ||
         spec.name == "evalsha_ro" || spec.name == "fcall" || spec.name == "fcall_ro";
}

bool reads_keys(const CommandSpec& spec) {
  return is_script(spec) || ((spec.flags & kReadonly) != 0 && (spec.flags & kPubsub) == 0);
}

bool writes_keys(const CommandSpec& spec) {
  return (spec.flags & kWrite) != 0 || (is_script(spec) && !spec.name.ends_with("_ro"));
}

const CommandSpec* lookup(const CommandTable& table, std::span<const std::string_view> argv) {
  const CommandSpec* spec = argv.empty() ? nullptr : table.find(argv[0]);
  if (spec != nullptr && !spec->subcommands.empty() && argv.size() > 1) {
    if (const CommandSpec* sub = CommandTable::find_subcommand(*spec, argv[1])) return sub;
  }
  return spec;
}

// The keys one command reads and writes, into the client's running lists.
void collect(TrackingClient& st, bool bcast, const CommandSpec& spec,
             std::span<const std::string_view> argv) {
  const bool skip_reads = (st.optin && !st.caching) || (st.optout && st.caching);
  const bool reads = !bcast && !skip_reads && reads_keys(spec);
  const bool writes = st.noloop && writes_keys(spec);
  if (!reads && !writes) return;
  for (std::size_t i : command_keys(spec, argv)) {
    if (reads) st.reading.emplace_back(argv[i]);
    if (writes) st.writing.emplace_back(argv[i]);
  }
}

}  // namespace

std::size_t Tracking::Impl::max_keys() const {
  const std::int64_t n = server.config().tracking_table_max_keys();
  return n <= 0 ? 0 : static_cast<std::size_t>(n);
}

// The RESP bytes of one invalidation with payload `value` (an array of keys, or a null) for
// connection `to`: a RESP3 push, or a `__redis__:invalidate` message for a RESP2 client in
// pub/sub mode that tracking is redirected to; empty when it gets nothing (RESP2 otherwise).
std::string Tracking::Impl::message_for(Connection& to, bool redirected, std::string_view value) {
  if (to.protocol() > 2) return ">2\r\n$10\r\ninvalidate\r\n" + std::string(value);
  if (redirected && to.subscriptions() > 0) {
    return "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n" + std::string(value);
  }
  return {};
}

// Redis's sendTrackingMessage: to the client, or to the client it redirects to; a RESP3
// client whose redirect target is gone is told `tracking-redir-broken` instead.
void Tracking::Impl::deliver(ClientId id, std::string_view value, std::string* self_out) {
  Connection* c = server.find_client(id);
  if (c == nullptr) return;
  Connection::TrackingFlags& flags = c->tracking_flags();
  Connection* to = c;
  if (flags.redirect > 0) {
    to = server.find_client(static_cast<ClientId>(flags.redirect));
    if (to == nullptr) {
      flags.broken_redirect = true;
      if (c->protocol() > 2) {
        std::string broken =
            ">2\r\n$21\r\ntracking-redir-broken\r\n:" + std::to_string(flags.redirect) + "\r\n";
        if (self_out != nullptr) {
          self_out->append(broken);
        } else {
          c->push(broken, /*after_reply=*/true);
        }
      }
      return;
    }
  }
  const std::string message = message_for(*to, to != c, value);
  if (message.empty()) return;
  ++stats.invalidations_sent;
  if (to == c && self_out != nullptr) {
    self_out->append(message);
  } else if (auto st = clients.find(id); to == c && st != clients.end() && st->second.running) {
    st->second.during.append(message);
  } else if (to == c && st != clients.end() && !st->second.pending.empty()) {
    st->second.pending.back().after.append(message);
  } else {
    to->push(message, /*after_reply=*/true);
  }
}

void Tracking::Impl::remember(ClientId id, const std::vector<std::string>& keys) {
  for (const std::string& key : keys) {
    if (table.at(key).insert(id).second) ++items;
  }
  // tracking-table-max-keys: the oldest keys go, and their readers are told.
  const std::size_t limit = max_keys();
  while (limit != 0 && table.size() > limit) {
    auto oldest = table.pop_oldest();
    items -= oldest->second.size();
    for (ClientId reader : oldest->second) to_reader(reader, oldest->first);
  }
}

// One reader of `key` in the table: told of its change unless it no longer tracks that way,
// or the change is its own write under NOLOOP.
void Tracking::Impl::to_reader(ClientId id, std::string_view key) {
  Connection* c = server.find_client(id);
  if (c == nullptr || !c->tracking_flags().on || c->tracking_flags().bcast) return;
  auto st = clients.find(id);
  if (st == clients.end()) return;
  if (st->second.noloop && own_write(st->second, key)) return;
  if (c->tracking_flags().redirect > 0) {
    // A read of `key` still on its way may carry the value from before this change: the
    // redirect target is told again once that reply is out.
    for (TrackingClient::Pending& p : st->second.pending) {
      if (std::find(p.keys.begin(), p.keys.end(), key) != p.keys.end()) {
        p.resend.push_back(one_key(key));
      }
    }
  }
  deliver(id, one_key(key), nullptr);
}

std::string Tracking::Impl::after_reply(ClientId id, PendingToken token, std::string_view reply) {
  std::string out(reply);
  auto st = clients.find(id);
  if (st == clients.end()) return out;
  auto& pending = st->second.pending;
  auto it = std::find_if(pending.begin(), pending.end(),
                         [&](const TrackingClient::Pending& p) { return p.token == token; });
  if (it == pending.end()) return out;
  TrackingClient::Pending done = std::move(*it);
  pending.erase(it);
  for (const std::string& value : done.resend) deliver(id, value, &out);
  out.append(done.after);
  return out;
}

bool Tracking::Impl::own_write(TrackingClient& st, std::string_view key) {
  auto it = st.own_writes.find(key);
  if (it == st.own_writes.end()) return false;
  if (--it->second <= 0) st.own_writes.erase(it);
  return true;
}

void Tracking::Impl::invalidate(std::string_view key) {
  if (auto readers = table.take(key)) {
    items -= readers->size();
    for (ClientId id : *readers) to_reader(id, key);
  }
  // BCAST: every client with a prefix of the key (Redis batches these per event loop, one
  // message per prefix with every key changed meanwhile; here one message per change).
  if (!prefixes.empty()) {
    const std::string value = one_key(key);
    for (const auto& [prefix, ids] : prefixes) {
      if (!key.starts_with(prefix)) continue;
      for (ClientId id : ids) {
        auto st = clients.find(id);
        if (st != clients.end() && st->second.noloop && own_write(st->second, key)) continue;
        deliver(id, value, nullptr);
      }
    }
  }
  if (internal.take(key) && listener) listener(key);
  tell_registered(key);
  if (!remote_prefixes.empty()) tell_prefix_members(key);
}

void Tracking::Impl::null_to_everyone() {
  for (const auto& [id, c] : server.clients()) {
    if (!c->tracking_flags().on) continue;
    ++stats.null_invalidations_sent;
    deliver(id, c->protocol() > 2 ? "_\r\n" : "$-1\r\n", nullptr);
  }
  table.clear();
  items = 0;
  internal.clear();
  if (listener) listener(std::nullopt);
}

Tracking::Tracking(Server& server) : impl_(std::make_unique<Impl>(server)) {}
Tracking::~Tracking() = default;

void Tracking::before_command(Connection& c, const CommandSpec& spec,
                              std::span<const std::string_view> argv) {
  auto it = impl_->clients.find(c.id());
  if (it == impl_->clients.end()) return;
  TrackingClient& st = it->second;
  if (!c.waiting()) {  // every earlier command has its reply: their changes are in
    st.own_writes.clear();
    st.pending.clear();
  }
  st.reading.clear();
  st.writing.clear();
  st.running = true;
  const bool bcast = c.tracking_flags().bcast;
  if (spec.name == "exec") {
    for (const auto& queued : c.transaction().queued) {
      std::vector<std::string_view> words(queued.begin(), queued.end());
      if (const CommandSpec* q = lookup(impl_->server.commands(), words)) {
        collect(st, bcast, *q, words);
      }
    }
  } else {
    collect(st, bcast, spec, argv);
  }
  if (st.own_writes.size() < kMaxOwnWrites) {
    for (const std::string& key : st.writing) ++st.own_writes[key];
  }
  // Registered at the owners before the read is forwarded there (tracking_cluster.cpp).
  impl_->register_remote(st.reading);
}

void Tracking::after_command(Connection& c, const CommandSpec& spec) {
  auto it = impl_->clients.find(c.id());
  if (it == impl_->clients.end()) return;
  TrackingClient& st = it->second;
  const PendingToken token = c.pending_reply();
  const bool went_pending = token.value != 0;
  if (!st.reading.empty()) impl_->remember(c.id(), st.reading);
  st.running = false;
  std::string during = std::exchange(st.during, {});
  // WATCH filters its own reply; a blocked client (BLPOP ...) gets its invalidations at once,
  // as in Redis: nothing waits for either.
  if (went_pending && spec.name != "watch" && (spec.flags & kBlocking) == 0 &&
      st.pending.size() < kMaxPending) {
    st.pending.push_back({token, std::move(st.reading), std::exchange(during, {}), {}});
    c.filter_reply(token,
                   [impl = impl_.get(), id = c.id(), token](Connection&, std::string_view reply) {
                     return impl->after_reply(id, token, reply);
                   });
  }
  if (!during.empty()) {
    if (!st.pending.empty()) {
      st.pending.back().after.append(during);
    } else {
      c.push(during, /*after_reply=*/true);
    }
  }
  if (!went_pending) {  // its changes, if any, have reached the store already
    for (const std::string& key : st.writing) impl_->own_write(st, key);
  }
  st.reading.clear();
  st.writing.clear();
  // CLIENT CACHING applies to the next command (and to a whole MULTI ... EXEC); any CLIENT
  // subcommand keeps it, as Redis's resetClient does.
  if (!c.transaction().multi && !spec.name.starts_with("client|")) st.caching = false;
}

void Tracking::key_changed(std::string_view key) { impl_->invalidate(key); }

void Tracking::flushed() {
  impl_->null_to_everyone();
  impl_->flush_remote();
}

void Tracking::lost_invalidations() {
  impl_->null_to_everyone();
  impl_->drop_remote();
}

void Tracking::client_closed(ClientId id) { impl_->disable(id); }

void Tracking::Impl::disable(ClientId id) {
  auto it = clients.find(id);
  if (it == clients.end()) return;
  for (const std::string& prefix : it->second.prefixes) {
    auto p = prefixes.find(prefix);
    if (p == prefixes.end()) continue;
    p->second.erase(id);
    if (p->second.empty()) prefixes.erase(p);
  }
  clients.erase(it);
  announce_prefixes();
}

void Tracking::set_internal_listener(InternalListener listener) {
  impl_->listener = std::move(listener);
}

void Tracking::track_internal(std::string_view key) {
  impl_->internal.at(key) = true;
  const std::size_t limit = impl_->max_keys();
  while (limit != 0 && impl_->internal.size() > limit) {
    auto oldest = impl_->internal.pop_oldest();
    if (impl_->listener) impl_->listener(oldest->first);
  }
  impl_->register_remote({std::string(key)});
}

std::size_t Tracking::tracking_clients() const { return impl_->clients.size(); }
std::size_t Tracking::total_keys() const { return impl_->table.size(); }
std::size_t Tracking::total_items() const { return impl_->items; }
std::size_t Tracking::total_prefixes() const { return impl_->prefixes.size(); }
const TrackingStats& Tracking::stats() const { return impl_->stats; }

}  // namespace apiary::resp
