// What the sorted set commands share (zset_support.hpp).
#include "zset_support.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>

#include "apiary/resp/server.hpp"
#include "commands.hpp"
#include "keyspace_notify.hpp"
#include "store_access.hpp"

namespace apiary::resp {

bool parse_score(std::string_view s, double& out) {
  if (s.empty() || std::isspace(static_cast<unsigned char>(s[0]))) return false;
  const std::string text(s);
  errno = 0;
  char* end = nullptr;
  const double d = std::strtod(text.c_str(), &end);
  if (static_cast<std::size_t>(end - text.c_str()) != text.size()) return false;
  if (errno == ERANGE && (std::isinf(d) || d == 0)) return false;
  if (std::isnan(d)) return false;
  out = d;
  return true;
}

std::string score_string(double score) {
  if (std::isnan(score)) return "nan";
  if (std::isinf(score)) return score > 0 ? "inf" : "-inf";
  if (score == 0) return std::signbit(score) ? "-0" : "0";
  constexpr double kHalfRange = static_cast<double>(std::numeric_limits<long long>::max() / 2);
  if (score >= -kHalfRange && score <= kHalfRange) {
    const auto ll = static_cast<long long>(score);
    if (static_cast<double>(ll) == score) return std::to_string(ll);
  }
  return data::Collection::score_text(score);
}

bool score_less(const ScoredMember& a, const ScoredMember& b) {
  return a.score != b.score ? a.score < b.score : a.member < b.member;
}

const data::Collection* read_zset(CommandContext& ctx, std::string_view key, bool& replied,
                                  bool keymiss) {
  return collection_or_reply(ctx, key, kZset, replied, keymiss);
}

bool store_zset(CommandContext& ctx, std::string_view dst, std::span<const ScoredMember> items,
                std::string_view event) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return false;
  if (items.empty()) {
    if (st->del_local(dst, ctx.wall)) notify(ctx, kNotifyGeneric, "del", dst);
    return true;
  }
  NewKeyWatch watch(ctx, *st, dst);  // before a key of another type is deleted
  const store::KeyType held = st->type(dst, ctx.wall);
  if (held != store::KeyType::none && held != store::KeyType::zset) st->del_local(dst, ctx.wall);
  const bool ok = edit_or_reply(ctx, dst, kZset, [&](store::Store::CollectionEdit& e) {
    e.collection.clear();
    for (const auto& item : items) {
      e.collection.set(item.member, data::Collection::score_text(item.score + 0.0), e.dot, e.stamp);
    }
    return true;
  });
  if (!ok) return false;
  st->clear_expiry(dst, ctx.wall);
  watch.created();
  notify(ctx, kNotifyZset, event, dst);
  return true;
}

void reply_scored(CommandContext& ctx, std::span<const ScoredMember> items, bool withscores) {
  const bool pairs = withscores && ctx.reply.protocol() > 2;
  ctx.reply.array(items.size() * (withscores && !pairs ? 2 : 1));
  for (const auto& item : items) {
    if (pairs) ctx.reply.array(2);
    ctx.reply.bulk(item.member);
    if (withscores) ctx.reply.double_value(item.score);
  }
}

}  // namespace apiary::resp
