// Every tunable of the membership protocol, with the LAN-profile defaults (modelled on
// hashicorp/memberlist's DefaultLANConfig).
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "apiary/base/time.hpp"

namespace apiary::gossip {

using namespace std::chrono_literals;

struct SwimConfig {
  // Cluster name; every message carries it and messages for another cluster are dropped.
  std::string cluster_name = "apiary";

  // Failure detection.
  Duration probe_interval = 1s;     // one probe round per interval (scaled by local health)
  Duration probe_timeout = 500ms;   // direct ack deadline before indirect probing
  std::size_t indirect_checks = 3;  // members asked to ping-req a silent target
  // Minimum suspicion timeout = mult * max(1, log10(n)) * probe_interval (n = live members).
  // With Lifeguard a suspicion starts at max_timeout_mult * that minimum and shrinks towards
  // it as independent confirmations arrive (mult - 2 expected); plain SWIM uses the minimum.
  std::size_t suspicion_mult = 4;
  std::size_t suspicion_max_timeout_mult = 6;

  // Lifeguard. Turning it off gives plain SWIM (the simulator compares the two).
  bool lifeguard = true;
  // Local health score s in [0, this - 1]; probe interval and timeout are scaled by (1 + s).
  std::size_t awareness_max_multiplier = 8;
  // An input that arrives this much after the deadline the node asked for means the node was
  // stalled (GC, CPU starvation, VM pause). With Lifeguard its local health worsens with the
  // stall, and the stalled time does not count against the members it is probing or suspects:
  // their acks and refutations may be waiting unread. Plain SWIM expires what is overdue.
  Duration stall_threshold = 250ms;

  // Dissemination.
  std::size_t retransmit_mult = 4;  // each update sent retransmit_mult * ceil(log10(n+1)) times
  Duration gossip_interval = 200ms;
  std::size_t gossip_nodes = 3;
  Duration gossip_to_dead = 30s;        // keep gossiping to dead members this long
  std::size_t max_packet_bytes = 1400;  // budget for one packet with piggybacked updates
  // Updates waiting for dissemination are capped (~300 bytes each); past the cap the one sent
  // most often is dropped (push-pull repairs what gossip then misses). Matters in join storms
  // and mass failures, when every member is news to everyone at once.
  std::size_t max_queued_updates = 1024;

  // Anti-entropy: full state exchange with one random member.
  // Scaled up with cluster size as memberlist does: above 32 members multiplied by
  // ceil(log2(n) - log2(32)) + 1.
  Duration push_pull_interval = 30s;

  // Joining.
  Duration join_retry_initial = 1s;  // backoff between attempts to reach the seeds
  Duration join_retry_max = 30s;

  // How long dead / left members are remembered before being forgotten.
  Duration dead_reclaim_time = 60s;

  // Hard caps applied when decoding messages from the network.
  std::size_t max_members_per_message = 16384;
  std::size_t max_message_bytes = 4 << 20;  // push-pull of a large cluster is the biggest
};

}  // namespace apiary::gossip
