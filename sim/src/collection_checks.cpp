#include "apiary/sim/collection_checks.hpp"

#include <algorithm>
#include <charconv>
#include <optional>
#include <set>
#include <utility>

namespace apiary::sim {

namespace {

std::optional<std::int64_t> parse_integer(const std::string& text) {
  std::int64_t v = 0;
  const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size()) return std::nullopt;
  return v;
}

// The commands on one element of one key.
struct ElementHistory {
  std::vector<const ElementCommand*> adds, removes, incrs;
};

class Judge {
 public:
  Judge(CollectionReport& r, const std::function<std::string(std::uint64_t)>& describe)
      : r_(r), describe_(describe) {}

  std::string name(std::uint64_t id) const {
    return describe_ ? describe_(id) : "#" + std::to_string(id);
  }
  void note(std::string what) {
    if (r_.samples.size() < 10) r_.samples.push_back(std::move(what));
  }

  // Whether the element must be in `read`: some acknowledged add, sent and answered before the
  // read started, that none of the removals sent before the read returned can have removed.
  // `removed_any`: one of those removals removed something (it replied 1, or is ambiguous).
  bool required(const ElementHistory& h, const FinalRead& read, bool& removed_any,
                const ElementCommand*& witness) const {
    removed_any = false;
    witness = nullptr;
    std::vector<const ElementCommand*> removes;
    for (const ElementCommand* x : h.removes) {
      if (x->invoked > read.returned) continue;
      removes.push_back(x);
      if (!x->acked || x->reply > 0) removed_any = true;
    }
    for (const ElementCommand* a : h.adds) {
      if (!a->acked || a->returned >= read.invoked) continue;
      const bool survives = std::all_of(removes.begin(), removes.end(), [&](const auto* x) {
        return x->acked && (x->reply == 0 || x->returned < a->invoked);
      });
      if (survives) {
        witness = a;
        return true;
      }
    }
    return false;
  }

  void elements(const std::string& key, const std::map<std::string, ElementHistory>& history,
                const FinalRead& read) {
    for (const auto& [element, h] : history) {
      if (!h.incrs.empty()) continue;  // a counter field: counters() judges it
      bool removed_any = false;
      const ElementCommand* add = nullptr;
      if (!required(h, read, removed_any, add)) continue;
      ++r_.elements_required;
      if (removed_any) ++r_.readds_required;
      if (read.elements.count(element) != 0) continue;
      ++(removed_any ? r_.removals_unobserved : r_.elements_lost);
      note(key + ": " + element + " missing from the final read " + name(read.id) +
           (removed_any ? ", though every removal of it returned before the acknowledged "
                        : ", though nothing removed it after the acknowledged ") +
           name(add->id));
    }
    // Present after a removal that saw every add of it: counted.
    for (const auto& [element, h] : history) {
      if (!h.incrs.empty() || h.adds.empty() || read.elements.count(element) == 0) continue;
      const bool later_removal =
          std::any_of(h.removes.begin(), h.removes.end(), [&](const ElementCommand* x) {
            return x->acked && x->reply > 0 && x->returned < read.invoked &&
                   std::all_of(h.adds.begin(), h.adds.end(), [&](const ElementCommand* a) {
                     return a->acked && a->returned < x->invoked;
                   });
          });
      if (later_removal) ++r_.resurrected;
    }
    // Everything read was written by a command sent before the read returned.
    for (const auto& [element, value] : read.elements) {
      const auto it = history.find(element);
      bool written = false;
      if (it != history.end()) {
        const ElementHistory& h = it->second;
        written = !h.incrs.empty() ||
                  std::any_of(h.adds.begin(), h.adds.end(), [&](const ElementCommand* a) {
                    return a->invoked <= read.returned && a->value == value;
                  });
      }
      if (written) continue;
      ++r_.phantom_elements;
      note(key + ": the final read " + name(read.id) + " holds " + element +
           (value.empty() ? "" : " = " + value) + ", which no command wrote");
    }
  }

  // A counter field's value in the read lies in [increments acknowledged before the read
  // started, increments sent before it returned].
  void counters(const std::string& key, const std::map<std::string, ElementHistory>& history,
                const FinalRead& read) {
    for (const auto& [element, h] : history) {
      if (h.incrs.empty()) continue;
      std::int64_t must = 0, may = 0;
      for (const ElementCommand* x : h.incrs) {
        if (x->acked && x->returned < read.invoked) ++must;
        if (x->invoked <= read.returned) ++may;
      }
      const auto it = read.elements.find(element);
      const std::optional<std::int64_t> value =
          it == read.elements.end() ? std::optional<std::int64_t>(0) : parse_integer(it->second);
      if (value && *value >= must && *value <= may) continue;
      ++r_.counter_violations;
      note(key + ": counter field " + element + " = " +
           (it == read.elements.end() ? std::string("(none)") : it->second) +
           " in the final read " + name(read.id) + ", outside [" + std::to_string(must) + ", " +
           std::to_string(may) + "]");
    }
  }

 private:
  CollectionReport& r_;
  const std::function<std::string(std::uint64_t)>& describe_;
};

}  // namespace

CollectionReport check_collections(const std::vector<ElementCommand>& commands,
                                   const std::vector<FinalRead>& reads,
                                   const std::function<std::string(std::uint64_t)>& describe) {
  CollectionReport r;
  Judge judge(r, describe);
  std::map<std::string, std::map<std::string, ElementHistory>> history;  // key -> element
  for (const ElementCommand& x : commands) {
    ElementHistory& h = history[x.key][x.element];
    switch (x.kind) {
      case ElementCommand::Kind::add:
        h.adds.push_back(&x);
        break;
      case ElementCommand::Kind::remove:
        h.removes.push_back(&x);
        break;
      case ElementCommand::Kind::incr:
        h.incrs.push_back(&x);
        ++(x.acked ? r.increments_acked : r.increments_ambiguous);
        break;
    }
  }
  for (const auto& [key, elements] : history) {
    for (const auto& [element, h] : elements) r.counter_fields += h.incrs.empty() ? 0 : 1;
  }
  std::map<std::string, std::vector<const FinalRead*>> by_key;
  for (const FinalRead& read : reads) by_key[read.key].push_back(&read);
  static const std::map<std::string, ElementHistory> kNothing;
  for (const auto& [key, key_reads] : by_key) {
    const auto it = history.find(key);
    const auto& elements = it == history.end() ? kNothing : it->second;
    for (const FinalRead* read : key_reads) {
      ++r.reads;
      judge.elements(key, elements, *read);
      judge.counters(key, elements, *read);
    }
    for (const FinalRead* read : key_reads) {
      if (read->elements == key_reads.front()->elements) continue;
      ++r.divergent_keys;
      std::set<std::string> differ;
      for (const auto& [e, v] : read->elements) {
        const auto f = key_reads.front()->elements.find(e);
        if (f == key_reads.front()->elements.end() || f->second != v) differ.insert(e);
      }
      for (const auto& [e, v] : key_reads.front()->elements) {
        if (read->elements.count(e) == 0) differ.insert(e);
      }
      std::string what = key + ": the final reads " + judge.name(key_reads.front()->id) + " and " +
                         judge.name(read->id) + " differ in";
      std::size_t shown = 0;
      for (const auto& e : differ) {
        if (++shown > 5) break;
        what += " " + e;
      }
      judge.note(what + " (" + std::to_string(differ.size()) + " elements)");
      break;
    }
  }
  return r;
}

}  // namespace apiary::sim
