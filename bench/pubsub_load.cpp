// pubsub_load: publish/subscribe load over RESP (docs/benchmarks.md, "Publish/subscribe";
// driven by bench/pubsub_compare.sh).
//
//   pubsub_load --sub 127.0.0.1:7002,127.0.0.1:7003 --pub 127.0.0.1:7001
//               --subscribers 8 --publishers 4 --messages 200000 --pipeline 32   (one line)
//
// S subscriber connections (round-robin over the --sub addresses) SUBSCRIBE to --channels
// channels (subscriber i to channel i % channels; every subscriber when --channels is 1);
// then P publisher connections (round-robin over --pub) send M PUBLISH in all, each keeping
// up to --pipeline requests outstanding. A message's payload starts with the steady-clock
// time it was sent (ns), so a subscriber receiving it knows its delivery latency.
//
// PUBLISH's replies say how many receivers each message has; the run ends when all of those
// deliveries arrived (or --drain seconds after the last reply: the rest count as lost).
// Output: a CSV header and one line on stdout,
//   published_per_s,delivered_per_s,p50_ms,p99_ms,p999_ms,published,delivered,lost,errors
// published/s is over the publishing (first request to last reply); delivered/s is every
// delivery over first request to last delivery.
//
// One thread, plain POSIX sockets and poll(2): the tool itself uses at most one core.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
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
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Endpoint {
  std::string host;
  int port = 0;
};

struct Options {
  std::vector<Endpoint> sub;
  std::vector<Endpoint> pub;
  int subscribers = 4;
  int publishers = 2;
  long messages = 100000;
  int pipeline = 16;
  int channels = 1;
  int payload = 64;
  double drain = 10;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "pubsub_load: %s\nusage: pubsub_load --sub H:P[,H:P...] --pub H:P[,H:P...] "
               "[--subscribers 4] [--publishers 2] [--messages 100000] [--pipeline 16] "
               "[--channels 1] [--payload 64] [--drain 10]\n",
               why);
  std::exit(2);
}

std::vector<Endpoint> parse_endpoints(std::string_view s) {
  std::vector<Endpoint> out;
  while (!s.empty()) {
    const auto comma = s.find(',');
    const std::string_view one = s.substr(0, comma);
    const auto colon = one.rfind(':');
    if (colon == std::string_view::npos) usage("an address is host:port");
    out.push_back(
        {std::string(one.substr(0, colon)), std::atoi(std::string(one.substr(colon + 1)).c_str())});
    s = comma == std::string_view::npos ? std::string_view() : s.substr(comma + 1);
  }
  return out;
}

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (i + 1 >= argc) usage("a flag without its value");
    const char* v = argv[++i];
    if (a == "--sub") {
      o.sub = parse_endpoints(v);
    } else if (a == "--pub") {
      o.pub = parse_endpoints(v);
    } else if (a == "--subscribers") {
      o.subscribers = std::atoi(v);
    } else if (a == "--publishers") {
      o.publishers = std::atoi(v);
    } else if (a == "--messages") {
      o.messages = std::atol(v);
    } else if (a == "--pipeline") {
      o.pipeline = std::atoi(v);
    } else if (a == "--channels") {
      o.channels = std::atoi(v);
    } else if (a == "--payload") {
      o.payload = std::atoi(v);
    } else if (a == "--drain") {
      o.drain = std::atof(v);
    } else {
      usage("unknown flag");
    }
  }
  if (o.sub.empty() || o.pub.empty()) usage("--sub and --pub are required");
  if (o.subscribers < 1 || o.publishers < 1 || o.messages < 1 || o.pipeline < 1 || o.channels < 1) {
    usage("counts must be positive");
  }
  return o;
}

int connect_to(const Endpoint& e) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (::getaddrinfo(e.host.c_str(), std::to_string(e.port).c_str(), &hints, &res) != 0) {
    std::fprintf(stderr, "pubsub_load: cannot resolve %s\n", e.host.c_str());
    std::exit(1);
  }
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (::connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
    std::fprintf(stderr, "pubsub_load: cannot connect to %s:%d: %s\n", e.host.c_str(), e.port,
                 std::strerror(errno));
    std::exit(1);
  }
  ::freeaddrinfo(res);
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

std::string request(std::initializer_list<std::string_view> argv) {
  std::string req = "*" + std::to_string(argv.size()) + "\r\n";
  for (auto a : argv) {
    req += "$" + std::to_string(a.size()) + "\r\n";
    req += a;
    req += "\r\n";
  }
  return req;
}

// One RESP value at buf[pos]: where it ends (nullopt: incomplete), and the text of the last
// bulk string or line in it (a message push's payload; an integer reply's digits).
std::optional<std::size_t> parse_value(std::string_view buf, std::size_t pos,
                                       std::string_view& last) {
  const std::size_t eol = buf.find("\r\n", pos);
  if (eol == std::string_view::npos) return std::nullopt;
  const char type = buf[pos];
  const std::string_view header = buf.substr(pos + 1, eol - pos - 1);
  std::size_t next = eol + 2;
  if (type == '$') {
    const long n = std::strtol(std::string(header).c_str(), nullptr, 10);
    if (n < 0) return next;
    if (buf.size() < next + static_cast<std::size_t>(n) + 2) return std::nullopt;
    last = buf.substr(next, static_cast<std::size_t>(n));
    return next + static_cast<std::size_t>(n) + 2;
  }
  if (type == '*' || type == '>') {
    const long n = std::strtol(std::string(header).c_str(), nullptr, 10);
    for (long i = 0; i < n; ++i) {
      auto end = parse_value(buf, next, last);
      if (!end) return std::nullopt;
      next = *end;
    }
    return next;
  }
  last = header;
  return next;
}

struct Conn {
  int fd = -1;
  std::string in;
  std::string out;
  std::size_t out_pos = 0;
  // Publishers: messages sent and replies received.
  long to_send = 0;
  long sent = 0;
  long answered = 0;
  bool subscriber = false;
  int confirmations_due = 0;
};

bool flush(Conn& c) {
  while (c.out_pos < c.out.size()) {
    const ssize_t n = ::send(c.fd, c.out.data() + c.out_pos, c.out.size() - c.out_pos,
                             MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    if (n <= 0) return false;
    c.out_pos += static_cast<std::size_t>(n);
  }
  c.out.clear();
  c.out_pos = 0;
  return true;
}

bool fill(Conn& c) {
  char chunk[65536];
  const ssize_t n = ::recv(c.fd, chunk, sizeof chunk, MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
  if (n <= 0) return false;
  c.in.append(chunk, static_cast<std::size_t>(n));
  return true;
}

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

double percentile(std::vector<std::int64_t>& sorted, double q) {
  if (sorted.empty()) return 0;
  const auto i = static_cast<std::size_t>(q * static_cast<double>(sorted.size() - 1));
  return static_cast<double>(sorted[i]) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse_options(argc, argv);
  std::vector<Conn> conns;
  std::vector<std::string> channel_names;
  for (int i = 0; i < o.channels; ++i) channel_names.push_back("bench:ch" + std::to_string(i));

  // Subscribers first; publishing starts once every SUBSCRIBE is confirmed.
  for (int i = 0; i < o.subscribers; ++i) {
    Conn c;
    c.fd = connect_to(o.sub[static_cast<std::size_t>(i) % o.sub.size()]);
    c.subscriber = true;
    c.out = request({"SUBSCRIBE", channel_names[static_cast<std::size_t>(i % o.channels)]});
    c.confirmations_due = 1;
    conns.push_back(std::move(c));
  }
  for (int i = 0; i < o.publishers; ++i) {
    Conn c;
    c.fd = connect_to(o.pub[static_cast<std::size_t>(i) % o.pub.size()]);
    c.to_send = o.messages / o.publishers + (i < o.messages % o.publishers ? 1 : 0);
    conns.push_back(std::move(c));
  }

  const std::string padding(static_cast<std::size_t>(std::max(0, o.payload - 21)), 'x');
  std::vector<std::int64_t> latencies;
  long receivers_expected = 0;
  long delivered = 0;
  long errors = 0;
  long published = 0;
  int confirmations_left = o.subscribers;
  std::optional<Clock::time_point> start, last_reply, last_delivery;
  std::vector<pollfd> fds(conns.size());

  while (true) {
    const bool publishing = confirmations_left == 0;
    if (publishing && !start) start = Clock::now();
    bool publishers_done = publishing;
    for (std::size_t i = 0; i < conns.size(); ++i) {
      Conn& c = conns[i];
      if (!c.subscriber && publishing) {
        // Keep up to --pipeline PUBLISH outstanding.
        while (c.sent < c.to_send && c.sent - c.answered < o.pipeline) {
          const std::string& ch =
              channel_names[static_cast<std::size_t>((c.sent + static_cast<long>(i)) % o.channels)];
          const std::string payload = std::to_string(now_ns()) + ":" + padding;
          c.out += request({"PUBLISH", ch, payload});
          ++c.sent;
        }
        if (c.answered < c.to_send) publishers_done = false;
      }
      if (!flush(c)) {
        std::fprintf(stderr, "pubsub_load: a connection closed while sending\n");
        return 1;
      }
      fds[i] = pollfd{c.fd, static_cast<short>(POLLIN | (c.out.empty() ? 0 : POLLOUT)), 0};
    }
    if (publishers_done && delivered >= receivers_expected) break;
    if (publishers_done && last_reply &&
        Clock::now() - std::max(*last_reply, last_delivery.value_or(*last_reply)) >
            std::chrono::duration<double>(o.drain)) {
      break;  // the rest are lost
    }
    if (::poll(fds.data(), fds.size(), 100) < 0 && errno != EINTR) return 1;
    for (std::size_t i = 0; i < conns.size(); ++i) {
      if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      Conn& c = conns[i];
      if (!fill(c)) {
        std::fprintf(stderr, "pubsub_load: a connection closed\n");
        return 1;
      }
      std::size_t pos = 0;
      const std::int64_t arrived = now_ns();
      while (pos < c.in.size()) {
        std::string_view last;
        auto end = parse_value(c.in, pos, last);
        if (!end) break;
        const char type = c.in[pos];
        pos = *end;
        if (c.subscriber) {
          if (c.confirmations_due > 0) {  // *3 subscribe <channel> :1
            --c.confirmations_due;
            --confirmations_left;
            continue;
          }
          const auto colon = last.find(':');
          const std::int64_t sent =
              std::strtoll(std::string(last.substr(0, colon)).c_str(), nullptr, 10);
          latencies.push_back(arrived - sent);
          ++delivered;
          last_delivery = Clock::now();
        } else {
          ++c.answered;
          ++published;
          last_reply = Clock::now();
          if (type == ':') {
            receivers_expected += std::strtol(std::string(last).c_str(), nullptr, 10);
          } else if (++errors <= 5) {
            std::fprintf(stderr, "pubsub_load: reply %.*s\n", static_cast<int>(last.size()),
                         last.data());
          }
        }
      }
      c.in.erase(0, pos);
    }
  }
  for (Conn& c : conns) ::close(c.fd);

  const double pub_seconds = std::chrono::duration<double>(*last_reply - *start).count();
  const double del_seconds =
      std::chrono::duration<double>(last_delivery.value_or(*last_reply) - *start).count();
  std::sort(latencies.begin(), latencies.end());
  std::printf(
      "published_per_s,delivered_per_s,p50_ms,p99_ms,p999_ms,published,delivered,lost,"
      "errors\n");
  std::printf("%.0f,%.0f,%.3f,%.3f,%.3f,%ld,%ld,%ld,%ld\n",
              static_cast<double>(published) / pub_seconds,
              static_cast<double>(delivered) / del_seconds, percentile(latencies, 0.5),
              percentile(latencies, 0.99), percentile(latencies, 0.999), published, delivered,
              std::max(0L, receivers_expected - delivered), errors);
  return errors == 0 && delivered >= receivers_expected ? 0 : 1;
}
