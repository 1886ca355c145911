// The parts of a data::Collection (collection.hpp) that callers hold on their own: one
// element's decoded version, one change a write made (delta replication), the decoding
// limits, and ElementView, a read-only view of one element's record.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/base/hlc.hpp"
#include "apiary/data/dvv.hpp"

namespace apiary::data {

class Collection;

// One write of an element, decoded.
struct ElementVersion {
  Dot dot;
  HlcTimestamp stamp;
  std::string value;                   // hash fields and zset scores only
  ValueKind kind = ValueKind::string;  // string or counter
  friend bool operator==(const ElementVersion&, const ElementVersion&) = default;
};

// One change a coordinator's write made to a collection, as replicas replay it (delta
// replication: Store::take_delta / apply_delta).
struct ElementChange {
  enum class Kind : std::uint8_t { set = 0, remove = 1, clear = 2 };
  Kind kind = Kind::set;
  std::string name;
  std::string value;                         // set of a hash field
  ValueKind value_kind = ValueKind::string;  // string or counter
  friend bool operator==(const ElementChange&, const ElementChange&) = default;
};

struct CollectionLimits {
  std::size_t max_elements = 16u << 20;
  std::size_t max_name_bytes = 512u << 20;
  std::size_t max_versions = 64;
  std::size_t max_context = 256;
};

// A read-only view of one element inside a collection: its record bytes (below). Valid until
// the collection changes.
class ElementView {
 public:
  ElementView() = default;
  std::string_view name() const { return name_; }
  std::uint64_t hash() const;
  std::size_t version_count() const { return versions_; }
  // The versions, sorted by dot.
  std::vector<ElementVersion> versions() const;
  // What a reader sees of the value (a hash field): the only version's value, or the versions
  // resolved (counters add up, else last writer). `scratch` may hold the text.
  std::string_view value(std::string& scratch) const;
  // The same element of the same collection state.
  friend bool operator==(ElementView a, ElementView b) { return a.name_.data() == b.name_.data(); }

 private:
  friend class Collection;
  static ElementView parse(std::string_view record, bool hash, bool positional = false);
  std::string_view name_;
  std::string_view body_;  // the versions
  std::size_t versions_ = 0;
  bool hash_ = false;
  bool positional_ = false;  // a list's element: ordered by its name's bytes
};

}  // namespace apiary::data
