#include "restore_support.hpp"

#include <type_traits>
#include <variant>

namespace apiary::resp {

namespace {

using data::Collection;

// Adds a decoded value's elements to an empty collection, as one write (`dot`, `stamp`).
struct Fill {
  Collection& c;
  data::Dot dot;
  HlcTimestamp stamp;
  void operator()(const persist::RdbHashKey& h) const {
    for (const auto& f : h.fields) c.set(f.name, f.value, dot, stamp);
  }
  void operator()(const persist::RdbSetKey& s) const {
    for (const auto& m : s.members) c.add(m, dot, stamp);
  }
  void operator()(const persist::RdbZsetKey& z) const {
    for (const auto& m : z.members) c.set(m.member, Collection::score_text(m.score), dot, stamp);
  }
  void operator()(const persist::RdbListKey& l) const {
    for (const auto& e : l.elements) c.push_back(e, dot, stamp);
  }
  void operator()(const persist::RdbStringKey&) const {}
  void operator()(const persist::RdbSkippedKey&) const {}
};

store::KeyType type_of(const persist::RdbItem& item) {
  return std::visit(
      [](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, persist::RdbStringKey>) return store::KeyType::string;
        if constexpr (std::is_same_v<T, persist::RdbHashKey>) return store::KeyType::hash;
        if constexpr (std::is_same_v<T, persist::RdbSetKey>) return store::KeyType::set;
        if constexpr (std::is_same_v<T, persist::RdbZsetKey>) return store::KeyType::zset;
        if constexpr (std::is_same_v<T, persist::RdbListKey>) return store::KeyType::list;
        return store::KeyType::none;
      },
      item);
}

}  // namespace

Status replace_value(store::Store& st, std::string_view key, const persist::RdbItem& item,
                     std::optional<WallTime> expiry, WallTime now) {
  const store::KeyType type = type_of(item);
  if (type == store::KeyType::none) {
    return make_error(StatusCode::invalid_argument, "a value of a type Apiary does not hold");
  }
  if (type == store::KeyType::string) {
    return st.put_local(key, std::get<persist::RdbStringKey>(item).value, now,
                        expiry ? store::ExpiryUpdate::set(*expiry) : store::ExpiryUpdate::clear());
  }
  const store::KeyType held = st.type(key, now);
  if (held != store::KeyType::none && held != type) st.del_local(key, now);
  Status s = st.edit_collection(key, store::collection_kind(type), now,
                                [&](store::Store::CollectionEdit& e) {
                                  e.collection.clear();
                                  std::visit(Fill{e.collection, e.dot, e.stamp}, item);
                                  return true;
                                });
  if (!s.ok()) return s;
  if (expiry) {
    st.set_expiry(key, *expiry, now);
  } else {
    st.clear_expiry(key, now);
  }
  return Status::Ok();
}

}  // namespace apiary::resp
