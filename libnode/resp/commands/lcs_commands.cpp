// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN], answering as Redis 7.0.15's
// lcsCommand does: both keys are read first (a key of another type answers "The specified
// keys must contain string values", a missing one is an empty string), then the options;
// the answer comes from the same dynamic-programming table walked back the same way, so the
// string and the IDX ranges are Redis's when several longest subsequences exist.
//
// Redis allocates the (len1 + 1) x (len2 + 1) table of 32-bit cells and refuses only when
// the allocation fails. Apiary refuses, with the same error, a table larger than
// proto-max-bulk-len bytes (512 MiB by default: 134 million cells), which also bounds the
// time one LCS holds the node's loop. Both keys are in one partition (hash tags) or the
// router refuses the command with CROSSSLOT before it gets here.
#include <algorithm>
#include <cstdint>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "apiary/resp/server.hpp"
#include "commands.hpp"
#include "keyspace_notify.hpp"
#include "store_access.hpp"

namespace apiary::resp {
namespace {

struct LcsOptions {
  bool len = false, idx = false, with_match_len = false;
  std::int64_t min_match_len = 0;
};

bool parse_options(CommandContext& ctx, LcsOptions& o) {
  const std::size_t argc = ctx.argv.size();
  for (std::size_t j = 3; j < argc; ++j) {
    const std::string_view opt = ctx.argv[j];
    if (iequals(opt, "IDX")) {
      o.idx = true;
    } else if (iequals(opt, "LEN")) {
      o.len = true;
    } else if (iequals(opt, "WITHMATCHLEN")) {
      o.with_match_len = true;
    } else if (iequals(opt, "MINMATCHLEN") && j + 1 < argc) {
      const auto n = to_int(ctx.argv[++j]);
      if (!n) {
        ctx.reply.error(kNotInteger);
        return false;
      }
      o.min_match_len = *n < 0 ? 0 : *n;
    } else {
      ctx.reply.error(kSyntaxError);
      return false;
    }
  }
  if (o.idx && o.len) {
    ctx.reply.error("If you want both the length and indexes, please just use IDX.");
    return false;
  }
  return true;
}

// A key's string for LCS, copied (the second read would end the first's view); false when
// the key holds another type.
bool lcs_input(CommandContext& ctx, store::Store& st, std::string_view key, std::string& out) {
  bool wrong_type = false;
  const auto v = st.get_value(key, ctx.wall, &wrong_type);
  if (v) out.assign(*v);
  if (!v && !wrong_type) notify_keymiss(ctx, key);
  return !wrong_type;
}

struct Match {
  std::uint32_t a_start, a_end, b_start, b_end;
};

// The matches Redis emits, from the end of both strings backwards, and the LCS string.
struct Walk {
  std::string text;
  std::vector<Match> matches;
};

Walk walk_back(std::string_view a, std::string_view b, const std::vector<std::uint32_t>& dp,
               const LcsOptions& o) {
  const auto alen = static_cast<std::uint32_t>(a.size());
  const auto blen = static_cast<std::uint32_t>(b.size());
  const auto at = [&](std::uint32_t i, std::uint32_t j) {
    return dp[j + static_cast<std::size_t>(i) * (blen + 1)];
  };
  Walk w;
  std::uint32_t idx = at(alen, blen);
  w.text.assign(idx, '\0');
  std::uint32_t a_start = alen, a_end = 0, b_start = 0, b_end = 0;  // a_start == alen: none
  std::uint32_t i = alen, j = blen;
  while (i > 0 && j > 0) {
    bool emit = false;
    if (a[i - 1] == b[j - 1]) {
      w.text[idx - 1] = a[i - 1];
      if (a_start == alen) {
        a_start = a_end = i - 1;
        b_start = b_end = j - 1;
      } else if (a_start == i && b_start == j) {
        --a_start;
        --b_start;
      } else {
        emit = true;
      }
      if (a_start == 0 || b_start == 0) emit = true;
      --idx;
      --i;
      --j;
    } else {
      if (at(i - 1, j) > at(i, j - 1)) {
        --i;
      } else {
        --j;
      }
      if (a_start != alen) emit = true;
    }
    if (emit) {
      const std::uint32_t match_len = a_end - a_start + 1;
      if (o.min_match_len == 0 || match_len >= o.min_match_len) {
        w.matches.push_back({a_start, a_end, b_start, b_end});
      }
      a_start = alen;
    }
  }
  return w;
}

Outcome lcs(CommandContext& ctx) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  std::string a, b;
  // Both keys are looked up before either type is checked, as Redis does (a "keymiss" each).
  const bool a_ok = lcs_input(ctx, *st, ctx.argv[1], a);
  const bool b_ok = lcs_input(ctx, *st, ctx.argv[2], b);
  if (!a_ok || !b_ok) {
    ctx.reply.error("The specified keys must contain string values");
    return Outcome::done();
  }
  LcsOptions o;
  if (!parse_options(ctx, o)) return Outcome::done();
  const std::uint64_t cells = (a.size() + 1) * (b.size() + 1);  // strings are < 2^32 bytes
  const auto limit = static_cast<std::uint64_t>(ctx.server.config().proto_max_bulk_len());
  std::vector<std::uint32_t> dp;
  try {
    if (cells > limit / sizeof(std::uint32_t)) throw std::bad_alloc();
    dp.assign(cells, 0);
  } catch (const std::bad_alloc&) {
    ctx.reply.error("Insufficient memory, failed allocating transient memory for LCS");
    return Outcome::done();
  }
  const std::size_t row = b.size() + 1;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      dp[i * row + j] = a[i - 1] == b[j - 1] ? dp[(i - 1) * row + j - 1] + 1
                                             : std::max(dp[(i - 1) * row + j], dp[i * row + j - 1]);
    }
  }
  const std::int64_t length = dp.back();
  if (o.len) {
    ctx.reply.integer(length);
    return Outcome::done();
  }
  const Walk w = walk_back(a, b, dp, o);
  if (!o.idx) {
    ctx.reply.bulk(w.text);
    return Outcome::done();
  }
  ctx.reply.map(2);
  ctx.reply.bulk("matches");
  ctx.reply.array(w.matches.size());
  for (const Match& m : w.matches) {
    ctx.reply.array(o.with_match_len ? 3 : 2);
    ctx.reply.array(2);
    ctx.reply.integer(m.a_start);
    ctx.reply.integer(m.a_end);
    ctx.reply.array(2);
    ctx.reply.integer(m.b_start);
    ctx.reply.integer(m.b_end);
    if (o.with_match_len) ctx.reply.integer(m.a_end - m.a_start + 1);
  }
  ctx.reply.bulk("len");
  ctx.reply.integer(length);
  return Outcome::done();
}

}  // namespace

void register_lcs_commands(CommandTable& t) {
  t.add(make_spec({"lcs", -3, kReadonly, 1, 2, 1, "@read @string @slow", "RO access", "string",
                   "Find longest common substring", "7.0.0",
                   "O(N*M) where N and M are the lengths of s1 and s2, respectively", lcs}));
}

}  // namespace apiary::resp
