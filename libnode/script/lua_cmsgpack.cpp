#include "state.hpp"

namespace apiary::script::detail {
int luaopen_cmsgpack(lua_State* L) {
  lua_newtable(L);
  return 1;
}
}  // namespace apiary::script::detail
