#include "migrator.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <vector>

namespace apiary::runtime {

namespace {

constexpr std::string_view kConnectError = "-IOERR error or timeout connecting to the client\r\n";
constexpr std::string_view kWriteError = "-IOERR error or timeout writing to target instance\r\n";
constexpr std::string_view kReadError = "-IOERR error or timeout reading to target instance\r\n";
// A reply line longer than this is not one of the short status lines AUTH, SELECT and RESTORE
// answer: the target is not speaking the protocol.
constexpr std::size_t kMaxReplyLine = 64 * 1024;

void append_bulk(std::string& out, std::string_view s) {
  out += '$';
  out += std::to_string(s.size());
  out += "\r\n";
  out.append(s);
  out += "\r\n";
}

void append_command(std::string& out, std::initializer_list<std::string_view> args) {
  out += '*';
  out += std::to_string(args.size());
  out += "\r\n";
  for (std::string_view a : args) append_bulk(out, a);
}

// Redis reads the port with atoi(): leading digits, anything after them ignored.
int port_of(const std::string& s) {
  const long v = std::strtol(s.c_str(), nullptr, 10);
  return v < 0 || v > 65535 ? 0 : static_cast<int>(v);
}

// A one-line error reply: "-ERR <text>" with CR/LF made spaces.
std::string error_reply(std::string_view text) {
  std::string out = "-ERR ";
  for (char c : text) out += (c == '\r' || c == '\n') ? ' ' : c;
  out += "\r\n";
  return out;
}

}  // namespace

struct Migrator::Job {
  std::uint64_t id = 0;
  resp::MigrateRequest request;
  struct Key {
    std::string name;
    std::string context;  // APIARY.VGET's
    std::string payload;  // DUMP's
    std::int64_t ttl = 0;
  };
  std::vector<Key> found;          // the keys that exist, in request order
  std::vector<std::string> moved;  // accepted by the target: to delete unless COPY
  std::string error_reply;         // the target's first error, as the client gets it

  int fd = -1;
  Io io = Io::connecting;
  std::string out;
  std::size_t out_pos = 0;
  std::string in;
  std::vector<std::string> lines;  // the replies read, without CRLF
  std::size_t expected = 0;        // replies to read
  EventLoop::TimerId timer = 0;
};

Migrator::Migrator(EventLoop& loop, DataCalls& calls, Complete complete)
    : loop_(loop), calls_(calls), complete_(std::move(complete)) {}

Migrator::~Migrator() {
  for (auto& [id, job] : jobs_) close_socket(*job);
}

Migrator::Job* Migrator::find(std::uint64_t id) {
  auto it = jobs_.find(id);
  return it == jobs_.end() ? nullptr : it->second.get();
}

void Migrator::migrate(resp::MigrateRequest request) {
  const std::uint64_t id = next_id_++;
  auto job = std::make_unique<Job>();
  job->id = id;
  job->request = std::move(request);
  jobs_.emplace(id, std::move(job));
  // Not from inside the handler: its client has no pending token to complete yet.
  loop_.post([this, id] { read_key(id, 0); });
}

// Reads key `index` (context, payload, TTL), then the next; after the last, connects.
void Migrator::read_key(std::uint64_t id, std::size_t index) {
  Job* job = find(id);
  if (job == nullptr) return;
  if (index == job->request.keys.size()) {
    if (job->found.empty()) return finish(id, "+NOKEY\r\n");
    return connect(*job);
  }
  const std::string key = job->request.keys[index];
  // The context first: a write between it and the DUMP is then in the payload but not in the
  // context, so the delete keeps it (moved twice rather than lost).
  // A read the cluster could not serve ends the MIGRATE with its error; nothing has moved.
  auto fail = [this, id](const Result<Reply>& r) {
    if (r.ok() && r->type != Reply::Type::error) return false;
    finish(id, r.ok() ? "-" + r->text + "\r\n" : error_reply(r.status().message()));
    return true;
  };
  calls_.run_command({"APIARY.VGET", key}, [this, id, index, key, fail](Result<Reply> vget) {
    if (find(id) == nullptr || fail(vget)) return;
    std::string context;
    if (vget->type == Reply::Type::array && !vget->items.empty() &&
        vget->items[0].type == Reply::Type::bulk) {
      context = vget->items[0].text;
    }
    calls_.run_command({"DUMP", key}, [this, id, index, key, fail,
                                       context = std::move(context)](Result<Reply> dump) mutable {
      if (find(id) == nullptr || fail(dump)) return;
      if (dump->type != Reply::Type::bulk) return read_key(id, index + 1);  // missing
      calls_.run_command({"PTTL", key}, [this, id, index, key, fail, context = std::move(context),
                                         payload =
                                             std::move(dump->text)](Result<Reply> pttl) mutable {
        Job* j = find(id);
        if (j == nullptr || fail(pttl)) return;
        if (pttl->type != Reply::Type::integer) {
          return finish(id, error_reply("unexpected PTTL reply while reading the key"));
        }
        if (pttl->integer != -2) {  // not expired in between
          const std::int64_t ttl = pttl->integer < 0 ? 0 : std::max<std::int64_t>(pttl->integer, 1);
          j->found.push_back({key, std::move(context), std::move(payload), ttl});
        }
        read_key(id, index + 1);
      });
    });
  });
}

void Migrator::connect(Job& job) {
  const resp::MigrateRequest& r = job.request;
  const std::uint64_t id = job.id;
  // The commands, pipelined: [AUTH], SELECT (no cached connection: always), RESTOREs.
  if (r.password) {
    if (r.username) {
      append_command(job.out, {"AUTH", *r.username, *r.password});
    } else {
      append_command(job.out, {"AUTH", *r.password});
    }
  }
  append_command(job.out, {"SELECT", std::to_string(r.db)});
  for (const Job::Key& k : job.found) {
    const std::string ttl = std::to_string(k.ttl);
    if (r.replace) {
      append_command(job.out, {"RESTORE", k.name, ttl, k.payload, "REPLACE"});
    } else {
      append_command(job.out, {"RESTORE", k.name, ttl, k.payload});
    }
  }
  job.expected = (r.password ? 1 : 0) + 1 + job.found.size();

  const std::string host = r.host == "localhost" ? "127.0.0.1" : r.host;
  sockaddr_storage addr{};
  socklen_t len = 0;
  const int port = port_of(r.port);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
  if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<std::uint16_t>(port));
    len = sizeof(sockaddr_in);
  } else if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<std::uint16_t>(port));
    len = sizeof(sockaddr_in6);
  } else {
    return finish(id, std::string(kConnectError));
  }
  job.fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (job.fd < 0) return finish(id, std::string(kConnectError));
  if (port == 0 ||
      (::connect(job.fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 && errno != EINPROGRESS)) {
    return finish(id, std::string(kConnectError));
  }
  job.io = Io::connecting;
  if (!loop_
           .watch(job.fd, EventLoop::kWritable,
                  [this, id](std::uint32_t ready) { on_socket(id, ready); })
           .ok()) {
    return finish(id, std::string(kConnectError));
  }
  arm_timer(job);
}

void Migrator::arm_timer(Job& job) {
  if (job.timer != 0) loop_.cancel(job.timer);
  const std::uint64_t id = job.id;
  job.timer =
      loop_.schedule(core_now() + std::chrono::milliseconds(job.request.timeout_ms), [this, id] {
        Job* j = find(id);
        if (j == nullptr) return;
        j->timer = 0;
        switch (j->io) {
          case Io::connecting:
            return finish(id, std::string(kConnectError));
          case Io::writing:
            return finish(id, std::string(kWriteError));
          case Io::reading:
            return on_replies(*j, true, Io::reading);
        }
      });
}

void Migrator::on_socket(std::uint64_t id, std::uint32_t ready) {
  Job* job = find(id);
  if (job == nullptr) return;
  if (job->io == Io::connecting) {
    // Connected, or refused: as Redis, a refusal shows when the commands are written.
    job->io = Io::writing;
  }
  if (job->io == Io::writing && (ready & (EventLoop::kWritable | EventLoop::kReadable))) {
    if (!flush(*job)) return finish(id, std::string(kWriteError));
    if (job->out_pos < job->out.size()) return arm_timer(*job);
    job->io = Io::reading;
    if (!loop_.modify(job->fd, EventLoop::kReadable).ok()) {
      return finish(id, std::string(kReadError));
    }
    return arm_timer(*job);
  }
  if (job->io == Io::reading && (ready & EventLoop::kReadable)) {
    if (!receive(*job)) return on_replies(*job, true, Io::reading);
    if (job->lines.size() >= job->expected) return on_replies(*job, false, Io::reading);
    arm_timer(*job);
  }
}

bool Migrator::flush(Job& job) {
  while (job.out_pos < job.out.size()) {
    const ssize_t n =
        ::send(job.fd, job.out.data() + job.out_pos, job.out.size() - job.out_pos, MSG_NOSIGNAL);
    if (n > 0) {
      job.out_pos += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    if (n < 0 && errno == EINTR) continue;
    return false;
  }
  return true;
}

// Reads what the socket has and splits it into lines. False on EOF, an error, or a reply
// that is not a status line (+...) or an error (-...).
bool Migrator::receive(Job& job) {
  char buf[16 * 1024];
  for (;;) {
    const ssize_t n = ::recv(job.fd, buf, sizeof buf, 0);
    if (n > 0) {
      job.in.append(buf, static_cast<std::size_t>(n));
      // A target that streams without pause must not hold the loop or grow the buffer:
      // what came is parsed, and more is read on the next readiness.
      if (job.in.size() > kMaxReplyLine * (job.expected + 1)) break;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n < 0 && errno == EINTR) continue;
    return false;  // EOF or error (the lines already complete still count)
  }
  std::size_t pos = 0;
  for (std::size_t end; (end = job.in.find("\r\n", pos)) != std::string::npos; pos = end + 2) {
    if (job.lines.size() == job.expected) break;  // more than was asked: ignored
    auto reply = parse_reply(std::string_view(job.in).substr(pos, end + 2 - pos));
    if (!reply.ok() || (reply->type != Reply::Type::simple && reply->type != Reply::Type::error)) {
      return false;
    }
    job.lines.push_back(job.in.substr(pos, end - pos));
  }
  job.in.erase(0, pos);
  return job.in.size() <= kMaxReplyLine;
}

// The replies read so far, as Redis's migrateCommand reads them: an AUTH or SELECT error
// fails every key; otherwise a key is moved when its RESTORE answered +.
void Migrator::on_replies(Job& job, bool socket_error, Io failed_at) {
  const std::uint64_t id = job.id;
  close_socket(job);
  const bool auth = job.request.password.has_value();
  const std::size_t head = auth ? 2 : 1;
  if (job.lines.size() < head) {
    return finish(id, std::string(failed_at == Io::writing ? kWriteError : kReadError));
  }
  const std::string* head_error = nullptr;
  if (auth && job.lines[0][0] == '-') {
    head_error = &job.lines[0];
  } else if (job.lines[head - 1][0] == '-') {
    head_error = &job.lines[head - 1];
  }
  for (std::size_t k = 0; k + head < job.lines.size(); ++k) {
    const std::string& line = job.lines[k + head];
    const std::string* error = head_error != nullptr ? head_error : &line;
    if ((*error)[0] == '-') {
      if (job.error_reply.empty()) {
        job.error_reply = error_reply("Target instance replied with error: " + error->substr(1));
      }
    } else if (!job.request.copy) {
      job.moved.push_back(job.found[k].name);
    }
  }
  if (socket_error && job.error_reply.empty()) job.error_reply = std::string(kReadError);
  delete_moved(id, 0);
}

// APIARY.VDEL of the moved keys, one after the other; then the reply.
void Migrator::delete_moved(std::uint64_t id, std::size_t index) {
  Job* job = find(id);
  if (job == nullptr) return;
  if (index == job->moved.size()) {
    return finish(id, job->error_reply.empty() ? std::string("+OK\r\n") : job->error_reply);
  }
  const std::string& key = job->moved[index];
  std::string context;
  std::string digest;  // the payload's CRC-64: a collection changed since is kept
  for (const Job::Key& k : job->found) {
    if (k.name != key) continue;
    context = k.context;
    for (std::size_t i = k.payload.size() >= 8 ? k.payload.size() - 8 : 0; i < k.payload.size();
         ++i) {
      char hex[3];
      std::snprintf(hex, sizeof hex, "%02x", static_cast<unsigned char>(k.payload[i]));
      digest += hex;
    }
  }
  calls_.run_command({"APIARY.VDEL", key, context, digest}, [this, id, index](Result<Reply> r) {
    Job* j = find(id);
    if (j == nullptr) return;
    if (!r.ok() || r->type == Reply::Type::error) {
      const std::string why = !r.ok() ? r.status().message() : r->text;
      if (j->error_reply.empty()) {
        j->error_reply =
            error_reply("the target took key '" + j->moved[index] +
                        "' but deleting it here failed (" + why + "): it is now on both");
      }
    }
    delete_moved(id, index + 1);
  });
}

void Migrator::finish(std::uint64_t id, std::string reply) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return;
  std::unique_ptr<Job> job = std::move(it->second);
  jobs_.erase(it);
  close_socket(*job);
  complete_(job->request.client, job->request.token, std::move(reply));
}

void Migrator::close_socket(Job& job) {
  if (job.timer != 0) loop_.cancel(job.timer);
  job.timer = 0;
  if (job.fd >= 0) {
    loop_.unwatch(job.fd);
    ::close(job.fd);
  }
  job.fd = -1;
}

}  // namespace apiary::runtime
