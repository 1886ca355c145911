// A script::Host for tests: a tiny string store (SET, GET, DEL, INCR, PING, ECHO) and canned
// replies for anything else, plus a kill switch and a log.
#pragma once

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/script/engine.hpp"

namespace apiary::test {

class FakeScriptHost : public script::Host {
 public:
  std::map<std::string, std::string> store;
  std::map<std::string, std::string> canned;  // lowercase command name -> reply bytes
  std::vector<std::vector<std::string>> calls;
  std::vector<std::pair<int, std::string>> logs;
  int hooks = 0;
  int kill_after_hooks = -1;  // -1: never

  std::string call(std::span<const std::string_view> argv, int protocol) override {
    std::vector<std::string> args(argv.begin(), argv.end());
    calls.push_back(args);
    std::string name = args[0];
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (auto it = canned.find(name); it != canned.end()) return it->second;
    if (name == "ping") return args.size() > 1 ? bulk(args[1]) : "+PONG\r\n";
    if (name == "echo" && args.size() == 2) return bulk(args[1]);
    if (name == "set" && args.size() == 3) {
      store[args[1]] = args[2];
      return "+OK\r\n";
    }
    if (name == "get" && args.size() == 2) {
      auto it = store.find(args[1]);
      if (it == store.end()) return protocol == 3 ? "_\r\n" : "$-1\r\n";
      return bulk(it->second);
    }
    if (name == "del") {
      int n = 0;
      for (std::size_t j = 1; j < args.size(); ++j) n += static_cast<int>(store.erase(args[j]));
      return ":" + std::to_string(n) + "\r\n";
    }
    if (name == "incr" && args.size() == 2) {
      long long v = store.count(args[1]) ? std::stoll(store[args[1]]) : 0;
      store[args[1]] = std::to_string(++v);
      return ":" + std::to_string(v) + "\r\n";
    }
    if (name == "set" || name == "get" || name == "incr") {
      return "-ERR wrong number of arguments for '" + name + "' command\r\n";
    }
    return "-ERR Unknown Redis command called from script\r\n";
  }

  script::HookVerdict on_hook() override {
    ++hooks;
    if (kill_after_hooks >= 0 && hooks > kill_after_hooks) return script::HookVerdict::kill;
    return script::HookVerdict::go_on;
  }

  void log(int level, std::string_view message) override {
    logs.emplace_back(level, std::string(message));
  }

  std::vector<std::string> denied;  // lowercase command names acl_check refuses

  std::optional<bool> acl_check(std::span<const std::string_view> argv) override {
    std::string name(argv[0]);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    static const std::vector<std::string> known = {"ping", "echo", "set", "get", "del", "incr"};
    if (std::find(known.begin(), known.end(), name) == known.end() && canned.count(name) == 0) {
      return std::nullopt;
    }
    return std::find(denied.begin(), denied.end(), name) == denied.end();
  }

  static std::string bulk(std::string_view s) {
    return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n";
  }
};

// `body` run as EVAL runs it: loaded (a compile error is the reply), then run with `keys` and
// `args` for a client of `protocol`.
inline std::string eval(script::Engine& engine, std::string_view body, FakeScriptHost& host,
                        int protocol = 2, std::vector<std::string_view> keys = {},
                        std::vector<std::string_view> args = {}) {
  auto loaded = engine.load_script(body);
  if (!loaded.ok()) return "-" + loaded.refusal.message + "\r\n";
  script::RunOptions options;
  options.keys = keys;
  options.args = args;
  options.protocol = protocol;
  return engine.run_script(*loaded.value, options, host);
}

// What Redis appends to a script's runtime error: where it happened.
inline std::string tail(std::string_view body, int line = 1) {
  return " script: " + script::Engine::sha1_hex(body) + ", on @user_script:" +
         std::to_string(line) + ".\r\n";
}

}  // namespace apiary::test
