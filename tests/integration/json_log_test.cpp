// --log-format json and the node's event log (GET /v1/events) on real apiaryd processes:
// every log line is a JSON object with the stable fields, a kill -9 and a graceful leave show
// up as member and handoff events with increasing ids, in the log and on the admin port.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "integration/support/cluster.hpp"

using namespace apiary::test;

namespace {

// Checks a JSON log (mode "log": every line an object with ts, level, msg and node, event ids
// increasing) or a GET /v1/events body (mode "events": ids increasing, each with id, time,
// type and message), and prints one line per event: id type member state direction phase
// peer keys complete command key count ("-" for a missing field). Exit code 1 and the reason
// on a violation.
constexpr const char* kChecker = R"py(
import json, re, sys
mode, path = sys.argv[1], sys.argv[2]
def show(e, id_key, type_key):
    f = lambda k: str(e.get(k, "-")).lower()
    return " ".join([str(e[id_key]), e[type_key]] +
                    [f(k) for k in ("member", "state", "direction", "phase", "peer", "keys",
                                    "complete", "command", "key", "count")])
last = 0
if mode == "events":
    for e in json.load(open(path, encoding="utf-8"))["events"]:
        missing = [k for k in ("id", "time", "type", "message") if k not in e]
        if missing or e["id"] <= last:
            print("bad event after id %d: %r" % (last, e)); sys.exit(1)
        last = e["id"]
        print(show(e, "id", "type"))
else:
    node = sys.argv[3]
    ts = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        try:
            o = json.loads(line)
        except ValueError as err:
            print("line %d is not JSON (%s): %r" % (n, err, line)); sys.exit(1)
        if (not isinstance(o, dict) or any(k not in o for k in ("ts", "level", "msg", "node"))
                or o["node"] != node or not ts.fullmatch(o["ts"])
                or o["level"] not in ("trace", "debug", "info", "warn", "error", "critical")):
            print("line %d lacks the fields: %r" % (n, line)); sys.exit(1)
        if "event_id" in o:
            if o["event_id"] <= last or "event" not in o:
                print("line %d: event id %r after %d" % (n, o["event_id"], last)); sys.exit(1)
            last = o["event_id"]
            print(show(o, "event_id", "event"))
)py";

struct Event {
  long long id = 0;
  std::string type, member, state, direction, phase, peer, keys, complete, command, key, count;
};

struct Checked {
  bool ok = false;
  std::string output;
  std::vector<Event> events;
};

Checked check(const std::string& mode, const std::string& content, const std::string& node = "") {
  static int counter = 0;
  const auto dir = scratch_dir();
  const auto script = dir / "json_log_check.py";
  if (!std::filesystem::exists(script)) std::ofstream(script) << kChecker;
  const auto file = dir / ("json_log_input_" + std::to_string(counter++));
  std::ofstream(file, std::ios::binary) << content;
  auto [code, out] =
      run("python3 " + script.string() + " " + mode + " " + file.string() + " " + node);
  Checked c;
  c.ok = code == 0;
  c.output = out;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    Event e;
    if (fields >> e.id >> e.type >> e.member >> e.state >> e.direction >> e.phase >> e.peer >>
        e.keys >> e.complete >> e.command >> e.key >> e.count) {
      c.events.push_back(e);
    }
  }
  return c;
}

std::vector<Event> node_events(const Daemon& d) {
  auto body = http_get(d.http(), "/v1/events");
  if (!body) return {};
  return check("events", *body).events;
}

// The id of the first event of `type` matching the fields given (empty: any), or 0.
long long find(const std::vector<Event>& events, const std::string& type, const std::string& member,
               const std::string& state, long long after = 0) {
  for (const auto& e : events) {
    if (e.id > after && e.type == type && (member.empty() || e.member == member) &&
        (state.empty() || e.state == state)) {
      return e.id;
    }
  }
  return 0;
}

bool has_handoff(const std::vector<Event>& events, const std::string& direction,
                 const std::string& phase) {
  for (const auto& e : events) {
    if (e.type == "handoff" && e.direction == direction && e.phase == phase) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("the JSON log format: JSON lines, events for a leave and a kill -9, GET /v1/events",
          "[integration][observability]") {
  // Dead members keep their partitions (and writes their quorum) for the whole test.
  auto nodes = start_cluster("jl", 4, {"--log-format", "json", "--dead-grace-ms", "600000"});
  REQUIRE(eventually(30s, [&] { return settled(nodes); }));
  // Data, so that the leave below has something to hand over.
  run("seq 1 400 | sed 's/.*/SET key:& value:&/' | redis-cli -p " + nodes[0]->redis_port() +
      " >/dev/null");
  REQUIRE(cli(*nodes[0], "DBSIZE") == "400\n");

  // Every line so far is JSON, the ready line included, and the joins are member events.
  for (const auto& n : nodes) {
    const auto checked = check("log", n->log(), n->name());
    INFO(n->name() << ":\n" << checked.output << n->log());
    REQUIRE(checked.ok);
    CHECK(find(checked.events, "member", n->name(), "joined") != 0);
  }

  // 1. A graceful leave: the leaver logs its handoffs to the others (started, then finished
  // with the keys it sent) and the leave itself; a survivor shows the departure.
  nodes[3]->signal(SIGTERM);
  REQUIRE(nodes[3]->wait_exit(60s) == 0);
  {
    const auto checked = check("log", nodes[3]->log(), "jl4");
    INFO(checked.output << nodes[3]->log());
    REQUIRE(checked.ok);
    const auto& events = checked.events;
    CHECK(find(events, "leave", "", "") != 0);
    CHECK(has_handoff(events, "out", "started"));
    bool sent = false;
    for (const auto& e : events) {
      if (e.type == "handoff" && e.direction == "out" && e.phase == "finished") {
        CHECK(e.complete == "true");
        CHECK(e.keys != "-");
        sent = sent || (e.keys != "-" && std::stoll(e.keys) > 0);
      }
    }
    CHECK(sent);
  }
  const bool left_seen = eventually(20s, [&] {
    const auto events = node_events(*nodes[0]);
    return find(events, "member", "jl4", "left") != 0 && has_handoff(events, "in", "finished");
  });
  {
    auto body = http_get(nodes[0]->http(), "/v1/events");
    INFO((body ? *body : "no answer"));
    CHECK(left_seen);
  }

  // 2. kill -9: the survivors log the victim suspect, then dead, as events with ids; the
  // admin port lists them in order.
  nodes[2]->kill_now();
  long long suspect = 0;
  long long dead = 0;
  const bool dead_seen = eventually(45s, [&] {
    const auto events = node_events(*nodes[0]);
    suspect = find(events, "member", "jl3", "suspect");
    dead = find(events, "member", "jl3", "dead");
    return dead != 0;
  });
  {
    auto body = http_get(nodes[0]->http(), "/v1/events");
    INFO((body ? *body : "no answer"));
    REQUIRE(dead_seen);
    CHECK(suspect != 0);
    CHECK(suspect < dead);
  }
  // ?after=N lists the later events only.
  {
    auto after = http_get(nodes[0]->http(), "/v1/events?after=" + std::to_string(suspect));
    REQUIRE(after);
    const auto later = check("events", *after);
    REQUIRE(later.ok);
    REQUIRE(!later.events.empty());
    CHECK(later.events.front().id == suspect + 1);
    CHECK(find(later.events, "member", "jl3", "dead") == dead);
  }
  // The same events in the survivors' logs, with the same fields.
  for (int i : {0, 1}) {
    const bool logged = eventually(10s, [&] {
      const auto checked = check("log", nodes[i]->log(), nodes[i]->name());
      return checked.ok && find(checked.events, "member", "jl3", "dead") != 0;
    });
    const auto checked = check("log", nodes[i]->log(), nodes[i]->name());
    INFO(checked.output << nodes[i]->log());
    CHECK(logged);
    CHECK(find(checked.events, "member", "jl3", "suspect") != 0);
  }
  // The killed node's log too is JSON up to its last line.
  {
    const auto killed = check("log", nodes[2]->log(), "jl3");
    INFO(killed.output);
    CHECK(killed.ok);
  }

  // 3. Write quorum failures: alone with two dead owners, jl1 answers writes NOREPLICAS (W=2)
  // and reports them as quorum_failure events whose counts add up to INFO's counter.
  nodes[1]->kill_now();
  REQUIRE(
      eventually(45s, [&] { return find(node_events(*nodes[0]), "member", "jl2", "dead") != 0; }));
  const auto replies = run("printf 'SET qf:1 v\\nSET qf:2 v\\nINCR qf:3\\nSET qf:4 v\\n' | "
                           "redis-cli -p " +
                           nodes[0]->redis_port())
                           .second;
  INFO(replies);
  REQUIRE(replies.find("NOREPLICAS") != std::string::npos);
  long long counted = 0;
  long long failures = -1;
  const bool reported = eventually(10s, [&] {
    counted = 0;
    for (const auto& e : node_events(*nodes[0])) {
      if (e.type == "quorum_failure") counted += std::stoll(e.count);
    }
    failures = info_field(*nodes[0], "cluster_write_quorum_failures");
    return failures >= 4 && counted == failures;
  });
  CHECK(reported);
  CHECK(counted == failures);
  const auto events = node_events(*nodes[0]);
  bool first_named = false;
  for (const auto& e : events) {
    first_named =
        first_named || (e.type == "quorum_failure" && e.command == "set" && e.key == "qf:1");
  }
  CHECK(first_named);
  const auto checked = check("log", nodes[0]->log(), "jl1");
  INFO(checked.output);
  CHECK(checked.ok);
}

TEST_CASE("the text log format keeps human lines, with event ids", "[integration][observability]") {
  Daemon node("jt1", {});
  const bool logged = eventually(5s, [&] {
    const std::string log = node.log();
    return log.find(" info [event 1] ") != std::string::npos &&
           log.find("] member jt1 (") != std::string::npos;
  });
  INFO(node.log());
  CHECK(logged);
  CHECK(node.log().find("{\"ts\"") == std::string::npos);
}

TEST_CASE("apiaryd rejects an unknown --log-format with exit code 2 and a message",
          "[integration][observability][cli]") {
  auto [code, out] = run(std::string(APIARYD_PATH) + " --log-format xml");
  INFO(out);
  CHECK(code == 2);
  CHECK(out.find("--log-format") != std::string::npos);
}
