#include "apiary/persist/aof_rewrite.hpp"

#include "apiary/persist/record.hpp"
#include "atomic_file.hpp"

namespace apiary::persist {

Result<WriteStats> rewrite_aof(Env& env, const std::string& path, NodeId actor,
                               HlcTimestamp flush_horizon, const EntrySource& next) {
  FileHeader header;
  header.kind = FileKind::aof;
  header.actor = actor;
  auto writer = AtomicFileWriter::begin(env, path, header);
  if (!writer.ok()) return writer.status();
  AtomicFileWriter& w = *writer.value();
  if (flush_horizon.packed != 0) {
    if (auto s = w.add(FlushRecord{flush_horizon}); !s.ok()) return s;
  }
  WriteStats stats;
  PutRecord put;
  while (next(put.entry)) {
    if (auto s = w.add(put); !s.ok()) return s;
    ++stats.entries;
  }
  if (auto s = w.commit(); !s.ok()) return s;
  stats.bytes = w.bytes();
  return stats;
}

}  // namespace apiary::persist
