#include "apiary/persist/rdb_reader.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <utility>

#include "rdb_input.hpp"
#include "rdb_packed.hpp"

namespace apiary::persist {

namespace {

using rdb::RdbInput;
using rdb::SpanFile;

// Opcodes (Redis rdb.h, RDB_OPCODE_*).
constexpr std::uint8_t kOpSlotInfo = 0xF4;
using rdb::kOpFunction2;
constexpr std::uint8_t kOpFunctionPreGa = 0xF6;
constexpr std::uint8_t kOpModuleAux = 0xF7;
constexpr std::uint8_t kOpIdle = 0xF8;
constexpr std::uint8_t kOpFreq = 0xF9;
constexpr std::uint8_t kOpAux = 0xFA;
constexpr std::uint8_t kOpResizeDb = 0xFB;
constexpr std::uint8_t kOpExpireTimeMs = 0xFC;
constexpr std::uint8_t kOpExpireTime = 0xFD;
constexpr std::uint8_t kOpSelectDb = 0xFE;
constexpr std::uint8_t kOpEof = 0xFF;

// Value types (RDB_TYPE_*).
enum : std::uint8_t {
  kString = 0,
  kList = 1,
  kSet = 2,
  kZset = 3,
  kHash = 4,
  kZset2 = 5,
  kModulePreGa = 6,
  kModule2 = 7,
  kHashZipmap = 9,
  kListZiplist = 10,
  kSetIntset = 11,
  kZsetZiplist = 12,
  kHashZiplist = 13,
  kListQuicklist = 14,
  kStreamListpacks = 15,
  kHashListpack = 16,
  kZsetListpack = 17,
  kListQuicklist2 = 18,
  kStreamListpacks2 = 19,
  kSetListpack = 20,
  kStreamListpacks3 = 21,
  kHashMetadataPreGa = 22,  // 7.4 release candidates: hash with field TTLs
  kHashListpackExPreGa = 23,
  kHashMetadata = 24,  // 7.4: hash with field TTLs, the smallest TTL first
  kHashListpackEx = 25,
};

// Module value opcodes (RDB_MODULE_OPCODE_*).
constexpr std::uint64_t kModuleEof = 0;
constexpr std::uint64_t kModuleSint = 1;
constexpr std::uint64_t kModuleUint = 2;
constexpr std::uint64_t kModuleFloat = 3;
constexpr std::uint64_t kModuleDouble = 4;
constexpr std::uint64_t kModuleString = 5;

// Quicklist 2 node containers.
constexpr std::uint64_t kQuicklistPlain = 1;
constexpr std::uint64_t kQuicklistPacked = 2;

constexpr std::size_t kHeaderBytes = 9;  // "REDIS" and four version digits

// Reads `count` repetitions of `one`, stopping at the first failure. Every repetition consumes
// at least one byte, so a hostile count ends at the end of the file, not in a long loop.
template <typename F>
bool repeat(RdbInput& in, std::uint64_t count, F&& one) {
  for (std::uint64_t i = 0; i < count; ++i) {
    if (!one()) return false;
  }
  return !in.failed();
}

bool skip_strings(RdbInput& in, std::uint64_t per_item) {
  std::uint64_t n = 0;
  if (!in.length(n)) return false;
  return repeat(in, n, [&] {
    for (std::uint64_t i = 0; i < per_item; ++i) {
      if (!in.skip_string()) return false;
    }
    return true;
  });
}

// A module value (RDB_TYPE_MODULE_2 and MODULE_AUX): opcode-tagged fields up to EOF.
bool skip_module_fields(RdbInput& in) {
  while (true) {
    const std::uint64_t at = in.offset();
    std::uint64_t op = 0;
    if (!in.length(op)) return false;
    switch (op) {
      case kModuleEof:
        return true;
      case kModuleSint:
      case kModuleUint: {
        std::uint64_t ignored = 0;
        if (!in.length(ignored)) return false;
        break;
      }
      case kModuleFloat:
        if (!in.skip(4)) return false;
        break;
      case kModuleDouble:
        if (!in.skip(8)) return false;
        break;
      case kModuleString:
        if (!in.skip_string()) return false;
        break;
      default:
        return in.fail(StatusCode::malformed, at,
                       "unknown module value opcode " + std::to_string(op));
    }
  }
}

bool skip_lengths(RdbInput& in, int count) {
  std::uint64_t ignored = 0;
  for (int i = 0; i < count; ++i) {
    if (!in.length(ignored)) return false;
  }
  return true;
}

bool skip_stream(RdbInput& in, std::uint8_t type) {
  // Listpacks: a 16-byte master id as a string, then the listpack.
  if (!skip_strings(in, 2)) return false;
  // Length, last id; from type 19: first id, max deleted id, entries added.
  if (!skip_lengths(in, type >= kStreamListpacks2 ? 8 : 3)) return false;
  std::uint64_t groups = 0;
  if (!in.length(groups)) return false;
  return repeat(in, groups, [&] {
    if (!in.skip_string() || !skip_lengths(in, type >= kStreamListpacks2 ? 3 : 2)) return false;
    std::uint64_t pending = 0;
    if (!in.length(pending)) return false;
    // Each pending entry: a raw 16-byte id, the delivery time (8 bytes), the delivery count.
    if (!repeat(in, pending, [&] { return in.skip(16 + 8) && skip_lengths(in, 1); })) {
      return false;
    }
    std::uint64_t consumers = 0;
    if (!in.length(consumers)) return false;
    return repeat(in, consumers, [&] {
      // Name, seen time; from type 21 the active time; then its pending ids (16 bytes each).
      if (!in.skip_string() || !in.skip(type >= kStreamListpacks3 ? 16 : 8)) return false;
      std::uint64_t owned = 0;
      if (!in.length(owned)) return false;
      return repeat(in, owned, [&] { return in.skip(16); });
    });
  });
}

// Redis keeps field TTLs below 2^48 ms (EB_EXPIRE_TIME_MAX); larger ones are damage.
constexpr std::uint64_t kMaxFieldExpiry = (std::uint64_t{1} << 48) - 1;

}  // namespace

std::string printable_key(const std::string& key) {
  std::string out = "\"";
  for (const unsigned char c : key.substr(0, 64)) {
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    }
  }
  return out + (key.size() > 64 ? "...\"" : "\"");
}

std::string_view rdb_type_name(std::uint8_t rdb_type) {
  switch (rdb_type) {
    case kString:
      return "string";
    case kList:
    case kListZiplist:
    case kListQuicklist:
    case kListQuicklist2:
      return "list";
    case kSet:
    case kSetIntset:
    case kSetListpack:
      return "set";
    case kZset:
    case kZset2:
    case kZsetZiplist:
    case kZsetListpack:
      return "zset";
    case kHash:
    case kHashZipmap:
    case kHashZiplist:
    case kHashListpack:
    case kHashMetadataPreGa:
    case kHashListpackExPreGa:
    case kHashMetadata:
    case kHashListpackEx:
      return "hash";
    case kStreamListpacks:
    case kStreamListpacks2:
    case kStreamListpacks3:
      return "stream";
    case kModulePreGa:
    case kModule2:
      return "module";
    default:
      return "";
  }
}

std::uint64_t RdbReport::keys() const {
  std::uint64_t n = strings + hashes + sets + zsets + lists;
  for (const auto& [name, count] : skipped) n += count;
  return n;
}

std::string RdbReport::aux_value(std::string_view name) const {
  for (const auto& [k, v] : aux) {
    if (k == name) return v;
  }
  return "";
}

class RdbReader::Impl {
 public:
  Impl(std::unique_ptr<SequentialFile> file, std::uint64_t size, const RdbLimits& limits)
      : in_(std::move(file), size, limits.max_string_bytes) {
    report_.file_size = size;
  }

  Status read_header() {
    std::uint8_t head[kHeaderBytes];
    if (in_.remaining() < kHeaderBytes || !in_.read(head) || std::memcmp(head, "REDIS", 5) != 0) {
      if (in_.status().code() == StatusCode::io_error) return in_.status();
      return make_error(StatusCode::malformed, "not an RDB file (no REDIS magic)");
    }
    unsigned version = 0;
    for (std::size_t i = 5; i < kHeaderBytes; ++i) {
      if (head[i] < '0' || head[i] > '9') {
        return make_error(StatusCode::malformed, "not an RDB file (bad version digits)");
      }
      version = version * 10 + (head[i] - '0');
    }
    if (version < 1 || version > kRdbMaxVersion) {
      return make_error(StatusCode::unsupported, "RDB version " + std::to_string(version) +
                                                     " (this build reads 1 to " +
                                                     std::to_string(kRdbMaxVersion) + ")");
    }
    report_.version = version;
    report_.offset = in_.offset();
    return Status::Ok();
  }

  std::optional<RdbItem> next() {
    if (finished_) return std::nullopt;
    auto item = read_until_key();
    report_.offset = in_.offset();
    if (!item) finished_ = true;
    return item;
  }

  const Status& status() const { return in_.status(); }
  const RdbReport& report() const { return report_; }

 private:
  std::optional<RdbItem> read_until_key() {
    while (!in_.failed()) {
      const std::uint64_t at = in_.offset();
      std::uint8_t op = 0;
      if (!in_.u8(op)) break;
      if (op == kOpEof) {
        finish(at);
        break;
      }
      if (op >= kOpSlotInfo) {
        opcode(op, at);
        continue;
      }
      if (rdb_type_name(op).empty()) {
        in_.fail(StatusCode::malformed, at, "unknown value type " + std::to_string(op));
        break;
      }
      return key_value(op, at);
    }
    return std::nullopt;
  }

  void opcode(std::uint8_t op, std::uint64_t at) {
    std::uint64_t n = 0;
    switch (op) {
      case kOpAux: {
        std::string name;
        std::string value;
        if (in_.string(name) && in_.string(value)) {
          report_.aux.emplace_back(std::move(name), std::move(value));
        }
        return;
      }
      case kOpResizeDb:
        skip_lengths(in_, 2);
        return;
      case kOpSlotInfo:  // slot, keys in it, keys with expiry in it (7.4, cluster mode)
        skip_lengths(in_, 3);
        return;
      case kOpExpireTimeMs: {
        std::uint64_t ms = 0;
        if (in_.le64(ms)) expiry_ = static_cast<std::int64_t>(ms);
        return;
      }
      case kOpExpireTime: {
        std::uint32_t seconds = 0;
        if (in_.le32(seconds)) expiry_ = static_cast<std::int64_t>(seconds) * 1000;
        return;
      }
      case kOpSelectDb:
        in_.length(db_);
        return;
      case kOpIdle:  // LRU idle time of the next key: Apiary keeps its own
        in_.length(n);
        return;
      case kOpFreq:  // LFU counter of the next key
        in_.skip(1);
        return;
      case kOpModuleAux: {
        std::uint64_t module_id = 0;
        std::uint64_t when_opcode = 0;
        if (!in_.length(module_id) || !in_.length(when_opcode)) return;
        if (when_opcode != kModuleUint) {
          in_.fail(StatusCode::malformed, at, "module aux record without its `when` field");
          return;
        }
        if (in_.length(n) && skip_module_fields(in_)) ++report_.module_aux;
        return;
      }
      case kOpFunction2:  // a function library's source
        if (in_.skip_string()) ++report_.functions;
        return;
      case kOpFunctionPreGa:
        in_.fail(StatusCode::unsupported, at,
                 "functions in the format of Redis 7.0's release candidates");
        return;
      default:
        in_.fail(StatusCode::malformed, at, "unknown opcode " + std::to_string(op));
        return;
    }
  }

  std::optional<RdbItem> key_value(std::uint8_t type, std::uint64_t at) {
    std::string key;
    if (!in_.string(key)) return std::nullopt;
    const std::optional<std::int64_t> expiry = std::exchange(expiry_, std::nullopt);
    if (type == kString) {
      std::string value;
      if (!in_.string(value)) return std::nullopt;
      ++report_.strings;
      ++report_.keys_by_db[db_];
      return RdbStringKey{std::move(key), std::move(value), expiry, db_};
    }
    const std::string_view name = rdb_type_name(type);
    if (name == "hash") {
      auto h = collection(std::move(key), type, expiry, &RdbHashKey::fields, &Impl::read_hash,
                          report_.hashes, report_.hash_fields);
      if (!h) return h;
      for (const auto& f : std::get<RdbHashKey>(*h).fields) {
        report_.hash_field_ttls += f.expiry_ms ? 1 : 0;
      }
      return h;
    }
    if (name == "set") {
      return collection(std::move(key), type, expiry, &RdbSetKey::members, &Impl::read_set,
                        report_.sets, report_.set_members);
    }
    if (name == "zset") {
      return collection(std::move(key), type, expiry, &RdbZsetKey::members, &Impl::read_zset,
                        report_.zsets, report_.zset_members);
    }
    if (name == "list") {
      return collection(std::move(key), type, expiry, &RdbListKey::elements, &Impl::read_list,
                        report_.lists, report_.list_elements);
    }
    if (!skip_value(type, at)) {
      in_.annotate(", in the value of " + std::string(name) + " " + printable_key(key));
      return std::nullopt;
    }
    ++report_.skipped[std::string(name)];
    ++report_.keys_by_db[db_];
    return RdbSkippedKey{std::move(key), name, type, expiry, db_};
  }

  // A hash, set, sorted set or list: its value read by `read` into `elements`, then counted
  // (one of `keys`, its elements added to `count`), or named in the error.
  template <typename Key, typename Elements>
  std::optional<RdbItem> collection(std::string key, std::uint8_t type,
                                    std::optional<std::int64_t> expiry, Elements Key::*elements,
                                    bool (Impl::*read)(std::uint8_t, Elements&),
                                    std::uint64_t& keys, std::uint64_t& count) {
    Key k{std::move(key), {}, expiry, db_, type};
    if (!(this->*read)(type, k.*elements)) {
      in_.annotate(", in the value of " + std::string(rdb_type_name(type)) + " " +
                   printable_key(k.key));
      return std::nullopt;
    }
    ++keys;
    ++report_.keys_by_db[db_];
    count += (k.*elements).size();
    return k;
  }

  // LIST (before 3.2): a count, then the elements; LIST_ZIPLIST (2.6 to 3.0): one ziplist;
  // QUICKLIST (3.2 to 6.2): a count of ziplists; QUICKLIST_2 (7.0+): a count of nodes, each a
  // container number, then a listpack (PACKED) or one element (PLAIN, an element too big for
  // a listpack). Each blob is checked whole, as Redis's load does; an empty one adds nothing.
  bool read_list(std::uint8_t type, std::vector<std::string>& out) {
    std::uint64_t nodes = 0;
    switch (type) {
      case kList:
        return read_strings(out);
      case kListZiplist:
        return unpack(rdb::decode_ziplist, out);
      case kListQuicklist:
        if (!in_.length(nodes)) return false;
        return repeat(in_, nodes, [&] { return unpack(rdb::decode_ziplist, out); });
      case kListQuicklist2:
        if (!in_.length(nodes)) return false;
        return repeat(in_, nodes, [&] {
          const std::uint64_t node_at = in_.offset();
          std::uint64_t container = 0;
          if (!in_.length(container)) return false;
          if (container == kQuicklistPlain) return in_.string(out.emplace_back());
          if (container == kQuicklistPacked) return unpack(rdb::decode_listpack, out);
          return in_.fail(StatusCode::malformed, node_at,
                          "unknown quicklist container " + std::to_string(container));
        });
      default:
        return in_.fail(StatusCode::malformed, in_.offset(), "unknown list encoding");
    }
  }

  // A count, then that many strings (the hash table encoding of a set, a LIST).
  bool read_strings(std::vector<std::string>& out) {
    std::uint64_t n = 0;
    if (!in_.length(n)) return false;
    return repeat(in_, n, [&] { return in_.string(out.emplace_back()); });
  }

  // ZSET: member, text score; ZSET_2: member, binary score; ziplist and listpack: member,
  // score pairs (a score as text, or as an integer when it is one). Redis refuses to load a
  // NaN score, and so does this.
  bool read_zset(std::uint8_t type, std::vector<RdbZsetMember>& out) {
    const std::uint64_t at = in_.offset();
    if (type == kZset || type == kZset2) {
      std::uint64_t n = 0;
      if (!in_.length(n)) return false;
      return repeat(in_, n, [&] {
        const std::uint64_t score_at = in_.offset();
        RdbZsetMember& m = out.emplace_back();
        if (!in_.string(m.member)) return false;
        if (!(type == kZset ? in_.text_double(m.score) : in_.binary_double(m.score))) {
          return false;
        }
        return !std::isnan(m.score) || in_.fail(StatusCode::malformed, score_at, "a NaN score");
      });
    }
    std::vector<std::string> elements;
    if (!unpack(type == kZsetZiplist ? rdb::decode_ziplist : rdb::decode_listpack, elements)) {
      return false;
    }
    if (elements.size() % 2 != 0) {
      return in_.fail(StatusCode::malformed, at,
                      "a sorted set of " + std::to_string(elements.size()) +
                          " packed elements, not member, score pairs");
    }
    out.reserve(elements.size() / 2);
    for (std::size_t i = 0; i < elements.size(); i += 2) {
      RdbZsetMember& m = out.emplace_back();
      m.member = std::move(elements[i]);
      const std::string& text = elements[i + 1];
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), m.score);
      if (ec != std::errc() || end != text.data() + text.size() || std::isnan(m.score)) {
        return in_.fail(StatusCode::malformed, at, "a score that is not a number: " + text);
      }
    }
    return true;
  }

  // A packed container (one string in the file), decoded into its elements.
  bool unpack(Status (*decode)(std::string_view, std::vector<std::string>&),
              std::vector<std::string>& out) {
    const std::uint64_t at = in_.offset();
    std::string blob;
    if (!in_.string(blob)) return false;
    if (Status s = decode(blob, out); !s.ok()) {
      return in_.fail(StatusCode::malformed, at, s.message());
    }
    return true;
  }

  bool read_set(std::uint8_t type, std::vector<std::string>& out) {
    switch (type) {
      case kSet:
        return read_strings(out);
      case kSetIntset:
        return unpack(rdb::decode_intset, out);
      case kSetListpack:
        return unpack(rdb::decode_listpack, out);
      default:
        return in_.fail(StatusCode::malformed, in_.offset(), "unknown set encoding");
    }
  }

  bool read_hash(std::uint8_t type, std::vector<RdbHashField>& out) {
    switch (type) {
      case kHash: {
        std::uint64_t n = 0;
        if (!in_.length(n)) return false;
        return repeat(in_, n, [&] {
          RdbHashField& f = out.emplace_back();
          return in_.string(f.name) && in_.string(f.value);
        });
      }
      case kHashZipmap:
        return packed_hash(rdb::decode_zipmap, /*with_ttls=*/false, out);
      case kHashZiplist:
        return packed_hash(rdb::decode_ziplist, /*with_ttls=*/false, out);
      case kHashListpack:
        return packed_hash(rdb::decode_listpack, /*with_ttls=*/false, out);
      case kHashListpackExPreGa:
        return packed_hash(rdb::decode_listpack, /*with_ttls=*/true, out);
      case kHashListpackEx:  // the smallest field TTL (a hint for loading), then the listpack
        return in_.skip(8) && packed_hash(rdb::decode_listpack, /*with_ttls=*/true, out);
      case kHashMetadataPreGa:
        return hash_with_field_ttls(/*relative=*/false, out);
      case kHashMetadata:
        return hash_with_field_ttls(/*relative=*/true, out);
      default:
        return in_.fail(StatusCode::malformed, in_.offset(), "unknown hash encoding");
    }
  }

  // A hash in a packed container: field, value pairs, or with_ttls field, value, TTL
  // triplets (7.4's listpack_ex: the TTL an integer, 0 for none).
  bool packed_hash(Status (*decode)(std::string_view, std::vector<std::string>&), bool with_ttls,
                   std::vector<RdbHashField>& out) {
    const std::uint64_t at = in_.offset();
    std::vector<std::string> elements;
    if (!unpack(decode, elements)) return false;
    const std::size_t stride = with_ttls ? 3 : 2;
    if (elements.size() % stride != 0) {
      return in_.fail(StatusCode::malformed, at,
                      "a hash of " + std::to_string(elements.size()) + " packed elements, not " +
                          (with_ttls ? "field, value, TTL triplets" : "field, value pairs"));
    }
    out.reserve(elements.size() / stride);
    for (std::size_t i = 0; i < elements.size(); i += stride) {
      RdbHashField& f = out.emplace_back();
      f.name = std::move(elements[i]);
      f.value = std::move(elements[i + 1]);
      if (!with_ttls) continue;
      const std::string& text = elements[i + 2];
      std::uint64_t ttl = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ttl);
      if (ec != std::errc() || end != text.data() + text.size() || ttl > kMaxFieldExpiry) {
        return in_.fail(StatusCode::malformed, at, "a field TTL that is not a time: " + text);
      }
      if (ttl != 0) f.expiry_ms = static_cast<std::int64_t>(ttl);
    }
    return true;
  }

  // 7.4's hash table with field TTLs: [the smallest TTL,] a count, then TTL (a length, 0 for
  // none; from 7.4 GA relative to the smallest: smallest + TTL - 1), field, value.
  bool hash_with_field_ttls(bool relative, std::vector<RdbHashField>& out) {
    std::uint64_t smallest = 0;
    if (relative && !in_.le64(smallest)) return false;
    std::uint64_t n = 0;
    if (!in_.length(n)) return false;
    return repeat(in_, n, [&] {
      const std::uint64_t at = in_.offset();
      std::uint64_t ttl = 0;
      RdbHashField& f = out.emplace_back();
      if (!in_.length(ttl) || !in_.string(f.name) || !in_.string(f.value)) return false;
      if (ttl == 0) return true;
      if (relative) ttl = ttl + smallest - 1;
      if (ttl > kMaxFieldExpiry || (relative && ttl < smallest)) {
        return in_.fail(StatusCode::malformed, at, "a field TTL that is not a time");
      }
      f.expiry_ms = static_cast<std::int64_t>(ttl);
      return true;
    });
  }

  bool skip_value(std::uint8_t type, std::uint64_t at) {
    switch (type) {
      case kModule2: {
        std::uint64_t module_id = 0;
        return in_.length(module_id) && skip_module_fields(in_);
      }
      case kModulePreGa:
        return in_.fail(StatusCode::unsupported, at,
                        "a module value in the format of Redis 4.0's release candidates");
      case kStreamListpacks:
      case kStreamListpacks2:
      case kStreamListpacks3:
        return skip_stream(in_, type);
      default:
        return in_.fail(StatusCode::malformed, at, "unknown value type " + std::to_string(type));
    }
  }

  // After EOF: the checksum (from version 5), then nothing.
  void finish(std::uint64_t at) {
    if (report_.version >= 5) {
      const std::uint64_t computed = in_.crc();
      std::uint64_t stored = 0;
      if (!in_.le64(stored)) return;
      if (stored != 0 && stored != computed) {
        in_.fail(StatusCode::malformed, at + 1,
                 "checksum mismatch: the file says " + std::to_string(stored) + ", the data has " +
                     std::to_string(computed));
        return;
      }
      report_.checksum_verified = stored != 0;
    }
    if (in_.remaining() > 0) {
      in_.fail(StatusCode::malformed, in_.offset(),
               std::to_string(in_.remaining()) + " bytes after the end of the RDB data");
      return;
    }
    report_.complete = true;
  }

  RdbInput in_;
  RdbReport report_;
  std::uint64_t db_ = 0;
  std::optional<std::int64_t> expiry_;  // from an expiry opcode, for the next key
  bool finished_ = false;
};

RdbReader::RdbReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RdbReader::~RdbReader() = default;

Result<std::unique_ptr<RdbReader>> RdbReader::open(Env& env, const std::string& path,
                                                   const RdbLimits& limits) {
  auto size = env.file_size(path);
  if (!size.ok()) return size.status();
  auto file = env.open_read(path);
  if (!file.ok()) return file.status();
  auto impl = std::make_unique<Impl>(std::move(file.value()), size.value(), limits);
  if (Status header = impl->read_header(); !header.ok()) return header;
  return std::unique_ptr<RdbReader>(new RdbReader(std::move(impl)));
}

Result<std::unique_ptr<RdbReader>> RdbReader::open_bytes(std::span<const std::uint8_t> bytes,
                                                         const RdbLimits& limits) {
  auto impl = std::make_unique<Impl>(std::make_unique<SpanFile>(bytes), bytes.size(), limits);
  if (Status header = impl->read_header(); !header.ok()) return header;
  return std::unique_ptr<RdbReader>(new RdbReader(std::move(impl)));
}

std::optional<RdbItem> RdbReader::next() { return impl_->next(); }
const Status& RdbReader::status() const { return impl_->status(); }
const RdbReport& RdbReader::report() const { return impl_->report(); }

}  // namespace apiary::persist
