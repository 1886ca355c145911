#include "apiary/data/collection.hpp"

#include <xxhash.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "apiary/data/codec.hpp"
#include "apiary/wire/msgpack_codec.hpp"
#include "collection_records.hpp"

namespace apiary::data {

using namespace records;

bool is_collection(ValueKind kind) {
  return kind == ValueKind::hash || kind == ValueKind::set || kind == ValueKind::zset ||
         kind == ValueKind::list;
}

std::uint64_t Collection::hash_of(std::string_view name) {
  return XXH3_64bits_withSeed(name.data(), name.size(), kElementHashSeed);
}

// ---- ElementView -------------------------------------------------------------------------

std::uint64_t Collection::order_key(std::string_view name, bool positional) {
  if (!positional) return hash_of(name);
  // A list's names are ordered by their bytes: their first 8 bytes, big-endian (zeros past
  // the end), order them as memcmp does, and equal keys fall back to the whole names.
  std::uint64_t key = 0;
  for (std::size_t i = 0; i < 8; ++i) {
    key = (key << 8) | (i < name.size() ? static_cast<unsigned char>(name[i]) : 0u);
  }
  return key;
}

ElementView ElementView::parse(std::string_view record, bool hash, bool positional) {
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
  v.positional_ = positional;
  return v;
}

std::uint64_t ElementView::hash() const { return Collection::order_key(name_, positional_); }

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
  return ElementView::parse(record_at(c_->pages_[page_].bytes.data() + offset_), c_->valued(),
                            c_->positional());
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
  // A list's page counts are left out: a read builds them, and the store's accounting only
  // follows writes (they are 4 bytes a page, about 0.1 byte an element).
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
      const std::uint64_t h = key_of(n);
      if (h == hash && n == name) return Spot{index, offset, record.size()};
      if (key_less(hash, name, h, n)) break;
    }
    offset += record.size();
  }
  return Spot{index, offset, 0};
}

std::optional<ElementView> Collection::find(std::string_view name) const {
  const Spot spot = locate(key_of(name), name);
  if (spot.length == 0) return std::nullopt;
  return ElementView::parse(
      std::string_view(pages_[spot.page].bytes).substr(spot.offset, spot.length), valued(),
      positional());
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
  if (pages_.empty()) {
    pages_.emplace_back();
    counts_.valid = false;
  }
  Page& p = pages_[spot.page];
  const bool hash = valued();
  const int count_delta = (record.empty() ? 0 : 1) - (spot.length > 0 ? 1 : 0);
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
    counts_.valid = false;
    pages_.erase(pages_.begin() + static_cast<std::ptrdiff_t>(spot.page));
    if (pages_.empty()) pages_ = std::vector<Page>();  // its slot's memory too
    return;
  }
  if (spot.offset == 0) p.first_hash = key_of(ElementView::parse(record_at(p.bytes.data()), false).name());
  if (p.bytes.size() <= kPageBytes || p.count < 2) {
    pages_memory_ += page_memory(p);
    count_changed(spot.page, count_delta);
    return;
  }
  counts_.valid = false;
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
  tail.first_hash = key_of(ElementView::parse(record_at(tail.bytes.data()), false).name());
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
    const std::uint64_t h = key_of(u->name);
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
  counts_.valid = false;
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
  const std::uint64_t h = key_of(name);
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
  const Spot spot = locate(key_of(name), name);
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
  counts_.valid = false;
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

}  // namespace apiary::data
