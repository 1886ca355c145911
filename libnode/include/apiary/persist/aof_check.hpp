// check_aof: what `apiary check-aof [--fix] FILE` does, as a function the tests call too
// (redis-check-aof's job): read the whole file, report the records and where the good part
// ends, and with `fix` truncate the file to its last whole record.
//
// Fixing is refused (fixed stays false) unless the damage is a tail that truncation repairs
// (truncated, bad checksum, bad record): an unknown critical record type means a newer
// Apiary wrote the file, and an I/O error means nothing is known. Truncating drops every
// record after the first bad one, as redis-check-aof does: the caller states the byte count
// first. Costs one sequential read, plus one ftruncate and fsync when fixing. Meant for a file
// no writer has open (offline, as the CLI runs it); thread-safety: that of the Env.
#pragma once

#include <string>

#include "apiary/persist/aof_reader.hpp"
#include "apiary/persist/env.hpp"

namespace apiary::persist {

struct AofCheckResult {
  AofLoadReport report;
  bool fixed = false;
  std::uint64_t dropped_bytes = 0;  // bytes removed by the fix
};

// Errors: those of AofReader::open (missing file, not an AOF, newer format), and the Env's
// error if truncating fails.
Result<AofCheckResult> check_aof(Env& env, const std::string& path, bool fix,
                                 const RecordLimits& limits = {});

}  // namespace apiary::persist
