// VersionVector: a plain version vector (actor -> counter), the causal context a reader gets.
//
// A context says "I have seen every event (actor, 1..counter) for each actor listed". It is a
// value: cheap to copy, comparable, and encodable to opaque bytes (encode_context below)
// so an embedding API can hand it to users without exposing its structure. Entries are kept
// sorted by actor with counters > 0, so two equal vectors have equal representations.
// A plain value: safe to copy between threads, not to mutate from two at once.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "apiary/base/ids.hpp"
#include "apiary/base/status.hpp"

namespace apiary::data {

// Partial order of two causal histories.
enum class Order : unsigned char { equal, before, after, concurrent };
const char* to_string(Order order);

struct VvEntry {
  NodeId actor;
  std::uint64_t counter = 0;
  friend bool operator==(const VvEntry&, const VvEntry&) = default;
};

class VersionVector {
 public:
  VersionVector() = default;
  // Entries in any order; zero counters are dropped and duplicates keep the larger counter.
  static VersionVector from_entries(std::vector<VvEntry> entries);

  std::uint64_t get(NodeId actor) const;
  // Raises actor's counter to at least `counter`.
  void raise(NodeId actor, std::uint64_t counter);
  // Pointwise maximum.
  void join(const VersionVector& other);
  // True when the event (actor, counter) is part of this history.
  bool covers(NodeId actor, std::uint64_t counter) const { return counter <= get(actor); }

  bool empty() const { return entries_.empty(); }
  std::size_t size() const { return entries_.size(); }
  const std::vector<VvEntry>& entries() const { return entries_; }

  friend bool operator==(const VersionVector&, const VersionVector&) = default;

 private:
  std::vector<VvEntry> entries_;  // sorted by actor, counters > 0
};

// Where `a` stands relative to `b`: before means every event of a is in b and b has more.
Order compare(const VersionVector& a, const VersionVector& b);

// Opaque bytes for a context (MessagePack inside, but callers must not rely on that).
// Decoding is bounded: at most `max_entries` actors, strictly increasing actors, counters > 0,
// no trailing bytes; anything else is `malformed` or `too_large`, never a crash.
std::string encode_context(const VersionVector& context);
Result<VersionVector> decode_context(std::span<const std::uint8_t> bytes,
                                     std::size_t max_entries = 256);

}  // namespace apiary::data
