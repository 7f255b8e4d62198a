#include "events/codec.h"

#include <algorithm>

#include <fmt/format.h>
#include <google/protobuf/timestamp.pb.h>
#include <google/protobuf/util/json_util.h>

#include "events/schema/check.h"
#include "events/schema/ids.h"

namespace payledger::events {

namespace v1 = payledger::v1;

namespace {

// google.protobuf.Timestamp's range (0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z):
// the only times the JSON mapping can write or read.
constexpr int64_t kTimestampSecondsMin = -62135596800;
constexpr int64_t kTimestampSecondsMax = 253402300799;
constexpr int32_t kTimestampNanosMax = 999999999;

bool valid_time(const google::protobuf::Timestamp& t) {
  return t.seconds() >= kTimestampSecondsMin && t.seconds() <= kTimestampSecondsMax &&
         t.nanos() >= 0 && t.nanos() <= kTimestampNanosMax;
}

// The first Timestamp field of `e` outside that range, or nullptr. Binary input can carry
// any seconds/nanos; such an event has no JSON form (to_json would fail) and its times
// compare wrongly, so it is malformed, as it would be in JSON. Unset fields read as
// 1970-01-01 (valid). Every Timestamp field of the schema must be listed here:
// CodecFuzz.EveryTimestampFieldOfTheSchemaIsRangeChecked finds them all by reflection.
// (Explicit: a generic reflection walk cost ~200-450 ns per event on the fold's path.)
const char* out_of_range_time(const v1::Envelope& e) {
  if (!valid_time(e.occurred_at())) return "occurred_at";
  if (!valid_time(e.card_authorised().expires_at())) return "card_authorised.expires_at";
  return nullptr;
}

}  // namespace

std::string encode(const v1::Envelope& event) {
  std::string out;
  event.SerializeToString(&out);
  return out;
}

Status decode(std::string_view bytes, v1::Envelope* out) {
  if (bytes.size() > kEventBytesMax) {
    return make_error(Code::kMalformed, fmt::format("event of {} bytes exceeds the {} byte limit",
                                                    bytes.size(), kEventBytesMax));
  }
  if (!out->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return make_error(Code::kMalformed, "bytes do not decode as a payledger.v1.Envelope");
  }
  if (const char* field = out_of_range_time(*out); field != nullptr) {
    return make_error(Code::kMalformed,
                      fmt::format("{} is outside 0001-01-01..9999-12-31 (or its nanos outside "
                                  "0..999999999)", field));
  }
  return Status::Ok();
}

Status from_json(std::string_view json, v1::Envelope* out) {
  if (json.size() > kEventBytesMax) {
    return make_error(Code::kMalformed, fmt::format("JSON event of {} bytes exceeds the {} limit",
                                                    json.size(), kEventBytesMax));
  }
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), out, options);
  if (!status.ok()) {
    std::string why = status.message().as_string();
    std::replace(why.begin(), why.end(), '\n', ' ');  // reasons are one line (headers, logs)
    return make_error(Code::kMalformed, fmt::format("invalid event JSON: {}", why));
  }
  return Status::Ok();
}

std::string to_json(const v1::Envelope& event) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.add_whitespace = false;
  std::string out;
  auto status = google::protobuf::util::MessageToJsonString(event, &out, options);
  PAYLEDGER_CHECK(status.ok());
  (void)status;
  return out;
}

Status validate(const v1::Envelope& event) {
  if (event.schema_version() == 0) {
    return make_error(Code::kMissingField, "schema_version is required");
  }
  if (event.schema_version() != kSchemaVersion) {
    return make_error(Code::kUnknownSchemaVersion,
                      fmt::format("schema_version {} is not supported (this build speaks {})",
                                  event.schema_version(), kSchemaVersion));
  }
  if (event.event_id().empty()) return make_error(Code::kMissingField, "event_id is required");
  if (event.event_id().size() > kEventIdLengthMax) {
    return make_error(Code::kMalformed,
                      fmt::format("event_id longer than {} bytes", kEventIdLengthMax));
  }
  if (event.merchant_id().empty()) {
    return make_error(Code::kMissingField, "merchant_id is required");
  }
  if (!valid_id(event.merchant_id())) {
    return make_error(Code::kMalformed,
                      fmt::format("merchant_id '{}' must be 1-64 chars of A-Z a-z 0-9 _ - .",
                                  event.merchant_id()));
  }
  if (event.body_case() == v1::Envelope::BODY_NOT_SET) {
    return make_error(Code::kUnknownBody, "event has no body");
  }
  // Expiries, refund windows and same-day voids are judged by the event's own time.
  if (!event.has_occurred_at()) return make_error(Code::kMissingField, "occurred_at is required");
  return Status::Ok();
}

std::string_view body_name(const v1::Envelope& event) {
  if (event.body_case() == v1::Envelope::BODY_NOT_SET) return "none";
  return body_name_of(event.body_case());
}

std::string_view body_name_of(int body_case) {
  const auto* oneof = v1::Envelope::descriptor()->FindOneofByName("body");
  const auto* field = v1::Envelope::descriptor()->FindFieldByNumber(body_case);
  if (field == nullptr || field->containing_oneof() != oneof) return "unknown";
  return field->name();
}

}  // namespace payledger::events
