// Seeds given by name: the lookups run on the SeedResolver's thread, the results come back to
// the loop and go to the core (NodeCore::set_seeds). When to look up again is decided here:
// soon while the node is joining or alone (a cluster forming, or a name that did not list
// anyone else yet), rarely once it is in a cluster (a name that starts listing another
// cluster's members merges the two).
#include <algorithm>
#include <cstdint>
#include <random>

#include "node_impl.hpp"

namespace apiary {

namespace {

using namespace std::chrono_literals;

constexpr auto kSoon = 2s;  // while joining or alone

}  // namespace

Status Node::Impl::join_seeds(const std::vector<runtime::SeedSpec>& specs) {
  if (!runtime::any_names(specs)) {
    core->join(core_now(), runtime::wall_now(), config.seeds);
    return Status::Ok();
  }
  // Not a cluster of one while the names are being resolved: the core waits for seeds
  // (serving nothing) until join_timeout, then serves with the members it knows.
  core->join(core_now(), runtime::wall_now(), {}, /*seeds_pending=*/true);
  seed_resolver =
      std::make_unique<runtime::SeedResolver>(specs, [this](runtime::ResolvedSeeds resolved) {
        loop.post(
            [this, r = std::move(resolved)]() mutable { on_seeds(core_now(), std::move(r)); });
      });
  seed_lookup_running = true;
  seed_resolver->request();
  loop.post([this] { refresh_seeds(core_now()); });
  return Status::Ok();
}

// Checked every second on the loop.
void Node::Impl::refresh_seeds(TimePoint now) {
  if (!seed_lookup_running && now >= next_seed_lookup) {
    seed_lookup_running = true;
    seed_resolver->request();
  }
  loop.schedule(now + 1s, [this] { refresh_seeds(core_now()); });
}

void Node::Impl::on_seeds(TimePoint now, runtime::ResolvedSeeds resolved) {
  seed_lookup_running = false;
  std::string errors;
  for (const auto& e : resolved.errors) errors += (errors.empty() ? "" : "; ") + e;
  if (errors != seed_errors) {
    if (!errors.empty()) spdlog::warn("seeds: {}", errors);
    seed_errors = std::move(errors);
  }
  if (!resolved.errors.empty()) {
    // A name that failed (a DNS server down for a moment) does not take its addresses away.
    for (const auto& a : seed_addrs) {
      if (std::find(resolved.addrs.begin(), resolved.addrs.end(), a) == resolved.addrs.end()) {
        resolved.addrs.push_back(a);
      }
    }
  }
  if (resolved.addrs != seed_addrs) {
    std::string list;
    for (const auto& a : resolved.addrs) list += (list.empty() ? "" : ",") + a;
    spdlog::info("seeds: {} address(es) {}", resolved.addrs.size(), list);
    seed_addrs = resolved.addrs;
  }
  core->set_seeds(now, std::move(resolved.addrs));
  // Every node on its own phase (0.75-1.25 of the interval): when a name changes, the
  // members of a big cluster do not all look it up, and contact what it lists, at once.
  const bool soon = core->swim().joining() || core->swim().alive_count() <= 1;
  std::chrono::nanoseconds wait = soon ? std::chrono::nanoseconds(kSoon)
                                       : std::chrono::nanoseconds(config.seed_refresh_interval);
  if (!soon) {
    thread_local std::minstd_rand jitter{std::random_device{}()};
    // A distribution, not jitter() % range: minstd_rand stops at 2^31 ns, about 2 s.
    std::uniform_int_distribution<std::int64_t> spread(0, wait.count() / 2);
    wait = wait * 3 / 4 + std::chrono::nanoseconds(spread(jitter));
  }
  next_seed_lookup = now + wait;
}

}  // namespace apiary
