#include "apiary/persist/aof_check.hpp"

namespace apiary::persist {

Result<AofCheckResult> check_aof(Env& env, const std::string& path, bool fix,
                                 const RecordLimits& limits) {
  auto report = load_aof(
      env, path, [](Record&&) {}, limits);
  if (!report.ok()) return report.status();
  AofCheckResult result;
  result.report = std::move(report).value();
  if (!fix || !result.report.repairable()) return result;
  if (auto s = env.truncate(path, result.report.good_offset); !s.ok()) return s;
  result.fixed = true;
  result.dropped_bytes = result.report.bytes_after_good();
  return result;
}

}  // namespace apiary::persist
