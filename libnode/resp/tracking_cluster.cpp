// Tracking across the cluster. A node sees every change of the keys it owns in its own store
// (replication, anti-entropy, handoff, expiry), so its clients' reads of those keys need
// nothing more. A read of a key this node does not own is registered at the key's live
// owners first (`tracking.track`, one way, ordered per member, so it arrives before the
// forwarded read); an owner keeps who registered which key and tells them once when it
// changes (`tracking.inv`), forgetting the registration as Redis forgets a reader. A flush
// at an owner tells its registrants (`tracking.flush`); a view change drops everything both
// ways (Tracking::lost_invalidations sends every tracking client a null invalidation).
//
// BCAST clients hear of every change under their prefixes, wherever the key lives: each node
// tells every live member the prefixes of its BCAST clients (`tracking.bcast`, the whole set,
// whenever it changes and to a member that became live), and the coordinator of a changed key
// tells the members with a matching prefix that do not own the key (owners see the change in
// their own store) with `tracking.inv`. A member new in a node's view is sent the node's
// prefixes and asked for its own (`tracking.bwant`).
#include <algorithm>
#include <map>

#include "apiary/resp/server.hpp"
#include "tracking_impl.hpp"

namespace apiary::resp {

namespace {

constexpr std::size_t kDefaultCap = 1000000;  // when tracking-table-max-keys is 0 (no limit)

}  // namespace

void Tracking::Impl::register_remote(const std::vector<std::string>& keys) {
  ClusterKeyspace* cluster = server.cluster_members();
  if (cluster == nullptr || keys.empty()) return;
  std::map<std::string, std::vector<std::string>> per_member;
  for (const std::string& key : keys) {
    ClusterKeyspace::KeyOwners owners = cluster->key_owners(key);
    if (owners.self || owners.others.empty()) continue;
    std::set<std::string>& at = registered_at.at(key);
    for (const std::string& member : owners.others) {
      if (at.insert(member).second) per_member[member].push_back(key);
    }
  }
  const std::size_t cap = max_keys() == 0 ? kDefaultCap : max_keys();
  // Forgetting a registration here only means registering again on the next read.
  while (registered_at.size() > cap) registered_at.pop_oldest();
  for (auto& [member, member_keys] : per_member) {
    stats.remote_registrations += member_keys.size();
    std::vector<std::string> args;
    args.reserve(member_keys.size() + 1);
    args.push_back(server.identity().node_name);
    for (std::string& key : member_keys) args.push_back(std::move(key));
    cluster->tell_member(member, "tracking.track", std::move(args));
  }
}

void Tracking::Impl::tell_registered(std::string_view key) {
  if (auto members = registrations.take(key)) tell_changed(*members, key);
}

void Tracking::Impl::tell_changed(const std::set<std::string>& members, std::string_view key) {
  ClusterKeyspace* cluster = server.cluster_members();
  if (cluster == nullptr) return;
  for (const std::string& member : members) {
    cluster->tell_member(member, "tracking.inv", {server.identity().node_name, std::string(key)});
  }
}

void Tracking::Impl::flush_remote() {
  ClusterKeyspace* cluster = server.cluster_members();
  std::set<std::string> told;
  registrations.for_each([&](const std::string&, const std::set<std::string>& members) {
    told.insert(members.begin(), members.end());
  });
  registrations.clear();
  // Keys registered elsewhere are registered again on their next read (the owner may have
  // been flushed too and forgotten them).
  registered_at.clear();
  if (cluster == nullptr) return;
  for (const std::string& member : told) {
    cluster->tell_member(member, "tracking.flush", {server.identity().node_name});
  }
}

void Tracking::Impl::drop_remote() {
  registrations.clear();
  registered_at.clear();
}

void Tracking::Impl::announce_prefixes() {
  std::vector<std::string> mine;
  for (const auto& [prefix, ids] : prefixes) mine.push_back(prefix);
  if (mine == announced_prefixes) return;
  announced_prefixes = mine;
  ClusterKeyspace* cluster = server.cluster_members();
  if (cluster == nullptr) return;
  for (const std::string& member : live) {
    std::vector<std::string> args{server.identity().node_name};
    args.insert(args.end(), mine.begin(), mine.end());
    cluster->tell_member(member, "tracking.bcast", std::move(args));
  }
}

void Tracking::Impl::tell_prefix_members(std::string_view key) {
  ClusterKeyspace* cluster = server.cluster_members();
  if (cluster == nullptr) return;
  std::vector<const std::string*> matching;
  for (const auto& [member, member_prefixes] : remote_prefixes) {
    for (const std::string& prefix : member_prefixes) {
      if (key.starts_with(prefix)) {
        matching.push_back(&member);
        break;
      }
    }
  }
  if (matching.empty()) return;
  const ClusterKeyspace::KeyOwners owners = cluster->key_owners(key);
  if (!owners.coordinator) return;  // the coordinator tells them, once per change
  for (const std::string* member : matching) {
    if (std::find(owners.others.begin(), owners.others.end(), *member) != owners.others.end()) {
      continue;  // an owner sees the change in its own store
    }
    cluster->tell_member(*member, "tracking.inv", {server.identity().node_name, std::string(key)});
  }
}

void Tracking::on_members(const std::vector<std::string>& live) {
  Impl& s = *impl_;
  lost_invalidations();
  for (auto it = s.remote_prefixes.begin(); it != s.remote_prefixes.end();) {
    it = std::binary_search(live.begin(), live.end(), it->first) ? std::next(it)
                                                                 : s.remote_prefixes.erase(it);
  }
  ClusterKeyspace* cluster = s.server.cluster_members();
  for (const std::string& member : live) {
    if (std::binary_search(s.live.begin(), s.live.end(), member) || cluster == nullptr) continue;
    // New here (joined, or back): it gets this node's prefixes and is asked for its own (a
    // member that restarted sees this node as new, but this node may not have seen it go).
    std::vector<std::string> args{s.server.identity().node_name};
    args.insert(args.end(), s.announced_prefixes.begin(), s.announced_prefixes.end());
    cluster->tell_member(member, "tracking.bcast", std::move(args));
    cluster->tell_member(member, "tracking.bwant", {s.server.identity().node_name});
  }
  s.live = live;
}

std::vector<std::string> Tracking::on_member_op(std::string_view op,
                                                std::span<const std::string> args) {
  if (args.empty()) return {};
  Impl& s = *impl_;
  const std::string& sender = args[0];
  if (op == "tracking.track") {
    for (std::size_t i = 1; i < args.size(); ++i) s.registrations.at(args[i]).insert(sender);
    const std::size_t cap = s.max_keys() == 0 ? kDefaultCap : s.max_keys();
    // Over the limit the oldest registrations go, and their members are told, as Redis
    // invalidates the keys it evicts from its table.
    while (s.registrations.size() > cap) {
      auto oldest = s.registrations.pop_oldest();
      s.tell_changed(oldest->second, oldest->first);
    }
  } else if (op == "tracking.inv") {
    for (std::size_t i = 1; i < args.size(); ++i) {
      ++s.stats.remote_invalidations;
      if (auto* at = s.registered_at.find(args[i])) {
        at->erase(sender);
        if (at->empty()) s.registered_at.take(args[i]);
      }
      s.invalidate(args[i]);
    }
  } else if (op == "tracking.bwant") {
    if (ClusterKeyspace* cluster = s.server.cluster_members()) {
      std::vector<std::string> reply{s.server.identity().node_name};
      reply.insert(reply.end(), s.announced_prefixes.begin(), s.announced_prefixes.end());
      cluster->tell_member(sender, "tracking.bcast", std::move(reply));
    }
  } else if (op == "tracking.bcast") {
    if (args.size() == 1) {
      s.remote_prefixes.erase(sender);
    } else {
      s.remote_prefixes[sender] = {args.begin() + 1, args.end()};
    }
  } else if (op == "tracking.flush") {
    std::vector<std::string> keys;
    s.registered_at.for_each([&](const std::string& key, const std::set<std::string>& members) {
      if (members.contains(sender)) keys.push_back(key);
    });
    for (const std::string& key : keys) {
      ++s.stats.remote_invalidations;
      if (auto* at = s.registered_at.find(key)) {
        at->erase(sender);
        if (at->empty()) s.registered_at.take(key);
      }
      s.invalidate(key);
    }
  }
  return {};
}

}  // namespace apiary::resp
