// TlsContext: one loaded server-side TLS configuration for the Redis port (OpenSSL), made
// from Redis's tls-* settings the way redis-server builds its SSL_CTX: certificate chain and
// key (optionally encrypted, tls-key-file-pass), the CA that client certificates must chain
// to, the protocol versions, TLS 1.2 ciphers and TLS 1.3 suites, server cipher preference,
// the session cache, and whether clients must present a certificate (tls-auth-clients).
//
// A context is immutable once made. Reloading (CONFIG SET tls-cert-file ...) makes a new one
// and swaps it in the listener: connections already open keep the context they were made
// with (each SSL object holds a reference to its SSL_CTX), new ones get the new context.
// Making a context reads files and may fail; the error names the setting at fault.
//
// Thread safety: create() from any thread; a made context may be shared between threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "apiary/base/status.hpp"
#include "apiary/node_config.hpp"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace apiary::runtime {

// The settings: apiary::TlsConfig (node_config.hpp); `addr` is not used here.
using TlsSettings = TlsConfig;

class TlsContext {
 public:
  static Result<std::shared_ptr<const TlsContext>> create(const TlsSettings& settings);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // A new server-side connection object on `fd` (accept state, verification as
  // tls-auth-clients says); nullptr if OpenSSL cannot make one. The caller SSL_free()s it.
  SSL* accept(int fd) const;

 private:
  TlsContext() = default;
  SSL_CTX* ctx_ = nullptr;
};

// OpenSSL's error queue as text ("error:0A000086:SSL routines::certificate verify failed"),
// emptied; `fallback` when it holds nothing.
std::string take_ssl_errors(const std::string& fallback);

}  // namespace apiary::runtime
