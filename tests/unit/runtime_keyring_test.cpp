// The cluster keyring (runtime/keyring.hpp): what a member accepts from its peers, through a
// rotation, and which keyring files it refuses.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "apiary/runtime/keyring.hpp"

using apiary::runtime::ClusterKey;
using apiary::runtime::KeyChannel;
using apiary::runtime::Keyring;
using Opened = Keyring::OpenResult;

namespace {

ClusterKey key_of(std::uint8_t fill) {
  ClusterKey key{};
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(fill + i);
  return key;
}

std::unique_ptr<Keyring> ring(std::vector<ClusterKey> keys, std::string cluster = "apiary") {
  auto made = Keyring::create(std::move(keys), cluster);
  REQUIRE(made.ok());
  return std::move(made).value();
}

std::vector<std::uint8_t> bytes(std::string_view text) {
  return std::vector<std::uint8_t>(text.begin(), text.end());
}

// A msgpack envelope starts with a fixarray of six.
std::vector<std::uint8_t> envelope(std::size_t size) {
  std::vector<std::uint8_t> out(size);
  for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<std::uint8_t>(i * 7 + 3);
  if (size > 0) out[0] = 0x96;
  return out;
}

std::vector<std::uint8_t> sealed_by(Keyring& r, KeyChannel channel,
                                    const std::vector<std::uint8_t>& plain) {
  std::vector<std::uint8_t> out;
  REQUIRE(r.seal(channel, plain, out));
  return out;
}

}  // namespace

TEST_CASE("a sealed message opens with the same key, on the same channel and cluster only",
          "[unit][keyring]") {
  auto a = ring({key_of(1)});
  auto b = ring({key_of(1)});
  for (std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{200}, std::size_t{1400},
                           std::size_t{64 * 1024}}) {
    const auto plain = envelope(size);
    const auto sealed = sealed_by(*a, KeyChannel::data, plain);
    CHECK(sealed.size() == plain.size() + Keyring::kOverhead);
    CHECK(sealed[0] == Keyring::kVersion);
    std::vector<std::uint8_t> opened;
    REQUIRE(b->open(KeyChannel::data, sealed, opened) == Opened::opened);
    CHECK(opened == plain);
    CHECK(b->last_opened_by() == 0);
    // The same message on the other channel, or in a cluster with another name, is refused.
    CHECK(b->open(KeyChannel::gossip, sealed, opened) == Opened::no_key);
    CHECK(ring({key_of(1)}, "other")->open(KeyChannel::data, sealed, opened) == Opened::no_key);
  }
  // Every message gets its own nonce: the same plaintext never seals to the same bytes.
  const auto plain = bytes("hello");
  CHECK(sealed_by(*a, KeyChannel::gossip, plain) != sealed_by(*a, KeyChannel::gossip, plain));
}

TEST_CASE("a message sealed with another key, or flipped, truncated or plaintext, is refused",
          "[unit][keyring]") {
  auto a = ring({key_of(1)});
  auto other = ring({key_of(2)});
  const auto plain = envelope(300);
  const auto sealed = sealed_by(*a, KeyChannel::gossip, plain);
  std::vector<std::uint8_t> opened = bytes("left over");
  CHECK(other->open(KeyChannel::gossip, sealed, opened) == Opened::no_key);
  CHECK(opened.empty());  // nothing of an unauthenticated message is handed on

  // Any flipped bit anywhere (version, nonce, ciphertext, tag) and it does not open.
  for (std::size_t at = 0; at < sealed.size(); at += 13) {
    auto flipped = sealed;
    flipped[at] ^= 0x10;
    CHECK(a->open(KeyChannel::gossip, flipped, opened) != Opened::opened);
  }
  auto last = sealed;
  last.back() ^= 1;
  CHECK(a->open(KeyChannel::gossip, last, opened) == Opened::no_key);
  // Cut short: by one byte (the tag no longer matches), or below the header and tag.
  CHECK(a->open(KeyChannel::gossip, std::span(sealed).first(sealed.size() - 1), opened) ==
        Opened::no_key);
  CHECK(a->open(KeyChannel::gossip, std::span(sealed).first(Keyring::kOverhead - 1), opened) ==
        Opened::malformed);
  CHECK(a->open(KeyChannel::gossip, {}, opened) == Opened::malformed);
  // An unencrypted peer's envelope, and an unknown version byte.
  CHECK(a->open(KeyChannel::gossip, plain, opened) == Opened::plaintext);
  auto v2 = sealed;
  v2[0] = 2;
  CHECK(a->open(KeyChannel::gossip, v2, opened) == Opened::malformed);
}

TEST_CASE("a rotation in three steps keeps every pair of members talking at every step",
          "[unit][keyring]") {
  const ClusterKey old_key = key_of(1);
  const ClusterKey new_key = key_of(100);
  // The keyrings a member may hold during the rotation, in order: a member is at most one
  // step ahead of any other (each step reaches every node before the next one starts).
  const std::vector<std::vector<ClusterKey>> steps = {
      {old_key},           // before
      {old_key, new_key},  // 1: the new key installed as a secondary
      {new_key, old_key},  // 2: the new key made primary
      {new_key},           // 3: the old key removed
  };
  const auto plain = envelope(500);
  for (std::size_t s = 0; s < steps.size(); ++s) {
    for (std::size_t t = s; t < std::min(s + 2, steps.size()); ++t) {
      auto x = ring(steps[s]);
      auto y = ring(steps[t]);
      std::vector<std::uint8_t> opened;
      INFO("steps " << s << " and " << t);
      CHECK(y->open(KeyChannel::gossip, sealed_by(*x, KeyChannel::gossip, plain), opened) ==
            Opened::opened);
      CHECK(opened == plain);
      CHECK(x->open(KeyChannel::data, sealed_by(*y, KeyChannel::data, plain), opened) ==
            Opened::opened);
    }
  }
  // Skipping a step breaks it: a node that removed the old key cannot open what a node that
  // never installed the new one seals, nor the other way round.
  std::vector<std::uint8_t> opened;
  auto before = ring(steps[0]);
  auto after = ring(steps[3]);
  CHECK(after->open(KeyChannel::gossip, sealed_by(*before, KeyChannel::gossip, plain), opened) ==
        Opened::no_key);
  CHECK(before->open(KeyChannel::gossip, sealed_by(*after, KeyChannel::gossip, plain), opened) ==
        Opened::no_key);
  // A secondary key opens, and says so; the primary seals.
  auto step1 = ring(steps[1]);
  REQUIRE(step1->open(KeyChannel::gossip, sealed_by(*after, KeyChannel::gossip, plain), opened) ==
          Opened::opened);
  CHECK(step1->last_opened_by() == 1);
  CHECK(before->open(KeyChannel::gossip, sealed_by(*step1, KeyChannel::gossip, plain), opened) ==
        Opened::opened);
}

TEST_CASE("a keyring needs a key and no key twice", "[unit][keyring]") {
  CHECK(!Keyring::create({}, "apiary").ok());
  CHECK(!Keyring::create({key_of(1), key_of(2), key_of(1)}, "apiary").ok());
  auto r = ring({key_of(1), key_of(2)});
  CHECK(r->key_count() == 2);
  const auto prints = r->fingerprints();
  REQUIRE(prints.size() == 2);
  CHECK(prints[0].size() == 8);
  CHECK(prints[0] != prints[1]);
  CHECK(prints[0] == apiary::runtime::key_fingerprint(key_of(1)));
}

TEST_CASE("keyring files: base64 keys, primary first, and the errors name the line",
          "[unit][keyring]") {
  using apiary::runtime::encode_cluster_key;
  using apiary::runtime::parse_keyring;
  const std::string k1 = encode_cluster_key(key_of(1));
  const std::string k2 = encode_cluster_key(key_of(50));
  CHECK(k1.size() == 44);

  auto parsed = parse_keyring("# rotated 2026-12-06\n\n  " + k2 + "  \r\n" + k1 + "\n");
  REQUIRE(parsed.ok());
  REQUIRE(parsed->size() == 2);
  CHECK((*parsed)[0] == key_of(50));
  CHECK((*parsed)[1] == key_of(1));
  // Without padding, and without a final newline.
  auto unpadded = parse_keyring(k1.substr(0, 43));
  REQUIRE(unpadded.ok());
  CHECK(unpadded->front() == key_of(1));

  auto error_of = [](const std::string& text) {
    auto r = parse_keyring(text);
    REQUIRE(!r.ok());
    return r.status().message();
  };
  CHECK(error_of("") == "no key in the keyring");
  CHECK(error_of("# only a comment\n\n") == "no key in the keyring");
  CHECK(error_of(k1 + "\nnot base64!\n").find("line 2: not a base64 key") == 0);
  CHECK(error_of(k1 + "\n\n" + k1.substr(0, 20) + "\n").find("line 3: the key is 15 bytes") == 0);
  CHECK(error_of("c2hvcnQ=\n").find("line 1: the key is 5 bytes; a cluster key is 32 bytes") == 0);
  CHECK(error_of(k1 + "\n" + k2 + "\n" + k1 + "\n") == "line 3: the same key as line 1");
}

TEST_CASE("a keyring file is read from disk, with a warning when others may read it",
          "[unit][keyring]") {
  using apiary::runtime::load_keyring_file;
  const auto dir =
      std::filesystem::temp_directory_path() / ("apiary-keyring-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = (dir / "keys").string();
  auto key = apiary::runtime::generate_cluster_key();
  REQUIRE(key.ok());
  CHECK(*key != apiary::runtime::generate_cluster_key().value());
  {
    std::ofstream out(path);
    out << apiary::runtime::encode_cluster_key(*key) << "\n";
  }
  std::filesystem::permissions(
      path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  std::string warning;
  auto loaded = load_keyring_file(path, &warning);
  REQUIRE(loaded.ok());
  CHECK(loaded->front() == *key);
  CHECK(warning.empty());

  std::filesystem::permissions(
      path, std::filesystem::perms::group_read | std::filesystem::perms::others_read,
      std::filesystem::perm_options::add);
  REQUIRE(load_keyring_file(path, &warning).ok());
  CHECK(warning.find("mode 0644") != std::string::npos);

  auto missing = load_keyring_file((dir / "none").string());
  REQUIRE(!missing.ok());
  CHECK(missing.status().message().find("cannot read") != std::string::npos);
  std::filesystem::remove_all(dir);
}
