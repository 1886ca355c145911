#include "apiary/zmq/mailbox.hpp"

#include <zmq.hpp>

#include "apiary/base/host_port.hpp"

namespace apiary::zmqx {

struct Mailbox::Peer {
  zmq::socket_t socket;
  TimePoint last_used;
};

Result<std::string> to_endpoint(const std::string& host_port) {
  auto parsed = parse_host_port(host_port);
  if (!parsed.ok()) return parsed.status();
  for (char c : parsed->host) {
    if (c <= ' ' || c == '/' || c == '*' || c == ';') {
      return make_error(StatusCode::invalid_argument, "address '" + host_port + "' has a bad host");
    }
  }
  return "tcp://" + parsed->to_string();
}

Mailbox::Mailbox(zmq::context_t& context, MailboxOptions options)
    : context_(context), options_(options), last_(std::make_unique<zmq::message_t>()) {}

Mailbox::~Mailbox() {
  // Sockets close before the context (the context outlives every Mailbox).
  peers_.clear();
  pull_.reset();
}

Result<std::unique_ptr<Mailbox>> Mailbox::bind(zmq::context_t& context,
                                               const std::string& bind_addr,
                                               MailboxOptions options) {
  auto endpoint = to_endpoint(bind_addr);
  if (!endpoint.ok()) return endpoint.status();
  std::unique_ptr<Mailbox> box(new Mailbox(context, options));
  try {
    std::string ep = *endpoint;
    // ZeroMQ spells "any port" as '*'.
    if (ep.size() > 2 && ep.compare(ep.size() - 2, 2, ":0") == 0) {
      ep.replace(ep.size() - 1, 1, "*");
    }
    box->pull_ = std::make_unique<zmq::socket_t>(context, zmq::socket_type::pull);
    box->pull_->set(zmq::sockopt::linger, 0);
    box->pull_->set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(options.max_message_bytes));
    box->pull_->set(zmq::sockopt::rcvhwm, 100000);
    box->pull_->bind(ep);
    std::string last = box->pull_->get(zmq::sockopt::last_endpoint);
    // "tcp://127.0.0.1:12345" -> "127.0.0.1:12345"
    box->bound_addr_ = last.rfind("tcp://", 0) == 0 ? last.substr(6) : last;
  } catch (const zmq::error_t& e) {
    return make_error(StatusCode::io_error, "cannot bind " + bind_addr + ": " + e.what());
  }
  return box;
}

int Mailbox::fd() const { return pull_->get(zmq::sockopt::fd); }

Mailbox::Peer* Mailbox::peer_for(const std::string& to, TimePoint now) {
  auto it = peers_.find(to);
  if (it != peers_.end()) {
    it->second->last_used = now;
    return it->second.get();
  }
  if (peers_.size() >= options_.max_peers) close_idle_peers(now);
  if (peers_.size() >= options_.max_peers) return nullptr;
  auto endpoint = to_endpoint(to);
  if (!endpoint.ok()) return nullptr;
  try {
    auto peer = std::make_unique<Peer>(Peer{zmq::socket_t(context_, zmq::socket_type::push), now});
    peer->socket.set(zmq::sockopt::linger, 0);
    peer->socket.set(zmq::sockopt::sndhwm, options_.send_queue_messages);
    peer->socket.set(zmq::sockopt::reconnect_ivl, static_cast<int>(options_.reconnect_min.count()));
    peer->socket.set(zmq::sockopt::reconnect_ivl_max,
                     static_cast<int>(options_.reconnect_max.count()));
    peer->socket.connect(*endpoint);
    Peer* raw = peer.get();
    peers_.emplace(to, std::move(peer));
    stats_.peers = peers_.size();
    return raw;
  } catch (const zmq::error_t&) {
    return nullptr;
  }
}

bool Mailbox::send(const std::string& to, std::span<const std::uint8_t> bytes, TimePoint now) {
  if (bytes.size() > options_.max_message_bytes) {
    ++stats_.dropped_too_large;
    return false;
  }
  Peer* peer = peer_for(to, now);
  if (peer == nullptr) {
    ++stats_.dropped_bad_address;
    return false;
  }
  try {
    auto sent =
        peer->socket.send(zmq::const_buffer(bytes.data(), bytes.size()), zmq::send_flags::dontwait);
    if (!sent) {
      ++stats_.dropped_queue_full;
      return false;
    }
  } catch (const zmq::error_t&) {
    ++stats_.dropped_queue_full;
    return false;
  }
  ++stats_.sent;
  stats_.sent_bytes += bytes.size();
  return true;
}

bool Mailbox::receive(std::vector<std::uint8_t>& out) {
  zmq::message_t& msg = *last_;  // kept until the next receive, for last_sender()
  try {
    auto got = pull_->recv(msg, zmq::recv_flags::dontwait);
    if (!got) return false;
  } catch (const zmq::error_t&) {
    return false;
  }
  const auto* data = static_cast<const std::uint8_t*>(msg.data());
  out.assign(data, data + msg.size());
  ++stats_.received;
  stats_.received_bytes += msg.size();
  return true;
}

std::string Mailbox::last_sender() const {
  try {
    const char* addr = last_->gets("Peer-Address");
    return addr != nullptr ? std::string(addr) : std::string();
  } catch (const zmq::error_t&) {
    return {};
  }
}

void Mailbox::close_idle_peers(TimePoint now) {
  for (auto it = peers_.begin(); it != peers_.end();) {
    if (now - it->second->last_used > options_.idle_peer_timeout) {
      it = peers_.erase(it);
    } else {
      ++it;
    }
  }
  stats_.peers = peers_.size();
}

}  // namespace apiary::zmqx
