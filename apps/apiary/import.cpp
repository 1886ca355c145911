#include "import.hpp"

#include <httplib.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "apiary/base/host_port.hpp"
#include "apiary/persist/posix_env.hpp"
#include "apiary/persist/rdb_reader.hpp"

namespace apiary::cli {

namespace {

using persist::RdbReader;
using persist::RdbReport;
using persist::RdbStringKey;

// A pipelined batch is sent when it holds this many bytes, even if short of `batch` commands.
constexpr std::size_t kBatchBytes = 4u << 20;

void fail(const std::string& message) {
  std::fprintf(stderr, "apiary import: %s\n", message.c_str());
}

std::int64_t wall_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// --- the cluster: one live member's Redis address from GET /v1/members ---

// The string value of "field":"..." inside `object`, or nullopt (our JSON escapes quotes,
// and neither states nor addresses contain any).
std::optional<std::string> json_field(std::string_view object, std::string_view field) {
  const std::string needle = "\"" + std::string(field) + "\":\"";
  const auto at = object.find(needle);
  if (at == std::string_view::npos) return std::nullopt;
  const auto begin = at + needle.size();
  const auto end = object.find('"', begin);
  if (end == std::string_view::npos) return std::nullopt;
  return std::string(object.substr(begin, end - begin));
}

// The Redis addresses of the alive members, the answering node first.
std::vector<std::string> alive_redis_addrs(const std::string& body, const std::string& http_host) {
  const std::string self = json_field(body, "self").value_or("");
  std::vector<std::string> out;
  std::string_view rest(body);
  const std::string_view marker = "{\"name\":";
  for (auto at = rest.find(marker); at != std::string_view::npos; at = rest.find(marker)) {
    rest.remove_prefix(at + 1);
    const auto next = rest.find(marker);
    const std::string_view member = rest.substr(0, next);
    const auto name = json_field(member, "name");
    const auto state = json_field(member, "state");
    const auto client = json_field(member, "client_addr");
    if (state != "alive" || !client || client->empty()) continue;
    auto hp = parse_host_port(*client);
    if (!hp.ok()) continue;
    // A node bound to every interface advertises no usable host: use the one we reached.
    if (hp->host.empty() || hp->host == "0.0.0.0") hp->host = http_host;
    if (name == self) {
      out.insert(out.begin(), hp->to_string());
    } else {
      out.push_back(hp->to_string());
    }
  }
  return out;
}

std::optional<std::vector<std::string>> fetch_members(const std::string& http_addr) {
  auto parsed = parse_host_port(http_addr);
  if (!parsed.ok()) {
    fail("--http: " + parsed.status().message());
    return std::nullopt;
  }
  httplib::Client client(parsed->host, parsed->port);
  client.set_connection_timeout(3);
  client.set_read_timeout(5);
  auto res = client.Get("/v1/members");
  if (!res) {
    fail("cannot reach " + http_addr + ": " + httplib::to_string(res.error()));
    return std::nullopt;
  }
  if (res->status != 200) {
    fail(http_addr + " answered HTTP " + std::to_string(res->status));
    return std::nullopt;
  }
  return alive_redis_addrs(res->body, parsed->host);
}

// --- a blocking RESP connection that pipelines SETs ---

class Connection {
 public:
  ~Connection() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool connect(const std::string& addr, std::string& error) {
    auto hp = parse_host_port(addr);
    if (!hp.ok()) {
      error = hp.status().message();
      return false;
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const int rc =
        ::getaddrinfo(hp->host.c_str(), std::to_string(hp->port).c_str(), &hints, &found);
    if (rc != 0) {
      error = ::gai_strerror(rc);
      return false;
    }
    for (addrinfo* a = found; a != nullptr && fd_ < 0; a = a->ai_next) {
      const int fd = ::socket(a->ai_family, a->ai_socktype, a->ai_protocol);
      if (fd < 0) continue;
      if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
        fd_ = fd;
      } else {
        error = std::strerror(errno);
        ::close(fd);
      }
    }
    ::freeaddrinfo(found);
    if (fd_ < 0) return false;
    timeval timeout{30, 0};  // a quorum write that takes this long is a failure
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    return true;
  }

  bool send_all(std::string_view bytes, std::string& error) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) {
        error = n < 0 ? std::strerror(errno) : "connection closed";
        return false;
      }
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // The next reply line (without CRLF); false when the connection failed. SET answers with
  // one line: +OK, or -ERR ...
  bool reply_line(std::string& line, std::string& error) {
    while (true) {
      const auto eol = buffer_.find("\r\n");
      if (eol != std::string::npos) {
        line = buffer_.substr(0, eol);
        buffer_.erase(0, eol + 2);
        return true;
      }
      char chunk[16384];
      const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) {
        error = n == 0 ? "connection closed" : std::strerror(errno);
        return false;
      }
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

 private:
  int fd_ = -1;
  std::string buffer_;
};

void append_bulk(std::string& out, std::string_view s) {
  out += '$';
  out += std::to_string(s.size());
  out += "\r\n";
  out += s;
  out += "\r\n";
}

void append_set(std::string& out, const RdbStringKey& k) {
  out += k.expiry_ms ? "*5\r\n" : "*3\r\n";
  append_bulk(out, "SET");
  append_bulk(out, k.key);
  append_bulk(out, k.value);
  if (k.expiry_ms) {
    append_bulk(out, "PXAT");
    append_bulk(out, std::to_string(*k.expiry_ms));
  }
}

// --- the two passes ---

std::unique_ptr<RdbReader> open_rdb(persist::Env& env, const std::string& path) {
  auto reader = RdbReader::open(env, path);
  if (!reader.ok()) {
    fail(path + ": " + reader.status().to_string());
    return nullptr;
  }
  return std::move(reader.value());
}

// Reads the whole file; its report, or nullopt (and a message) when it is damaged.
std::optional<RdbReport> check_file(persist::Env& env, const std::string& path) {
  auto reader = open_rdb(env, path);
  if (!reader) return std::nullopt;
  while (reader->next()) {
  }
  if (!reader->status().ok()) {
    fail(path + ": " + reader->status().to_string() + " (nothing was imported)");
    return std::nullopt;
  }
  return reader->report();
}

struct Progress {
  std::uint64_t imported = 0;
  std::uint64_t expired = 0;
};

class Importer {
 public:
  Importer(Connection& conn, std::size_t batch) : conn_(conn), batch_(batch) {}

  bool add(const RdbStringKey& k) {
    append_set(pending_, k);
    keys_.push_back(k.key);
    if (keys_.size() >= batch_ || pending_.size() >= kBatchBytes) return flush();
    return true;
  }

  // Sends what is pending and checks every reply.
  bool flush() {
    if (keys_.empty()) return true;
    std::string error;
    if (!conn_.send_all(pending_, error)) {
      fail("sending to the cluster failed: " + error);
      return false;
    }
    for (const auto& key : keys_) {
      std::string line;
      if (!conn_.reply_line(line, error)) {
        fail("reading the cluster's replies failed: " + error);
        return false;
      }
      if (line != "+OK") {
        fail("SET " + printable(key) + " was refused: " + line);
        return false;
      }
      ++imported_;
    }
    pending_.clear();
    keys_.clear();
    return true;
  }

  std::uint64_t imported() const { return imported_; }

 private:
  static std::string printable(const std::string& key) {
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

  Connection& conn_;
  std::size_t batch_;
  std::string pending_;
  std::vector<std::string> keys_;
  std::uint64_t imported_ = 0;
};

std::optional<Progress> import_keys(persist::Env& env, const std::string& path, Connection& conn,
                                    std::size_t batch) {
  auto reader = open_rdb(env, path);
  if (!reader) return std::nullopt;
  Importer importer(conn, batch);
  Progress progress;
  while (auto item = reader->next()) {
    const auto* k = std::get_if<RdbStringKey>(&*item);
    if (k == nullptr) continue;  // counted by the reader's report
    if (k->expiry_ms && *k->expiry_ms <= wall_ms_now()) {
      ++progress.expired;
      continue;
    }
    if (!importer.add(*k)) return std::nullopt;
  }
  if (!reader->status().ok()) {  // the file changed since it was checked
    fail(path + ": " + reader->status().to_string());
    return std::nullopt;
  }
  if (!importer.flush()) return std::nullopt;
  progress.imported = importer.imported();
  return progress;
}

void print_file_summary(const std::string& path, const RdbReport& r) {
  const std::string ver = r.aux_value("redis-ver");
  std::printf("%s: RDB version %u%s%s, %llu keys (%llu strings), checksum %s\n", path.c_str(),
              r.version, ver.empty() ? "" : ", written by Redis ", ver.c_str(),
              static_cast<unsigned long long>(r.keys()), static_cast<unsigned long long>(r.strings),
              r.checksum_verified ? "verified" : "not present");
}

void print_skipped(const RdbReport& r) {
  if (!r.skipped.empty()) {
    std::string list;
    for (const auto& [type, n] : r.skipped) {
      if (!list.empty()) list += ", ";
      list += std::to_string(n) + " " + type;
    }
    std::printf("skipped (types Apiary does not hold yet): %s\n", list.c_str());
  }
  for (const auto& [db, n] : r.keys_by_db) {
    if (db == 0) continue;
    std::printf("keys from db %llu: %llu (Apiary has one keyspace: they go into it)\n",
                static_cast<unsigned long long>(db), static_cast<unsigned long long>(n));
  }
  if (r.functions > 0) {
    std::printf("skipped %llu function libraries\n", static_cast<unsigned long long>(r.functions));
  }
  if (r.module_aux > 0) {
    std::printf("skipped %llu module auxiliary records\n",
                static_cast<unsigned long long>(r.module_aux));
  }
}

}  // namespace

int run_import(const ImportOptions& options) {
  persist::PosixEnv env;
  const auto report = check_file(env, options.path);
  if (!report) return 1;
  print_file_summary(options.path, *report);
  if (options.dry_run) {
    std::printf("dry run: %llu string keys would be imported (fewer if some expire first)\n",
                static_cast<unsigned long long>(report->strings));
    print_skipped(*report);
    return 0;
  }

  const auto addrs = fetch_members(options.http_addr);
  if (!addrs) return 1;
  if (addrs->empty()) {
    fail(options.http_addr + " lists no alive member with a Redis port");
    return 1;
  }
  Connection conn;
  std::string used;
  for (const auto& addr : *addrs) {
    std::string error;
    if (conn.connect(addr, error)) {
      used = addr;
      break;
    }
    std::fprintf(stderr, "apiary import: cannot connect to %s: %s\n", addr.c_str(), error.c_str());
  }
  if (used.empty()) {
    fail("no member's Redis port accepted a connection");
    return 1;
  }

  const auto progress = import_keys(env, options.path, conn, options.batch);
  if (!progress) return 1;
  std::printf("imported %llu string keys through %s\n",
              static_cast<unsigned long long>(progress->imported), used.c_str());
  if (progress->expired > 0) {
    std::printf("skipped %llu keys already expired\n",
                static_cast<unsigned long long>(progress->expired));
  }
  print_skipped(*report);
  return 0;
}

}  // namespace apiary::cli
