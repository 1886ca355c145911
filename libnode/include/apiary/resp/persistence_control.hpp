// PersistenceControl: the seam through which SAVE, BGSAVE, BGREWRITEAOF and LASTSAVE reach
// what the node keeps on disk (core::Persistence, installed by NodeCore with
// Server::set_persistence), and through which a node that cannot persist refuses writes with
// Redis's MISCONF error. Without one, those commands answer an error and nothing is refused.
// Called on the node's event-loop thread only.
#pragma once

#include <cstdint>
#include <string>

#include "apiary/base/status.hpp"
#include "apiary/resp/command.hpp"

namespace apiary::resp {

enum class BackgroundReply : unsigned char { started, scheduled, already_running, other_running };

class PersistenceControl {
 public:
  virtual ~PersistenceControl() = default;
  virtual Status save(const CommandContext& ctx) = 0;
  virtual BackgroundReply bgsave(const CommandContext& ctx, bool schedule) = 0;
  virtual BackgroundReply bgrewriteaof(const CommandContext& ctx) = 0;
  virtual std::int64_t lastsave() const = 0;  // Unix seconds
  // The full error ("-MISCONF ...") while writes must be refused; empty otherwise.
  virtual const std::string& write_refusal() const = 0;
};

}  // namespace apiary::resp
