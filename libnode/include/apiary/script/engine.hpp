// script::Engine: Lua 5.1 as Redis embeds it, for EVAL scripts and FUNCTION libraries.
//
// Sans-IO and single-threaded: the engine owns one Lua state, compiles scripts and libraries
// into it and runs them; every command a script calls (redis.call / redis.pcall) goes to the
// Host, which runs it against the store and hands back its RESP reply. The engine converts
// between RESP and Lua both ways as Redis 7.0 does (RESP2 and RESP3), keeps the sandbox
// (no globals, no os/io/loadfile/dofile; cjson, cmsgpack, bit and struct loaded), seeds
// math.random the same way at every run, and asks the Host every 100,000 instructions whether
// to stop (busy-reply-threshold and SCRIPT KILL are the Host's business).
//
// Nothing here knows about partitions, keys or the cluster: the command layer
// (libnode/resp/commands/script_commands.cpp) checks those.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace apiary::script {

// Flags a script declares in its shebang (`#!lua flags=no-writes,allow-stale`) or a function
// at registration (`flags={'no-writes'}`), as Redis 7.0 names them.
struct Flags {
  bool declared = false;  // EVAL: a shebang was present (without one, Redis's old rules)
  bool no_writes = false;
  bool allow_oom = false;
  bool allow_stale = false;
  bool no_cluster = false;
  bool allow_cross_slot_keys = false;
};

enum class HookVerdict : unsigned char { go_on, kill };

// What a running script reaches outside the Lua state.
class Host {
 public:
  virtual ~Host() = default;
  // redis.call / redis.pcall: runs `argv` and returns its RESP reply bytes in `protocol`
  // (2 unless the script called redis.setresp(3)). An error reply ("-ERR ...\r\n") raises
  // a Lua error in redis.call and is returned as {err=...} by redis.pcall. The Host does all
  // checks (unknown command, not allowed from scripts, write in a read-only script, keys)
  // and answers them as error replies.
  virtual std::string call(std::span<const std::string_view> argv, int protocol) = 0;
  // Called about every 100,000 Lua instructions while a script or function runs.
  // HookVerdict::kill stops it with Redis's "Script killed by user with ..." error.
  virtual HookVerdict on_hook() = 0;
  // redis.log(level, message...): level is 0 debug, 1 verbose, 2 notice, 3 warning.
  virtual void log(int level, std::string_view message) = 0;
  // redis.acl_check_cmd(command, args...): std::nullopt when `argv` names no command (the
  // script then fails with "Invalid command passed to redis.acl_check_cmd()"), otherwise
  // whether the script's user may run it. The default knows no ACL and allows everything.
  virtual std::optional<bool> acl_check(std::span<const std::string_view> argv) {
    (void)argv;
    return true;
  }
};

struct Function {
  std::string name;
  std::string library;
  std::string description;  // empty: none given
  Flags flags;
};

struct Library {
  std::string name;
  std::string engine = "LUA";
  std::string code;
  std::vector<Function> functions;  // in name order
};

// A script or library that did not compile or load, with Redis's error text (without the
// leading '-' and the CRLF, e.g. "ERR Error compiling script (new function): user_script:1:
// ...").
struct Refusal {
  std::string message;
};

template <typename T>
struct Loaded {
  std::optional<T> value;  // set on success
  Refusal refusal;         // on failure
  bool ok() const { return value.has_value(); }
};

struct RunOptions {
  std::span<const std::string_view> keys;
  std::span<const std::string_view> args;
  int protocol = 2;  // the calling client's protocol: the script's reply is encoded in it
};

class Engine {
 public:
  Engine();
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // ---- EVAL scripts ----
  // Lowercase hex SHA-1 of `body` (redis.sha1hex and the script cache's key).
  static std::string sha1_hex(std::string_view body);
  // Compiles and caches `body` (SCRIPT LOAD, EVAL). Returns its sha. Loading the same body
  // again is cheap and returns the same sha.
  Loaded<std::string> load_script(std::string_view body);
  bool has_script(std::string_view sha) const;        // sha: any case, 40 hex digits
  const std::string* script_body(std::string_view sha) const;
  std::optional<Flags> script_flags(std::string_view sha) const;
  void flush_scripts();
  std::size_t script_count() const;
  std::size_t scripts_bytes() const;  // sum of the bodies' sizes (INFO used_memory_scripts)
  // Runs a cached script. Returns the reply bytes in options.protocol: the script's value
  // converted as Redis converts it, or an error reply ("-ERR ... script: <sha>, on
  // @user_script:<line>.\r\n" etc., texts as redis-server 7.0 writes them).
  std::string run_script(std::string_view sha, const RunOptions& options, Host& host);

  // ---- FUNCTION libraries ----
  // FUNCTION LOAD [REPLACE]: `code` starts with "#!lua name=<library>". Returns the
  // library's name.
  Loaded<std::string> load_library(std::string_view code, bool replace);
  bool delete_library(std::string_view name);
  void flush_libraries();
  const Function* find_function(std::string_view name) const;
  const Library* find_library(std::string_view name) const;
  std::vector<const Library*> libraries() const;  // in name order
  std::size_t function_count() const;
  std::size_t libraries_bytes() const;
  // FCALL: runs a loaded function (find_function first). Reply as run_script's.
  std::string run_function(std::string_view name, const RunOptions& options, Host& host);

  // Bytes the Lua states hold (INFO's used_memory_lua / used_memory_vm_eval and
  // used_memory_vm_functions).
  std::size_t eval_memory_bytes() const;
  std::size_t functions_memory_bytes() const;

  // True while a script or function runs (redis.call may re-enter the Host, never the
  // engine: EVAL from a script is refused by the Host).
  bool running() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace apiary::script
