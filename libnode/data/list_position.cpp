#include "apiary/data/list_position.hpp"

#include <algorithm>
#include <cstdint>

namespace apiary::data::list_position {

namespace {

int byte_at(std::optional<std::string_view> s, std::size_t k) {
  return s && k < s->size() ? static_cast<unsigned char>((*s)[k]) : 0;
}

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

// The first `n` bytes of `s` (zeros past its end) as a base-256 number, plus one.
std::string plus_one(std::optional<std::string_view> s, std::size_t n) {
  std::string out(n, '\0');
  for (std::size_t k = 0; k < n; ++k) out[k] = static_cast<char>(byte_at(s, k));
  for (std::size_t k = n; k-- > 0;) {
    const auto b = static_cast<unsigned char>(out[k]);
    out[k] = static_cast<char>(b + 1);
    if (b != 0xff) break;
  }
  return out;
}

// The first `n` bytes of `s` (zeros past its end) minus one; `s` absent stands for 1.0.
std::string minus_one(std::optional<std::string_view> s, std::size_t n) {
  if (!s) return std::string(n, '\xff');
  std::string out(n, '\0');
  for (std::size_t k = 0; k < n; ++k) out[k] = static_cast<char>(byte_at(s, k));
  for (std::size_t k = n; k-- > 0;) {
    const auto b = static_cast<unsigned char>(out[k]);
    out[k] = static_cast<char>(b - 1);
    if (b != 0) break;
  }
  return out;
}

}  // namespace

std::string between(std::optional<std::string_view> left, std::optional<std::string_view> right,
                    Bias bias) {
  // The first element of a list sits in the middle, leaving as much room for LPUSH as RPUSH.
  if (!left && !right) return std::string("\x80\x00\x00", 3);
  // Read as base-256 fractions 0.left < 0.right (an absent right end is 1.0): the first depth
  // at which the numbers made of their first `depth` bytes differ by two or more. Before it
  // the difference is 0 or 1, so `gap` never overflows; it is reached because names are
  // finite (past both ends the difference only grows).
  std::int64_t gap = 0;
  std::size_t depth = 0;
  // Past both names the difference, if not 0, only grows: one byte past the longer is enough.
  // It stays 0 only for names outside the precondition (right = left followed by zero
  // bytes, which a hostile replica could send); then the loop stops and the result, after
  // left, is not before right, but every call returns.
  const std::size_t limit = std::max(left ? left->size() : 0, right ? right->size() : 0) + 1;
  while (gap < 2 && depth <= limit) {
    const int right_digit = right ? byte_at(right, depth) : (depth == 0 ? 256 : 0);
    gap = gap * 256 + right_digit - byte_at(left, depth);
    ++depth;
  }
  if (gap < 2) return plus_one(left, depth);
  // Two more bytes leave at least 65,537 free positions between the neighbours, so a run of
  // inserts at one spot stepping by one from the same side stays at this length.
  depth += 2;
  bool from_left = bias == Bias::left;
  if (bias == Bias::longer) from_left = left && (!right || left->size() >= right->size());
  return from_left ? plus_one(left, depth) : minus_one(right, depth);
}

std::string suffix(Dot dot, std::uint32_t index) {
  std::string out;
  put_varint(out, dot.counter);
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>(dot.actor.value >> (8 * i)));
  put_varint(out, std::uint64_t{index} + 1);
  // Its own length last: a name says where its suffix starts (so two different writes never
  // produce equal names), and a name never ends in a zero byte (between()'s precondition).
  out.push_back(static_cast<char>(out.size() + 1));
  return out;
}

std::string mint(std::optional<std::string_view> left, std::optional<std::string_view> right,
                 Dot dot, std::uint32_t index, Bias bias) {
  std::string out = between(left, right, bias);
  out += suffix(dot, index);
  return out;
}

bool valid(std::string_view name) { return !name.empty() && name.back() != '\0'; }

}  // namespace apiary::data::list_position
