// Event codec: binary Protobuf (what logs store) and the Protobuf JSON mapping (the human
// NDJSON format), plus structural validation of the envelope.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "events/schema/result.h"
#include "payledger/v1/events.pb.h"

namespace payledger::events {

// The schema version this build writes and the only one it folds.
inline constexpr uint32_t kSchemaVersion = 1;
// Largest encoded event accepted, in bytes (binary or one JSON line).
inline constexpr size_t kEventBytesMax = 64 * 1024;
// Longest event, correlation and causation id.
inline constexpr size_t kEventIdLengthMax = 128;

std::string encode(const payledger::v1::Envelope& event);
// kMalformed if `bytes` is not a valid encoded Envelope or exceeds kEventBytesMax.
Status decode(std::string_view bytes, payledger::v1::Envelope* out);

// Parses one JSON object (proto3 JSON mapping; snake_case or lowerCamelCase field names).
// Unknown fields are rejected: a misspelt body must not pass as an empty event.
Status from_json(std::string_view json, payledger::v1::Envelope* out);
// One line of JSON with the schema's snake_case field names, no trailing newline.
std::string to_json(const payledger::v1::Envelope& event);

// Envelope-level checks the posting rules rely on: schema_version == kSchemaVersion
// (kUnknownSchemaVersion), non-empty event_id and merchant_id (kMissingField), merchant_id
// usable as an account-name segment, a body (kUnknownBody), an occurred_at (kMissingField).
Status validate(const payledger::v1::Envelope& event);

// The body's field name ("card_captured"), or "none".
std::string_view body_name(const payledger::v1::Envelope& event);
// The field name of body field number `body_case`, or "unknown".
std::string_view body_name_of(int body_case);

}  // namespace payledger::events
