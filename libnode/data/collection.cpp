#include "apiary/data/collection.hpp"

#include <xxhash.h>

#include <algorithm>

#include "apiary/data/codec.hpp"
#include "apiary/wire/msgpack_codec.hpp"

namespace apiary::data {

namespace {

constexpr std::uint64_t kElementHashSeed = 0x6170696172792d63ULL;  // "apiary-c"

// Heap bytes of a malloc'd request with glibc's 16-byte chunks and 8-byte header (the
// store's estimate, store/entry.cpp).
std::size_t chunk(std::size_t request) {
  const std::size_t n = (request + 8 + 15) & ~static_cast<std::size_t>(15);
  return n < 32 ? 32 : n;
}
std::size_t string_heap(const std::string& s) {
  return s.capacity() > 15 ? chunk(s.capacity() + 1) : 0;  // libstdc++'s inline buffer
}

// The element's versions as the siblings of a string key, for resolve().
std::vector<Sibling> as_siblings(const Element& e) {
  std::vector<Sibling> out;
  out.reserve(1 + e.others.size());
  out.push_back(Sibling{e.version.dot, e.version.stamp, e.version.value, e.version.kind});
  for (const auto& v : e.others) out.push_back(Sibling{v.dot, v.stamp, v.value, v.kind});
  return out;
}

// Puts `versions` (sorted by dot, not empty) into `e`.
void assign(Element& e, std::vector<ElementVersion>&& versions) {
  e.version = std::move(versions.front());
  versions.erase(versions.begin());
  e.others = std::move(versions);
}

std::vector<ElementVersion> versions_of(const Element& e) {
  std::vector<ElementVersion> out;
  out.reserve(1 + e.others.size());
  out.push_back(e.version);
  out.insert(out.end(), e.others.begin(), e.others.end());
  return out;
}

bool dot_less(const ElementVersion& a, const ElementVersion& b) { return a.dot < b.dot; }

}  // namespace

bool is_collection(ValueKind kind) { return kind == ValueKind::hash || kind == ValueKind::set; }

std::uint64_t Collection::hash_of(std::string_view name) {
  return XXH3_64bits_withSeed(name.data(), name.size(), kElementHashSeed);
}

const Element* Collection::find(std::string_view name) const {
  auto it = elements_.find(KeyView{hash_of(name), name});
  return it == elements_.end() ? nullptr : &it->second;
}

std::string_view Collection::value_of(const Element& e, std::string& scratch) {
  if (e.others.empty()) {
    return e.version.kind == ValueKind::counter ? counter_text(e.version.value)
                                                : std::string_view(e.version.value);
  }
  const std::vector<Sibling> siblings = as_siblings(e);
  Resolved r = resolve(siblings);
  scratch = r.counter ? std::move(r.counter->text) : r.plain->value;
  return scratch;
}

std::uint64_t Collection::scan(std::uint64_t cursor, std::size_t count,
                               std::vector<Map::const_iterator>& out) const {
  auto it = elements_.lower_bound(KeyView{cursor, {}});
  for (std::size_t n = 0; it != elements_.end() && n < std::max<std::size_t>(count, 1); ++n) {
    out.push_back(it++);
  }
  // Elements sharing the last hash are returned together, so the next cursor never repeats.
  while (it != elements_.end() && !out.empty() && it->first.hash == out.back()->first.hash) {
    out.push_back(it++);
  }
  return it == elements_.end() ? 0 : it->first.hash;
}

Collection::Map::const_iterator Collection::random_element(std::uint64_t random) const {
  auto it = elements_.lower_bound(KeyView{random, {}});
  return it == elements_.end() ? elements_.begin() : it;
}

void Collection::account(const Key& key, const Element& e, bool add) {
  std::size_t n = chunk(32 + sizeof(Key) + sizeof(Element)) + string_heap(key.name) +
                  string_heap(e.version.value);
  if (e.others.capacity() > 0) n += chunk(e.others.capacity() * sizeof(ElementVersion));
  for (const auto& v : e.others) n += string_heap(v.value);
  // msgpack: a bin header of at most 5 bytes, an array header of 5, three u64 of at most 9
  // per version and, in a hash, a kind byte and the value's bin.
  std::size_t w = key.name.size() + 10;
  for (std::size_t i = 0; i <= e.others.size(); ++i) {
    const ElementVersion& v = i == 0 ? e.version : e.others[i - 1];
    w += 27 + (kind_ == ValueKind::hash ? 6 + v.value.size() : 0);
  }
  if (add) {
    memory_ += n;
    wire_ += w;
  } else {
    memory_ -= std::min(memory_, n);
    wire_ -= std::min(wire_, w);
  }
}

void Collection::begin_undo() {
  undoing_ = true;
  undo_.clear();
  undo_memory_ = memory_;
  undo_wire_ = wire_;
}

void Collection::keep_undo(const Key& key) {
  if (!undoing_) return;
  auto it = elements_.find(KeyView{key.hash, key.name});
  undo_.push_back(Undo{key, it == elements_.end() ? std::nullopt : std::optional(it->second), {}});
}

void Collection::rollback() {
  for (auto u = undo_.rbegin(); u != undo_.rend(); ++u) {
    if (u->cleared) {
      elements_ = std::move(*u->cleared);
    } else if (u->before) {
      elements_.insert_or_assign(u->key, std::move(*u->before));
    } else {
      elements_.erase(u->key);
    }
  }
  memory_ = undo_memory_;
  wire_ = undo_wire_;
  end_undo();
}

void Collection::end_undo() {
  undoing_ = false;
  undo_.clear();
}

Element& Collection::slot(std::string_view name, bool& created) {
  const std::uint64_t hash = hash_of(name);
  if (undoing_) keep_undo(Key{hash, std::string(name)});
  auto it = elements_.find(KeyView{hash, name});
  created = it == elements_.end();
  if (created) {
    it = elements_.emplace(Key{hash, std::string(name)}, Element{}).first;
  } else {
    account(it->first, it->second, false);
  }
  return it->second;
}

bool Collection::set(std::string_view name, std::string value, Dot dot, HlcTimestamp stamp,
                     ValueKind kind) {
  if (journal_ != nullptr) {
    journal_->push_back(ElementChange{ElementChange::Kind::set, std::string(name), value, kind});
  }
  bool created = false;
  Element& e = slot(name, created);
  e.version = ElementVersion{dot, stamp, std::move(value), kind};
  e.others.clear();
  e.others.shrink_to_fit();
  account(elements_.find(KeyView{hash_of(name), name})->first, e, true);
  return created;
}

bool Collection::add(std::string_view name, Dot dot, HlcTimestamp stamp) {
  return set(name, std::string(), dot, stamp);
}

bool Collection::remove(std::string_view name) {
  auto it = elements_.find(KeyView{hash_of(name), name});
  if (it == elements_.end()) return false;
  if (undoing_) keep_undo(it->first);
  account(it->first, it->second, false);
  elements_.erase(it);
  if (journal_ != nullptr) {
    journal_->push_back(ElementChange{ElementChange::Kind::remove, std::string(name), {}, {}});
  }
  return true;
}

void Collection::clear() {
  if (undoing_) {
    undo_.push_back(Undo{{}, std::nullopt, std::move(elements_)});
    elements_ = Map{};
  }
  elements_.clear();
  memory_ = 0;
  wire_ = 0;
  if (journal_ != nullptr) journal_->push_back(ElementChange{ElementChange::Kind::clear, {}, {}, {}});
}

void Collection::apply(const ElementChange& change, Dot dot, HlcTimestamp stamp) {
  switch (change.kind) {
    case ElementChange::Kind::set:
      set(change.name, change.value, dot, stamp, change.value_kind);
      break;
    case ElementChange::Kind::remove:
      remove(change.name);
      break;
    case ElementChange::Kind::clear:
      clear();
      break;
  }
}

CounterError Collection::increment(std::string_view name, bool is_float, std::int64_t delta,
                                   long double fdelta, Dot dot, HlcTimestamp stamp,
                                   std::string& text) {
  const Element* e = find(name);
  const std::vector<Sibling> siblings = e == nullptr ? std::vector<Sibling>{} : as_siblings(*e);
  Counter c;
  const CounterError error =
      counter_increment(siblings, is_float, delta, fdelta, stamp, dot.actor, c);
  if (error != CounterError::none) return error;
  text = c.text;
  set(name, encode_counter(c), dot, stamp, ValueKind::counter);
  return error;
}

void Collection::join(const Collection& other) {
  // Versions of one element on both sides: kept when both hold the dot or the other side
  // never saw it.
  const auto merge = [&](const Element* mine, const Element* theirs) {
    std::vector<ElementVersion> out;
    std::vector<ElementVersion> a = mine ? versions_of(*mine) : std::vector<ElementVersion>{};
    std::vector<ElementVersion> b = theirs ? versions_of(*theirs) : std::vector<ElementVersion>{};
    std::sort(a.begin(), a.end(), dot_less);
    std::sort(b.begin(), b.end(), dot_less);
    auto x = a.begin();
    auto y = b.begin();
    while (x != a.end() || y != b.end()) {
      if (y == b.end() || (x != a.end() && x->dot < y->dot)) {
        if (!other.context_.covers(x->dot.actor, x->dot.counter)) out.push_back(std::move(*x));
        ++x;
      } else if (x == a.end() || y->dot < x->dot) {
        if (!context_.covers(y->dot.actor, y->dot.counter)) out.push_back(std::move(*y));
        ++y;
      } else {
        out.push_back(std::move(*x));  // the same write
        ++x;
        ++y;
      }
    }
    return out;
  };
  for (auto it = elements_.begin(); it != elements_.end();) {
    auto theirs = other.elements_.find(KeyView{it->first.hash, it->first.name});
    auto versions = merge(&it->second, theirs == other.elements_.end() ? nullptr : &theirs->second);
    if (versions.empty()) {
      it = elements_.erase(it);
    } else {
      assign(it->second, std::move(versions));
      ++it;
    }
  }
  for (const auto& [key, element] : other.elements_) {
    if (elements_.contains(KeyView{key.hash, key.name})) continue;
    auto versions = merge(nullptr, &element);
    if (versions.empty()) continue;
    Element e;
    assign(e, std::move(versions));
    elements_.emplace(key, std::move(e));
  }
  context_.join(other.context_);
  memory_ = 0;
  wire_ = 0;
  for (const auto& [key, element] : elements_) account(key, element, true);
}

void Collection::replace_with(const Collection& source, Dot dot, HlcTimestamp stamp) {
  clear();
  std::string scratch;
  for (const auto& [key, element] : source.elements_) {
    set(key.name, kind_ == ValueKind::hash ? std::string(value_of(element, scratch)) : std::string(),
        dot, stamp);
  }
}

std::string Collection::encode() const {
  std::vector<std::uint8_t> bytes;
  wire::VectorSink sink(bytes);
  wire::Packer p(sink);
  const bool hash = kind_ == ValueKind::hash;
  p.pack_array(3);
  p.pack_uint64(static_cast<std::uint64_t>(kind_));
  pack_context(p, context_);
  p.pack_array(static_cast<std::uint32_t>(2 * elements_.size()));
  const auto pack_version = [&](const ElementVersion& v) {
    p.pack_uint64(v.dot.actor.value);
    p.pack_uint64(v.dot.counter);
    p.pack_uint64(v.stamp.packed);
    if (!hash) return;
    p.pack_uint64(static_cast<std::uint64_t>(v.kind));
    wire::pack_bin(p, std::span(reinterpret_cast<const std::uint8_t*>(v.value.data()),
                                v.value.size()));
  };
  for (const auto& [key, e] : elements_) {
    wire::pack_bin(p, std::span(reinterpret_cast<const std::uint8_t*>(key.name.data()),
                                key.name.size()));
    p.pack_array(static_cast<std::uint32_t>((hash ? 5 : 3) * (1 + e.others.size())));
    pack_version(e.version);
    for (const auto& v : e.others) pack_version(v);
  }
  return std::string(bytes.begin(), bytes.end());
}

Result<Collection> Collection::decode(std::string_view bytes, const CollectionLimits& limits) {
  const auto span = std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  return wire::guard_decode("collection", [&]() -> Result<Collection> {
    const auto bad = [](std::string_view what) {
      return make_error(StatusCode::malformed, "collection: " + std::string(what));
    };
    wire::Reader whole(span, wire::Reader::kSingle);
    wire::Reader top;
    std::uint64_t kind = 0;
    if (!whole.array(top) || top.size() != 3 || !top.u64(kind) || kind > kMaxValueKind ||
        !is_collection(static_cast<ValueKind>(kind))) {
      return bad("not [kind, context, elements]");
    }
    Collection out(static_cast<ValueKind>(kind));
    const bool hash = out.kind_ == ValueKind::hash;
    CodecLimits context_limits;
    context_limits.max_clock_entries = limits.max_context;
    auto context = read_context(top, context_limits);
    if (!context.ok()) return context.status();
    out.context_ = std::move(context).value();
    wire::Reader items;
    if (!top.array(items) || items.size() % 2 != 0) return bad("elements");
    if (items.size() / 2 > limits.max_elements) {
      return make_error(StatusCode::too_large, "collection: too many elements");
    }
    const std::size_t fields = hash ? 5 : 3;
    std::vector<ElementVersion> versions;
    while (items.remaining() > 0) {
      std::string name;
      wire::Reader vs;
      if (!items.bin(name, limits.max_name_bytes) || !items.array(vs) || vs.size() == 0 ||
          vs.size() % fields != 0 || vs.size() / fields > limits.max_versions) {
        return bad("element");
      }
      versions.assign(vs.size() / fields, ElementVersion{});
      for (auto& v : versions) {
        std::uint64_t value_kind = 0;
        if (!vs.u64(v.dot.actor.value) || !vs.u64(v.dot.counter) || !vs.u64(v.stamp.packed) ||
            v.dot.counter == 0) {
          return bad("version");
        }
        if (hash && (!vs.u64(value_kind) || value_kind > 1 ||
                     !vs.bin(v.value, limits.max_name_bytes))) {
          return bad("field value");
        }
        v.kind = static_cast<ValueKind>(value_kind);
      }
      std::sort(versions.begin(), versions.end(), dot_less);
      const bool unique = std::adjacent_find(versions.begin(), versions.end(),
                                             [](const auto& a, const auto& b) {
                                               return a.dot == b.dot;
                                             }) == versions.end();
      if (!unique) return bad("repeated version");
      const std::uint64_t h = hash_of(name);
      Element e;
      assign(e, std::move(versions));
      versions = {};
      Key key{h, std::move(name)};
      if (out.elements_.contains(KeyView{key.hash, key.name})) return bad("repeated element");
      out.account(key, e, true);
      out.elements_.emplace(std::move(key), std::move(e));
    }
    if (!whole.at_end()) return bad("trailing bytes");
    return out;
  });
}

}  // namespace apiary::data
