// Writes the seed corpora of the fuzz targets (fuzz/corpus/<target>/) from the project's own
// encoders, so that the seeds follow the formats as they change:
//
//   build/fuzz/fuzz/fuzz_make_seeds fuzz/corpus
//
// Files are named after what they hold; rerunning overwrites them. The RESP seeds are
// command sequences (0xFF bytes split them into chunks with time passing in between, see
// fuzz_resp_exec.cpp).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "../gossip/swim/codec.hpp"
#include "../libnode/replication/messages.hpp"
#include "apiary/data/codec.hpp"
#include "apiary/persist/aof_writer.hpp"
#include "apiary/persist/sim_env.hpp"
#include "apiary/persist/snapshot.hpp"
#include "apiary/store/store.hpp"
#include "apiary/wire/envelope.hpp"

using namespace apiary;
namespace fs = std::filesystem;

namespace {

fs::path root;

void write(const std::string& target, const std::string& name, std::string_view bytes) {
  const fs::path dir = root / target;
  fs::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
}
void write(const std::string& target, const std::string& name,
           const std::vector<std::uint8_t>& bytes) {
  write(target, name, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}
// A typed seed: the first byte picks the message type (see the targets), the rest is payload.
void write_typed(const std::string& target, const std::string& name, std::uint8_t type_index,
                 const std::vector<std::uint8_t>& payload) {
  std::vector<std::uint8_t> bytes{type_index};
  bytes.insert(bytes.end(), payload.begin(), payload.end());
  write(target, name, bytes);
}

std::string cmd(std::initializer_list<std::string_view> args) {
  std::string s = "*" + std::to_string(args.size()) + "\r\n";
  for (auto a : args) s += "$" + std::to_string(a.size()) + "\r\n" + std::string(a) + "\r\n";
  return s;
}

void resp_seeds() {
  const std::string t = "fuzz_resp_exec";
  const std::string tick = "\xff";
  write(t, "strings",
        cmd({"SET", "k", "v"}) + cmd({"APPEND", "k", "xyz"}) + cmd({"SETRANGE", "k", "10", "abc"}) +
            cmd({"GETRANGE", "k", "0", "-1"}) + cmd({"STRLEN", "k"}) + cmd({"GETDEL", "k"}) +
            cmd({"MSET", "a", "1", "b", "2"}) + cmd({"MGET", "a", "b", "c"}) +
            cmd({"SETNX", "a", "3"}) + cmd({"GETSET", "a", "4"}));
  write(t, "counters",
        cmd({"INCR", "n"}) + cmd({"INCRBY", "n", "-7"}) +
            cmd({"DECRBY", "n", "9223372036854775807"}) + cmd({"INCRBYFLOAT", "f", "1.5e3"}) +
            cmd({"DECR", "n"}) + cmd({"SET", "s", "abc"}) + cmd({"INCR", "s"}));
  write(t, "ttl",
        cmd({"SET", "k", "v", "PX", "100"}) + cmd({"SET", "j", "v", "EX", "1", "GET"}) +
            cmd({"PEXPIRE", "j", "50"}) + cmd({"TTL", "k"}) + tick + cmd({"PTTL", "k"}) +
            cmd({"PERSIST", "j"}) + tick + "0123456789abcdef" + tick + cmd({"EXISTS", "k", "j"}) +
            cmd({"SET", "k", "v", "KEEPTTL"}) + cmd({"EXPIREAT", "k", "1"}) +
            cmd({"GETEX", "j", "PX", "5"}));
  write(t, "keyspace",
        cmd({"MSET", "a", "1", "b{t}", "2", "c{t}", "3"}) + cmd({"DBSIZE"}) + cmd({"KEYS", "*"}) +
            cmd({"SCAN", "0", "MATCH", "*{t}", "COUNT", "2"}) + cmd({"RANDOMKEY"}) +
            cmd({"RENAME", "b{t}", "d{t}"}) + cmd({"COPY", "d{t}", "e{t}"}) + cmd({"TYPE", "a"}) +
            cmd({"DEL", "a", "zz"}) + cmd({"UNLINK", "c{t}"}) +
            cmd({"OBJECT", "ENCODING", "d{t}"}) + cmd({"FLUSHALL"}));
  write(t, "connection",
        cmd({"HELLO", "3"}) + cmd({"PING"}) + cmd({"ECHO", "hi"}) +
            cmd({"CLIENT", "SETNAME", "x"}) + cmd({"CLIENT", "LIST"}) + cmd({"INFO"}) +
            cmd({"COMMAND", "COUNT"}) + cmd({"SELECT", "0"}) + cmd({"HELLO", "2"}) + cmd({"QUIT"}));
  write(t, "pipeline_inline",
        "PING\r\nSET a 1\r\nGET a\r\n" + cmd({"MULTI"}) + cmd({"INCR", "a"}) + cmd({"EXEC"}));
  write(t, "partial",
        std::string("*2\r\n$3\r\nGET\r") + tick + "\n$1\r\nk\r\n" + tick + "*1\r\n$4\r\nPING\r\n");
  // Inline commands: space-separated words mutate into other commands and arguments far
  // more easily than length-prefixed RESP.
  write(t, "inline",
        "SET k hello\r\nAPPEND k world\r\nSETRANGE k 3 xyz\r\nGETRANGE k -3 -1\r\n"
        "INCRBY n 5\r\nDECRBY n 2\r\nINCRBYFLOAT f 0.5\r\nSET t v PX 50 NX\r\n"
        "GETEX k EX 10\r\nEXPIRE k 5 GT\r\nPEXPIREAT k 1\r\nMSETNX a 1 b 2\r\n"
        "SCAN 0 MATCH * COUNT 5\r\nKEYS *\r\nRENAMENX a c\r\nOBJECT FREQ c\r\n"
        "MEMORY USAGE c\r\nCONFIG GET maxmemory\r\nCLIENT INFO\r\nTIME\r\n");
  write(t, "errors",
        "*-1\r\n*0\r\n$5\r\nhello\r\n" + cmd({"NOSUCH"}) + cmd({"SET"}) +
            cmd({"GETRANGE", "k", "x", "1"}) + "*1\r\n$999999999999\r\n");
}

store::StoreConfig sample_config() {
  store::StoreConfig c;
  c.self = NodeId{7};
  return c;
}

void fill(store::Store& s) {
  const WallTime t{1'700'000'000'000};
  (void)s.put_local("k", "v", t);
  (void)s.put_local("ttl", "v", t, store::ExpiryUpdate::set(WallTime{t.ms + 60'000}));
  (void)s.incr("n", 5, t);
  (void)s.del_local("gone", t);
  (void)s.edit_collection("h", data::ValueKind::hash, t, [](store::Store::CollectionEdit& e) {
    e.collection.set("f", "v", e.dot, e.stamp);
    std::string text;
    e.collection.incr("n", 3, e.dot, e.stamp, text);
    return true;
  });
  (void)s.edit_collection("s", data::ValueKind::set, t, [](store::Store::CollectionEdit& e) {
    e.collection.add("m1", e.dot, e.stamp);
    e.collection.add("m2", e.dot, e.stamp);
    return true;
  });
}

void data_seeds() {
  const std::string t = "fuzz_data_messages";
  store::Store s(sample_config());
  fill(s);
  const WallTime now{1'700'000'000'000};
  std::vector<store::VersionedEntry> entries;
  for (auto key : {"k", "ttl", "n", "h", "s"}) entries.push_back(*s.export_entry(key, now));
  const HlcTimestamp horizon{};
  // Indices are type - 32 (fuzz_data_messages.cpp).
  write_typed(t, "replicate", 0, replication::encode_replicate(1, entries[1], "owner", horizon));
  write_typed(t, "read", 0, replication::encode_read(2, "k"));
  if (auto delta = s.take_delta("s")) {
    write_typed(t, "replicate_delta", 0, replication::encode_replicate_delta(12, *delta, horizon));
  }
  write_typed(t, "delta_refused", 1,
              replication::encode_delta_refused(12, "s", &entries[4], horizon));
  const std::vector<std::string_view> argv{"SET", "k", "v"};
  write_typed(t, "forward", 0, replication::encode_forward(3, argv, 2, 2, 1));
  write_typed(t, "forward_cancel", 0, replication::encode_forward_cancel(3, replication::CancelMode::unblock_error));
  write_typed(t, "entries", 0, replication::encode_entries(4, 0, entries, horizon));
  write_typed(t, "response", 1,
              replication::encode_response(replication::RequestKind::replicate, 1, StatusCode::ok));
  write_typed(t, "read_response", 1,
              replication::encode_read_response(2, StatusCode::ok, &entries[0], horizon));
  write_typed(t, "forward_response", 1,
              replication::encode_forward_response(3, StatusCode::ok, "+OK\r\n", entries));
  write_typed(t, "handoff_batch", 2,
              replication::encode_handoff_batch(5, 0, true, entries, horizon));
  write_typed(t, "handoff_ack", 3, replication::encode_handoff_ack(5, 0, StatusCode::ok));
  write_typed(t, "digest_request", 4,
              replication::encode_digest_request(6, 0, s.digest(PartitionId{0}, now), horizon));
  const std::vector<std::uint64_t> buckets{1, 5};
  write_typed(t, "digest_response", 5,
              replication::encode_digest_response(6, 0, buckets, entries, true, horizon));
  replication::PartitionSet all(16);
  for (std::uint32_t p = 0; p < 16; ++p) all.add(PartitionId{p});
  write_typed(t, "keyspace_count", 6,
              replication::encode_keyspace_request(7, replication::CountQuery{all}));
  write_typed(t, "keyspace_scan", 6,
              replication::encode_keyspace_request(8, replication::ScanQuery{all, 0, 10, "*"}));
  write_typed(t, "keyspace_flush", 6,
              replication::encode_keyspace_request(9, replication::FlushQuery{HlcTimestamp{}}));
  const replication::KeyspaceAnswer count = replication::CountAnswer{3, 1};
  write_typed(t, "keyspace_response", 7,
              replication::encode_keyspace_response(7, StatusCode::ok, 1, &count));
  // data_batch: [[type, payload]...]
  std::vector<std::uint8_t> batch;
  wire::VectorSink sink(batch);
  wire::Packer p(sink);
  p.pack_array(2);
  const auto read = replication::encode_read(10, "k");
  const auto ack = replication::encode_handoff_ack(11, 1, StatusCode::ok);
  p.pack_array(2);
  p.pack(static_cast<std::uint16_t>(wire::MessageType::data_request));
  wire::pack_bin(p, read);
  p.pack_array(2);
  p.pack(static_cast<std::uint16_t>(wire::MessageType::handoff_ack));
  wire::pack_bin(p, ack);
  write_typed(t, "data_batch", 8, batch);

  const std::string dvv = "fuzz_dvv_codec";
  for (std::size_t i = 0; i < entries.size(); ++i) {
    write(dvv, "dvv_" + entries[i].key, data::encode_dvv(entries[i].version));
  }
  write(dvv, "context", data::encode_context(entries[0].version.context()));
  // Envelopes: one data message and one membership message.
  const auto data_env = wire::encode_envelope(
      {"apiary", wire::MessageType::data_request, "peer", "127.0.0.1:9999"}, read);
  write("fuzz_envelope", "data_request", data_env);
}

void swim_seeds() {
  using namespace gossip::detail;
  const std::string t = "fuzz_swim";
  gossip::MemberMeta meta;
  meta.data_addr = "10.0.0.3:7947";
  meta.tags["apiary.ring"] = "1024/3";
  const auto alive = encode_alive("c", Incarnation{3}, "10.0.0.3:7946", &meta);
  const auto suspect = encode_accusation(gossip::MemberState::suspect, "d", Incarnation{1}, "b");
  std::vector<std::uint8_t> updates = alive;
  updates.insert(updates.end(), suspect.begin(), suspect.end());
  // Indices follow kTypes in fuzz_swim.cpp: ping, ping_req, ack, nack, push_pull, reply, gossip.
  {
    std::vector<std::uint8_t> out;
    wire::VectorSink sink(out);
    wire::Packer p(sink);
    begin_ping(p, 1, "a", true, Incarnation{0});
    append_updates(out, 2, updates);
    write_typed(t, "ping", 0, out);
    write("fuzz_envelope", "ping",
          wire::encode_envelope({"apiary", wire::MessageType::ping, "b", "10.0.0.2:7946"}, out));
  }
  {
    std::vector<std::uint8_t> out;
    wire::VectorSink sink(out);
    wire::Packer p(sink);
    begin_ping_req(p, 2, "c", "10.0.0.3:7946", true);
    append_updates(out, 0, {});
    write_typed(t, "ping_req", 1, out);
  }
  {
    std::vector<std::uint8_t> out;
    wire::VectorSink sink(out);
    wire::Packer p(sink);
    begin_ack(p, 1);
    append_updates(out, 1, alive);
    write_typed(t, "ack", 2, out);
  }
  {
    std::vector<std::uint8_t> out;
    wire::VectorSink sink(out);
    wire::Packer p(sink);
    begin_push_pull(p, true, 2);
    pack_member_entry(p, gossip::MemberState::alive, "b", Incarnation{1}, "10.0.0.2:7946", &meta);
    pack_member_entry(p, gossip::MemberState::dead, "e", Incarnation{4}, "10.0.0.5:7946", nullptr);
    write_typed(t, "push_pull", 4, out);
    write_typed(t, "push_pull_reply", 5, out);
  }
  {
    std::vector<std::uint8_t> out;
    wire::VectorSink sink(out);
    wire::Packer p(sink);
    begin_gossip(p);
    append_updates(out, 2, updates);
    write_typed(t, "gossip", 6, out);
  }
}

// fuzz_persist: the first byte is the mode (bit 0 snapshot, bit 1 "prepend a header", bit 2
// "fix checksums"); the seeds are whole files written by the persistence code itself, and
// their record bodies alone.
void persist_seeds() {
  const std::string t = "fuzz_persist";
  store::Store s(sample_config());
  fill(s);
  const WallTime now{1'700'000'000'000};
  std::vector<store::VersionedEntry> entries;
  for (auto key : {"k", "ttl", "n", "gone"}) {
    if (auto e = s.export_entry(key, now)) entries.push_back(*e);
  }
  const HlcTimestamp horizon = HlcTimestamp::make(now.ms, 1);
  persist::SimEnv env;
  {
    auto writer =
        std::move(persist::AofWriter::open(env, "aof", NodeId{7}, {}, TimePoint{})).value();
    (void)writer->append(persist::FlushRecord{horizon});
    for (const auto& e : entries) (void)writer->append(persist::PutRecord{e});
    (void)writer->append(persist::RemoveRecord{"ttl"});
    (void)writer->close(TimePoint{});
  }
  std::size_t next = 0;
  auto source = [&](store::VersionedEntry& out) {
    if (next == entries.size()) return false;
    out = entries[next++];
    return true;
  };
  (void)persist::write_snapshot(env, "snap", NodeId{7}, horizon, source);
  // An AOF with collection delta records (docs/persistence.md): the hash and the set whole,
  // then writes to them as deltas.
  {
    auto writer =
        std::move(persist::AofWriter::open(env, "aof_delta", NodeId{7}, {}, TimePoint{})).value();
    for (auto key : {"h", "s"}) (void)writer->append(persist::PutRecord{*s.export_entry(key, now)});
    (void)s.take_delta("h");
    (void)s.take_delta("s");
    auto append_delta = [&](const std::string& key) {
      if (auto d = s.take_delta(key)) (void)writer->append(persist::DeltaRecord{std::move(*d)});
    };
    (void)s.edit_collection("h", data::ValueKind::hash, now, [](store::Store::CollectionEdit& e) {
      e.collection.set("f", "w", e.dot, e.stamp);
      e.collection.set("g", "x", e.dot, e.stamp);
      return true;
    });
    append_delta("h");
    (void)s.edit_collection("h", data::ValueKind::hash, now, [](store::Store::CollectionEdit& e) {
      std::string text;
      e.collection.incr("n", 4, e.dot, e.stamp, text);
      return e.collection.remove("g");
    });
    append_delta("h");
    (void)s.set_expiry("h", WallTime{now.ms + 60'000}, now);
    append_delta("h");
    (void)s.edit_collection("s", data::ValueKind::set, now, [](store::Store::CollectionEdit& e) {
      e.collection.add("m3", e.dot, e.stamp);
      return e.collection.remove("m1");
    });
    append_delta("s");
    (void)writer->close(TimePoint{});
  }
  for (const auto& [name, path, mode] : {std::tuple{"aof", "aof", 0}, {"snapshot", "snap", 1},
                                         {"aof_delta", "aof_delta", 0}}) {
    const auto file = *env.contents(path);
    write_typed(t, name, static_cast<std::uint8_t>(mode), file);
    const std::vector<std::uint8_t> records(file.begin() + persist::kFileHeaderBytes, file.end());
    write_typed(t, std::string(name) + "_records", static_cast<std::uint8_t>(mode | 2), records);
    write_typed(t, std::string(name) + "_records_fixed", static_cast<std::uint8_t>(mode | 6),
                records);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_ROOT (fuzz/corpus)\n", argv[0]);
    return 2;
  }
  root = argv[1];
  resp_seeds();
  data_seeds();
  swim_seeds();
  persist_seeds();
  return 0;
}
