// Migrator: MIGRATE's I/O, on the node's event loop (resp::Migrator's runtime side).
// Internal to libnode/runtime.
//
// For each key, in order: APIARY.VGET (the causal context of what is about to be moved), DUMP
// and PTTL, each routed through the cluster as a client's command (DataCalls::run_command), so
// the key may live on any member. Then one non-blocking TCP connection to the target: [AUTH],
// SELECT db and one RESTORE key ttl payload [REPLACE] per key, pipelined; the replies are
// read line by line. Unless COPY, every key the target accepted is deleted with APIARY.VDEL
// key context digest: only what was dumped goes, so a write that lands meanwhile survives (a
// string keeps the siblings the context did not cover; a collection whose DUMP no longer
// matches the digest is kept whole, then on both sides). The client then gets +OK, +NOKEY, the
// target's error or Redis's IOERR texts. `timeout` bounds every wait on the target (connect,
// each write, each read), as Redis's does. No connection is cached between commands, and
// only numeric addresses and "localhost" are accepted as the host (no blocking DNS lookup on
// the loop).
//
// Thread safety: loop thread only. Destroying it abandons the migrations in flight (their
// clients get no reply; the node is stopping).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "apiary/resp/migrator.hpp"
#include "apiary/runtime/event_loop.hpp"
#include "data_calls.hpp"

namespace apiary::runtime {

class Migrator final : public resp::Migrator {
 public:
  // Delivers a finished MIGRATE's reply to its client (on the loop thread).
  using Complete =
      std::function<void(resp::ClientId client, resp::PendingToken token, std::string reply)>;

  Migrator(EventLoop& loop, DataCalls& calls, Complete complete);
  ~Migrator() override;
  Migrator(const Migrator&) = delete;
  Migrator& operator=(const Migrator&) = delete;

  void migrate(resp::MigrateRequest request) override;

 private:
  struct Job;
  enum class Io : unsigned char { connecting, writing, reading };

  Job* find(std::uint64_t id);
  void read_key(std::uint64_t id, std::size_t index);
  void connect(Job& job);
  void on_socket(std::uint64_t id, std::uint32_t ready);
  bool flush(Job& job);    // false after a write error
  bool receive(Job& job);  // false after a read error or EOF
  void arm_timer(Job& job);
  void on_replies(Job& job, bool socket_error, Io failed_at);
  void delete_moved(std::uint64_t id, std::size_t index);
  void finish(std::uint64_t id, std::string reply);
  void close_socket(Job& job);

  EventLoop& loop_;
  DataCalls& calls_;
  Complete complete_;
  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, std::unique_ptr<Job>> jobs_;
};

}  // namespace apiary::runtime
