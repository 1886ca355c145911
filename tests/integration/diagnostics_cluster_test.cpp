// The slow log and MONITOR in a real three-node cluster: a command sent through one member
// and run at its key's coordinator is in the coordinator's slow log (client: the member that
// forwarded it) and in the receiving member's (client: the connection's address), once each;
// MONITOR shows it on the member the client is connected to only.
#include <catch2/catch.hpp>
#include <chrono>
#include <regex>
#include <string>
#include <vector>

#include "integration/support/cluster.hpp"
#include "integration/support/redis_server.hpp"

using namespace apiary::test;
using namespace std::chrono_literals;

namespace {

// How many entries of SLOWLOG GET -1 are `argv` (its arguments in order), and the client
// fields of those entries.
struct Found {
  int count = 0;
  std::vector<std::string> clients;
};

Found find_entries(RespClient& c, const std::vector<std::string>& argv) {
  const std::string reply = c.command({"SLOWLOG", "GET", "-1"});
  std::string args = "*" + std::to_string(argv.size()) + "\r\n";
  for (const auto& a : argv) args += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  Found out;
  for (std::size_t at = reply.find(args); at != std::string::npos; at = reply.find(args, at + 1)) {
    ++out.count;
    const std::size_t client_at = at + args.size();
    const std::size_t len_end = reply.find("\r\n", client_at);
    const auto len = std::stoul(reply.substr(client_at + 1, len_end - client_at - 1));
    out.clients.push_back(reply.substr(len_end + 2, len));
  }
  return out;
}

}  // namespace

TEST_CASE("diagnostics: a command run at its key's coordinator is in that member's slow log",
          "[integration][diagnostics]") {
  auto nodes = start_cluster("diagc", 3, {});
  REQUIRE(eventually(15s, [&] { return settled(nodes); }));  // coordinators stay put
  const std::string key = "slow-key";
  const int coordinator = coordinator_of(nodes, key);
  REQUIRE(coordinator >= 0);
  const int entry = (coordinator + 1) % 3;  // the member the client talks to
  const int bystander = (coordinator + 2) % 3;

  std::vector<std::unique_ptr<RespClient>> admin;
  for (const auto& n : nodes) {
    admin.push_back(std::make_unique<RespClient>(n->redis_port()));
    CHECK(admin.back()->command({"CONFIG", "SET", "slowlog-log-slower-than", "0"}) == "+OK\r\n");
    CHECK(admin.back()->command({"SLOWLOG", "RESET"}) == "+OK\r\n");
  }
  RespClient monitor_entry(nodes[entry]->redis_port());
  RespClient monitor_coordinator(nodes[coordinator]->redis_port());
  CHECK(monitor_entry.command({"MONITOR"}) == "+OK\r\n");
  CHECK(monitor_coordinator.command({"MONITOR"}) == "+OK\r\n");

  RespClient client(nodes[entry]->redis_port());
  CHECK(client.command({"CLIENT", "SETNAME", "far"}) == "+OK\r\n");
  const std::vector<std::string> set = {"SET", key, "through-another-member"};
  CHECK(client.command(set) == "+OK\r\n");
  CHECK(client.command({"ECHO", "done"}) == "$4\r\ndone\r\n");

  // The coordinator ran it for the entry member: logged once, the member's name as client.
  const Found at_coordinator = find_entries(*admin[coordinator], set);
  CHECK(at_coordinator.count == 1);
  REQUIRE(at_coordinator.clients.size() == 1);
  CHECK(at_coordinator.clients[0] == nodes[entry]->name());
  // The entry member logged its client's command (the time it held that member's loop).
  const Found at_entry = find_entries(*admin[entry], set);
  CHECK(at_entry.count == 1);
  REQUIRE(at_entry.clients.size() == 1);
  CHECK(std::regex_match(at_entry.clients[0], std::regex(R"(127\.0\.0\.1:\d+)")));
  CHECK(find_entries(*admin[bystander], set).count == 0);

  // A transaction through the entry member runs at the coordinator: its commands are in the
  // coordinator's slow log, the transaction itself (EXEC, APIARY.EXEC) in none.
  const std::vector<std::string> queued = {"SET", key, "in-a-transaction"};
  CHECK(client.command({"MULTI"}) == "+OK\r\n");
  CHECK(client.command(queued) == "+QUEUED\r\n");
  CHECK(client.command({"EXEC"}) == "*1\r\n+OK\r\n");
  CHECK(find_entries(*admin[coordinator], queued).count == 1);
  CHECK(find_entries(*admin[entry], queued).count == 0);
  for (int i : {entry, coordinator}) {
    const std::string log = admin[i]->command({"SLOWLOG", "GET", "-1"});
    CHECK(log.find("apiary.exec") == std::string::npos);
    CHECK(log.find("$4\r\nEXEC\r\n") == std::string::npos);
  }

  // MONITOR: on the entry member the command and the ECHO after it; on the coordinator,
  // nothing of this client (the next line there is the coordinator's own client's PING).
  auto next_line = [](RespClient& m) { return m.reply(); };
  CHECK(next_line(monitor_entry).find("\"CLIENT\" \"SETNAME\" \"far\"") != std::string::npos);
  CHECK(next_line(monitor_entry).find("\"SET\" \"slow-key\" \"through-another-member\"") !=
        std::string::npos);
  CHECK(next_line(monitor_entry).find("\"ECHO\" \"done\"") != std::string::npos);
  CHECK(next_line(monitor_entry).find("\"MULTI\"") != std::string::npos);
  CHECK(next_line(monitor_entry).find("\"SET\" \"slow-key\" \"in-a-transaction\"") !=
        std::string::npos);
  CHECK(next_line(monitor_entry).find("\"EXEC\"") != std::string::npos);
  RespClient local(nodes[coordinator]->redis_port());
  CHECK(local.command({"PING", "own-client"}) == "$10\r\nown-client\r\n");
  CHECK(next_line(monitor_coordinator).find("\"PING\" \"own-client\"") != std::string::npos);
}
