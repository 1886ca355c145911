// script::Service: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, FCALL, FCALL_RO, SCRIPT and FUNCTION
// across the cluster (docs/scripting.md). Implements resp::Scripting on top of one
// script::Engine per node.
//
//  - A script runs atomically at the coordinator of its declared keys (all keys must have
//    one: CROSSSLOT otherwise), which the client's node reaches with the internal
//    APIARY.EVAL body numkeys key... arg... (APIARY.EVAL_RO for read-only scripts, at any
//    owner): the body always travels, so the coordinator never lacks the script. The
//    Router replicates the declared keys as one write once the script has run; what
//    replicas receive is the script's effects (the keys' new versions), never its source.
//    redis.call refuses keys the script did not declare. A script without keys runs on the
//    client's node and can reach no key.
//  - Every member holds every script and library: SCRIPT LOAD, EVAL of a new script,
//    FUNCTION LOAD/DELETE/FLUSH/RESTORE and SCRIPT FLUSH are told to the other live members
//    (ClusterKeyspace::tell_members), and a node asks the others for theirs (sync()) when
//    its view of the cluster changes, so one that joins or restarts catches up.
//  - A script running longer than busy-reply-threshold turns the node busy: other clients
//    get BUSY, the driver's busy watch lets them in now and then, and SCRIPT KILL (FUNCTION
//    KILL) stops a script that has not written yet.
// On the node's event-loop thread only.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/base/status.hpp"
#include "apiary/resp/scripting.hpp"

namespace apiary::resp {
class Server;
}

namespace apiary::script {

class Service final : public resp::Scripting {
 public:
  explicit Service(resp::Server& server);
  ~Service() override;
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  resp::Outcome call(resp::CommandContext& ctx, resp::ScriptCall kind) override;
  resp::Outcome script(resp::CommandContext& ctx) override;
  resp::Outcome function(resp::CommandContext& ctx) override;

  // Asks every other live member for its scripts and libraries and takes what this node
  // lacks (a library this node has keeps its own version).
  void sync(TimePoint now);

  // The libraries as FUNCTION DUMP writes them, and back (persistence: the data directory
  // keeps them; an empty payload restores nothing).
  std::string dump_libraries() const;
  Status restore_libraries(std::string_view payload);
  // Called after every change of the libraries (FUNCTION LOAD, DELETE, FLUSH, RESTORE, here
  // or told by a member), so that persistence can save them.
  void set_libraries_listener(std::function<void()> listener);

  // Where redis.log's lines go (level 0 debug .. 3 warning). Unset: nowhere.
  void set_log_sink(std::function<void(int level, std::string_view text)> sink);

  // INFO: scripts cached, their bytes, libraries and functions.
  void info(std::string& out) const;

  struct Impl;  // libnode/script/service_impl.hpp

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace apiary::script
