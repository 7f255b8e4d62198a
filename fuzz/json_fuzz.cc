// NDJSON decoder: events::from_json then validate on arbitrary bytes. Must reject or accept,
// never crash; an accepted event must survive binary and JSON round trips unchanged (the
// log stores binary, `rejects --json` and `generate` print JSON).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <google/protobuf/stubs/logging.h>

#include "events/codec.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // protobuf logs every invalid UTF-8 string it refuses: noise at this rate.
  [[maybe_unused]] static const bool quiet = [] {
    google::protobuf::SetLogHandler([](google::protobuf::LogLevel, const char*, int,
                                       const std::string&) {});
    return true;
  }();
  std::string_view json(reinterpret_cast<const char*>(data), size);
  payledger::v1::Envelope event;
  if (!payledger::events::from_json(json, &event)) return 0;
  (void)payledger::events::validate(event);
  (void)payledger::events::body_name(event);

  std::string bytes = payledger::events::encode(event);
  payledger::v1::Envelope decoded;
  if (bytes.size() <= payledger::events::kEventBytesMax) {
    FUZZ_ASSERT(payledger::events::decode(bytes, &decoded).ok(), "accepted JSON encodes to bytes "
                "that do not decode");
    FUZZ_ASSERT(payledger::events::encode(decoded) == bytes, "binary round trip changed the event");
  }
  std::string printed = payledger::events::to_json(event);
  payledger::v1::Envelope reparsed;
  if (printed.size() <= payledger::events::kEventBytesMax) {
    FUZZ_ASSERT(payledger::events::from_json(printed, &reparsed).ok(), "to_json output is refused");
    FUZZ_ASSERT(payledger::events::encode(reparsed) == bytes, "JSON round trip changed the event");
  }
  return 0;
}
