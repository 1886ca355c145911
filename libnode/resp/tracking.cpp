// Placeholder until the tracking implementation lands: tracking is never on.
#include "apiary/resp/tracking.hpp"

#include "apiary/resp/server.hpp"

namespace apiary::resp {

struct Tracking::Impl {
  TrackingStats stats;
};

Tracking::Tracking(Server& server) : impl_(std::make_unique<Impl>()) { (void)server; }
Tracking::~Tracking() = default;
void Tracking::before_command(Connection&, const CommandSpec&, std::span<const std::string_view>) {}
void Tracking::after_command(Connection&, const CommandSpec&) {}
void Tracking::key_changed(std::string_view) {}
void Tracking::flushed() {}
void Tracking::lost_invalidations() {}
void Tracking::client_closed(ClientId) {}
std::vector<std::string> Tracking::on_member_op(std::string_view, std::span<const std::string>) {
  return {};
}
std::size_t Tracking::tracking_clients() const { return 0; }
std::size_t Tracking::total_keys() const { return 0; }
std::size_t Tracking::total_items() const { return 0; }
std::size_t Tracking::total_prefixes() const { return 0; }
const TrackingStats& Tracking::stats() const { return impl_->stats; }
void Tracking::set_internal_listener(InternalListener) {}
void Tracking::track_internal(std::string_view) {}

}  // namespace apiary::resp
