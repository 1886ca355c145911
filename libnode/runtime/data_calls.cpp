#include "data_calls.hpp"

#include <charconv>

#include "apiary/data/version_vector.hpp"

namespace apiary::runtime {

namespace {

constexpr int kMaxDepth = 8;

// A bounded RESP3 reader for the reply types the data commands produce.
class ReplyReader {
 public:
  explicit ReplyReader(std::string_view bytes) : in_(bytes) {}

  bool read(Reply& out, int depth = 0) {
    if (depth > kMaxDepth || pos_ >= in_.size()) return false;
    const char type = in_[pos_++];
    std::string_view line;
    if (!read_line(line)) return false;
    switch (type) {
      case '+':
        out.type = Reply::Type::simple;
        out.text = line;
        return true;
      case '-':
        out.type = Reply::Type::error;
        out.text = line;
        return true;
      case ':':
        out.type = Reply::Type::integer;
        return to_int(line, out.integer);
      case '_':
        out.type = Reply::Type::null;
        return line.empty();
      case '$': {
        std::int64_t n = 0;
        if (!to_int(line, n)) return false;
        if (n < 0) {
          out.type = Reply::Type::null;
          return true;
        }
        const auto len = static_cast<std::size_t>(n);
        if (in_.size() - pos_ < len + 2 || in_.compare(pos_ + len, 2, "\r\n") != 0) return false;
        out.type = Reply::Type::bulk;
        out.text.assign(in_.substr(pos_, len));
        pos_ += len + 2;
        return true;
      }
      case '*': {
        std::int64_t n = 0;
        if (!to_int(line, n)) return false;
        if (n < 0) {
          out.type = Reply::Type::null;
          return true;
        }
        // Every element takes at least 3 bytes: reject counts the input cannot hold.
        if (static_cast<std::size_t>(n) > (in_.size() - pos_) / 3) return false;
        out.type = Reply::Type::array;
        out.items.resize(static_cast<std::size_t>(n));
        for (auto& item : out.items) {
          if (!read(item, depth + 1)) return false;
        }
        return true;
      }
      default:
        return false;
    }
  }
  bool at_end() const { return pos_ == in_.size(); }

 private:
  bool read_line(std::string_view& line) {
    const auto end = in_.find("\r\n", pos_);
    if (end == std::string_view::npos) return false;
    line = in_.substr(pos_, end - pos_);
    pos_ = end + 2;
    return true;
  }
  static bool to_int(std::string_view s, std::int64_t& v) {
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return ec == std::errc() && p == s.data() + s.size();
  }

  std::string_view in_;
  std::size_t pos_ = 0;
};

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

Status unexpected(const Reply& r) {
  return make_error(StatusCode::internal, "unexpected reply from the cluster (type " +
                                              std::to_string(static_cast<int>(r.type)) + ")");
}

// The reply's error as a Status, or ok.
Status check(const Result<Reply>& r) {
  if (!r.ok()) return r.status();
  if (r->type == Reply::Type::error) return error_status(r->text);
  return Status::Ok();
}

std::vector<std::string> command(std::initializer_list<std::string_view> args) {
  return {args.begin(), args.end()};
}

}  // namespace

Result<Reply> outcome(const routing::CallReply& reply) {
  if (!reply.status.ok()) return reply.status;
  return parse_reply(reply.bytes);
}

Result<Reply> parse_reply(std::string_view bytes) {
  Reply reply;
  ReplyReader reader(bytes);
  if (!reader.read(reply) || !reader.at_end()) {
    return make_error(StatusCode::malformed, "undecodable reply from the cluster");
  }
  return reply;
}

Status error_status(std::string_view message) {
  // Failures of the cluster (quorums, owners, CROSSSLOT, size) arrive as typed Statuses
  // (routing::CallReply::status); what is left are the commands' own errors, told apart by
  // their RESP error code (the first word).
  const std::string text(message);
  if (starts_with(message, "OOM ")) return make_error(StatusCode::out_of_memory, text);
  return make_error(StatusCode::invalid_argument, text);
}

DataCalls::DataCalls(EventLoop& loop, std::uint32_t replicas) : loop_(loop), replicas_(replicas) {}

void DataCalls::submit(std::vector<std::string> argv, CallOptions options, Done done,
                       bool near_fill) {
  ++calls_;
  if (options.write_quorum > replicas_ || options.read_quorum > replicas_) {
    done(make_error(
        StatusCode::invalid_argument,
        "quorum overrides must be at most the replica count (" + std::to_string(replicas_) + ")"));
    return;
  }
  std::uint64_t id = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!closed_) {
      id = next_id_++;
      inflight_.emplace(id, std::move(done));
    }
  }
  if (id == 0) {
    done(make_error(StatusCode::unavailable, "the node has stopped"));
    return;
  }
  Held call{id, std::move(argv), {options.write_quorum, options.read_quorum}, near_fill};
  loop_.post(
      [this, call = std::move(call)]() mutable { run(std::move(call), core_now(), wall_now()); });
}

void DataCalls::run(Held call, TimePoint now, WallTime wall) {
  if (!ready_ || router_ == nullptr) {
    held_.push_back(std::move(call));
    return;
  }
  if (call.near_fill && track_ && track_(call.argv[1])) {
    fills_[call.id] = {call.argv[1], near_->begin_fill(call.argv[1])};
  }
  const std::vector<std::string_view> argv(call.argv.begin(), call.argv.end());
  if (auto reply = router_->call(argv, call.quorum, call.id, now, wall)) {
    complete(call.id, outcome(*reply));
  }
}

void DataCalls::set_ready(TimePoint now, WallTime wall) {
  if (ready_) return;
  ready_ = true;
  auto held = std::move(held_);
  held_.clear();
  for (auto& call : held) run(std::move(call), now, wall);
}

void DataCalls::deliver(std::vector<routing::CallReply> replies) {
  for (auto& r : replies) complete(r.call, outcome(r));
}

void DataCalls::complete(std::uint64_t id, Result<Reply> reply) {
  if (auto f = fills_.find(id); f != fills_.end()) {
    if (reply.ok() && (reply->type == Reply::Type::bulk || reply->type == Reply::Type::null)) {
      std::optional<std::string> value;
      if (reply->type == Reply::Type::bulk) value = reply->text;
      near_->fill(f->second.first, f->second.second, std::move(value), NearCache::Clock::now());
    }
    fills_.erase(f);
  }
  Done done;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = inflight_.find(id);
    if (it == inflight_.end()) return;
    done = std::move(it->second);
    inflight_.erase(it);
  }
  done(std::move(reply));
}

void DataCalls::close() {
  std::map<std::uint64_t, Done> pending;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    pending.swap(inflight_);
  }
  held_.clear();
  for (auto& [id, done] : pending) {
    done(make_error(StatusCode::unavailable, "the node stopped before the call completed"));
  }
}

// ---- Typed calls: the command each one sends and how its reply reads -------------------

void DataCalls::get(std::string_view key, CallOptions options,
                    Callback<std::optional<std::string>> done) {
  // The near cache serves reads with the node's own quorum only (an explicit R asks owners).
  const bool cacheable = near_ != nullptr && options.read_quorum == 0;
  if (cacheable) {
    if (auto hit = near_->lookup(key, NearCache::Clock::now())) return done(std::move(*hit));
  }
  submit(
      command({"GET", key}), options,
      [done = std::move(done)](Result<Reply> r) {
        if (auto s = check(r); !s.ok()) return done(s);
        if (r->type == Reply::Type::null) return done(std::optional<std::string>());
        if (r->type != Reply::Type::bulk) return done(unexpected(*r));
        return done(std::optional<std::string>(std::move(r->text)));
      },
      cacheable);
}

void DataCalls::set(std::string_view key, std::string_view value, const SetOptions& options,
                    Callback<bool> done) {
  done = after_write(key, std::move(done));
  if (options.ttl.count() < 0) {
    return done(make_error(StatusCode::invalid_argument, "ttl must not be negative"));
  }
  auto argv = command({"SET", key, value});
  if (options.ttl.count() > 0) {
    argv.push_back("PX");
    argv.push_back(std::to_string(options.ttl.count()));
  } else if (options.keep_ttl) {
    argv.push_back("KEEPTTL");
  }
  if (options.condition == SetOptions::Condition::if_absent) argv.push_back("NX");
  if (options.condition == SetOptions::Condition::if_present) argv.push_back("XX");
  submit(std::move(argv), options.quorum, [done = std::move(done)](Result<Reply> r) {
    if (auto s = check(r); !s.ok()) return done(s);
    if (r->type == Reply::Type::null) return done(false);
    if (r->type != Reply::Type::simple) return done(unexpected(*r));
    return done(true);
  });
}

void DataCalls::del(std::string_view key, CallOptions options, Callback<bool> done) {
  done = after_write(key, std::move(done));
  submit(command({"DEL", key}), options, [done = std::move(done)](Result<Reply> r) {
    if (auto s = check(r); !s.ok()) return done(s);
    if (r->type != Reply::Type::integer) return done(unexpected(*r));
    return done(r->integer > 0);
  });
}

void DataCalls::expire(std::string_view key, std::chrono::milliseconds ttl, CallOptions options,
                       Callback<bool> done) {
  done = after_write(key, std::move(done));
  if (ttl.count() <= 0) {
    return done(make_error(StatusCode::invalid_argument, "ttl must be positive"));
  }
  submit(command({"PEXPIRE", key, std::to_string(ttl.count())}), options,
         [done = std::move(done)](Result<Reply> r) {
           if (auto s = check(r); !s.ok()) return done(s);
           if (r->type != Reply::Type::integer) return done(unexpected(*r));
           return done(r->integer == 1);
         });
}

void DataCalls::ttl(std::string_view key, CallOptions options, Callback<KeyTtl> done) {
  submit(command({"PTTL", key}), options, [done = std::move(done)](Result<Reply> r) {
    if (auto s = check(r); !s.ok()) return done(s);
    if (r->type != Reply::Type::integer) return done(unexpected(*r));
    KeyTtl out;
    out.exists = r->integer != -2;
    if (r->integer >= 0) out.remaining = std::chrono::milliseconds(r->integer);
    return done(out);
  });
}

void DataCalls::get_versions(std::string_view key, CallOptions options, Callback<Versions> done) {
  submit(command({"APIARY.VGET", key}), options, [done = std::move(done)](Result<Reply> r) {
    if (auto s = check(r); !s.ok()) return done(s);
    // [context, [[value, stamp_ms, writer], ...]]
    if (r->type != Reply::Type::array || r->items.size() != 2 ||
        r->items[0].type != Reply::Type::bulk || r->items[1].type != Reply::Type::array) {
      return done(unexpected(*r));
    }
    auto context = CausalContext::from_bytes(r->items[0].text);
    if (!context.ok()) return done(context.status());
    Versions out;
    out.context = std::move(context).value();
    for (auto& s : r->items[1].items) {
      if (s.type != Reply::Type::array || s.items.size() != 3 ||
          s.items[0].type != Reply::Type::bulk || s.items[1].type != Reply::Type::integer ||
          s.items[2].type != Reply::Type::bulk) {
        return done(unexpected(s));
      }
      Version v;
      v.value = std::move(s.items[0].text);
      v.written_at =
          std::chrono::system_clock::time_point(std::chrono::milliseconds(s.items[1].integer));
      const std::string& hex = s.items[2].text;
      std::from_chars(hex.data(), hex.data() + hex.size(), v.writer, 16);
      out.siblings.push_back(std::move(v));
    }
    return done(std::move(out));
  });
}

void DataCalls::put(std::string_view key, std::string_view value, const CausalContext& context,
                    const PutOptions& options, Callback<bool> done) {
  done = after_write(key, std::move(done));
  if (options.ttl.count() < 0) {
    return done(make_error(StatusCode::invalid_argument, "ttl must not be negative"));
  }
  auto argv = command({"APIARY.VPUT", key, value, context.bytes()});
  if (options.ttl.count() > 0) {
    argv.push_back("PX");
    argv.push_back(std::to_string(options.ttl.count()));
  }
  submit(std::move(argv), options.quorum, [done = std::move(done)](Result<Reply> r) {
    if (auto s = check(r); !s.ok()) return done(s);
    if (r->type != Reply::Type::simple) return done(unexpected(*r));
    return done(true);
  });
}

}  // namespace apiary::runtime

namespace apiary {

Result<CausalContext> CausalContext::from_bytes(std::string_view bytes) {
  if (!bytes.empty()) {
    auto decoded =
        data::decode_context({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
    if (!decoded.ok()) return decoded.status();
  }
  return CausalContext(std::string(bytes));
}

}  // namespace apiary
