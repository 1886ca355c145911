// apiary::Node's embedding API: data calls (runtime::DataCalls), event subscriptions and
// read-only views.
#include "apiary/node.hpp"
#include "node_impl.hpp"

namespace apiary {

using node_detail::owners_of;

// ---- Data calls ----------------------------------------------------------------------

Result<std::optional<std::string>> Node::get(std::string_view key, CallOptions options) {
  return impl_->calls->wait<std::optional<std::string>>(
      [&](auto done) { impl_->calls->get(key, options, std::move(done)); });
}

Result<bool> Node::set(std::string_view key, std::string_view value, SetOptions options) {
  return impl_->calls->wait<bool>(
      [&](auto done) { impl_->calls->set(key, value, options, std::move(done)); });
}

Result<bool> Node::del(std::string_view key, CallOptions options) {
  return impl_->calls->wait<bool>(
      [&](auto done) { impl_->calls->del(key, options, std::move(done)); });
}

Result<bool> Node::expire(std::string_view key, std::chrono::milliseconds ttl,
                          CallOptions options) {
  return impl_->calls->wait<bool>(
      [&](auto done) { impl_->calls->expire(key, ttl, options, std::move(done)); });
}

Result<KeyTtl> Node::ttl(std::string_view key, CallOptions options) {
  return impl_->calls->wait<KeyTtl>(
      [&](auto done) { impl_->calls->ttl(key, options, std::move(done)); });
}

Result<Versions> Node::get_versions(std::string_view key, CallOptions options) {
  return impl_->calls->wait<Versions>(
      [&](auto done) { impl_->calls->get_versions(key, options, std::move(done)); });
}

Status Node::put(std::string_view key, std::string_view value, const CausalContext& context,
                 PutOptions options) {
  return impl_->calls
      ->wait<bool>(
          [&](auto done) { impl_->calls->put(key, value, context, options, std::move(done)); })
      .status();
}

void Node::get_async(std::string_view key, Callback<std::optional<std::string>> done,
                     CallOptions options) {
  impl_->calls->get(key, options, std::move(done));
}

void Node::set_async(std::string_view key, std::string_view value, Callback<bool> done,
                     SetOptions options) {
  impl_->calls->set(key, value, options, std::move(done));
}

void Node::del_async(std::string_view key, Callback<bool> done, CallOptions options) {
  impl_->calls->del(key, options, std::move(done));
}

void Node::expire_async(std::string_view key, std::chrono::milliseconds ttl, Callback<bool> done,
                        CallOptions options) {
  impl_->calls->expire(key, ttl, options, std::move(done));
}

void Node::ttl_async(std::string_view key, Callback<KeyTtl> done, CallOptions options) {
  impl_->calls->ttl(key, options, std::move(done));
}

void Node::get_versions_async(std::string_view key, Callback<Versions> done, CallOptions options) {
  impl_->calls->get_versions(key, options, std::move(done));
}

void Node::put_async(std::string_view key, std::string_view value, const CausalContext& context,
                     StatusCallback done, PutOptions options) {
  impl_->calls->put(key, value, context, options,
                    [done = std::move(done)](Result<bool> r) { done(r.status()); });
}

// ---- Events --------------------------------------------------------------------------

SubscriptionId Node::on_member(std::function<void(const gossip::MemberEvent&)> callback) {
  const SubscriptionId id = impl_->next_subscription++;
  impl_->member_subscribers.add(id, std::move(callback));
  return id;
}

SubscriptionId Node::on_partitions(std::function<void(const PartitionEvent&)> callback) {
  const SubscriptionId id = impl_->next_subscription++;
  impl_->partition_subscribers.add(id, std::move(callback));
  Impl* raw = impl_.get();
  raw->loop.post([raw, id] {
    std::shared_ptr<const cluster::PartitionTable> current;
    {
      std::lock_guard<std::mutex> lock(raw->snapshot_mutex);
      current = raw->table;
    }
    if (current)
      raw->partition_subscribers.publish_to(id, partition_event(nullptr, *current, raw->name));
  });
  return id;
}

void Node::unsubscribe(SubscriptionId id) {
  if (!impl_->member_subscribers.remove(id)) impl_->partition_subscribers.remove(id);
}

// ---- Views ---------------------------------------------------------------------------

std::vector<PartitionOwners> Node::partitions() const {
  std::shared_ptr<const cluster::PartitionTable> current;
  {
    std::lock_guard<std::mutex> lock(impl_->snapshot_mutex);
    current = impl_->table;
  }
  if (!current) return {};
  return owners_of(*current);
}

NodeStats Node::stats() const {
  Impl* raw = impl_.get();
  auto collect = [raw] {
    NodeStats out;
    out.keys = raw->core->store().size();
    out.used_memory = raw->core->store().used_memory();
    const auto& st = raw->core->store().stats();
    out.hits = st.hits;
    out.misses = st.misses;
    out.expired = st.expired;
    out.evicted = st.evicted;
    out.hints = raw->core->replicator().hint_count();
    out.pending_operations = raw->core->replicator().pending_operations() + raw->core->router().pending();
    out.handoff_pending = raw->core->replicator().handoff_pending();
    out.calls = raw->calls->calls();
    const auto& routed = raw->core->router().stats();
    out.commands_local = routed.local;
    out.commands_forwarded = routed.forwarded;
    out.write_quorum_failures = routed.write_failures;
    if (raw->near_cache) {
      const auto near = raw->near_cache->counters();
      out.near_cache_hits = near.hits;
      out.near_cache_misses = near.misses;
      out.near_cache_invalidations = near.invalidations;
      out.near_cache_entries = near.entries;
    }
    out.replication = raw->core->replicator().stats();
    out.gossip = raw->core->swim().stats();
    return out;
  };
  // The cores belong to the loop thread: ask it, unless this is it or it has stopped.
  if (raw->calls->on_loop_thread() || !raw->running.load()) return collect();
  auto task = std::make_shared<std::packaged_task<NodeStats()>>(collect);
  auto result = task->get_future();
  raw->loop.post([task] { (*task)(); });
  if (result.wait_for(std::chrono::seconds(5)) == std::future_status::ready) return result.get();
  NodeStats partial;  // the loop stopped meanwhile (or is stuck): what is safe to read
  partial.calls = raw->calls->calls();
  partial.gossip = gossip_stats();
  return partial;
}

std::vector<gossip::Member> Node::members() const {
  std::lock_guard<std::mutex> lock(impl_->snapshot_mutex);
  return impl_->snapshot;
}

gossip::SwimStats Node::gossip_stats() const {
  std::lock_guard<std::mutex> lock(impl_->snapshot_mutex);
  return impl_->stats_snapshot;
}

}  // namespace apiary
