// A client's MULTI/EXEC state (libnode/resp/commands/transaction_commands.cpp runs it).
//
// Between MULTI and EXEC the connection queues every command except EXEC, DISCARD, MULTI,
// WATCH, QUIT and RESET (which run at once), answering +QUEUED; a command refused while
// queuing (unknown, wrong arity, OOM) marks the transaction dirty and EXEC then answers
// EXECABORT. WATCH records each key with the version its coordinator held then
// (Store::version_hash, as hex; empty for a missing key); EXEC sends the queued commands and
// the watched versions to the keys' coordinator as one command (APIARY.EXEC), which runs
// them one after the other, or none when a watched version changed.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace apiary::resp {

struct WatchedKey {
  std::string key;
  std::string version;  // hex of the coordinator's version hash; empty: the key was missing
};

struct Transaction {
  bool multi = false;
  bool dirty = false;  // a command was refused while queuing: EXEC answers EXECABORT
  std::vector<std::vector<std::string>> queued;
  std::size_t queued_bytes = 0;
  std::vector<WatchedKey> watched;

  // DISCARD, EXEC and RESET: out of MULTI; the watched keys are forgotten too.
  void clear() {
    multi = false;
    dirty = false;
    queued.clear();
    queued_bytes = 0;
    watched.clear();
  }
};

}  // namespace apiary::resp
