// Internal to the router: splitting a multi-key command by owner and merging the partial
// replies back into the reply one server would have given. Pure functions.
#pragma once

#include "apiary/base/status.hpp"

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "apiary/resp/command_table.hpp"

namespace apiary::routing {

// How the partial replies of a split command combine.
enum class Merge : unsigned char {
  none,   // the command cannot be split (RENAME, COPY, MSETNX, ...)
  array,  // MGET: one element per key, reassembled in key order
  sum,    // DEL, UNLINK, EXISTS, TOUCH: integers added
  ok,     // MSET: +OK when every part said +OK
};
Merge merge_kind(const resp::CommandSpec& spec);

// Indices into argv of the command's keys (first_key/last_key/key_step as Redis defines
// them; a negative last_key counts from the end).
std::vector<std::size_t> key_indices(const resp::CommandSpec& spec, std::size_t argc);
// The same, reading the key count of commands that have one (CommandSpec::numkeys_index; a
// count that is not a positive integer, or larger than what follows, gives no keys: the
// command then runs where it was sent and its handler answers the error).
std::vector<std::size_t> key_indices(const resp::CommandSpec& spec,
                                     std::span<const std::string_view> argv);

// The sub-command with only the keys at `keys` (indices from key_indices()), each followed by
// the key_step-1 arguments that belong to it (MSET's values).
std::vector<std::string> sub_command(std::span<const std::string_view> argv,
                                     const resp::CommandSpec& spec,
                                     std::span<const std::size_t> keys);

// Combines the replies of the parts. `positions[i]` lists, for part i, the positions (0-based
// among the command's keys) its reply elements belong to. An error in any part is the reply;
// a part whose reply does not have the expected shape gives an error too.
std::string merge_replies(Merge merge, std::span<const std::string> replies,
                          std::span<const std::vector<std::size_t>> positions,
                          std::size_t key_count);

// "-" + message + CRLF: an error reply whose message carries its own code ("ERR ...").
std::string error_reply(std::string_view message);

// What a routed command ended in: the reply its handler wrote, or a failure of the cluster
// as a typed Status (its message: the text after '-' a RESP client reads). Text is rendered
// only where a RESP client or peer reads it (rendered()); embedding calls get the Status.
struct Answer {
  std::string reply;
  Status failure;
  static Answer of(std::string reply) { return {std::move(reply), Status::Ok()}; }
  static Answer failed(StatusCode code, std::string text) {
    return {std::string(), Status(code, std::move(text))};
  }
  std::string rendered() const { return failure.ok() ? reply : error_reply(failure.message()); }
};

// The byte length of the one RESP value at the front of `bytes`, or nullopt when it is not a
// complete value. Nested aggregates are followed (depth-limited).
std::optional<std::size_t> value_length(std::string_view bytes, int depth = 0);

}  // namespace apiary::routing
