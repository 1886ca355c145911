#include "apiary/sim/process.hpp"

#include <charconv>

namespace apiary::sim {

std::string node_name(std::uint32_t index) { return "n" + std::to_string(index); }
std::string node_addr(std::uint32_t index) { return node_name(index) + ":7946"; }
std::string node_data_addr(std::uint32_t index) { return node_name(index) + ":data"; }
bool is_data_addr(std::string_view addr) {
  constexpr std::string_view suffix = ":data";
  return addr.size() > suffix.size() && addr.substr(addr.size() - suffix.size()) == suffix;
}

std::optional<std::uint32_t> parse_node_index(std::string_view s) {
  if (s.size() < 2 || s[0] != 'n') return std::nullopt;
  const auto colon = s.find(':');
  const std::string_view digits = s.substr(1, colon == std::string_view::npos ? s.npos : colon - 1);
  std::uint32_t v = 0;
  const auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc() || p != digits.data() + digits.size() || digits.empty()) {
    return std::nullopt;
  }
  return v;
}

}  // namespace apiary::sim
