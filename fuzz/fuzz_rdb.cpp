// The Redis RDB reader behind `apiary import` (libnode/persist/rdb_reader.cpp) over arbitrary
// files. Input: the first byte is the mode, the rest is the file. Mode bit 0: prepend a valid
// header (`REDIS0010`), so the fuzzer spends its time past the magic; bit 1: append EOF and a
// zero checksum (checksum disabled), so a mutated body can still parse to the end.
// Invariants checked beyond "no crash, no leak, no unbounded allocation":
//  - the reader stops inside the file; it reports `complete` exactly when its status is ok,
//    and then it consumed the whole file;
//  - the report counts what came out: strings, hashes and their fields, sets and their
//    members, sorted sets and lists and their elements, skipped keys by type, keys by
//    database;
//  - reading the same bytes through an Env (SimEnv) gives the same keys and the same status.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "apiary/persist/rdb_reader.hpp"
#include "apiary/persist/sim_env.hpp"

using namespace apiary;
using namespace apiary::persist;

namespace {

struct Outcome {
  std::vector<std::string> keys;
  std::uint64_t fields = 0;   // in the hashes that came out
  std::uint64_t members = 0;  // in the sets
  std::uint64_t zset_members = 0;
  std::uint64_t list_elements = 0;
  Status status;
  RdbReport report;
};

Outcome read_all(RdbReader& reader) {
  Outcome out;
  while (auto item = reader.next()) {
    if (const auto* s = std::get_if<RdbStringKey>(&*item)) {
      out.keys.push_back("s:" + s->key + "=" + s->value);
    } else if (const auto* h = std::get_if<RdbHashKey>(&*item)) {
      std::string text = "h:" + h->key;
      for (const auto& f : h->fields) text += " " + f.name + "=" + f.value;
      out.keys.push_back(text);
      out.fields += h->fields.size();
    } else if (const auto* m = std::get_if<RdbSetKey>(&*item)) {
      std::string text = "m:" + m->key;
      for (const auto& member : m->members) text += " " + member;
      out.keys.push_back(text);
      out.members += m->members.size();
    } else if (const auto* z = std::get_if<RdbZsetKey>(&*item)) {
      std::string text = "z:" + z->key;
      for (const auto& member : z->members) {
        if (std::isnan(member.score)) std::abort();  // the reader refuses NaN scores
        text += " " + member.member + "=" + std::to_string(member.score);
      }
      out.keys.push_back(text);
      out.zset_members += z->members.size();
    } else if (const auto* l = std::get_if<RdbListKey>(&*item)) {
      std::string text = "l:" + l->key;
      for (const auto& element : l->elements) text += " " + element;
      out.keys.push_back(text);
      out.list_elements += l->elements.size();
    } else {
      const auto& k = std::get<RdbSkippedKey>(*item);
      out.keys.push_back(std::string(k.type_name) + ":" + k.key);
    }
  }
  out.status = reader.status();
  out.report = reader.report();
  return out;
}

void check(const Outcome& o, std::size_t size) {
  const RdbReport& r = o.report;
  if (r.offset > size || r.file_size != size) std::abort();
  if (r.complete != o.status.ok()) std::abort();
  if (r.complete && r.offset != size) std::abort();
  if (r.keys() != o.keys.size()) std::abort();
  std::uint64_t by_db = 0;
  for (const auto& [db, n] : r.keys_by_db) by_db += n;
  if (by_db != o.keys.size()) std::abort();
  std::uint64_t strings = 0;
  std::uint64_t hashes = 0;
  std::uint64_t sets = 0;
  std::uint64_t zsets = 0;
  std::uint64_t lists = 0;
  for (const auto& k : o.keys) {
    lists += k.starts_with("l:") ? 1 : 0;
    zsets += k.starts_with("z:") ? 1 : 0;
    strings += k.starts_with("s:") ? 1 : 0;
    hashes += k.starts_with("h:") ? 1 : 0;
    sets += k.starts_with("m:") ? 1 : 0;
  }
  if (strings != r.strings || hashes != r.hashes || sets != r.sets) std::abort();
  if (o.fields != r.hash_fields || o.members != r.set_members) std::abort();
  if (zsets != r.zsets || o.zset_members != r.zset_members) std::abort();
  if (lists != r.lists || o.list_elements != r.list_elements) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  std::vector<std::uint8_t> file;
  if (mode & 1) {
    const std::string header = "REDIS0010";
    file.assign(header.begin(), header.end());
  }
  file.insert(file.end(), data + 1, data + size);
  if (mode & 2) {
    file.push_back(0xFF);
    file.insert(file.end(), 8, 0);
  }

  auto reader = RdbReader::open_bytes(file);
  SimEnv env;
  env.put_file("dump.rdb", file);
  auto through_env = RdbReader::open(env, "dump.rdb");
  if (reader.ok() != through_env.ok()) std::abort();
  if (!reader.ok()) return 0;
  const Outcome direct = read_all(*reader.value());
  check(direct, file.size());
  const Outcome again = read_all(*through_env.value());
  if (again.keys != direct.keys || again.status.message() != direct.status.message()) {
    std::abort();
  }
  return 0;
}
