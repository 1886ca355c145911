#include "apiary/runtime/tls.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <cerrno>
#include <string_view>
#include <vector>

namespace apiary::runtime {

namespace {

constexpr int kProtoTls1 = 1, kProtoTls11 = 2, kProtoTls12 = 4, kProtoTls13 = 8;

Status tls_error(std::string text) {
  return make_error(StatusCode::invalid_argument, std::move(text));
}

// Redis's parseProtocolsConfig: space-separated names, any case; -1 when one is unknown.
int parse_protocols(std::string_view text) {
  if (text.empty()) return kProtoTls12 | kProtoTls13;
  int mask = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t end = std::min(text.find(' ', i), text.size());
    std::string word(text.substr(i, end - i));
    for (char& c : word) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    if (word == "tlsv1") {
      mask |= kProtoTls1;
    } else if (word == "tlsv1.1") {
      mask |= kProtoTls11;
    } else if (word == "tlsv1.2") {
      mask |= kProtoTls12;
    } else if (word == "tlsv1.3") {
      mask |= kProtoTls13;
    } else if (!word.empty()) {
      return -1;
    }
    i = end + 1;
  }
  return mask;
}

// OpenSSL's socket BIO writes with write(2): a peer that went away would raise SIGPIPE in a
// host process that did not ignore it. This one is the socket BIO with send(MSG_NOSIGNAL).
int nosignal_write(BIO* bio, const char* data, int len) {
  const ssize_t n = ::send(static_cast<int>(BIO_get_fd(bio, nullptr)), data,
                           static_cast<std::size_t>(len), MSG_NOSIGNAL);
  BIO_clear_retry_flags(bio);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
    BIO_set_retry_write(bio);
  }
  return static_cast<int>(n);
}

const BIO_METHOD* nosignal_socket_method() {
  static BIO_METHOD* method = [] {
    const BIO_METHOD* base = BIO_s_socket();
    BIO_METHOD* m = BIO_meth_new(BIO_TYPE_SOCKET, "apiary socket");
    BIO_meth_set_write(m, nosignal_write);
    BIO_meth_set_read(m, BIO_meth_get_read(base));
    BIO_meth_set_puts(m, BIO_meth_get_puts(base));
    BIO_meth_set_ctrl(m, BIO_meth_get_ctrl(base));
    BIO_meth_set_create(m, BIO_meth_get_create(base));
    BIO_meth_set_destroy(m, BIO_meth_get_destroy(base));
    return m;
  }();
  return method;
}

int password_callback(char* buf, int size, int, void* userdata) {
  const auto* pass = static_cast<const std::string*>(userdata);
  if (pass == nullptr || size <= 0) return 0;
  const int n = std::min(size - 1, static_cast<int>(pass->size()));
  pass->copy(buf, static_cast<std::size_t>(n));
  buf[n] = '\0';
  return n;
}

}  // namespace

std::string take_ssl_errors(const std::string& fallback) {
  std::string out;
  while (const unsigned long code = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? fallback : out;
}

Result<std::shared_ptr<const TlsContext>> TlsContext::create(const TlsSettings& s) {
  ERR_clear_error();
  if (s.cert_file.empty()) return tls_error("No tls-cert-file configured!");
  if (s.key_file.empty()) return tls_error("No tls-key-file configured!");
  const int protocols = parse_protocols(s.protocols);
  if (protocols < 0) {
    return tls_error(
        "Invalid tls-protocols specified. Use a combination of 'TLSv1', 'TLSv1.1', 'TLSv1.2' "
        "and 'TLSv1.3'.");
  }
  int verify_mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  if (s.auth_clients == "no") {
    verify_mode = SSL_VERIFY_NONE;
  } else if (s.auth_clients == "optional") {
    verify_mode = SSL_VERIFY_PEER;
  } else if (s.auth_clients != "yes") {
    return tls_error("tls-auth-clients must be yes, no or optional");
  }
  if (verify_mode != SSL_VERIFY_NONE && s.ca_cert_file.empty() && s.ca_cert_dir.empty()) {
    return tls_error(
        "Either tls-ca-cert-file or tls-ca-cert-dir must be specified when tls-auth-clients is "
        "enabled!");
  }

  std::shared_ptr<TlsContext> self(new TlsContext());
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) return tls_error(take_ssl_errors("cannot create an SSL context"));
  self->ctx_ = ctx;

  long options =
      SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 | SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION;
  if ((protocols & kProtoTls1) == 0) options |= SSL_OP_NO_TLSv1;
  if ((protocols & kProtoTls11) == 0) options |= SSL_OP_NO_TLSv1_1;
  if ((protocols & kProtoTls12) == 0) options |= SSL_OP_NO_TLSv1_2;
  if ((protocols & kProtoTls13) == 0) options |= SSL_OP_NO_TLSv1_3;
  if (s.prefer_server_ciphers) options |= SSL_OP_CIPHER_SERVER_PREFERENCE;
  SSL_CTX_set_options(ctx, static_cast<std::uint64_t>(options));
  // Output stays in the connection's buffer between attempts, and may grow: a retried
  // SSL_write may see a moved and longer buffer.
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // Read what the socket has in one read(2), not a record header and then its body: the
  // listener goes on while OpenSSL holds bytes (SSL_has_pending) and waits for the socket
  // only when it holds none.
  SSL_CTX_set_read_ahead(ctx, 1);
  SSL_CTX_set_verify(ctx, verify_mode, nullptr);
  SSL_CTX_set_ecdh_auto(ctx, 1);
  SSL_CTX_set_dh_auto(ctx, 1);

  if (s.session_caching) {
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
    SSL_CTX_sess_set_cache_size(ctx, s.session_cache_size);
    SSL_CTX_set_timeout(ctx, s.session_cache_timeout_seconds);
    static const unsigned char kSessionContext[] = "apiary";
    SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof kSessionContext - 1);
  } else {
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  }

  SSL_CTX_set_default_passwd_cb(ctx, password_callback);
  SSL_CTX_set_default_passwd_cb_userdata(ctx, const_cast<std::string*>(&s.key_file_pass));
  if (SSL_CTX_use_certificate_chain_file(ctx, s.cert_file.c_str()) <= 0) {
    return tls_error("Failed to load certificate: " + s.cert_file + ": " +
                     take_ssl_errors("unreadable"));
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, s.key_file.c_str(), SSL_FILETYPE_PEM) <= 0) {
    return tls_error("Failed to load private key: " + s.key_file + ": " +
                     take_ssl_errors("unreadable"));
  }
  SSL_CTX_set_default_passwd_cb_userdata(ctx, nullptr);  // `s` does not outlive this call
  if (SSL_CTX_check_private_key(ctx) <= 0) {
    return tls_error("tls-key-file " + s.key_file + " does not match tls-cert-file " + s.cert_file +
                     ": " + take_ssl_errors("mismatch"));
  }
  if (!s.ca_cert_file.empty() || !s.ca_cert_dir.empty()) {
    if (SSL_CTX_load_verify_locations(
            ctx, s.ca_cert_file.empty() ? nullptr : s.ca_cert_file.c_str(),
            s.ca_cert_dir.empty() ? nullptr : s.ca_cert_dir.c_str()) <= 0) {
      return tls_error("Failed to configure CA certificate(s) file/directory: " +
                       take_ssl_errors("unreadable"));
    }
    // Name the acceptable CAs in the certificate request, as clients pick a certificate by it.
    if (!s.ca_cert_file.empty()) {
      if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(s.ca_cert_file.c_str())) {
        SSL_CTX_set_client_CA_list(ctx, names);
      }
      ERR_clear_error();
    }
  }
  if (!s.ciphers.empty() && SSL_CTX_set_cipher_list(ctx, s.ciphers.c_str()) <= 0) {
    ERR_clear_error();
    return tls_error("Failed to configure ciphers: " + s.ciphers);
  }
  if (!s.ciphersuites.empty() && SSL_CTX_set_ciphersuites(ctx, s.ciphersuites.c_str()) <= 0) {
    ERR_clear_error();
    return tls_error("Failed to configure ciphersuites: " + s.ciphersuites);
  }
  return std::shared_ptr<const TlsContext>(std::move(self));
}

TlsContext::~TlsContext() {
  if (ctx_ != nullptr) SSL_CTX_free(ctx_);
}

SSL* TlsContext::accept(int fd) const {
  SSL* ssl = SSL_new(ctx_);
  if (ssl == nullptr) return nullptr;
  BIO* bio = BIO_new(nosignal_socket_method());
  if (bio == nullptr) {
    SSL_free(ssl);
    return nullptr;
  }
  BIO_set_fd(bio, fd, BIO_NOCLOSE);
  SSL_set_bio(ssl, bio, bio);
  SSL_set_accept_state(ssl);
  return ssl;
}

}  // namespace apiary::runtime
