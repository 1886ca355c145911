// Collection (apiary/data/collection.hpp): merging states (join, replace_with) and the wire
// encoding (encode, decode), both built by appending records in element order.
#include <algorithm>

#include "apiary/data/codec.hpp"
#include "apiary/data/list_position.hpp"
#include "apiary/wire/msgpack_codec.hpp"
#include "collection_records.hpp"

namespace apiary::data {

using namespace records;

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
    c_.counts_.valid = false;
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
    if (positional()) {
      // New names, minted by this write: the source's were minted in another key's history,
      // so a concurrent write here could mint the same ones.
      push_back(e.value(scratch), dot, stamp);
      continue;
    }
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
      if (out.positional() && !list_position::valid(name)) return bad("list position");
      const std::uint64_t h = out.key_of(name);
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
