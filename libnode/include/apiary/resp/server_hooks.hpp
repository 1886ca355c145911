// What the layers around a Server plug into it for blocking commands and long scripts
// (Server::set_blocking_hooks, Server::set_busy_watch).
#pragma once

#include <cstdint>
#include <functional>

#include "apiary/base/time.hpp"

namespace apiary::resp {

using ClientId = std::uint64_t;

// The cluster layer's side of blocking commands (BLPOP, ...), which it parks: `unblock`
// answers CLIENT UNBLOCK (true when the client was blocked and is being released with the
// timeout's null, or CLIENT UNBLOCK's error when `error`); `closed` hears of every client that
// goes away, so that what it parked for the client is dropped. Unset: CLIENT UNBLOCK answers 0.
struct BlockingHooks {
  std::function<bool(ClientId, bool error)> unblock;
  std::function<void(ClientId)> closed;
};

// The driver's side of a long script: a monotonic clock to measure it by, and a way to read
// and answer the other clients while it runs (never `running`, the client whose command runs
// the script), which returns true when the node is shutting down and the script must stop
// whatever it wrote. Unset (the simulator): scripts are never busy. `keep_alive` answers the
// failure detector's probes; it is called every few milliseconds from a script's first 200 ms
// on, before the node turns busy, so that no script gets its node suspected by the others.
struct BusyWatch {
  std::function<TimePoint()> now;
  std::function<bool(ClientId running)> serve;
  std::function<void()> keep_alive;
};

}  // namespace apiary::resp
