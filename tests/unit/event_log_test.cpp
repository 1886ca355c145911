// runtime::EventLog (ids, the ring, GET /v1/events' JSON, the write quorum failures' rate
// limit) and the JSON log format it writes through (runtime/json_log.hpp).
#include "runtime/event_log.hpp"

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <catch2/catch.hpp>
#include <memory>
#include <sstream>
#include <string>

#include "apiary/runtime/json_log.hpp"

namespace {

using apiary::WallTime;
using apiary::runtime::EventLog;
using apiary::runtime::JsonFields;

// Routes spdlog's default logger into a string for the test's lifetime.
class CapturedLog {
 public:
  explicit CapturedLog(apiary::runtime::LogFormat format) {
    previous_ = spdlog::default_logger();
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    auto logger = std::make_shared<spdlog::logger>("captured", sink);
    logger->set_level(spdlog::level::info);
    spdlog::set_default_logger(logger);
    apiary::runtime::set_log_format(format, "n1");
  }
  ~CapturedLog() {
    spdlog::set_default_logger(previous_);
    apiary::runtime::set_log_format(apiary::runtime::LogFormat::text);
  }
  std::string text() const { return out_.str(); }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
};

}  // namespace

TEST_CASE("event ids start at 1 and json_after lists the later events oldest first") {
  CapturedLog log(apiary::runtime::LogFormat::text);
  EventLog events;
  CHECK(events.json_after(0) == R"({"events":[]})");
  JsonFields fields;
  fields.add("member", "n2").add("state", "suspect").add("incarnation", 3);
  CHECK(events.record(WallTime{1000}, "member", "member n2 suspect", fields) == 1);
  CHECK(events.record(WallTime{2000}, "view", "ring view") == 2);
  CHECK(events.record(WallTime{3000}, "leave", "leave") == 3);
  CHECK(events.last_id() == 3);
  CHECK(events.json_after(0) ==
        R"({"events":[{"id":1,"time":1000,"type":"member","message":"member n2 suspect",)"
        R"("member":"n2","state":"suspect","incarnation":3},)"
        R"({"id":2,"time":2000,"type":"view","message":"ring view"},)"
        R"({"id":3,"time":3000,"type":"leave","message":"leave"}]})");
  CHECK(events.json_after(2) ==
        R"({"events":[{"id":3,"time":3000,"type":"leave","message":"leave"}]})");
  CHECK(events.json_after(3) == R"({"events":[]})");
  CHECK(events.json_after(1000) == R"({"events":[]})");
}

TEST_CASE("the event ring keeps the newest events and their ids") {
  CapturedLog log(apiary::runtime::LogFormat::text);
  EventLog events(3);
  for (int i = 1; i <= 5; ++i) {
    events.record(WallTime{i}, "view", "v" + std::to_string(i));
  }
  CHECK(events.json_after(0) == R"({"events":[{"id":3,"time":3,"type":"view","message":"v3"},)"
                                R"({"id":4,"time":4,"type":"view","message":"v4"},)"
                                R"({"id":5,"time":5,"type":"view","message":"v5"}]})");
  // A reader that saw an id the ring dropped since gets everything still kept.
  CHECK(events.json_after(1) == events.json_after(0));
  CHECK(events.json_after(4) == R"({"events":[{"id":5,"time":5,"type":"view","message":"v5"}]})");
}

TEST_CASE("event text is escaped for JSON, binary keys included") {
  CapturedLog log(apiary::runtime::LogFormat::text);
  EventLog events;
  JsonFields fields;
  fields.add("key", std::string("a\"b\\c\nd\te\x01\x7f", 11) + "\xff\xc3\xa9");
  events.record(WallTime{7}, "quorum_failure", "say \"hi\"\r\n", fields);
  CHECK(events.json_after(0) ==
        R"({"events":[{"id":1,"time":7,"type":"quorum_failure","message":"say \"hi\"\r\n",)"
        R"("key":"a\"b\\c\nd\te\u0001\u007f\u00ff)"
        "\xc3\xa9"  // valid UTF-8 stays as it is
        R"("}]})");
  std::string out;
  apiary::runtime::json_escape(std::string("\xe2\x82\xac \xe2\x82 \xed\xa0\x80", 10), out);
  // The euro sign is kept; a truncated sequence and a UTF-16 surrogate are escaped bytes.
  CHECK(out == "\xe2\x82\xac \\u00e2\\u0082 \\u00ed\\u00a0\\u0080");
}

TEST_CASE("the JSON log format writes events with their id, type and fields") {
  CapturedLog log(apiary::runtime::LogFormat::json);
  EventLog events;
  JsonFields fields;
  fields.add("peer", "n3").add("keys", 12).add("complete", true);
  events.record(WallTime{1}, "handoff", "handoff to n3 \"finished\"", fields);
  spdlog::warn("plain line");
  const std::string text = log.text();
  const auto first_end = text.find('\n');
  REQUIRE(first_end != std::string::npos);
  const std::string first = text.substr(0, first_end);
  const std::string second = text.substr(first_end + 1);
  // {"ts":"2026-01-02T03:04:05.678Z","level":"info","msg":...
  REQUIRE(first.rfind(R"({"ts":")", 0) == 0);
  CHECK(first[30] == 'Z');
  CHECK(first.substr(7, 24).find('T') == 10);
  CHECK(first.substr(31) ==
        R"(","level":"info","msg":"handoff to n3 \"finished\"","node":"n1",)"
        R"("event_id":1,"event":"handoff","peer":"n3","keys":12,"complete":true})");
  CHECK(second.substr(31) == R"(","level":"warn","msg":"plain line","node":"n1"})"
                             "\n");
}

TEST_CASE("the text log format shows the event id before the message") {
  CapturedLog log(apiary::runtime::LogFormat::text);
  EventLog events;
  events.record(WallTime{1}, "member", "member n2 (127.0.0.1:1) dead incarnation=2", {},
                EventLog::Level::warn);
  const std::string text = log.text();
  CHECK(text.find(" warning [event 1] member n2 (127.0.0.1:1) dead incarnation=2\n") !=
        std::string::npos);
}

TEST_CASE("write quorum failures make at most one event a second, with their count") {
  CapturedLog log(apiary::runtime::LogFormat::text);
  EventLog events;
  events.write_quorum_failed(WallTime{10'000}, "set", "k1", 1);
  CHECK(events.last_id() == 1);
  events.write_quorum_failed(WallTime{10'200}, "incr", "k2", 2);
  events.write_quorum_failed(WallTime{10'500}, "set", "k3", 4);
  events.flush(WallTime{10'999});
  CHECK(events.last_id() == 1);  // held back
  events.flush(WallTime{11'000});
  CHECK(events.last_id() == 2);
  CHECK(events.json_after(1) ==
        R"({"events":[{"id":2,"time":11000,"type":"quorum_failure","message":)"
        R"("write quorum not reached: incr k2 and 5 more write(s) answered NOREPLICAS",)"
        R"("command":"incr","key":"k2","count":6}]})");
  events.flush(WallTime{20'000});  // nothing held: nothing recorded
  CHECK(events.last_id() == 2);
  events.write_quorum_failed(WallTime{20'000}, "del", "k4", 1);
  CHECK(events.last_id() == 3);
  // A binary key cannot break a text line: the message shows it escaped, the field as it is.
  events.write_quorum_failed(WallTime{30'000}, "set", std::string("a\nb\0", 4), 1);
  CHECK(events.json_after(3) ==
        R"({"events":[{"id":4,"time":30000,"type":"quorum_failure","message":)"
        R"("write quorum not reached: set a\\x0ab\\x00 answered NOREPLICAS",)"
        R"("command":"set","key":"a\nb\u0000","count":1}]})");
  CHECK(log.text().find("set a\\x0ab\\x00 answered") != std::string::npos);
}
