// DataCalls: the embedding API's data calls (apiary::Node::get, set, ...) on top of the
// Router. Internal to libnode/runtime.
//
// A call becomes the Redis command a client would send (GET, SET ... PX NX, DEL, PEXPIRE,
// PTTL, APIARY.VGET, APIARY.VPUT), posted to the node's loop and routed like a client's
// (Router::call, RESP3 replies); the reply is decoded into the call's Result. Calls that
// arrive before the node has its first cluster view are held until it has one.
//
// Promises: every call completes exactly once -- on the loop thread, or with `unavailable`
// on the thread that calls close() (or on the caller's thread after close()). The blocking
// forms refuse to run on the loop thread (they would wait for themselves).
// Thread safety: the call methods, on_loop_thread() and calls() from any thread; set_router,
// set_ready and deliver on the loop thread; close() once the loop has stopped.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "apiary/node.hpp"
#include "apiary/routing/router.hpp"
#include "apiary/runtime/event_loop.hpp"
#include "near_cache.hpp"

namespace apiary::runtime {

// One decoded RESP3 reply (what the Router's commands answer).
struct Reply {
  enum class Type : unsigned char { simple, error, integer, bulk, null, array };
  Type type = Type::null;
  std::string text;  // simple, error, bulk
  std::int64_t integer = 0;
  std::vector<Reply> items;  // array
};
// Parses exactly one reply filling `bytes`; malformed input gives an error Status.
Result<Reply> parse_reply(std::string_view bytes);
// A routed call's reply, or the cluster's typed failure.
Result<Reply> outcome(const routing::CallReply& reply);
// The Status for a command's own error reply: OOM -> out_of_memory, others invalid_argument.
Status error_status(std::string_view message);

class DataCalls {
 public:
  DataCalls(EventLoop& loop, std::uint32_t replicas);
  DataCalls(const DataCalls&) = delete;
  DataCalls& operator=(const DataCalls&) = delete;

  void set_router(routing::Router* router) { router_ = router; }
  // The near cache (near_cache.hpp) and how to track a key for it on the loop thread (true
  // when the key is tracked, i.e. this member does not own it). Unset: no near cache.
  void set_near_cache(NearCache* cache, std::function<bool(std::string_view)> track) {
    near_ = cache;
    track_ = std::move(track);
  }
  void set_loop_thread(std::thread::id id) { loop_thread_ = id; }
  bool on_loop_thread() const { return std::this_thread::get_id() == loop_thread_.load(); }
  // The node has a cluster view: held calls run now, new ones at once.
  void set_ready(TimePoint now, WallTime wall);
  // Replies of calls that went pending in the Router.
  void deliver(std::vector<routing::CallReply> replies);
  // The loop has stopped: every call still pending completes with `unavailable`, and calls
  // made from now on fail at once.
  void close();
  std::uint64_t calls() const { return calls_.load(); }

  void get(std::string_view key, CallOptions options, Callback<std::optional<std::string>> done);
  void set(std::string_view key, std::string_view value, const SetOptions& options,
           Callback<bool> done);
  void del(std::string_view key, CallOptions options, Callback<bool> done);
  void expire(std::string_view key, std::chrono::milliseconds ttl, CallOptions options,
              Callback<bool> done);
  void ttl(std::string_view key, CallOptions options, Callback<KeyTtl> done);
  void get_versions(std::string_view key, CallOptions options, Callback<Versions> done);
  void put(std::string_view key, std::string_view value, const CausalContext& context,
           const PutOptions& options, Callback<bool> done);

  // Any command, routed as a client's (RESP3), with its decoded reply: error replies arrive
  // as Reply::Type::error, the cluster's failures as an error Status (MIGRATE's reads and
  // deletes, runtime/migrator.hpp).
  void run_command(std::vector<std::string> argv, std::function<void(Result<Reply>)> done) {
    submit(std::move(argv), CallOptions{}, std::move(done));
  }

  // Runs an asynchronous call and waits for its result (refused on the loop thread).
  template <typename T, typename Start>
  Result<T> wait(Start start) {
    if (on_loop_thread()) {
      return make_error(StatusCode::invalid_argument,
                        "a blocking data call on the node's loop thread would deadlock; use "
                        "the *_async form in callbacks");
    }
    std::promise<Result<T>> promise;
    auto future = promise.get_future();
    start([&promise](Result<T> r) { promise.set_value(std::move(r)); });
    return future.get();
  }

 private:
  using Done = std::function<void(Result<Reply>)>;
  struct Held {
    std::uint64_t id = 0;
    std::vector<std::string> argv;
    replication::QuorumOverride quorum;
    bool near_fill = false;  // a GET whose reply may fill the near cache
  };
  // Registers the call and posts it to the loop.
  void submit(std::vector<std::string> argv, CallOptions options, Done done,
              bool near_fill = false);
  // A write through this node: its key leaves the near cache when the write is sent and
  // again when it completes (a read that began before it cannot fill the cache after it).
  template <typename T>
  Callback<T> after_write(std::string_view key, Callback<T> done) {
    if (near_ == nullptr) return done;
    near_->erase(key);
    return [near = near_, k = std::string(key), done = std::move(done)](Result<T> r) {
      near->erase(k);
      done(std::move(r));
    };
  }
  void run(Held call, TimePoint now, WallTime wall);  // loop thread
  void complete(std::uint64_t id, Result<Reply> reply);

  EventLoop& loop_;
  const std::uint32_t replicas_;
  routing::Router* router_ = nullptr;
  std::atomic<std::thread::id> loop_thread_{};
  std::atomic<std::uint64_t> calls_{0};

  std::mutex mutex_;
  bool closed_ = false;
  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, Done> inflight_;

  bool ready_ = false;      // loop thread only
  std::vector<Held> held_;  // loop thread only: calls before the first view
  NearCache* near_ = nullptr;
  std::function<bool(std::string_view)> track_;
  std::map<std::uint64_t, std::pair<std::string, std::uint64_t>> fills_;  // loop thread: call -> (key, ticket)
};

}  // namespace apiary::runtime
