#include "apiary/data/collection.hpp"

#include <xxhash.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "apiary/data/codec.hpp"
#include "apiary/wire/msgpack_codec.hpp"

namespace apiary::data {

// The record of one element, in a page's bytes (never on the wire, which has encode()'s
// layout; integers little-endian, varints LEB128):
//
//   record  = length:varint body               (length = the body's bytes)
//   body    = tag:u16 name_length:varint name count:varint version{count}
//                                              (tag: the top 16 bits of the name's hash;
//                                               versions sorted by dot)
//   version = actor:u64 counter:varint stamp:u64 [kind:u8 value_length:varint value]
//                                              (kind and value in a hash only)
//
// A set member of 10 bytes costs 32 bytes and a hash field of 7 bytes with a 14-byte value
// 45, against a std::map node of 176 before. The tag lets a lookup pass the records before
// its element without hashing their names (records are in hash order, so tags only grow).
// Records are only ever written by this file, so reading them trusts their lengths.

namespace {

constexpr std::uint64_t kElementHashSeed = 0x6170696172792d63ULL;  // "apiary-c"
// A page is split in two once it holds more than this many bytes (and two records). Small
// enough that rewriting a page on every write stays cheap, big enough that a page's own
// overhead (its Page slot and heap chunk) is a few bytes per element.
constexpr std::size_t kPageBytes = 2048;

// Heap bytes of a malloc'd request with glibc's 16-byte chunks and 8-byte header (the
// store's estimate, store/entry.cpp).
std::size_t chunk(std::size_t request) {
  const std::size_t n = (request + 8 + 15) & ~static_cast<std::size_t>(15);
  return n < 32 ? 32 : n;
}
std::size_t string_heap(const std::string& s) {
  return s.capacity() > 15 ? chunk(s.capacity() + 1) : 0;  // libstdc++'s inline buffer
}

std::size_t varint_size(std::uint64_t v) {
  std::size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}
void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
std::uint64_t get_varint(const char*& p) {
  std::uint64_t v = 0;
  for (int shift = 0;; shift += 7) {
    const auto byte = static_cast<unsigned char>(*p++);
    v |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return v;
  }
}
void put_u64(std::string& out, std::uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(v >> (8 * i));
  out.append(b, 8);
}
std::uint64_t get_u64(const char*& p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v |= static_cast<std::uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  p += 8;
  return v;
}

// One version as a record holds it (the value points into the record).
struct VersionRef {
  Dot dot;
  HlcTimestamp stamp;
  ValueKind kind = ValueKind::string;
  std::string_view value;
};

// Calls fn(VersionRef) for each of the `count` versions in `body`.
template <typename Fn>
void for_each_version(std::string_view body, std::size_t count, bool hash, Fn&& fn) {
  const char* p = body.data();
  for (std::size_t i = 0; i < count; ++i) {
    VersionRef v;
    v.dot.actor.value = get_u64(p);
    v.dot.counter = get_varint(p);
    v.stamp.packed = get_u64(p);
    if (hash) {
      v.kind = static_cast<ValueKind>(static_cast<unsigned char>(*p++));
      const std::size_t n = get_varint(p);
      v.value = std::string_view(p, n);
      p += n;
    }
    fn(v);
  }
}

std::size_t version_size(const VersionRef& v, bool hash) {
  return 16 + varint_size(v.dot.counter) +
         (hash ? 1 + varint_size(v.value.size()) + v.value.size() : 0);
}

std::uint16_t tag_of(std::uint64_t name_hash) {
  return static_cast<std::uint16_t>(name_hash >> 48);
}

// A whole record for `name` (whose hash is `h`) holding `versions` (sorted by dot, not empty).
std::string make_record(std::uint64_t h, std::string_view name,
                        std::span<const VersionRef> versions, bool hash) {
  std::size_t body = 2 + varint_size(name.size()) + name.size() + varint_size(versions.size());
  for (const auto& v : versions) body += version_size(v, hash);
  std::string out;
  out.reserve(varint_size(body) + body);
  put_varint(out, body);
  const std::uint16_t tag = tag_of(h);
  out.push_back(static_cast<char>(tag & 0xff));
  out.push_back(static_cast<char>(tag >> 8));
  put_varint(out, name.size());
  out.append(name);
  put_varint(out, versions.size());
  for (const auto& v : versions) {
    put_u64(out, v.dot.actor.value);
    put_varint(out, v.dot.counter);
    put_u64(out, v.stamp.packed);
    if (hash) {
      out.push_back(static_cast<char>(v.kind));
      put_varint(out, v.value.size());
      out.append(v.value);
    }
  }
  return out;
}

// The tag of a record (its first body bytes).
std::uint16_t record_tag(std::string_view record) {
  const char* p = record.data();
  get_varint(p);
  return static_cast<std::uint16_t>(static_cast<unsigned char>(p[0]) |
                                    (static_cast<unsigned char>(p[1]) << 8));
}

// The record starting at `p`: its whole bytes.
std::string_view record_at(const char* p) {
  const char* q = p;
  const std::size_t body = get_varint(q);
  return std::string_view(p, static_cast<std::size_t>(q - p) + body);
}

// What encode() writes for a record, at most (see Collection::encoded_size()): msgpack's
// headers against the record's varints cost at most 5 more bytes for the name and the version
// array, and 10 more per version (actor and stamp 1 each, the counter 4, the value's bin 4);
// the record's 2-byte tag is not encoded.
std::size_t wire_bound(std::string_view record, std::size_t versions) {
  return record.size() + 3 + 10 * versions;
}

bool key_less(std::uint64_t ha, std::string_view a, std::uint64_t hb, std::string_view b) {
  return ha != hb ? ha < hb : a < b;
}

std::vector<Sibling> as_siblings(const std::vector<ElementVersion>& versions) {
  std::vector<Sibling> out;
  out.reserve(versions.size());
  for (const auto& v : versions) out.push_back(Sibling{v.dot, v.stamp, v.value, v.kind});
  return out;
}

}  // namespace

bool is_collection(ValueKind kind) {
  return kind == ValueKind::hash || kind == ValueKind::set || kind == ValueKind::zset;
}

std::uint64_t Collection::hash_of(std::string_view name) {
  return XXH3_64bits_withSeed(name.data(), name.size(), kElementHashSeed);
}

// ---- ElementView -------------------------------------------------------------------------

ElementView ElementView::parse(std::string_view record, bool hash) {
  const char* p = record.data();
  get_varint(p);
  p += 2;  // the tag
  const std::size_t n = get_varint(p);
  ElementView v;
  v.name_ = std::string_view(p, n);
  p += n;
  v.versions_ = get_varint(p);
  v.body_ = std::string_view(p, static_cast<std::size_t>(record.data() + record.size() - p));
  v.hash_ = hash;
  return v;
}

std::uint64_t ElementView::hash() const { return Collection::hash_of(name_); }

std::vector<ElementVersion> ElementView::versions() const {
  std::vector<ElementVersion> out;
  out.reserve(versions_);
  for_each_version(body_, versions_, hash_, [&](const VersionRef& v) {
    out.push_back(ElementVersion{v.dot, v.stamp, std::string(v.value), v.kind});
  });
  return out;
}

std::string_view ElementView::value(std::string& scratch) const {
  if (versions_ == 1) {
    std::string_view out;
    for_each_version(body_, 1, hash_, [&](const VersionRef& v) {
      out = v.kind == ValueKind::counter ? counter_text(v.value) : v.value;
    });
    return out;
  }
  const std::vector<Sibling> siblings = as_siblings(versions());
  Resolved r = resolve(siblings);
  scratch = r.counter ? std::move(r.counter->text) : r.plain->value;
  return scratch;
}

// ---- iteration ---------------------------------------------------------------------------

ElementView Collection::const_iterator::operator*() const {
  return ElementView::parse(record_at(c_->pages_[page_].bytes.data() + offset_), c_->valued());
}

Collection::const_iterator& Collection::const_iterator::operator++() {
  const std::string& bytes = c_->pages_[page_].bytes;
  offset_ += record_at(bytes.data() + offset_).size();
  if (offset_ >= bytes.size()) {
    ++page_;
    offset_ = 0;
  }
  return *this;
}

// ---- copies ------------------------------------------------------------------------------

struct Collection::UndoLog {
  struct Change {
    std::string name;
    std::optional<std::string> before;         // the record it replaced; none: it was absent
    std::optional<std::vector<Page>> cleared;  // a clear(): every page it emptied
    std::size_t cleared_size = 0;
  };
  std::vector<Change> changes;
};

Collection::Collection(ValueKind kind) : kind_(kind) {}

Collection::Collection(const Collection& other)
    : kind_(other.kind_),
      context_(other.context_),
      pages_(other.pages_),
      size_(other.size_),
      pages_memory_(0),
      wire_(other.wire_),
      index_(other.index_) {
  for (const auto& p : pages_) pages_memory_ += page_memory(p);
}

Collection& Collection::operator=(const Collection& other) {
  if (this != &other) *this = Collection(other);
  return *this;
}

Collection::Collection(Collection&&) noexcept = default;
Collection& Collection::operator=(Collection&&) noexcept = default;
Collection::~Collection() = default;

std::string_view Collection::raw(const const_iterator& it) const {
  return record_at(pages_[it.page_].bytes.data() + it.offset_);
}

bool operator==(const Collection& a, const Collection& b) {
  if (a.kind_ != b.kind_ || a.size_ != b.size_ || a.context_ != b.context_) return false;
  for (auto x = a.begin(), y = b.begin(); x != a.end(); ++x, ++y) {
    if (a.raw(x) != b.raw(y)) return false;
  }
  return true;
}

std::size_t Collection::page_memory(const Page& p) { return string_heap(p.bytes); }

std::size_t Collection::memory() const {
  const std::size_t clock = context_.entries().capacity();
  return pages_memory_ + (pages_.capacity() > 0 ? chunk(pages_.capacity() * sizeof(Page)) : 0) +
         (clock > 0 ? chunk(clock * sizeof(VvEntry)) : 0) + (index_ ? index_->memory() : 0);
}

// ---- reads -------------------------------------------------------------------------------

Collection::Spot Collection::locate(std::uint64_t hash, std::string_view name) const {
  if (pages_.empty()) return {};
  // The last page whose first element is not after the name (the first page when all are).
  const auto after = std::upper_bound(
      pages_.begin(), pages_.end(), KeyView{hash, name}, [](const KeyView& k, const Page& p) {
        if (k.hash != p.first_hash) return k.hash < p.first_hash;
        return k.name < ElementView::parse(record_at(p.bytes.data()), false).name();
      });
  const std::size_t index =
      after == pages_.begin() ? 0 : static_cast<std::size_t>(after - pages_.begin()) - 1;
  const std::string& bytes = pages_[index].bytes;
  std::size_t offset = 0;
  const std::uint16_t tag = tag_of(hash);
  while (offset < bytes.size()) {
    const std::string_view record = record_at(bytes.data() + offset);
    const std::uint16_t t = record_tag(record);
    if (t > tag) break;  // past every element with this hash
    if (t == tag) {
      const std::string_view n = ElementView::parse(record, false).name();
      const std::uint64_t h = hash_of(n);
      if (h == hash && n == name) return Spot{index, offset, record.size()};
      if (key_less(hash, name, h, n)) break;
    }
    offset += record.size();
  }
  return Spot{index, offset, 0};
}

std::optional<ElementView> Collection::find(std::string_view name) const {
  const Spot spot = locate(hash_of(name), name);
  if (spot.length == 0) return std::nullopt;
  return ElementView::parse(
      std::string_view(pages_[spot.page].bytes).substr(spot.offset, spot.length), valued());
}

Collection::const_iterator Collection::lower_bound(std::uint64_t hash) const {
  if (pages_.empty()) return end();
  const Spot spot = locate(hash, {});
  const_iterator it(this, spot.page, spot.offset);
  if (spot.offset >= pages_[spot.page].bytes.size()) {
    it.page_ = spot.page + 1;
    it.offset_ = 0;
  }
  return it;
}

std::uint64_t Collection::scan(std::uint64_t cursor, std::size_t count,
                               std::vector<ElementView>& out) const {
  auto it = lower_bound(cursor);
  for (std::size_t n = 0; it != end() && n < std::max<std::size_t>(count, 1); ++n, ++it) {
    out.push_back(*it);
  }
  // Elements sharing the last hash are returned together, so the next cursor never repeats.
  while (it != end() && !out.empty() && (*it).hash() == out.back().hash()) {
    out.push_back(*it);
    ++it;
  }
  return it == end() ? 0 : (*it).hash();
}

Collection::const_iterator Collection::random_element(std::uint64_t random) const {
  auto it = lower_bound(random);
  return it == end() ? begin() : it;
}

// ---- writes ------------------------------------------------------------------------------

void Collection::splice(const Spot& spot, std::string_view record) {
  if (index_) {
    if (spot.length > 0) {
      const ElementView old = ElementView::parse(
          std::string_view(pages_[spot.page].bytes).substr(spot.offset, spot.length), true);
      index_->erase(score_of(old), old.name());
    }
    if (!record.empty()) {
      const ElementView now = ElementView::parse(record, true);
      index_->insert(score_of(now), now.name());
    }
  }
  splice_pages(spot, record);
  // A zset keeps its index from kIndexedFrom members on (built whole when it gets there).
  if (kind_ == ValueKind::zset && index_.has_value() != (size_ >= kIndexedFrom)) rebuild_index();
}

void Collection::splice_pages(const Spot& spot, std::string_view record) {
  if (pages_.empty()) pages_.emplace_back();
  Page& p = pages_[spot.page];
  const bool hash = valued();
  if (spot.length > 0) {
    const ElementView old =
        ElementView::parse(std::string_view(p.bytes).substr(spot.offset, spot.length), hash);
    wire_ -= std::min(wire_, wire_bound(std::string_view(p.bytes).substr(spot.offset, spot.length),
                                        old.version_count()));
    --p.count;
    --size_;
  }
  if (!record.empty()) {
    wire_ += wire_bound(record, ElementView::parse(record, hash).version_count());
    ++p.count;
    ++size_;
  }
  pages_memory_ -= std::min(pages_memory_, page_memory(p));
  if (record.size() == spot.length) {
    std::memcpy(p.bytes.data() + spot.offset, record.data(), record.size());
  } else {
    std::string bytes;
    bytes.reserve(p.bytes.size() - spot.length + record.size());
    bytes.append(p.bytes, 0, spot.offset);
    bytes.append(record);
    bytes.append(p.bytes, spot.offset + spot.length);
    p.bytes = std::move(bytes);
  }
  if (p.count == 0) {
    pages_.erase(pages_.begin() + static_cast<std::ptrdiff_t>(spot.page));
    if (pages_.empty()) pages_ = std::vector<Page>();  // its slot's memory too
    return;
  }
  if (spot.offset == 0) p.first_hash = ElementView::parse(record_at(p.bytes.data()), false).hash();
  if (p.bytes.size() <= kPageBytes || p.count < 2) {
    pages_memory_ += page_memory(p);
    return;
  }
  // Split at the first record boundary past the middle, a record at least on either side.
  std::size_t cut = 0;
  std::uint32_t left = 0;
  while (left + 1 < p.count) {
    cut += record_at(p.bytes.data() + cut).size();
    ++left;
    if (cut >= p.bytes.size() / 2) break;
  }
  Page tail;
  tail.bytes.assign(p.bytes, cut);
  tail.count = p.count - left;
  tail.first_hash = ElementView::parse(record_at(tail.bytes.data()), false).hash();
  p.bytes.resize(cut);
  p.bytes.shrink_to_fit();
  p.count = left;
  pages_memory_ += page_memory(p) + page_memory(tail);
  pages_.insert(pages_.begin() + static_cast<std::ptrdiff_t>(spot.page) + 1, std::move(tail));
}

void Collection::keep_undo(std::string_view name, const Spot& spot) {
  if (!undo_) return;
  UndoLog::Change change;
  change.name = std::string(name);
  if (spot.length > 0) {
    change.before = std::string(pages_[spot.page].bytes, spot.offset, spot.length);
  }
  undo_->changes.push_back(std::move(change));
}

void Collection::begin_undo() { undo_ = std::make_unique<UndoLog>(); }

void Collection::rollback() {
  if (!undo_) return;
  std::unique_ptr<UndoLog> log = std::move(undo_);
  for (auto u = log->changes.rbegin(); u != log->changes.rend(); ++u) {
    if (u->cleared) {
      pages_ = std::move(*u->cleared);
      size_ = u->cleared_size;
      continue;
    }
    const std::uint64_t h = hash_of(u->name);
    Spot spot = locate(h, u->name);
    if (spot.length > 0) {
      splice(spot, {});
      spot = locate(h, u->name);
    }
    if (u->before) splice(spot, *u->before);
  }
  rebuild_accounting();
}

void Collection::end_undo() { undo_.reset(); }

void Collection::rebuild_accounting() {
  pages_memory_ = 0;
  wire_ = 0;
  size_ = 0;
  for (const auto& p : pages_) {
    pages_memory_ += page_memory(p);
    size_ += p.count;
  }
  for (auto it = begin(); it != end(); ++it) {
    const ElementView e = *it;
    wire_ += wire_bound(raw(it), e.version_count());
  }
  rebuild_index();
}

void Collection::rebuild_index() {
  index_.reset();
  if (kind_ != ValueKind::zset || size_ < kIndexedFrom) return;
  index_.emplace();
  for (const ElementView e : *this) index_->insert(score_of(e), e.name());
}

ScoreOrder Collection::scores() const {
  if (index_) return ScoreOrder(&*index_);
  std::vector<ScoreIndex::Entry> sorted;
  sorted.reserve(size_);
  for (const ElementView e : *this) sorted.push_back(ScoreIndex::Entry{score_of(e), e.name()});
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    return a.score != b.score ? a.score < b.score : a.member < b.member;
  });
  return ScoreOrder(std::move(sorted));
}

bool Collection::set(std::string_view name, std::string_view value, Dot dot, HlcTimestamp stamp,
                     ValueKind kind) {
  if (journal_ != nullptr) {
    journal_->push_back(
        ElementChange{ElementChange::Kind::set, std::string(name), std::string(value), kind});
  }
  const std::uint64_t h = hash_of(name);
  const Spot spot = locate(h, name);
  keep_undo(name, spot);
  const VersionRef v{dot, stamp, kind, valued() ? value : std::string_view()};
  splice(spot, make_record(h, name, std::span(&v, 1), valued()));
  return spot.length == 0;
}

bool Collection::add(std::string_view name, Dot dot, HlcTimestamp stamp) {
  return set(name, {}, dot, stamp);
}

bool Collection::remove(std::string_view name) {
  const Spot spot = locate(hash_of(name), name);
  if (spot.length == 0) return false;
  keep_undo(name, spot);
  splice(spot, {});
  if (journal_ != nullptr) {
    journal_->push_back(ElementChange{ElementChange::Kind::remove, std::string(name), {}, {}});
  }
  return true;
}

void Collection::clear() {
  if (undo_) {
    UndoLog::Change change;
    change.cleared = std::move(pages_);
    change.cleared_size = size_;
    undo_->changes.push_back(std::move(change));
  }
  pages_ = std::vector<Page>();
  size_ = 0;
  pages_memory_ = 0;
  wire_ = 0;
  index_.reset();
  if (journal_ != nullptr)
    journal_->push_back(ElementChange{ElementChange::Kind::clear, {}, {}, {}});
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
  const std::optional<ElementView> e = find(name);
  const std::vector<Sibling> siblings = e ? as_siblings(e->versions()) : std::vector<Sibling>{};
  Counter c;
  const CounterError error =
      counter_increment(siblings, is_float, delta, fdelta, stamp, dot.actor, c);
  if (error != CounterError::none) return error;
  text = c.text;
  set(name, encode_counter(c), dot, stamp, ValueKind::counter);
  return error;
}

// ---- sorted sets -------------------------------------------------------------------------

namespace {
double parse_score(std::string_view text) {
  const std::string s(text);
  return std::strtod(s.c_str(), nullptr);
}
}  // namespace

std::string Collection::score_text(double score) {
  if (std::isinf(score)) return score > 0 ? "inf" : "-inf";
  char buf[64];
  const int n = std::snprintf(buf, sizeof buf, "%.17g", score);
  return std::string(buf, static_cast<std::size_t>(n));
}

double Collection::score_of(ElementView e) {
  if (e.version_count() == 1) {
    std::string scratch;
    return parse_score(e.value(scratch));
  }
  const std::vector<Sibling> siblings = as_siblings(e.versions());
  const Resolved r = resolve(siblings);
  if (r.counter) return static_cast<double>(counter_ftotal(*r.counter));
  return parse_score(r.plain->value);
}

std::optional<double> Collection::score(std::string_view name) const {
  const auto e = find(name);
  if (!e) return std::nullopt;
  return score_of(*e);
}

bool Collection::incr_score(std::string_view name, double delta, Dot dot, HlcTimestamp stamp,
                            double& result) {
  const std::optional<ElementView> e = find(name);
  const double current = e ? score_of(*e) : 0.0;
  result = current + delta;
  if (std::isnan(result)) return false;
  if (std::isinf(result) || std::isinf(current) || std::isinf(delta)) {
    set(name, score_text(result), dot, stamp);
    return true;
  }
  const std::vector<Sibling> siblings = e ? as_siblings(e->versions()) : std::vector<Sibling>{};
  Counter c;
  if (counter_increment(siblings, true, 0, static_cast<long double>(delta), stamp, dot.actor, c) !=
      CounterError::none) {
    set(name, score_text(result), dot, stamp);  // nothing a counter can build on: a reset
    return true;
  }
  // A reader of this one version sees the cached text: Redis's double sum, exactly.
  c.text = score_text(result);
  set(name, encode_counter(c), dot, stamp, ValueKind::counter);
  return true;
}

// ---- merging -----------------------------------------------------------------------------

// Fills pages with records appended in element order.
class Collection::Builder {
 public:
  explicit Builder(Collection& c) : c_(c) {}
  void append(std::uint64_t hash, std::string_view record, std::size_t versions) {
    auto& pages = out_;
    if (pages.empty() ||
        (pages.back().bytes.size() + record.size() > kPageBytes && pages.back().count > 0)) {
      finish_page();
      pages.emplace_back();
      pages.back().first_hash = hash;
    }
    pages.back().bytes.append(record);
    ++pages.back().count;
    ++size_;
    wire_ += wire_bound(record, versions);
  }
  void done() {
    finish_page();
    c_.pages_ = std::move(out_);
    c_.size_ = size_;
    c_.wire_ = wire_;
    c_.pages_memory_ = 0;
    for (const auto& p : c_.pages_) c_.pages_memory_ += page_memory(p);
    c_.rebuild_index();
  }

 private:
  void finish_page() {
    if (!out_.empty()) out_.back().bytes.shrink_to_fit();
  }
  Collection& c_;
  std::vector<Page> out_;
  std::size_t size_ = 0;
  std::size_t wire_ = 0;
};

void Collection::join(const Collection& other) {
  const bool hash = valued();
  Builder out(*this);
  std::vector<VersionRef> kept;
  // Writes the element `e` (record `raw`) with the versions `keep` accepts.
  const auto keep_where = [&](std::uint64_t h, ElementView e, std::string_view raw, auto&& keep) {
    kept.clear();
    for_each_version(e.body_, e.version_count(), hash, [&](const VersionRef& v) {
      if (keep(v)) kept.push_back(v);
    });
    if (kept.size() == e.version_count()) {
      out.append(h, raw, kept.size());
    } else if (!kept.empty()) {
      out.append(h, make_record(h, e.name(), kept, hash), kept.size());
    }
  };
  const auto raw_of = [](const Collection& c, const const_iterator& it) { return c.raw(it); };
  auto x = begin();
  auto y = other.begin();
  std::uint64_t hx = x != end() ? (*x).hash() : 0;
  std::uint64_t hy = y != other.end() ? (*y).hash() : 0;
  while (x != end() || y != other.end()) {
    const bool mine = x != end();
    const bool theirs = y != other.end();
    const ElementView ex = mine ? *x : ElementView{};
    const ElementView ey = theirs ? *y : ElementView{};
    const bool mine_first = mine && (!theirs || key_less(hx, ex.name(), hy, ey.name()));
    const bool theirs_first = theirs && (!mine || key_less(hy, ey.name(), hx, ex.name()));
    if (mine_first) {
      // Versions the other side never saw survive; those it saw and dropped are removed.
      keep_where(hx, ex, raw_of(*this, x), [&](const VersionRef& v) {
        return !other.context_.covers(v.dot.actor, v.dot.counter);
      });
    } else if (theirs_first) {
      keep_where(hy, ey, raw_of(other, y),
                 [&](const VersionRef& v) { return !context_.covers(v.dot.actor, v.dot.counter); });
    } else if (raw_of(*this, x) == raw_of(other, y)) {
      out.append(hx, raw_of(*this, x), ex.version_count());
    } else {
      // Both hold the element: a version is kept when both hold it or the side without it
      // never saw its dot.
      std::vector<VersionRef> a, b;
      for_each_version(ex.body_, ex.version_count(), hash,
                       [&](const VersionRef& v) { a.push_back(v); });
      for_each_version(ey.body_, ey.version_count(), hash,
                       [&](const VersionRef& v) { b.push_back(v); });
      kept.clear();
      auto i = a.begin();
      auto j = b.begin();
      while (i != a.end() || j != b.end()) {
        if (j == b.end() || (i != a.end() && i->dot < j->dot)) {
          if (!other.context_.covers(i->dot.actor, i->dot.counter)) kept.push_back(*i);
          ++i;
        } else if (i == a.end() || j->dot < i->dot) {
          if (!context_.covers(j->dot.actor, j->dot.counter)) kept.push_back(*j);
          ++j;
        } else {
          kept.push_back(*i);  // the same write
          ++i;
          ++j;
        }
      }
      if (!kept.empty()) out.append(hx, make_record(hx, ex.name(), kept, hash), kept.size());
    }
    if (mine_first || !theirs_first) {
      ++x;
      hx = x != end() ? (*x).hash() : 0;
    }
    if (theirs_first || !mine_first) {
      ++y;
      hy = y != other.end() ? (*y).hash() : 0;
    }
  }
  out.done();
  context_.join(other.context_);
}

void Collection::replace_with(const Collection& source, Dot dot, HlcTimestamp stamp) {
  clear();
  std::string scratch;
  for (const ElementView e : source) {
    if (kind_ == ValueKind::zset) {
      set(e.name(), score_text(score_of(e)), dot, stamp);
    } else {
      set(e.name(), valued() ? e.value(scratch) : std::string_view(), dot, stamp);
    }
  }
}

// ---- encoding ----------------------------------------------------------------------------

std::string Collection::encode() const {
  std::vector<std::uint8_t> bytes;
  bytes.reserve(encoded_size());
  wire::VectorSink sink(bytes);
  wire::Packer p(sink);
  const bool hash = valued();
  p.pack_array(3);
  p.pack_uint64(static_cast<std::uint64_t>(kind_));
  pack_context(p, context_);
  p.pack_array(static_cast<std::uint32_t>(2 * size_));
  const auto bin = [&](std::string_view s) {
    wire::pack_bin(p, std::span(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()));
  };
  for (const ElementView e : *this) {
    bin(e.name());
    p.pack_array(static_cast<std::uint32_t>((hash ? 5 : 3) * e.version_count()));
    for_each_version(e.body_, e.version_count(), hash, [&](const VersionRef& v) {
      p.pack_uint64(v.dot.actor.value);
      p.pack_uint64(v.dot.counter);
      p.pack_uint64(v.stamp.packed);
      if (!hash) return;
      p.pack_uint64(static_cast<std::uint64_t>(v.kind));
      bin(v.value);
    });
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
    const bool hash = out.valued();
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
    // Every record into one buffer, then sorted into element order.
    struct Item {
      std::uint64_t hash;
      std::size_t offset;
      std::size_t length;
      std::size_t versions;
      std::string_view name;  // into `name_of` after the buffer is complete
    };
    std::string buffer;
    std::vector<Item> index;
    index.reserve(items.size() / 2);
    std::vector<ElementVersion> versions;
    std::vector<VersionRef> refs;
    std::string name;
    while (items.remaining() > 0) {
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
        if (hash &&
            (!vs.u64(value_kind) || value_kind > 1 || !vs.bin(v.value, limits.max_name_bytes))) {
          return bad("field value");
        }
        v.kind = static_cast<ValueKind>(value_kind);
      }
      std::sort(versions.begin(), versions.end(),
                [](const ElementVersion& a, const ElementVersion& b) { return a.dot < b.dot; });
      const bool unique =
          std::adjacent_find(versions.begin(), versions.end(), [](const auto& a, const auto& b) {
            return a.dot == b.dot;
          }) == versions.end();
      if (!unique) return bad("repeated version");
      refs.clear();
      for (const auto& v : versions) refs.push_back(VersionRef{v.dot, v.stamp, v.kind, v.value});
      const std::uint64_t h = hash_of(name);
      const std::string record = make_record(h, name, refs, hash);
      index.push_back(Item{h, buffer.size(), record.size(), refs.size(), {}});
      buffer.append(record);
    }
    if (!whole.at_end()) return bad("trailing bytes");
    for (auto& item : index) {
      item.name =
          ElementView::parse(std::string_view(buffer).substr(item.offset, item.length), false)
              .name();
    }
    std::sort(index.begin(), index.end(), [](const Item& a, const Item& b) {
      return key_less(a.hash, a.name, b.hash, b.name);
    });
    const bool repeated =
        std::adjacent_find(index.begin(), index.end(), [](const Item& a, const Item& b) {
          return a.hash == b.hash && a.name == b.name;
        }) != index.end();
    if (repeated) return bad("repeated element");
    Builder build(out);
    for (const auto& item : index) {
      build.append(item.hash, std::string_view(buffer).substr(item.offset, item.length),
                   item.versions);
    }
    build.done();
    return out;
  });
}

}  // namespace apiary::data
