// Keyring: authenticated encryption of node-to-node messages with a cluster key, as
// HashiCorp memberlist's keyring does.
//
// Every gossip datagram and data-channel message between members is sealed with AES-256-GCM
// under the *primary* key; a received message is opened by trying every installed key,
// primary first. Keys are rotated without downtime by installing the new key beside the old
// one on every node, then making it primary everywhere, then removing the old one: at every
// step each node opens what every other node seals (docs/security.md).
//
// Sealed message: [version 0x01][nonce, 12 bytes][ciphertext][tag, 16 bytes]. The nonce is
// random per message (RAND_bytes, drawn for 85 messages at a time); the additional
// authenticated data is the channel (gossip or data) and the cluster name, so a message sealed
// for one channel or cluster does not open on another. A plaintext envelope starts with a
// msgpack array (0x9x), never with 0x01, so a sealed message and an unencrypted peer's
// message are told apart by their first byte.
//
// Random 96-bit nonces bound how many messages one key may seal before a nonce is likely to
// repeat (NIST SP 800-38D: 2^32 messages per key over the whole cluster); rotate keys well
// before that (docs/security.md gives the arithmetic).
//
// Thread safety: a Keyring holds OpenSSL cipher contexts that seal() and open() reuse, so one
// Keyring belongs to one thread (the node's loop thread). The free functions are thread-safe.
// This is driver code: it draws randomness from the OS; the deterministic cores never see it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/base/status.hpp"

namespace apiary::runtime {

inline constexpr std::size_t kClusterKeyBytes = 32;  // AES-256
using ClusterKey = std::array<std::uint8_t, kClusterKeyBytes>;

// What a sealed message is for; bound into the tag, so a message does not cross channels.
enum class KeyChannel : std::uint8_t { gossip = 1, data = 2 };

class Keyring {
 public:
  static constexpr std::uint8_t kVersion = 1;
  static constexpr std::size_t kNonceBytes = 12;
  static constexpr std::size_t kTagBytes = 16;
  // Bytes a sealed message has on top of its plaintext.
  static constexpr std::size_t kOverhead = 1 + kNonceBytes + kTagBytes;

  // `keys`: the first is the primary (seals), all of them open. At least one key, no key
  // twice. `cluster_name` is authenticated with every message.
  static Result<std::unique_ptr<Keyring>> create(std::vector<ClusterKey> keys,
                                                 std::string_view cluster_name);
  ~Keyring();
  Keyring(const Keyring&) = delete;
  Keyring& operator=(const Keyring&) = delete;

  // Seals `plain` into `out` (replacing its contents). False only when OpenSSL fails (no
  // randomness): the message must not be sent then.
  bool seal(KeyChannel channel, std::span<const std::uint8_t> plain,
            std::vector<std::uint8_t>& out);

  enum class OpenResult {
    opened,
    plaintext,  // an unencrypted peer's envelope (a msgpack array)
    malformed,  // too short, or an unknown version byte
    no_key,     // no installed key authenticates it (another key, cluster or channel)
  };
  // Opens `sealed` into `out` (replacing its contents) when one installed key authenticates it.
  OpenResult open(KeyChannel channel, std::span<const std::uint8_t> sealed,
                  std::vector<std::uint8_t>& out);

  std::size_t key_count() const { return keys_.size(); }
  // Fingerprints (key_fingerprint) of the installed keys, the primary first.
  std::vector<std::string> fingerprints() const;
  // Which installed key opened the last message that open() answered `opened` for (0: the
  // primary).
  std::size_t last_opened_by() const { return last_opened_by_; }

 private:
  struct Key;
  Keyring(std::string_view cluster_name);

  std::vector<std::unique_ptr<Key>> keys_;
  std::array<std::vector<std::uint8_t>, 2> aad_;  // per channel: channel byte + cluster name
  std::size_t last_opened_by_ = 0;
  // Random bytes drawn ahead for nonces (kNonceBytes each); nonce_used_ of them are spent.
  std::array<std::uint8_t, 85 * kNonceBytes> nonces_{};
  std::size_t nonce_used_ = nonces_.size();
};

// The text of a keyring file: one base64 key (32 bytes) per line, the first being the primary;
// blank lines and lines starting with '#' are ignored. Errors name the line.
Result<std::vector<ClusterKey>> parse_keyring(std::string_view text);
// Reads and parses the file at `path`. `warning` (when not null) gets a sentence when the file
// is readable by group or others (it should be 0600 or 0400, owned by the daemon's user).
Result<std::vector<ClusterKey>> load_keyring_file(const std::string& path,
                                                  std::string* warning = nullptr);

// A new random key from the OS (RAND_bytes); error when no randomness is available.
Result<ClusterKey> generate_cluster_key();
// Standard base64 with padding (44 characters), as a keyring file holds it.
std::string encode_cluster_key(const ClusterKey& key);
// A short public name of a key for logs and INFO: the first 8 hex digits of SHA-256(key).
// It identifies the key without revealing it.
std::string key_fingerprint(const ClusterKey& key);

}  // namespace apiary::runtime
