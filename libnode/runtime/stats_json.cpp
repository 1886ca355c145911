#include "node_impl.hpp"
#include "observability.hpp"

namespace apiary::runtime {

std::string render_stats_json(Node::Impl& node) { return "{\"node\":" + std::string("\"") + node.name + "\"}"; }

}  // namespace apiary::runtime
