#include "apiary/sim/checker.hpp"

#include <algorithm>

#include "apiary/sim/process.hpp"

namespace apiary::sim {

using gossip::MemberState;

std::string_view to_string(NodeStatus status) {
  switch (status) {
    case NodeStatus::absent:
      return "absent";
    case NodeStatus::running:
      return "running";
    case NodeStatus::leaving:
      return "leaving";
    case NodeStatus::left:
      return "left";
    case NodeStatus::crashed:
      return "crashed";
  }
  return "unknown";
}

Checker::Checker(std::uint32_t capacity)
    : capacity_(capacity),
      view_(static_cast<std::size_t>(capacity) * capacity, kUnknown),
      status_(capacity, NodeStatus::absent),
      col_wrong_(capacity, 0),
      dead_count_(capacity, 0),
      open_episode_(capacity, -1) {}

bool Checker::wrong(std::uint32_t subject, std::uint8_t v) const {
  const auto alive = static_cast<std::uint8_t>(MemberState::alive);
  const auto suspect = static_cast<std::uint8_t>(MemberState::suspect);
  // A suspect is still a member (transient suspicions are routine under loss); only dead,
  // left or unknown is wrong for a running node.
  if (status_[subject] == NodeStatus::running) return v != alive && v != suspect;
  return v == alive || v == suspect;
}

void Checker::account(std::uint32_t node, int sign) {
  const auto dead = static_cast<std::uint8_t>(MemberState::dead);
  if (observer(node)) {
    const std::uint8_t* row = &view_[static_cast<std::size_t>(node) * capacity_];
    for (std::uint32_t j = 0; j < capacity_; ++j) {
      if (j == node) continue;
      if (wrong(j, row[j])) {
        wrong_ += static_cast<std::uint64_t>(sign);
        col_wrong_[j] += static_cast<std::uint32_t>(sign);
      }
      if (row[j] == dead) dead_count_[j] += static_cast<std::uint32_t>(sign);
    }
  }
  for (std::uint32_t i = 0; i < capacity_; ++i) {
    if (i == node || !observer(i)) continue;
    if (wrong(node, cell(i, node))) {
      wrong_ += static_cast<std::uint64_t>(sign);
      col_wrong_[node] += static_cast<std::uint32_t>(sign);
    }
  }
}

void Checker::set_status(TimePoint now, std::uint32_t node, NodeStatus status) {
  if (node >= capacity_ || status_[node] == status) return;
  const NodeStatus old = status_[node];
  account(node, -1);
  status_[node] = status;
  account(node, +1);
  const bool was_up = old == NodeStatus::running;
  if (was_up && (status == NodeStatus::crashed || status == NodeStatus::leaving)) {
    CrashEpisode e;
    e.node = node;
    e.crashed = now;
    e.graceful = status == NodeStatus::leaving;
    open_episode_[node] = static_cast<std::int64_t>(episodes_.size());
    open_nodes_.push_back(node);
    episodes_.push_back(e);
  } else if (status == NodeStatus::running && open_episode_[node] >= 0) {
    episodes_[static_cast<std::size_t>(open_episode_[node])].restarted_first = true;
    open_episode_[node] = -1;
    std::erase(open_nodes_, node);
  }
  settle(now);
}

void Checker::reset_view(std::uint32_t observer_node) {
  if (observer_node >= capacity_) return;
  const bool counted = observer(observer_node);
  if (counted) account(observer_node, -1);
  std::fill_n(view_.begin() + static_cast<std::ptrdiff_t>(observer_node) * capacity_, capacity_,
              kUnknown);
  if (counted) account(observer_node, +1);
}

void Checker::on_event(TimePoint now, std::uint32_t i, std::uint32_t j, MemberState state,
                       bool subject_healthy) {
  if (i >= capacity_ || j >= capacity_ || i == j) return;
  std::uint8_t& c = cell(i, j);
  const std::uint8_t old = c;
  const auto nv = static_cast<std::uint8_t>(state);
  c = nv;
  if (!observer(i)) return;
  const auto dead = static_cast<std::uint8_t>(MemberState::dead);
  const bool was_wrong = wrong(j, old);
  const bool is_wrong = wrong(j, nv);
  if (was_wrong != is_wrong) {
    if (is_wrong) {
      ++wrong_;
      ++col_wrong_[j];
    } else {
      --wrong_;
      --col_wrong_[j];
    }
  }
  if (old == dead) --dead_count_[j];
  if (nv == dead) {
    if (old != dead && subject_healthy) {
      ++false_dead_views_;
      if (dead_count_[j] == 0) false_positives_.push_back(FalsePositive{now, j, i});
    }
    ++dead_count_[j];
  }
  if (open_episode_[j] >= 0 && state != MemberState::alive) {
    auto& e = episodes_[static_cast<std::size_t>(open_episode_[j])];
    if (!e.first_suspect) e.first_suspect = now;
    if (state == MemberState::dead && !e.first_dead) e.first_dead = now;
  }
  if (!is_wrong && was_wrong &&
      ((col_wrong_[j] == 0 && open_episode_[j] >= 0) || (wrong_ == 0 && open_convergences_ > 0))) {
    settle(now);
  }
}

void Checker::open_convergence(TimePoint now, std::string label) {
  convergences_.push_back(Convergence{std::move(label), now, std::nullopt});
  ++open_convergences_;
  settle(now);
}

void Checker::settle(TimePoint now) {
  std::erase_if(open_nodes_, [&](std::uint32_t n) {
    if (col_wrong_[n] != 0) return false;
    episodes_[static_cast<std::size_t>(open_episode_[n])].everywhere = now;
    open_episode_[n] = -1;
    return true;
  });
  if (wrong_ == 0 && open_convergences_ > 0) {
    for (auto& c : convergences_) {
      if (!c.done) c.done = now;
    }
    open_convergences_ = 0;
  }
}

std::optional<MemberState> Checker::view(std::uint32_t observer_node, std::uint32_t subject) const {
  const std::uint8_t v = cell(observer_node, subject);
  if (v == kUnknown) return std::nullopt;
  return static_cast<MemberState>(v);
}

std::vector<std::string> Checker::disagreements(std::size_t limit) const {
  std::vector<std::string> out;
  for (std::uint32_t i = 0; i < capacity_ && out.size() < limit; ++i) {
    if (!observer(i)) continue;
    for (std::uint32_t j = 0; j < capacity_ && out.size() < limit; ++j) {
      if (j == i || !wrong(j, cell(i, j))) continue;
      const std::uint8_t v = cell(i, j);
      const std::string seen = v == kUnknown
                                   ? "not at all"
                                   : "as " + std::string(to_string(static_cast<MemberState>(v)));
      out.push_back(node_name(i) + " sees " + node_name(j) + " " + seen + ", but " + node_name(j) +
                    " is " + std::string(to_string(status_[j])));
    }
  }
  return out;
}

}  // namespace apiary::sim
