#include "apiary/runtime/keyring.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

namespace apiary::runtime {

namespace {

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using Ctx = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Strict base64 (padding optional); nullopt on any other character or a dangling bit group.
std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  std::vector<std::uint8_t> out;
  std::uint32_t bits = 0;
  int have = 0;
  for (char c : text) {
    const int v = base64_value(c);
    if (v < 0) return std::nullopt;
    bits = (bits << 6) | static_cast<std::uint32_t>(v);
    have += 6;
    if (have >= 8) {
      have -= 8;
      out.push_back(static_cast<std::uint8_t>(bits >> have));
    }
  }
  if (have >= 6) return std::nullopt;  // one character alone cannot end a group
  return out;
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

// One installed key: its cipher contexts keep the AES key schedule, so a message only sets
// its nonce.
struct Keyring::Key {
  ClusterKey bytes{};
  Ctx seal{EVP_CIPHER_CTX_new()};
  Ctx open{EVP_CIPHER_CTX_new()};
};

Keyring::Keyring(std::string_view cluster_name) {
  for (KeyChannel channel : {KeyChannel::gossip, KeyChannel::data}) {
    auto& aad = aad_[static_cast<std::size_t>(channel) - 1];
    aad.push_back(static_cast<std::uint8_t>(channel));
    aad.insert(aad.end(), cluster_name.begin(), cluster_name.end());
  }
}

Keyring::~Keyring() = default;

Result<std::unique_ptr<Keyring>> Keyring::create(std::vector<ClusterKey> keys,
                                                 std::string_view cluster_name) {
  if (keys.empty()) return make_error(StatusCode::invalid_argument, "the keyring has no key");
  std::unique_ptr<Keyring> ring(new Keyring(cluster_name));
  for (std::size_t i = 0; i < keys.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (keys[i] == keys[j]) {
        return make_error(
            StatusCode::invalid_argument,
            "key " + std::to_string(i + 1) + " is the same as key " + std::to_string(j + 1));
      }
    }
    auto key = std::make_unique<Key>();
    key->bytes = keys[i];
    if (!key->seal || !key->open ||
        EVP_EncryptInit_ex(key->seal.get(), EVP_aes_256_gcm(), nullptr, key->bytes.data(),
                           nullptr) != 1 ||
        EVP_DecryptInit_ex(key->open.get(), EVP_aes_256_gcm(), nullptr, key->bytes.data(),
                           nullptr) != 1) {
      return make_error(StatusCode::internal, "OpenSSL cannot set up AES-256-GCM");
    }
    ring->keys_.push_back(std::move(key));
  }
  return ring;
}

bool Keyring::seal(KeyChannel channel, std::span<const std::uint8_t> plain,
                   std::vector<std::uint8_t>& out) {
  out.resize(kOverhead + plain.size());
  std::uint8_t* nonce = out.data() + 1;
  std::uint8_t* body = nonce + kNonceBytes;
  out[0] = kVersion;
  // Nonces come from the OS's generator in batches: one RAND_bytes call per message cost
  // more than sealing a 1400-byte packet (docs/benchmarks.md, "Encryption between nodes").
  if (nonce_used_ + kNonceBytes > nonces_.size()) {
    if (RAND_bytes(nonces_.data(), static_cast<int>(nonces_.size())) != 1) return false;
    nonce_used_ = 0;
  }
  std::memcpy(nonce, nonces_.data() + nonce_used_, kNonceBytes);
  // Each batch byte serves one nonce only: wiped as it is taken.
  std::memset(nonces_.data() + nonce_used_, 0, kNonceBytes);
  nonce_used_ += kNonceBytes;
  EVP_CIPHER_CTX* ctx = keys_.front()->seal.get();
  const auto& aad = aad_[static_cast<std::size_t>(channel) - 1];
  int n = 0;
  if (EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, nonce) != 1 ||
      EVP_EncryptUpdate(ctx, nullptr, &n, aad.data(), static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(ctx, body, &n, plain.data(), static_cast<int>(plain.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx, body + n, &n) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagBytes),
                          body + plain.size()) != 1) {
    return false;
  }
  return true;
}

Keyring::OpenResult Keyring::open(KeyChannel channel, std::span<const std::uint8_t> sealed,
                                  std::vector<std::uint8_t>& out) {
  if (!sealed.empty() && (sealed[0] & 0xf0) == 0x90) return OpenResult::plaintext;
  if (sealed.size() < kOverhead || sealed[0] != kVersion) return OpenResult::malformed;
  const std::uint8_t* nonce = sealed.data() + 1;
  const std::uint8_t* body = nonce + kNonceBytes;
  const std::size_t body_size = sealed.size() - kOverhead;
  // EVP_CTRL_GCM_SET_TAG takes a non-const pointer; the tag is only read.
  auto* tag = const_cast<std::uint8_t*>(body + body_size);
  const auto& aad = aad_[static_cast<std::size_t>(channel) - 1];
  out.resize(body_size);
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    EVP_CIPHER_CTX* ctx = keys_[i]->open.get();
    int n = 0;
    int tail = 0;
    if (EVP_DecryptInit_ex(ctx, nullptr, nullptr, nullptr, nonce) == 1 &&
        EVP_DecryptUpdate(ctx, nullptr, &n, aad.data(), static_cast<int>(aad.size())) == 1 &&
        EVP_DecryptUpdate(ctx, out.data(), &n, body, static_cast<int>(body_size)) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagBytes), tag) == 1 &&
        EVP_DecryptFinal_ex(ctx, out.data() + n, &tail) == 1) {
      last_opened_by_ = i;
      return OpenResult::opened;
    }
  }
  out.clear();
  return OpenResult::no_key;
}

std::vector<std::string> Keyring::fingerprints() const {
  std::vector<std::string> out;
  for (const auto& key : keys_) out.push_back(key_fingerprint(key->bytes));
  return out;
}

Result<std::vector<ClusterKey>> parse_keyring(std::string_view text) {
  std::vector<ClusterKey> keys;
  std::vector<std::size_t> lines;
  std::size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const auto eol = text.find('\n');
    std::string_view line = trimmed(text.substr(0, eol));
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
    if (line.empty() || line.front() == '#') continue;
    const std::string where = "line " + std::to_string(line_no) + ": ";
    auto bytes = base64_decode(line);
    if (!bytes) {
      return make_error(StatusCode::malformed,
                        where + "not a base64 key (apiary keygen makes one)");
    }
    if (bytes->size() != kClusterKeyBytes) {
      return make_error(StatusCode::malformed, where + "the key is " +
                                                   std::to_string(bytes->size()) +
                                                   " bytes; a cluster key is 32 bytes");
    }
    ClusterKey key;
    std::copy(bytes->begin(), bytes->end(), key.begin());
    for (std::size_t j = 0; j < keys.size(); ++j) {
      if (keys[j] == key) {
        return make_error(StatusCode::malformed,
                          where + "the same key as line " + std::to_string(lines[j]));
      }
    }
    keys.push_back(key);
    lines.push_back(line_no);
  }
  if (keys.empty()) return make_error(StatusCode::malformed, "no key in the keyring");
  return keys;
}

Result<std::vector<ClusterKey>> load_keyring_file(const std::string& path, std::string* warning) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return make_error(StatusCode::io_error, path + ": cannot read the keyring file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(StatusCode::io_error, path + ": cannot read the keyring file");
  std::stringstream text;
  text << in.rdbuf();
  auto keys = parse_keyring(text.str());
  if (!keys.ok()) return make_error(keys.status().code(), path + ": " + keys.status().message());
  if (warning != nullptr && (st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    *warning = path + " is readable by other users (mode " + mode +
               "); make it 0600 or 0400, owned by the daemon's user";
  }
  return keys;
}

Result<ClusterKey> generate_cluster_key() {
  ClusterKey key{};
  if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) {
    return make_error(StatusCode::internal, "no randomness from the OS (RAND_bytes failed)");
  }
  return key;
}

std::string encode_cluster_key(const ClusterKey& key) {
  std::string out;
  std::uint32_t bits = 0;
  int have = 0;
  for (std::uint8_t b : key) {
    bits = (bits << 8) | b;
    have += 8;
    while (have >= 6) {
      have -= 6;
      out.push_back(kBase64[(bits >> have) & 63]);
    }
  }
  if (have > 0) out.push_back(kBase64[(bits << (6 - have)) & 63]);
  while (out.size() % 4 != 0) out.push_back('=');
  return out;
}

std::string key_fingerprint(const ClusterKey& key) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(key.data(), key.size(), digest, &len, EVP_sha256(), nullptr) != 1) return "?";
  char hex[9];
  std::snprintf(hex, sizeof hex, "%02x%02x%02x%02x", digest[0], digest[1], digest[2], digest[3]);
  return hex;
}

}  // namespace apiary::runtime
