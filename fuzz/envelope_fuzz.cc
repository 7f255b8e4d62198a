// Binary envelope decoder: events::decode then validate on arbitrary bytes (what the fold
// reads from the log). Must reject or accept, never crash; a decoded event must print as
// JSON (`rejects --json` prints rejected events) and re-encode to bytes that decode again.
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
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  payledger::v1::Envelope event;
  if (!payledger::events::decode(bytes, &event)) return 0;
  (void)payledger::events::validate(event);
  (void)payledger::events::body_name(event);

  std::string again = payledger::events::encode(event);
  payledger::v1::Envelope decoded;
  if (again.size() <= payledger::events::kEventBytesMax) {
    FUZZ_ASSERT(payledger::events::decode(again, &decoded).ok(), "re-encoded event does not decode");
    FUZZ_ASSERT(payledger::events::encode(decoded) == again, "binary round trip changed the event");
  }
  (void)payledger::events::to_json(event);
  return 0;
}
