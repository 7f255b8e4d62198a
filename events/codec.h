// Event codec: binary Protobuf (what logs store) and the Protobuf JSON mapping (the human
// NDJSON format), plus structural validation of the envelope.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "events/event_log.h"
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
// Unknown fields are rejected: a misspelt body must not pass as an empty event. The text
// must first pass check_strict_json.
Status from_json(std::string_view json, payledger::v1::Envelope* out);
// Strict JSON (RFC 8259), checked before protobuf's lenient parser sees it: valid UTF-8, no
// raw control bytes, single quotes, trailing commas or comments; no key twice in one object
// (protobuf keeps the last one, so a repeated "amount" or "merchant_id" would change the
// event silently; snake_case and lowerCamelCase spellings of one field count as the same
// key); a Timestamp field must be a string (protobuf reads `{}` as 1970-01-01). kMalformed.
Status check_strict_json(std::string_view json);
// One line of JSON with the schema's snake_case field names, no trailing newline.
std::string to_json(const payledger::v1::Envelope& event);

// Envelope-level checks the posting rules rely on: schema_version == kSchemaVersion
// (kUnknownSchemaVersion), non-empty event_id and merchant_id (kMissingField), merchant_id
// usable as an account-name segment, a body (kUnknownBody), an occurred_at (kMissingField).
// Reference data has no merchant: its merchant_id must be empty (kMalformed).
Status validate(const payledger::v1::Envelope& event);

// Reference data every partition reads (fx_rate_published): it belongs to no merchant and
// is appended to every partition under kBroadcastKey.
// fx_rate_published and settlement_run_started: no merchant, appended to every partition.
bool is_reference_data(const payledger::v1::Envelope& event);
// Events only the house (merchant_id kHouseMerchantId) may append: forwards and revaluation
// runs. (fx_conversion_executed is either a merchant's or the house's.)
bool is_house_only(const payledger::v1::Envelope& event);
// The log key of an event: its merchant id, or kBroadcastKey for reference data.
std::string_view record_key(const payledger::v1::Envelope& event);
// The event as a log record: encoded, under record_key().
AppendRecord event_record(const payledger::v1::Envelope& event);

// ---- Card numbers and identifier text (hot path: see may_need_string_check).

// Cheap pre-filter over an encoded record (binary or JSON): false when the bytes cannot
// hold a card number (no run of >= 13 digits, spaces and dashes between them allowed) nor
// a NUL, bidi control or non-character. String contents are contiguous in both encodings,
// so false is certain; true only means check_strings must look.
bool may_need_string_check(std::string_view bytes);
// Walks every string field of the event (nested messages included): a PAN-like value is
// kPanDetected, its reason naming the field and the masked value only. PAN-like, in a run of
// digits with single spaces or dashes between them: the whole run if it has 13-19 digits
// passing the Luhn check; a Luhn-valid 13-19 digit part of a run with a card scheme's issuer
// prefix (IIN), made of whole digit groups ("ref 2026 4111 1111 1111 1111") or inside one
// group ("41111111111111111225"). Digits glued to a letter are not a card number (hex
// tokens: "tok_40d4111...e5b"). An id field
// (`*_id`) holding NUL, a bidi control or a non-character is kMalformed.
Status check_strings(const payledger::v1::Envelope& event);
// Whether `text` holds a PAN-like value.
bool holds_pan(std::string_view text);
// `text` with every PAN-like value masked: first 6 and last 4 digits kept, the digits
// between replaced by '*', separators kept ("4111 11** **** 1111"). *found counts them.
// The result holds no PAN-like value (holds_pan is false).
std::string mask_pans(std::string_view text, size_t* found = nullptr);
// Masks every PAN-like value in every string field, in place; returns how many.
size_t mask_pans(google::protobuf::Message* message);
// A record value safe to keep in the rejects and dead letters: PAN-like values masked in
// the event (binary), in the JSON strings (escapes decoded) or in the raw text.
std::string mask_record_value(RecordFormat format, std::string_view value);

// ---- Input parked at append time.
// A line `append` could not turn into an event is logged as a "parked" raw record so the
// fold parks it as a reject with the reason found at append (and the input line it came
// from). Lines over kEventBytesMax keep only a bounded prefix, their length and SHA-256.
inline constexpr size_t kParkedPrefixBytes = 1024;
struct ParkedInput {
  Code code = Code::kMalformed;
  std::string reason;
  std::string source;     // "FILE:LINE" ("-" for standard input)
  uint64_t length = 0;    // bytes of the original line
  std::string sha256;     // hex, of the original line; empty when the line was kept whole
  std::string kept;       // the line (masked), or its first kParkedPrefixBytes
  bool truncated = false;  // kept is a prefix
};
std::string encode_parked(const ParkedInput& parked);
// Whether a raw-JSON record value is a parked record (it starts with a NUL byte, which no
// JSON text can).
bool is_parked(std::string_view value);
Result<ParkedInput> decode_parked(std::string_view value);

// The body's field name ("card_captured"), or "none".
std::string_view body_name(const payledger::v1::Envelope& event);
// The field name of body field number `body_case`, or "unknown".
std::string_view body_name_of(int body_case);

}  // namespace payledger::events
