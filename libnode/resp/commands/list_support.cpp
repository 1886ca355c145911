#include "list_support.hpp"

#include <algorithm>
#include <utility>

#include "apiary/resp/server.hpp"
#include "commands.hpp"
#include "keyspace_notify.hpp"
#include "store_access.hpp"

namespace apiary::resp {

using data::Collection;

const Collection* read_list(CommandContext& ctx, std::string_view key, bool& replied,
                            bool keymiss) {
  return collection_or_reply(ctx, key, kList, replied, keymiss);
}

bool parse_side(CommandContext& ctx, std::string_view arg, bool& left) {
  if (iequals(arg, "left")) {
    left = true;
  } else if (iequals(arg, "right")) {
    left = false;
  } else {
    ctx.reply.error(kSyntaxError);
    return false;
  }
  return true;
}

std::optional<std::vector<std::string>> pop_elements(CommandContext& ctx, std::string_view key,
                                                     bool left, std::size_t count) {
  bool replied = false;
  const Collection* c = read_list(ctx, key, replied);
  if (replied) return std::nullopt;
  std::vector<std::string> values;
  if (c == nullptr || count == 0) return values;
  const bool ok = edit_and_notify(
      ctx, key, kList, kNotifyList, left ? "lpop" : "rpop", [&](store::Store::CollectionEdit& e) {
        Collection& list = e.collection;
        const std::size_t n = std::min(count, list.size());
        // The popped elements are consecutive: from the head, or the last n read forwards.
        std::vector<std::string> names;
        std::string scratch;
        for (auto it = left ? list.begin() : list.at(list.size() - n); names.size() < n; ++it) {
          names.emplace_back((*it).name());
          values.emplace_back((*it).value(scratch));
        }
        if (!left) std::reverse(values.begin(), values.end());
        for (const auto& name : names) list.remove(name);
        return n > 0;
      });
  if (!ok) return std::nullopt;
  return values;
}

std::optional<std::size_t> push_elements(CommandContext& ctx, std::string_view key, bool left,
                                         std::span<const std::string_view> values) {
  std::size_t length = 0;
  const bool ok = edit_and_notify(ctx, key, kList, kNotifyList, left ? "lpush" : "rpush",
                                  [&](store::Store::CollectionEdit& e) {
                                    for (const std::string_view v : values) {
                                      if (left) {
                                        e.collection.push_front(v, e.dot, e.stamp);
                                      } else {
                                        e.collection.push_back(v, e.dot, e.stamp);
                                      }
                                    }
                                    length = e.collection.size();
                                    return !values.empty();
                                  });
  if (!ok) return std::nullopt;
  return length;
}

void reply_values(CommandContext& ctx, std::span<const std::string> values) {
  ctx.reply.array(values.size());
  for (const auto& v : values) ctx.reply.bulk(v);
}

bool move_element(CommandContext& ctx, std::string_view src, std::string_view dst, bool from_left,
                  bool to_left) {
  bool replied = false;
  const Collection* c = read_list(ctx, src, replied);
  if (replied) return true;
  if (c == nullptr) return false;
  const auto end = from_left ? c->begin() : c->last();
  const std::string name((*end).name());
  std::string scratch;
  const std::string value((*end).value(scratch));
  // `c` is not used past this point: the next store call may invalidate it.
  const store::KeyType held = ctx.server.store()->type(dst, ctx.wall);
  if (held != store::KeyType::none && held != store::KeyType::list) {
    ctx.reply.error(kWrongType);
    return true;
  }
  const auto push = [&](Collection& list, const store::Store::CollectionEdit& e) {
    if (to_left) {
      list.push_front(value, e.dot, e.stamp);
    } else {
      list.push_back(value, e.dot, e.stamp);
    }
  };
  const std::string_view pushed = to_left ? "lpush" : "rpush";
  const std::string_view popped = from_left ? "lpop" : "rpop";
  if (src == dst) {
    // One write: the element leaves its end and comes back, under a new name, at the other.
    if (!edit_or_reply(ctx, src, kList, [&](store::Store::CollectionEdit& e) {
          e.collection.remove(name);
          push(e.collection, e);
          return true;
        })) {
      return true;
    }
    notify(ctx, kNotifyList, pushed, dst);
    notify(ctx, kNotifyList, popped, src);
  } else {
    const CollectionWrite to = edit_tracked(ctx, dst, kList, [&](store::Store::CollectionEdit& e) {
      push(e.collection, e);
      return true;
    });
    if (!to.ok) return true;
    // A removal always runs (it never grows the list), so the move completes.
    const CollectionWrite from =
        edit_tracked(ctx, src, kList,
                     [&](store::Store::CollectionEdit& e) { return e.collection.remove(name); });
    if (!from.ok) return true;
    notify_write(ctx, to, dst, kNotifyList, pushed);
    notify_write(ctx, from, src, kNotifyList, popped);
  }
  ctx.reply.bulk(value);
  return true;
}

}  // namespace apiary::resp
