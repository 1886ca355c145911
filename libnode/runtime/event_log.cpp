#include "event_log.hpp"

namespace apiary::runtime {

std::string EventLog::json_after(std::uint64_t) const { return "{\"events\":[]}"; }

}  // namespace apiary::runtime
