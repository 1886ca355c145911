#include "node_impl.hpp"
#include "observability.hpp"

namespace apiary::runtime {

std::string render_metrics(Node::Impl& node, bool openmetrics) {
  (void)node;
  return openmetrics ? "# EOF\n" : "";
}

}  // namespace apiary::runtime
