// RESP requests parsed AND executed: the input is what one client sends to a single node
// (real RESP server, router, replicator and store), fed in chunks split at 0xFF bytes, with
// virtual time moving on between chunks (0-375 ms, from the chunk's length) so that TTLs run
// out, the expiry cycles and deferred replies run, and state carries from one command to the
// next. Traps on a crash, a sanitizer report, or a reply that is not well-formed RESP.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "single_node.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  apiary::fuzz::SingleNode node;
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  while (true) {
    const std::size_t cut = rest.find('\xff');
    const std::string_view chunk = rest.substr(0, cut);
    if (!node.feed_client(chunk)) break;
    if (cut == std::string_view::npos) break;
    node.advance(std::chrono::milliseconds(25 * (chunk.size() % 16)));
    rest.remove_prefix(cut + 1);
  }
  node.advance(std::chrono::milliseconds(1000));
  return 0;
}
