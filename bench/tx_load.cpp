// tx_load: a closed-loop RESP load generator for transactions and scripts
// (docs/benchmarks.md, "Transactions and scripts"; driven by bench/scripting_compare.sh).
//
//   tx_load --port 6379 --mode multi3 --connections 50 --pipeline 16 --seconds 10
//   tx_load --port 7001,7002,7003 --mode evalsha       # connections round-robin over ports
//
// Modes (one "operation" each; latency is from the enqueue of its first byte to the
// arrival of its last reply byte):
//   multi3   MULTI; INCR {tx:K}a; SET {tx:K}b <value>; GET {tx:K}a; EXEC  (one hash tag, so
//            one coordinator in a cluster)
//   evalsha  EVALSHA <sha> 1 ctr:K, the script being kScript (SCRIPT LOADed on every port)
//   set      SET set:K <value>, the yardstick
// K is drawn from a std::mt19937_64 seeded with --seed. Each mode uses its own key prefix, so
// the modes can run one after another on the same server without type errors.
//
// Every reply is parsed (RESP2: simple strings, errors, integers, bulk strings, arrays,
// nested arrays). Error replies anywhere in an operation's replies, an EXEC that returns nil
// and a connection closed by the server count as errors; the first few are printed on stderr.
// Output: one CSV line "mode,ops_per_sec,p50_ms,p99_ms,p999_ms,errors" on stdout. Operations
// finishing during --warmup or after --seconds are not counted.
//
// One thread, plain POSIX sockets and poll(2): the tool itself uses at most one core.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kScript =
    "local v = redis.call('INCR', KEYS[1]); redis.call('EXPIRE', KEYS[1], 3600); return v";

enum class Mode { multi3, evalsha, set };

struct Options {
  std::string host = "127.0.0.1";
  std::vector<int> ports;
  int connections = 50;
  double seconds = 10;
  double warmup = 1;
  int pipeline = 1;
  std::uint64_t keys = 100000;
  int value_size = 32;
  Mode mode = Mode::set;
  std::string mode_name = "set";
  std::uint64_t seed = 1;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "tx_load: %s\nusage: tx_load [--host H] --port P[,P...] [--port P] "
               "[--connections 50] [--seconds 10] [--warmup 1] [--pipeline 1] [--keys 100000] "
               "[--value-size 32] [--seed 1] --mode multi3|evalsha|set\n",
               why);
  std::exit(2);
}

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (i + 1 >= argc) usage("missing value");
    const char* value = argv[++i];
    if (arg == "--host") {
      o.host = value;
    } else if (arg == "--port") {
      std::string list = value;
      std::size_t start = 0;
      while (start <= list.size()) {
        const std::size_t comma = std::min(list.find(',', start), list.size());
        if (comma > start) o.ports.push_back(std::atoi(list.substr(start, comma - start).c_str()));
        start = comma + 1;
      }
    } else if (arg == "--connections") {
      o.connections = std::atoi(value);
    } else if (arg == "--seconds") {
      o.seconds = std::atof(value);
    } else if (arg == "--warmup") {
      o.warmup = std::atof(value);
    } else if (arg == "--pipeline") {
      o.pipeline = std::atoi(value);
    } else if (arg == "--keys") {
      o.keys = std::strtoull(value, nullptr, 10);
    } else if (arg == "--value-size") {
      o.value_size = std::atoi(value);
    } else if (arg == "--seed") {
      o.seed = std::strtoull(value, nullptr, 10);
    } else if (arg == "--mode") {
      o.mode_name = value;
      if (o.mode_name == "multi3") {
        o.mode = Mode::multi3;
      } else if (o.mode_name == "evalsha") {
        o.mode = Mode::evalsha;
      } else if (o.mode_name == "set") {
        o.mode = Mode::set;
      } else {
        usage("unknown mode");
      }
    } else {
      usage("unknown option");
    }
  }
  if (o.ports.empty()) usage("no --port");
  if (o.connections < 1 || o.pipeline < 1 || o.keys < 1 || o.seconds <= 0) usage("bad value");
  return o;
}

// --- RESP2 replies ---------------------------------------------------------------------------

// What the load generator needs to know about one top-level reply.
struct Reply {
  char type = 0;            // first byte of the top-level reply
  bool nil = false;         // $-1 or *-1 at top level
  long long length = 0;     // elements of a top-level array
  int errors = 0;           // error replies, nested ones included
  std::string first_error;  // text of the first of them
  std::string text;         // top-level simple string or bulk string
};

// Parses one reply (of any depth) from [p, end). Returns the bytes it took, 0 if the reply is
// not complete yet, or -1 on a protocol error.
long parse_value(const char* p, const char* end, Reply& out, int depth) {
  const char* crlf =
      static_cast<const char*>(std::memchr(p, '\r', static_cast<std::size_t>(end - p)));
  if (crlf == nullptr || crlf + 1 >= end) return 0;
  if (crlf[1] != '\n' || crlf == p) return -1;
  const char type = *p;
  const std::string_view line(p + 1, static_cast<std::size_t>(crlf - p - 1));
  const char* after = crlf + 2;
  if (depth == 0) out.type = type;
  switch (type) {
    case '+':
      if (depth == 0) out.text.assign(line);
      return after - p;
    case '-':
      if (out.errors++ == 0) out.first_error.assign(line);
      return after - p;
    case ':':
      return after - p;
    case '$': {
      const long long n = std::strtoll(std::string(line).c_str(), nullptr, 10);
      if (n < 0) {
        if (depth == 0) out.nil = true;
        return after - p;
      }
      if (end - after < n + 2) return 0;
      if (depth == 0) out.text.assign(after, static_cast<std::size_t>(n));
      return after + n + 2 - p;
    }
    case '*': {
      const long long n = std::strtoll(std::string(line).c_str(), nullptr, 10);
      if (depth == 0) {
        out.nil = n < 0;
        out.length = n;
      }
      const char* q = after;
      for (long long i = 0; i < n; ++i) {
        const long used = parse_value(q, end, out, depth + 1);
        if (used <= 0) return used;
        q += used;
      }
      return q - p;
    }
    default:
      return -1;
  }
}

void append_command(std::string& out, std::initializer_list<std::string_view> args) {
  out += '*';
  out += std::to_string(args.size());
  out += "\r\n";
  for (const std::string_view a : args) {
    out += '$';
    out += std::to_string(a.size());
    out += "\r\n";
    out.append(a);
    out += "\r\n";
  }
}

// --- connections -----------------------------------------------------------------------------

int connect_to(const std::string& host, int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1 ||
      ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

// Sends one command and waits for its reply (setup only: SCRIPT LOAD).
std::optional<Reply> call_blocking(int fd, std::initializer_list<std::string_view> args) {
  std::string out;
  append_command(out, args);
  if (::send(fd, out.data(), out.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(out.size())) {
    return std::nullopt;
  }
  std::string in;
  char buf[4096];
  for (;;) {
    Reply r;
    const long used = parse_value(in.data(), in.data() + in.size(), r, 0);
    if (used > 0) return r;
    if (used < 0) return std::nullopt;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return std::nullopt;
    in.append(buf, static_cast<std::size_t>(n));
  }
}

struct InFlight {
  Clock::time_point start;
  int replies_left;
};

struct Connection {
  int fd = -1;
  std::string out;
  std::size_t out_sent = 0;
  std::string in;
  std::size_t in_parsed = 0;
  std::deque<InFlight> in_flight;
  bool closed = false;
};

class Load {
 public:
  Load(const Options& o, std::string sha) : o_(o), sha_(std::move(sha)), rng_(o.seed) {
    value_.assign(static_cast<std::size_t>(std::max(o.value_size, 1)), 'v');
  }

  bool connect_all() {
    for (int i = 0; i < o_.connections; ++i) {
      const int port = o_.ports[static_cast<std::size_t>(i) % o_.ports.size()];
      Connection c;
      c.fd = connect_to(o_.host, port);
      if (c.fd < 0) {
        std::fprintf(stderr, "tx_load: cannot connect to %s:%d: %s\n", o_.host.c_str(), port,
                     std::strerror(errno));
        return false;
      }
      ::fcntl(c.fd, F_SETFL, ::fcntl(c.fd, F_GETFL) | O_NONBLOCK);
      conns_.push_back(std::move(c));
    }
    return true;
  }

  void run() {
    const auto begin = Clock::now();
    measure_from_ = begin + to_duration(o_.warmup);
    measure_to_ = measure_from_ + to_duration(o_.seconds);
    for (Connection& c : conns_) {
      for (int i = 0; i < o_.pipeline; ++i) enqueue(c, begin);
      flush(c);
    }
    // Closed loop until the end of the window, then up to 5 s to collect what is in flight
    // (so the next run does not meet this one's tail on the server).
    const auto drain_until = measure_to_ + std::chrono::seconds(5);
    std::vector<pollfd> fds(conns_.size());
    for (;;) {
      const auto now = Clock::now();
      const bool issuing = now < measure_to_;
      if (!issuing && (now >= drain_until || nothing_in_flight())) break;
      for (std::size_t i = 0; i < conns_.size(); ++i) {
        const Connection& c = conns_[i];
        fds[i].fd = c.closed ? -1 : c.fd;
        fds[i].events = static_cast<short>(POLLIN | (c.out_sent < c.out.size() ? POLLOUT : 0));
        fds[i].revents = 0;
      }
      if (::poll(fds.data(), fds.size(), 50) < 0 && errno != EINTR) {
        std::perror("tx_load: poll");
        break;
      }
      for (std::size_t i = 0; i < conns_.size(); ++i) {
        Connection& c = conns_[i];
        if (c.closed || fds[i].revents == 0) continue;
        if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) read_replies(c, issuing);
        if (!c.closed) flush(c);
      }
    }
  }

  void report() {
    std::sort(latencies_.begin(), latencies_.end());
    const auto pct = [&](double q) {
      if (latencies_.empty()) return 0.0;
      const auto idx = static_cast<std::size_t>(q * static_cast<double>(latencies_.size() - 1));
      return static_cast<double>(latencies_[idx]) / 1e6;
    };
    for (const auto& [text, count] : error_texts_) {
      std::fprintf(stderr, "tx_load: %s: %llu x %s\n", o_.mode_name.c_str(), count, text.c_str());
    }
    std::printf("%s,%.0f,%.3f,%.3f,%.3f,%llu\n", o_.mode_name.c_str(),
                static_cast<double>(latencies_.size()) / o_.seconds, pct(0.50), pct(0.99),
                pct(0.999), errors_);
  }

 private:
  static Clock::duration to_duration(double s) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
  }

  bool nothing_in_flight() const {
    return std::all_of(conns_.begin(), conns_.end(),
                       [](const Connection& c) { return c.closed || c.in_flight.empty(); });
  }

  std::string key_number() { return std::to_string(rng_() % o_.keys); }

  void enqueue(Connection& c, Clock::time_point now) {
    switch (o_.mode) {
      case Mode::multi3: {
        const std::string tag = "{tx:" + key_number() + "}";
        const std::string a = tag + "a";
        append_command(c.out, {"MULTI"});
        append_command(c.out, {"INCR", a});
        append_command(c.out, {"SET", tag + "b", value_});
        append_command(c.out, {"GET", a});
        append_command(c.out, {"EXEC"});
        c.in_flight.push_back({now, 5});
        break;
      }
      case Mode::evalsha:
        append_command(c.out, {"EVALSHA", sha_, "1", "ctr:" + key_number()});
        c.in_flight.push_back({now, 1});
        break;
      case Mode::set:
        append_command(c.out, {"SET", "set:" + key_number(), value_});
        c.in_flight.push_back({now, 1});
        break;
    }
  }

  void error(const std::string& text) {
    ++errors_;
    if (error_texts_.size() < 20 || error_texts_.count(text) > 0) ++error_texts_[text];
  }

  void close_connection(Connection& c, const char* why) {
    error(std::string("connection closed: ") + why);
    ::close(c.fd);
    c.closed = true;
  }

  void flush(Connection& c) {
    while (c.out_sent < c.out.size()) {
      const ssize_t n =
          ::send(c.fd, c.out.data() + c.out_sent, c.out.size() - c.out_sent, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        if (errno == EINTR) continue;
        close_connection(c, std::strerror(errno));
        return;
      }
      c.out_sent += static_cast<std::size_t>(n);
    }
    c.out.clear();
    c.out_sent = 0;
  }

  void read_replies(Connection& c, bool issuing) {
    char buf[65536];
    for (;;) {
      const ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
      if (n == 0) {
        close_connection(c, "by the server");
        return;
      }
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        if (errno == EINTR) continue;
        close_connection(c, std::strerror(errno));
        return;
      }
      c.in.append(buf, static_cast<std::size_t>(n));
      if (static_cast<std::size_t>(n) < sizeof buf) break;
    }
    for (;;) {
      Reply r;
      const char* p = c.in.data() + c.in_parsed;
      const long used = parse_value(p, c.in.data() + c.in.size(), r, 0);
      if (used == 0) break;
      if (used < 0) {
        close_connection(c, "protocol error in a reply");
        return;
      }
      c.in_parsed += static_cast<std::size_t>(used);
      on_reply(c, r, issuing);
    }
    if (c.in_parsed == c.in.size()) {
      c.in.clear();
      c.in_parsed = 0;
    } else if (c.in_parsed > 65536) {
      c.in.erase(0, c.in_parsed);
      c.in_parsed = 0;
    }
  }

  void on_reply(Connection& c, const Reply& r, bool issuing) {
    if (c.in_flight.empty()) {
      error("reply with nothing in flight");
      return;
    }
    InFlight& op = c.in_flight.front();
    if (r.errors > 0) {
      for (int i = 0; i < r.errors; ++i) error(r.first_error);
    }
    if (--op.replies_left > 0) return;
    // The operation's last reply: EXEC (an array of 3) or the single reply.
    if (o_.mode == Mode::multi3 && r.errors == 0 && (r.type != '*' || r.nil || r.length != 3)) {
      error(r.nil ? "EXEC returned nil" : "EXEC did not return 3 replies");
    }
    const auto now = Clock::now();
    if (op.start >= measure_from_ && now <= measure_to_) {
      latencies_.push_back(static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(now - op.start).count()));
    }
    c.in_flight.pop_front();
    if (issuing) enqueue(c, now);
  }

  const Options& o_;
  std::string sha_;
  std::string value_;
  std::mt19937_64 rng_;
  std::vector<Connection> conns_;
  Clock::time_point measure_from_;
  Clock::time_point measure_to_;
  std::vector<std::uint64_t> latencies_;
  unsigned long long errors_ = 0;
  std::map<std::string, unsigned long long> error_texts_;
};

// SCRIPT LOAD on every port; every server must give the same SHA1.
std::optional<std::string> load_script(const Options& o) {
  std::string sha;
  for (const int port : o.ports) {
    const int fd = connect_to(o.host, port);
    if (fd < 0) {
      std::fprintf(stderr, "tx_load: cannot connect to %s:%d\n", o.host.c_str(), port);
      return std::nullopt;
    }
    const std::optional<Reply> r = call_blocking(fd, {"SCRIPT", "LOAD", kScript});
    ::close(fd);
    if (!r || r->errors > 0 || r->type != '$') {
      std::fprintf(stderr, "tx_load: SCRIPT LOAD on port %d failed: %s\n", port,
                   r ? r->first_error.c_str() : "no reply");
      return std::nullopt;
    }
    if (!sha.empty() && r->text != sha) {
      std::fprintf(stderr, "tx_load: port %d gave SHA %s, another %s\n", port, r->text.c_str(),
                   sha.c_str());
      return std::nullopt;
    }
    sha = r->text;
  }
  return sha;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse_options(argc, argv);
  std::string sha;
  if (o.mode == Mode::evalsha) {
    const std::optional<std::string> loaded = load_script(o);
    if (!loaded) return 1;
    sha = *loaded;
  }
  Load load(o, sha);
  if (!load.connect_all()) return 1;
  load.run();
  load.report();
  return 0;
}
