// A ClusterKeyspace whose keyspace commands do nothing, for unit tests that only exercise its
// messaging side (pub/sub, tracking): derive and override tell_member & co.
#pragma once

#include <string_view>
#include <vector>

#include "apiary/resp/cluster_keyspace.hpp"

namespace apiary::test {

struct FakeClusterKeyspace : resp::ClusterKeyspace {
  resp::Outcome dbsize(resp::CommandContext&) override { return resp::Outcome::done(); }
  resp::Outcome keys(resp::CommandContext&, std::string_view) override {
    return resp::Outcome::done();
  }
  resp::Outcome scan(resp::CommandContext&, const resp::ScanRequest&) override {
    return resp::Outcome::done();
  }
  resp::Outcome randomkey(resp::CommandContext&) override { return resp::Outcome::done(); }
  resp::Outcome flush(resp::CommandContext&) override { return resp::Outcome::done(); }
  resp::Outcome info(resp::CommandContext&, const std::vector<std::string_view>&) override {
    return resp::Outcome::done();
  }
};

}  // namespace apiary::test
