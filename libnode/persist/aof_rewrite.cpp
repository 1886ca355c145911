#include "apiary/persist/aof_rewrite.hpp"

#include "apiary/persist/record.hpp"
#include "apiary/persist/atomic_file.hpp"

namespace apiary::persist {

Result<WriteStats> rewrite_aof(Env& env, const std::string& path, NodeId actor,
                               HlcTimestamp flush_horizon, const EntrySource& next) {
  return write_table_file(env, path, FileKind::aof, actor, flush_horizon, next);
}

}  // namespace apiary::persist
