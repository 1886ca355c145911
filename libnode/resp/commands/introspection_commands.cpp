// Introspection: OBJECT, MEMORY, the store's INFO sections, and Server::attach_store.
#include <algorithm>
#include <cstdio>
#include <limits>
#include <string>

#include "apiary/resp/connection.hpp"
#include "apiary/resp/request_parser.hpp"
#include "apiary/resp/server.hpp"
#include "commands.hpp"
#include "store_access.hpp"

namespace apiary::resp {
namespace {

constexpr std::string_view kLfuSwitchNote =
    " Please note that when switching between policies at runtime LRU and LFU data will take "
    "some time to adjust.";

Outcome object_encoding(CommandContext& ctx) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  const store::KeyType type = st->type(ctx.argv[2], ctx.wall);
  if (store::is_collection_type(type)) {
    bool wrong = false;
    const auto kind = store::collection_kind(type);
    if (const data::Collection* c = st->read_collection(ctx.argv[2], kind, ctx.wall, wrong)) {
      ctx.reply.bulk(collection_encoding(*c));
      return Outcome::done();
    }
  }
  auto v = st->get_value(ctx.argv[2], ctx.wall);
  if (!v) {
    ctx.reply.null();
    return Outcome::done();
  }
  std::int64_t n = 0;
  // Redis stores short decimal integers as "int", strings up to 44 bytes as "embstr".
  if (v->size() <= 20 && parse_int64(*v, n)) {
    ctx.reply.bulk("int");
  } else {
    ctx.reply.bulk(v->size() <= 44 ? "embstr" : "raw");
  }
  return Outcome::done();
}

bool lfu_policy(const store::Store& st) {
  const auto p = st.config().policy;
  return p == store::EvictionPolicy::allkeys_lfu || p == store::EvictionPolicy::volatile_lfu;
}

Outcome object_freq(CommandContext& ctx) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  if (!st->exists(ctx.argv[2], ctx.wall)) {
    ctx.reply.null();
    return Outcome::done();
  }
  if (!lfu_policy(*st)) {
    ctx.reply.error(std::string("An LFU maxmemory policy is not selected, access frequency not "
                                "tracked.") +
                    std::string(kLfuSwitchNote));
    return Outcome::done();
  }
  auto f = st->lfu_frequency(ctx.argv[2], ctx.wall);
  ctx.reply.integer(f ? *f : 0);
  return Outcome::done();
}

Outcome object_idletime(CommandContext& ctx) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  if (!st->exists(ctx.argv[2], ctx.wall)) {
    ctx.reply.null();
    return Outcome::done();
  }
  if (lfu_policy(*st)) {
    ctx.reply.error(std::string("An LFU maxmemory policy is selected, idle time not tracked.") +
                    std::string(kLfuSwitchNote));
    return Outcome::done();
  }
  auto idle = st->idle_time(ctx.argv[2], ctx.wall);
  ctx.reply.integer(idle ? idle->count() : 0);
  return Outcome::done();
}

// Redis shares the integers 0..9999 between string values (refcount INT_MAX) unless an LRU or
// LFU policy with a memory limit needs each value's own access field.
bool shared_integer(const store::Store& st, std::string_view value) {
  const auto p = st.config().policy;
  const bool per_value_access =
      st.config().maxmemory != 0 &&
      (p == store::EvictionPolicy::allkeys_lru || p == store::EvictionPolicy::volatile_lru ||
       p == store::EvictionPolicy::allkeys_lfu || p == store::EvictionPolicy::volatile_lfu);
  std::int64_t n = 0;
  return !per_value_access && value.size() <= 20 && parse_int64(value, n) && n >= 0 && n < 10000;
}

Outcome object_refcount(CommandContext& ctx) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  if (!st->exists(ctx.argv[2], ctx.wall)) {
    ctx.reply.null();
    return Outcome::done();
  }
  std::optional<std::string_view> v;
  if (st->type(ctx.argv[2], ctx.wall) == store::KeyType::string)
    v = st->get_value(ctx.argv[2], ctx.wall);
  ctx.reply.integer(v && shared_integer(*st, *v) ? std::numeric_limits<std::int32_t>::max() : 1);
  return Outcome::done();
}

Outcome object_help(CommandContext& ctx) {
  reply_help(ctx.reply, "OBJECT",
             {"ENCODING <key>",
              "    Return the kind of internal representation used in order to store the value",
              "    associated with a <key>.", "FREQ <key>",
              "    Return the access frequency index of the <key>. The returned integer is",
              "    proportional to the logarithm of the recent access frequency of the key.",
              "IDLETIME <key>",
              "    Return the idle time of the <key>, that is the approximated number of",
              "    seconds elapsed since the last access to the key.", "REFCOUNT <key>",
              "    Return the number of references of the value associated with the specified",
              "    <key>."});
  return Outcome::done();
}

Outcome memory_usage(CommandContext& ctx) {
  store::Store* st = store_or_reply(ctx);
  if (st == nullptr) return Outcome::done();
  for (std::size_t j = 3; j < ctx.argv.size(); ++j) {
    if (iequals(ctx.argv[j], "SAMPLES") && j + 1 < ctx.argv.size()) {
      auto n = to_int(ctx.argv[++j]);
      if (!n) {
        ctx.reply.error(kNotInteger);
        return Outcome::done();
      }
      if (*n < 0) {
        ctx.reply.error(kSyntaxError);
        return Outcome::done();
      }
    } else {
      ctx.reply.error(kSyntaxError);
      return Outcome::done();
    }
  }
  if (!st->exists(ctx.argv[2], ctx.wall)) {
    ctx.reply.null();
    return Outcome::done();
  }
  auto bytes = st->memory_usage(ctx.argv[2]);
  if (bytes) {
    ctx.reply.integer(static_cast<std::int64_t>(*bytes));
  } else {
    ctx.reply.null();
  }
  return Outcome::done();
}

Outcome memory_help(CommandContext& ctx) {
  reply_help(ctx.reply, "MEMORY",
             {"DOCTOR", "    Return memory problems reports.", "MALLOC-STATS",
              "    Return internal statistics report from the memory allocator.", "PURGE",
              "    Attempt to purge dirty pages for reclamation by the allocator.", "STATS",
              "    Return information about the memory usage of the server.",
              "USAGE <key> [SAMPLES <count>]",
              "    Return memory in bytes used by <key> and its value. Nested values are",
              "    sampled up to <count> times (default: 5, 0 means sample all)."});
  return Outcome::done();
}

// MEMORY STATS with Redis 7.0's fields, in its order. What Apiary has no equivalent of is
// 0 (docs/resp.md lists them): no startup or peak accounting, no replication backlog, AOF
// buffer or script caches counted, no allocator or RSS figures (the store's used memory is
// an estimate of its entries, not the allocator's count).
Outcome memory_stats(CommandContext& ctx) {
  const store::Store* st = ctx.server.store();
  std::size_t clients = 0;
  for (const auto& [id, c] : ctx.server.clients()) {
    clients += c->query_buffer_size() + c->output_buffer_size();
  }
  const std::size_t used = st != nullptr ? st->used_memory() : 0;
  const std::size_t dataset = st != nullptr ? st->entries_memory() : 0;
  const std::size_t keys = st != nullptr ? st->size() : 0;
  const std::size_t total = used + clients;
  const std::size_t table_overhead = used - std::min(used, dataset);
  const std::size_t overhead = clients + table_overhead;
  auto& r = ctx.reply;
  r.map(keys != 0 ? 28 : 27);
  auto field = [&](std::string_view name, std::size_t v) {
    r.bulk(name);
    r.integer(static_cast<std::int64_t>(v));
  };
  auto ratio = [&](std::string_view name, double v) {
    r.bulk(name);
    r.double_value(v);
  };
  field("peak.allocated", total);
  field("total.allocated", total);
  field("startup.allocated", 0);
  field("replication.backlog", 0);
  field("clients.slaves", 0);
  field("clients.normal", clients);
  field("cluster.links", 0);
  field("aof.buffer", 0);
  field("lua.caches", 0);
  field("functions.caches", 0);
  if (keys != 0) {
    r.bulk("db.0");
    r.map(3);
    field("overhead.hashtable.main", table_overhead);
    field("overhead.hashtable.expires", 0);
    field("overhead.hashtable.slot-to-keys", 0);
  }
  field("overhead.total", overhead);
  field("keys.count", keys);
  field("keys.bytes-per-key", keys != 0 ? total / keys : 0);
  field("dataset.bytes", total - overhead);
  ratio("dataset.percentage",
        total != 0 ? static_cast<double>(total - overhead) * 100 / static_cast<double>(total) : 0);
  ratio("peak.percentage", total != 0 ? 100.0 : 0.0);
  field("allocator.allocated", 0);
  field("allocator.active", 0);
  field("allocator.resident", 0);
  ratio("allocator-fragmentation.ratio", 0);
  field("allocator-fragmentation.bytes", 0);
  ratio("allocator-rss.ratio", 0);
  field("allocator-rss.bytes", 0);
  ratio("rss-overhead.ratio", 0);
  field("rss-overhead.bytes", 0);
  ratio("fragmentation", 0);
  field("fragmentation.bytes", 0);
  return Outcome::done();
}

// Redis's getMemoryDoctorReport for what Apiary can judge: an instance under 5 MB is "empty";
// the peak, fragmentation and RSS checks have no figures here (MEMORY STATS).
Outcome memory_doctor(CommandContext& ctx) {
  const store::Store* st = ctx.server.store();
  const std::size_t used = st != nullptr ? st->used_memory() : 0;
  if (used < 5 * 1024 * 1024) {
    ctx.reply.verbatim(
        "txt",
        "Hi Sam, this instance is empty or is using very little memory, my issues detector "
        "can't be used in these conditions. Please, leave for your mission on Earth and fill it "
        "with some data. The new Sam and I will be back to our programming as soon as I "
        "finished rebooting.\n");
  } else {
    ctx.reply.verbatim("txt",
                       "Hi Sam, I can't find any memory issue in your instance. I can only "
                       "account for what occurs on this base.\n");
  }
  return Outcome::done();
}

// Redis built without jemalloc's answer: the library leaves the allocator to its host.
Outcome memory_malloc_stats(CommandContext& ctx) {
  ctx.reply.bulk("Stats not supported for the current allocator");
  return Outcome::done();
}

Outcome memory_purge(CommandContext& ctx) {
  ctx.reply.ok();
  return Outcome::done();
}

Outcome container(CommandContext& ctx) {
  ctx.reply.error(kSyntaxError);
  return Outcome::done();
}

std::string human_bytes(std::size_t n) {
  char buf[32];
  const double d = static_cast<double>(n);
  if (n < 1024) {
    std::snprintf(buf, sizeof(buf), "%zuB", n);
  } else if (n < 1024 * 1024) {
    std::snprintf(buf, sizeof(buf), "%.2fK", d / 1024);
  } else if (n < 1024ULL * 1024 * 1024) {
    std::snprintf(buf, sizeof(buf), "%.2fM", d / (1024 * 1024));
  } else {
    std::snprintf(buf, sizeof(buf), "%.2fG", d / (1024.0 * 1024 * 1024));
  }
  return buf;
}

void info_memory(const store::Store& st, std::string& out) {
  auto line = [&](std::string_view k, const std::string& v) {
    out.append(k).append(":").append(v).append("\r\n");
  };
  line("used_memory", std::to_string(st.used_memory()));
  line("used_memory_human", human_bytes(st.used_memory()));
  line("used_memory_dataset", std::to_string(st.entries_memory()));
  line("maxmemory", std::to_string(st.config().maxmemory));
  line("maxmemory_human", human_bytes(st.config().maxmemory));
  line("maxmemory_policy", std::string(store::to_string(st.config().policy)));
}

void info_keyspace(const store::Store& st, std::string& out) {
  if (st.size() == 0) return;
  out.append("db0:keys=" + std::to_string(st.size()) + ",expires=0,avg_ttl=0\r\n");
}

void info_stats(const store::Store& st, std::string& out) {
  const auto& s = st.stats();
  out.append("keyspace_hits:" + std::to_string(s.hits) + "\r\n");
  out.append("keyspace_misses:" + std::to_string(s.misses) + "\r\n");
  out.append("expired_keys:" + std::to_string(s.expired) + "\r\n");
  out.append("evicted_keys:" + std::to_string(s.evicted) + "\r\n");
}

constexpr std::uint32_t kR = kReadonly;

}  // namespace

void Server::attach_store(store::Store* store) {
  store_ = store;
  reset_store_stats_ = [](store::Store* s) { s->reset_stats(); };
  if (store == nullptr) return;
  // CONFIG GET shows the limits the store was built with. The store takes its limits at
  // construction; the runtime applies later CONFIG SETs through Store::set_memory_policy.
  const std::string maxmemory = std::to_string(store->config().maxmemory);
  const std::string policy(store::to_string(store->config().policy));
  (void)config_.set({{"maxmemory", maxmemory}, {"maxmemory-policy", policy}});
  set_info_section("memory", [this](std::string& out) { info_memory(*store_, out); });
  set_info_section("keyspace", [this](std::string& out) { info_keyspace(*store_, out); });
  set_info_section("stats", [this](std::string& out) { info_stats(*store_, out); });
}

void register_introspection_commands(CommandTable& t) {
  CommandSpec object = make_spec({"object", -2, 0, 0, 0, 0, "@slow", "", "generic",
                                  "A container for object introspection commands", "2.2.3",
                                  "Depends on subcommand.", container});
  auto osub = [&](const char* name, std::string_view summary, CommandHandler h) {
    object.subcommands.push_back(make_spec({name, 3, kR, 2, 2, 1, "@keyspace @read @slow", "RO",
                                            "generic", summary, "2.2.3", "O(1)", h}));
  };
  osub("object|encoding", "Inspect the internal encoding of a Redis object", object_encoding);
  osub("object|freq", "Get the logarithmic access frequency counter of a Redis object",
       object_freq);
  osub("object|idletime", "Get the time since a Redis object was last accessed", object_idletime);
  osub("object|refcount", "Get the number of references to the value of the key", object_refcount);
  object.subcommands.push_back(make_spec(
      {"object|help", 2, kLoading | kStale, 0, 0, 0, "@keyspace @slow", "", "generic",
       "Show helpful text about the different subcommands", "6.2.0", "O(1)", object_help}));
  t.add(std::move(object));

  CommandSpec memory = make_spec({"memory", -2, 0, 0, 0, 0, "@slow", "", "server",
                                  "A container for memory diagnostics commands", "4.0.0",
                                  "Depends on subcommand.", container});
  memory.subcommands.push_back(make_spec({"memory|usage", -3, kR, 2, 2, 1, "@read @slow", "RO",
                                          "server", "Estimate the memory usage of a key", "4.0.0",
                                          "O(N) where N is the number of samples.", memory_usage}));
  memory.subcommands.push_back(make_spec(
      {"memory|help", 2, kLoading | kStale, 0, 0, 0, "@slow", "", "server",
       "Show helpful text about the different subcommands", "4.0.0", "O(1)", memory_help}));
  auto msub = [&](const char* name, std::string_view summary, CommandHandler h) {
    memory.subcommands.push_back(
        make_spec({name, 2, 0, 0, 0, 0, "@slow", "", "server", summary, "4.0.0", "O(1)", h}));
  };
  msub("memory|doctor", "Outputs memory problems report", memory_doctor);
  msub("memory|malloc-stats", "Show allocator internal stats", memory_malloc_stats);
  msub("memory|purge", "Ask the allocator to release memory", memory_purge);
  msub("memory|stats", "Show memory usage details", memory_stats);
  t.add(std::move(memory));
}

}  // namespace apiary::resp
