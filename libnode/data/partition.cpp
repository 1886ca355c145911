#include "apiary/data/partition.hpp"

#include <xxhash.h>

namespace apiary::data {

std::uint64_t key_hash(std::string_view key) { return XXH3_64bits(key.data(), key.size()); }

}  // namespace apiary::data
