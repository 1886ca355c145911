// LOLWUT [VERSION v] [args]: Redis 7.0's answer. Without VERSION (or for versions other than
// 5 and 6) the line "Redis ver. <version>\n"; VERSION 5 draws Georg Nees's "Schotter" as
// Redis's lolwut5.c does: squares on a canvas of 2x4-pixel braille characters, the rows below
// the second turned and moved at random. Redis draws from the C library's generator; Apiary
// from a local one seeded with the command context's wall time (the driver's clock, as every
// handler gets it), so the core stays deterministic under the simulator; the first rows are
// Redis's pixel for pixel and the rest are as random as Redis's. VERSION 6 (Redis's skyline) answers the version line
// (docs/resp.md, deliberate differences).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "apiary/resp/server.hpp"
#include "commands.hpp"

namespace apiary::resp {
namespace {

struct Canvas {
  int width = 0;
  int height = 0;
  std::vector<char> pixels;

  Canvas(int w, int h) : width(w), height(h), pixels(static_cast<std::size_t>(w) * h, 0) {}
  void draw(int x, int y) {
    if (x < 0 || x >= width || y < 0 || y >= height) return;
    pixels[static_cast<std::size_t>(x + y * width)] = 1;
  }
  bool get(int x, int y) const {
    if (x < 0 || x >= width || y < 0 || y >= height) return false;
    return pixels[static_cast<std::size_t>(x + y * width)] != 0;
  }
  // Bresenham, as lwDrawLine.
  void line(int x1, int y1, int x2, int y2) {
    const int dx = std::abs(x2 - x1), dy = std::abs(y2 - y1);
    const int sx = x1 < x2 ? 1 : -1, sy = y1 < y2 ? 1 : -1;
    int err = dx - dy;
    while (true) {
      draw(x1, y1);
      if (x1 == x2 && y1 == y2) break;
      const int e2 = err * 2;
      if (e2 > -dy) {
        err -= dy;
        x1 += sx;
      }
      if (e2 < dx) {
        err += dx;
        y1 += sy;
      }
    }
  }
  // lwDrawSquare: the float and double steps as Redis's C computes them.
  void square(int x, int y, float size, float angle) {
    int px[4], py[4];
    size = static_cast<float>(size / 1.4142135623);
    size = static_cast<float>(std::round(size));
    float k = static_cast<float>(M_PI / 4 + angle);
    for (int j = 0; j < 4; ++j) {
      px[j] = static_cast<int>(std::round(std::sin(static_cast<double>(k)) * size + x));
      py[j] = static_cast<int>(std::round(std::cos(static_cast<double>(k)) * size + y));
      k = static_cast<float>(k + M_PI / 2);
    }
    for (int j = 0; j < 4; ++j) line(px[j], py[j], px[(j + 1) % 4], py[(j + 1) % 4]);
  }
};

// A small deterministic generator standing in for the C library's (no process-wide state).
struct Random {
  std::uint64_t state;
  int next() {  // 0..2^31 - 1, the range of glibc's generator
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return static_cast<int>(state >> 33);
  }
};
constexpr float kRandMax = 2147483647.0f;

Canvas schotter(int cols, int per_row, int per_col, Random& rnd) {
  const int width = cols * 2;
  const int padding = width > 4 ? 2 : 0;
  const float side = static_cast<float>(width - padding * 2) / static_cast<float>(per_row);
  const int height =
      static_cast<int>(side * static_cast<float>(per_col) + static_cast<float>(padding * 2));
  Canvas canvas(width, height);
  for (int y = 0; y < per_col; ++y) {
    for (int x = 0; x < per_row; ++x) {
      int sx =
          static_cast<int>(static_cast<float>(x) * side + side / 2 + static_cast<float>(padding));
      int sy =
          static_cast<int>(static_cast<float>(y) * side + side / 2 + static_cast<float>(padding));
      float angle = 0;
      if (y > 1) {
        const auto r = [&] {
          return static_cast<float>(rnd.next()) / kRandMax / static_cast<float>(per_col) *
                 static_cast<float>(y);
        };
        float r1 = r(), r2 = r(), r3 = r();
        if (rnd.next() % 2) r1 = -r1;
        if (rnd.next() % 2) r2 = -r2;
        if (rnd.next() % 2) r3 = -r3;
        angle = r1;
        sx = static_cast<int>(static_cast<float>(sx) + r2 * side / 3);
        sy = static_cast<int>(static_cast<float>(sy) + r3 * side / 3);
      }
      canvas.square(sx, sy, side, angle);
    }
  }
  return canvas;
}

// Each 2x4 group of pixels as one braille character (U+2800 + the pixel bits).
std::string render(const Canvas& c) {
  std::string text;
  for (int y = 0; y < c.height; y += 4) {
    for (int x = 0; x < c.width; x += 2) {
      int byte = 0;
      if (c.get(x, y)) byte |= 1 << 0;
      if (c.get(x, y + 1)) byte |= 1 << 1;
      if (c.get(x, y + 2)) byte |= 1 << 2;
      if (c.get(x + 1, y)) byte |= 1 << 3;
      if (c.get(x + 1, y + 1)) byte |= 1 << 4;
      if (c.get(x + 1, y + 2)) byte |= 1 << 5;
      if (c.get(x, y + 3)) byte |= 1 << 6;
      if (c.get(x + 1, y + 3)) byte |= 1 << 7;
      const int code = 0x2800 + byte;
      text.push_back(static_cast<char>(0xE0 | (code >> 12)));
      text.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
      text.push_back(static_cast<char>(0x80 | (code & 0x3F)));
    }
    if (y != c.height - 1) text.push_back('\n');
  }
  return text;
}

// An integer argument, then clamped to [lo, hi] as lolwut5.c does.
bool clamped_arg(CommandContext& ctx, std::string_view arg, std::int64_t lo, std::int64_t hi,
                 std::int64_t& out) {
  const auto v = to_int(arg);
  if (!v) {
    ctx.reply.error(kNotInteger);
    return false;
  }
  out = std::clamp(*v, lo, hi);
  return true;
}

Outcome lolwut5(CommandContext& ctx, std::span<const std::string_view> args) {
  std::int64_t cols = 66, per_row = 8, per_col = 12;
  if (args.size() > 1 && !clamped_arg(ctx, args[1], 1, 1000, cols)) return Outcome::done();
  if (args.size() > 2 && !clamped_arg(ctx, args[2], 1, 200, per_row)) return Outcome::done();
  if (args.size() > 3 && !clamped_arg(ctx, args[3], 1, 200, per_col)) return Outcome::done();
  Random rnd{static_cast<std::uint64_t>(ctx.wall.ms) * 0x9E3779B97F4A7C15ULL | 1};
  std::string text = render(
      schotter(static_cast<int>(cols), static_cast<int>(per_row), static_cast<int>(per_col), rnd));
  text += "\nGeorg Nees - schotter, plotter on paper, 1968. Redis ver. ";
  text += ctx.server.identity().version;
  text += "\n";
  ctx.reply.verbatim("txt", text);
  return Outcome::done();
}

Outcome lolwut(CommandContext& ctx) {
  std::span<const std::string_view> args = ctx.argv;
  unsigned version = 0;  // 0: this server's own
  if (args.size() >= 3 && iequals(args[1], "VERSION")) {
    const auto v = to_int(args[2]);
    if (!v) {
      ctx.reply.error(kNotInteger);
      return Outcome::done();
    }
    version = static_cast<unsigned>(*v);  // Redis prints it with %u
    args = args.subspan(2);
  }
  if (version == 5) return lolwut5(ctx, args);
  ctx.reply.verbatim("txt", "Redis ver. " + ctx.server.identity().version + "\n");
  return Outcome::done();
}

}  // namespace

void register_lolwut_commands(CommandTable& table) {
  table.add(make_spec({"lolwut", -1, kReadonly | kFast, 0, 0, 0, "@read @fast", "", "server",
                       "Display some computer art and the Redis version", "5.0.0", "", lolwut}));
}

}  // namespace apiary::resp
