#include "apiary/persist/rdb_dump.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <span>
#include <vector>

#include "apiary/persist/crc64.hpp"
#include "apiary/persist/rdb_writer.hpp"
#include "rdb_input.hpp"

namespace apiary::persist {

namespace {

constexpr std::size_t kFooterBytes = 10;  // version (2) and CRC-64 (8)

std::uint64_t le(std::string_view bytes) {
  std::uint64_t v = 0;
  for (std::size_t i = bytes.size(); i-- > 0;) {
    v = (v << 8) | static_cast<unsigned char>(bytes[i]);
  }
  return v;
}

Status bad(std::string what) { return make_error(StatusCode::malformed, std::move(what)); }

// Whether `names` repeats one; sorts a copy of views.
template <typename Range, typename Name>
bool has_duplicates(const Range& items, Name name) {
  std::vector<std::string_view> names;
  names.reserve(items.size());
  for (const auto& item : items) names.push_back(name(item));
  std::sort(names.begin(), names.end());
  return std::adjacent_find(names.begin(), names.end()) != names.end();
}

// What Redis refuses in a decoded value, and what Apiary cannot hold.
Status check_item(const RdbItem& item) {
  if (const auto* h = std::get_if<RdbHashKey>(&item)) {
    if (h->fields.empty()) return bad("an empty hash");
    for (const auto& f : h->fields) {
      if (f.expiry_ms) return bad("a hash field with a TTL");
    }
    if (has_duplicates(h->fields,
                       [](const RdbHashField& f) -> std::string_view { return f.name; })) {
      return bad("duplicate hash fields");
    }
  } else if (const auto* s = std::get_if<RdbSetKey>(&item)) {
    if (s->members.empty()) return bad("an empty set");
    if (has_duplicates(s->members, [](const std::string& m) -> std::string_view { return m; })) {
      return bad("duplicate set members");
    }
  } else if (const auto* z = std::get_if<RdbZsetKey>(&item)) {
    if (z->members.empty()) return bad("an empty sorted set");
    if (has_duplicates(z->members,
                       [](const RdbZsetMember& m) -> std::string_view { return m.member; })) {
      return bad("duplicate sorted set members");
    }
  } else if (const auto* l = std::get_if<RdbListKey>(&item)) {
    if (l->elements.empty()) return bad("an empty list");
  } else if (std::holds_alternative<RdbSkippedKey>(item)) {
    return bad("a " + std::string(std::get<RdbSkippedKey>(item).type_name) + " value");
  }
  return Status::Ok();
}

}  // namespace

std::optional<unsigned> rdb_check_dump_payload(std::string_view payload, unsigned max_version) {
  if (payload.size() < kFooterBytes) return std::nullopt;
  const std::string_view footer = payload.substr(payload.size() - kFooterBytes);
  const auto version = static_cast<unsigned>(le(footer.substr(0, 2)));
  if (version > max_version) return std::nullopt;
  const std::uint64_t crc = crc64_redis(payload.substr(0, payload.size() - 8));
  if (crc != le(footer.substr(2))) return std::nullopt;
  return version;
}

Result<RdbItem> rdb_read_dump_value(std::string_view payload, std::string_view key,
                                    const RdbLimits& limits) {
  if (payload.size() <= kFooterBytes) return bad("no value before the footer");
  const auto type = static_cast<std::uint8_t>(payload[0]);
  if (rdb_type_name(type).empty()) return bad("unknown value type " + std::to_string(type));
  // The value as a one-key RDB file: header, type, key, then the payload's value -- and its
  // footer, which Redis lets a value run into -- then EOF and a zero checksum ("none"). The
  // reader decodes it; a value that ran past the payload into the EOF byte is refused below.
  const unsigned version = std::clamp<unsigned>(
      static_cast<unsigned>(le(payload.substr(payload.size() - 10, 2))), 1, kRdbMaxVersion);
  char header[16];
  std::snprintf(header, sizeof header, "REDIS%04u", version);
  std::string file(header);
  file.push_back(static_cast<char>(type));
  RdbValueWriter(file).length(key.size());
  file.append(key);
  file.append(payload.substr(1));
  const std::size_t payload_end = file.size();
  file.push_back('\xFF');
  file.append(8, '\0');
  const std::span bytes(reinterpret_cast<const std::uint8_t*>(file.data()), file.size());
  auto reader = RdbReader::open_bytes(bytes, limits);
  if (!reader.ok()) return reader.status();
  std::optional<RdbItem> item = reader.value()->next();
  if (!item) {
    const Status& s = reader.value()->status();
    return s.ok() ? bad("no value") : make_error(StatusCode::malformed, s.message());
  }
  if (reader.value()->report().offset > payload_end) return bad("the value runs past the payload");
  if (Status s = check_item(*item); !s.ok()) return s;
  return std::move(*item);
}

std::string rdb_dump_functions(std::span<const std::string_view> codes) {
  std::string payload;
  for (const std::string_view code : codes) {
    payload.push_back(static_cast<char>(rdb::kOpFunction2));
    RdbValueWriter(payload).string(code);
  }
  rdb_append_dump_footer(payload);
  return payload;
}

Result<std::vector<std::string>> rdb_read_dump_functions(std::string_view payload) {
  if (!rdb_check_dump_payload(payload)) return bad("version or checksum");
  const std::span bytes(reinterpret_cast<const std::uint8_t*>(payload.data()),
                        payload.size() - kFooterBytes);
  rdb::RdbInput in(std::make_unique<rdb::SpanFile>(bytes), bytes.size(), payload.size());
  std::vector<std::string> codes;
  while (in.remaining() != 0) {
    std::uint8_t opcode = 0;
    std::string code;
    if (!in.u8(opcode)) break;
    if (opcode != rdb::kOpFunction2) return bad("not a function library");
    if (!in.string(code)) break;
    codes.push_back(std::move(code));
  }
  if (in.failed()) return make_error(StatusCode::malformed, in.status().message());
  return codes;
}

}  // namespace apiary::persist
