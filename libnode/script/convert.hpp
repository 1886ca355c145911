// Replies both ways, as Redis 7.0 converts them (script_lua.c redisProtocolToLuaType and
// luaReplyToRedisReply).
#pragma once

#include <cstddef>
#include <string>

#include "state.hpp"

namespace apiary::script::detail {

// Pushes the Lua value of one RESP2/RESP3 reply (a Host::call answer): integer -> number,
// bulk -> string, null bulk/array -> false, RESP3 null -> nil, status -> {ok=}, error ->
// {err=, ignore_error_stats_update=true}, array -> table, map -> {map={}}, set -> {set={}},
// double -> {double=}, boolean, big number -> {big_number=}, verbatim -> {verbatim_string=
// {format=, string=}}; attributes are skipped. Malformed input pushes an error table.
void push_resp_as_lua(lua_State* L, const char* data, std::size_t len);

// Pops the value on top and appends it to `out` as a reply in `client_protocol`;
// `script_resp` is the script's redis.setresp (it decides how booleans are encoded).
void append_lua_as_resp(lua_State* L, std::string& out, int client_protocol, int script_resp);

// An error reply as Redis's addReplyErrorLength writes one: "-ERR " unless `message` starts
// with '-', CR/LF turned into spaces.
void append_error(std::string& out, std::string_view message);

}  // namespace apiary::script::detail
