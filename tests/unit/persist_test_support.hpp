// Entries and files for the persistence tests (tests/unit/persist_*_test.cpp).
#pragma once

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "apiary/data/dvv.hpp"
#include "apiary/persist/aof_reader.hpp"
#include "apiary/persist/env.hpp"
#include "apiary/persist/record.hpp"
#include "apiary/store/store.hpp"

namespace persist_test {

using namespace apiary;

// An entry written by `writers` actors concurrently (one sibling each), the last one a
// counter, with an optional absolute expiry.
inline store::VersionedEntry entry(const std::string& key, const std::string& value,
                                   int writers = 1, std::optional<WallTime> expiry = {}) {
  store::VersionedEntry e;
  e.key = key;
  for (int w = 0; w < writers; ++w) {
    data::DvvSet other;
    const auto kind =
        w == writers - 1 && writers > 1 ? data::ValueKind::counter : data::ValueKind::string;
    other.update({}, NodeId{static_cast<std::uint64_t>(10 + w)},
                 HlcTimestamp::make(1'700'000'000'000 + w, 0), value + std::to_string(w), kind);
    e.version.merge(other);
  }
  e.expiry = expiry;
  return e;
}

// A tombstone: history, no value.
inline store::VersionedEntry tombstone(const std::string& key) {
  store::VersionedEntry e = entry(key, "gone");
  e.version.remove(e.version.context(), NodeId{10}, HlcTimestamp::make(1'700'000'000'999, 0));
  return e;
}

inline bool same(const persist::Record& a, const persist::Record& b) {
  if (a.index() != b.index()) return false;
  if (const auto* pa = std::get_if<persist::PutRecord>(&a)) {
    const auto& pb = std::get<persist::PutRecord>(b);
    return pa->entry.key == pb.entry.key && pa->entry.version == pb.entry.version &&
           pa->entry.expiry == pb.entry.expiry;
  }
  if (const auto* ra = std::get_if<persist::RemoveRecord>(&a)) {
    return ra->key == std::get<persist::RemoveRecord>(b).key;
  }
  if (const auto* da = std::get_if<persist::DeltaRecord>(&a)) {
    return da->delta == std::get<persist::DeltaRecord>(b).delta;
  }
  return std::get<persist::FlushRecord>(a).horizon == std::get<persist::FlushRecord>(b).horizon;
}

// Every record of an AOF, and the report.
struct Loaded {
  std::vector<persist::Record> records;
  persist::AofLoadReport report;
};
inline Loaded load(persist::Env& env, const std::string& path) {
  Loaded out;
  auto report = persist::load_aof(
      env, path, [&](persist::Record&& r) { out.records.push_back(std::move(r)); });
  REQUIRE(report.ok());
  out.report = report.value();
  return out;
}

// A fresh directory under the system's temporary directory, removed with everything in it
// when the test ends.
struct ScratchDir {
  explicit ScratchDir(const std::string& name)
      : path((std::filesystem::temp_directory_path() /
              ("apiary-" + name + "-" + std::to_string(::getpid())))
                 .string()) {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~ScratchDir() { std::filesystem::remove_all(path); }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::string path;
};

}  // namespace persist_test
