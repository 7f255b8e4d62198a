#include "events/codec.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <set>
#include <vector>

#include <fmt/format.h>
#include <google/protobuf/timestamp.pb.h>
#include <google/protobuf/util/json_util.h>
#include <nlohmann/json.hpp>

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
  if (!valid_time(e.fx_quote_locked().expires_at())) return "fx_quote_locked.expires_at";
  if (!valid_time(e.fx_rate_published().as_of())) return "fx_rate_published.as_of";
  if (!valid_time(e.fx_forward_booked().value_date())) return "fx_forward_booked.value_date";
  if (!valid_time(e.fx_revaluation_run().as_of())) return "fx_revaluation_run.as_of";
  if (!valid_time(e.settlement_instructed().value_date())) return "settlement_instructed.value_date";
  if (!valid_time(e.settlement_instructed().reserve_release_at())) {
    return "settlement_instructed.reserve_release_at";
  }
  if (!valid_time(e.settlement_run_started().as_of())) return "settlement_run_started.as_of";
  if (!valid_time(e.settlement_instructed().cycle_cutoff())) {
    return "settlement_instructed.cycle_cutoff";
  }
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
  if (Status strict = check_strict_json(json); !strict) return strict;
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

bool is_reference_data(const v1::Envelope& event) {
  return event.body_case() == v1::Envelope::kFxRatePublished ||
         event.body_case() == v1::Envelope::kSettlementRunStarted;
}

bool is_house_only(const v1::Envelope& event) {
  switch (event.body_case()) {
    case v1::Envelope::kFxForwardBooked:
    case v1::Envelope::kFxForwardSettled:
    case v1::Envelope::kFxRevaluationRun: return true;
    default: return false;
  }
}

std::string_view record_key(const v1::Envelope& event) {
  return is_reference_data(event) ? kBroadcastKey : std::string_view(event.merchant_id());
}

AppendRecord event_record(const v1::Envelope& event) {
  return AppendRecord{std::string(record_key(event)), encode(event), RecordFormat::kProtobuf};
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
  if (event.event_id().starts_with(kDeadlineEventIdPrefix)) {
    return make_error(Code::kMalformed,
                      fmt::format("event_id '{}': ids starting with '{}' are reserved for the "
                                  "expiries payledger books from event time",
                                  event.event_id(), kDeadlineEventIdPrefix));
  }
  if (is_reference_data(event)) {
    if (!event.merchant_id().empty()) {
      return make_error(Code::kMalformed,
                        fmt::format("merchant_id '{}': a published FX rate or a settlement "
                                    "run's start is reference data for every merchant and "
                                    "names none (leave merchant_id empty)",
                                    event.merchant_id()));
    }
  } else if (event.merchant_id().empty()) {
    return make_error(Code::kMissingField, "merchant_id is required");
  } else if (!valid_id(event.merchant_id())) {
    return make_error(Code::kMalformed,
                      fmt::format("merchant_id '{}' must be 1-64 chars of A-Z a-z 0-9 _ - .",
                                  event.merchant_id()));
  }
  if (event.body_case() == v1::Envelope::BODY_NOT_SET) {
    return make_error(Code::kUnknownBody, "event has no body");
  }
  if (is_house_only(event) && event.merchant_id() != kHouseMerchantId) {
    return make_error(Code::kMalformed,
                      fmt::format("merchant_id '{}': forwards and revaluation runs are the "
                                  "house's (merchant_id '{}')",
                                  event.merchant_id(), kHouseMerchantId));
  }
  if (event.merchant_id() == kHouseMerchantId && !is_house_only(event) &&
      event.body_case() != v1::Envelope::kFxConversionExecuted) {
    return make_error(Code::kMalformed,
                      fmt::format("merchant_id '{}' is the house's key, for its FX "
                                  "conversions, forwards and revaluation runs only",
                                  kHouseMerchantId));
  }
  // Expiries, refund windows and same-day voids are judged by the event's own time.
  if (!event.has_occurred_at()) return make_error(Code::kMissingField, "occurred_at is required");
  return Status::Ok();
}

namespace {

namespace pb = google::protobuf;

// Field names (snake_case and lowerCamelCase) of every Timestamp field in the schema.
const std::set<std::string, std::less<>>& timestamp_keys() {
  static const std::set<std::string, std::less<>> keys = [] {
    std::set<std::string, std::less<>> out;
    std::set<const pb::Descriptor*> seen;
    std::vector<const pb::Descriptor*> todo{v1::Envelope::descriptor()};
    while (!todo.empty()) {
      const pb::Descriptor* d = todo.back();
      todo.pop_back();
      if (!seen.insert(d).second) continue;
      for (int i = 0; i < d->field_count(); ++i) {
        const pb::FieldDescriptor* f = d->field(i);
        if (f->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE) continue;
        if (f->message_type()->full_name() == "google.protobuf.Timestamp") {
          out.insert(f->name());
          out.insert(f->json_name());
        } else {
          todo.push_back(f->message_type());
        }
      }
    }
    return out;
  }();
  return keys;
}

// One key as protobuf's JSON parser resolves it: "event_id" and "eventId" are one field.
std::string normalised_key(std::string_view key) {
  std::string out;
  out.reserve(key.size());
  for (char c : key) {
    if (c == '_') continue;
    out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  return out;
}

// SAX pass that accepts only what check_strict_json promises; the first problem wins.
class StrictSax final : public nlohmann::json_sax<nlohmann::json> {
 public:
  std::string error;

  bool null() override { return value(); }
  bool boolean(bool) override { return value(); }
  bool number_integer(number_integer_t) override { return value(); }
  bool number_unsigned(number_unsigned_t) override { return value(); }
  bool number_float(number_float_t, const string_t&) override { return value(); }
  bool string(string_t&) override { return value(); }
  bool binary(binary_t&) override { return value(); }
  bool start_object(std::size_t) override {
    if (timestamp_key_) {
      error = fmt::format("\"{}\" must be an RFC 3339 time string, not an object", last_key_);
      return false;
    }
    keys_.emplace_back();
    return true;
  }
  bool key(string_t& key) override {
    std::string norm = normalised_key(key);
    auto& keys = keys_.back();
    if (std::find(keys.begin(), keys.end(), norm) != keys.end()) {
      error = fmt::format("key \"{}\" appears twice in one object (duplicate keys are refused: "
                          "which one is meant?)",
                          key);
      return false;
    }
    keys.push_back(std::move(norm));
    timestamp_key_ = timestamp_keys().count(key) != 0;
    last_key_ = key;
    return true;
  }
  bool end_object() override {
    keys_.pop_back();
    return value();
  }
  bool start_array(std::size_t) override { return value(); }
  bool end_array() override { return value(); }
  bool parse_error(std::size_t, const std::string&,
                   const nlohmann::detail::exception& ex) override {
    std::string what = ex.what();
    if (auto close = what.find("] "); what.rfind("[json.exception", 0) == 0 &&
                                      close != std::string::npos) {
      what.erase(0, close + 2);
    }
    error = "not strict JSON: " + what;
    return false;
  }

 private:
  bool value() {
    timestamp_key_ = false;
    return true;
  }
  std::vector<std::vector<std::string>> keys_;  // the keys of each open object
  bool timestamp_key_ = false;                  // the last key names a Timestamp field
  std::string last_key_;
};

bool is_digit(char c) { return static_cast<unsigned char>(c - '0') < 10; }

// Calls on_run(begin, end, digits) for each maximal run of digits in `s` in which single
// spaces or dashes may separate digits ("4111 1111-1111 1111").
template <typename F>
void for_each_digit_run(std::string_view s, F&& on_run) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    if (!is_digit(s[i])) {
      ++i;
      continue;
    }
    size_t begin = i, end = i, digits = 0;
    while (i < n) {
      if (is_digit(s[i])) {
        ++digits;
        end = ++i;
      } else if ((s[i] == ' ' || s[i] == '-') && i + 1 < n && is_digit(s[i + 1])) {
        ++i;
      } else {
        break;
      }
    }
    on_run(begin, end, digits);
  }
}

inline constexpr size_t kPanDigitsMin = 13;
inline constexpr size_t kPanDigitsMax = 19;

bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Whether `d` (at least 4 digit values) starts with the issuer prefix (IIN) of a card scheme:
// Visa 4; Mastercard 51-55, 2221-2720; Maestro 50, 56-69; Discover, UnionPay, RuPay, Elo,
// Hipercard 6x; Amex 34, 37; Diners 300-305, 3095, 36, 38-39; JCB 3528-3589; Mir 2200-2204;
// RuPay/UnionPay 81-82; Troy 9792. Judges digits inside longer runs, where without it most
// 20-digit references would hold some Luhn-valid window.
bool known_iin(const uint8_t* d) {
  const int two = d[0] * 10 + d[1];
  const int four = two * 100 + d[2] * 10 + d[3];
  if (d[0] >= 4 && d[0] <= 6) return true;
  switch (d[0]) {
    case 3:
      return two == 34 || two == 36 || two == 37 || two == 38 || two == 39 ||
             (four >= 3000 && four <= 3059) || four == 3095 || (four >= 3528 && four <= 3589);
    case 2: return (four >= 2200 && four <= 2204) || (four >= 2221 && four <= 2720);
    case 8: return two == 81 || two == 82;
    case 9: return four == 9792;
    default: return false;
  }
}

bool luhn(const uint8_t* d, size_t count) {
  unsigned sum = 0;
  bool twice = false;
  for (size_t i = count; i-- > 0;) {
    unsigned v = d[i];
    if (twice) v = v * 2 > 9 ? v * 2 - 9 : v * 2;
    sum += v;
    twice = !twice;
  }
  return sum % 10 == 0;
}

// The PAN-like values of one digit run (`digits` digits in text[begin, end), see
// for_each_digit_run): on_pan(pos, count) gets the text positions of each value's digits
// and returns whether to go on. A value is
// - the whole run, if it has 13-19 digits passing the Luhn check (any prefix), or
// - a Luhn-valid 13-19 digit part of it with a card scheme's prefix (known_iin): whole
//   groups ("1234 [4111 1111 1111 1111]") or a window inside one group ("7[4111...1111]1225");
//   a PAN is typed in groups or in one piece, so windows across groups are not tried.
// Digits glued to a letter are not a card number (hex tokens: "tok_40d4111...e5b"): no value
// may use the group touching a letter.
template <typename F>
void for_each_pan_in_run(std::string_view text, size_t begin, size_t end, size_t digits,
                         F&& on_pan) {
  if (digits < kPanDigitsMin) return;  // the common case: nothing to do
  std::vector<size_t> pos;
  std::vector<uint8_t> d;
  std::vector<uint32_t> group;  // group number of each digit
  pos.reserve(digits);
  d.reserve(digits);
  group.reserve(digits);
  uint32_t g = 0;
  for (size_t i = begin; i < end; ++i) {
    if (!is_digit(text[i])) {
      ++g;
      continue;
    }
    pos.push_back(i);
    d.push_back(static_cast<uint8_t>(text[i] - '0'));
    group.push_back(g);
  }
  const bool glued_front = begin > 0 && is_letter(text[begin - 1]);
  const bool glued_back = end < text.size() && is_letter(text[end]);
  if (digits <= kPanDigitsMax && !glued_front && !glued_back && luhn(d.data(), digits)) {
    if (!on_pan(pos.data(), digits)) return;
  }
  for (size_t s = 0; s + kPanDigitsMin <= digits; ++s) {
    if (glued_front && group[s] == 0) continue;
    if (!known_iin(&d[s])) continue;
    const bool starts_group = s == 0 || group[s] != group[s - 1];
    for (size_t w = kPanDigitsMin; w <= kPanDigitsMax && s + w <= digits; ++w) {
      const size_t e = s + w;  // one past the last digit
      if (s == 0 && e == digits) continue;  // the whole run: judged above
      if (glued_back && group[e - 1] == g) break;
      const bool ends_group = e == digits || group[e] != group[e - 1];
      // Whole groups, or a window inside one group.
      if (!(starts_group && ends_group) && group[s] != group[e - 1]) continue;
      if (luhn(&d[s], w) && !on_pan(&pos[s], w)) return;
    }
  }
}

// Every PAN-like value of `text`; on_pan as in for_each_pan_in_run.
template <typename F>
void for_each_pan(std::string_view text, F&& on_pan) {
  bool go_on = true;
  for_each_digit_run(text, [&](size_t begin, size_t end, size_t digits) {
    if (!go_on) return;
    for_each_pan_in_run(text, begin, end, digits, [&](const size_t* pos, size_t count) {
      go_on = on_pan(pos, count);
      return go_on;
    });
  });
}

// Calls on_string(field, value) for every set string field, nested messages included.
template <typename F>
void for_each_string(const pb::Message& m, F&& on_string) {
  const pb::Reflection* r = m.GetReflection();
  std::vector<const pb::FieldDescriptor*> fields;
  r->ListFields(m, &fields);
  std::string scratch;
  for (const pb::FieldDescriptor* f : fields) {
    if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_STRING) {
      if (f->is_repeated()) {
        for (int i = 0; i < r->FieldSize(m, f); ++i) {
          on_string(f, r->GetRepeatedStringReference(m, f, i, &scratch));
        }
      } else {
        on_string(f, r->GetStringReference(m, f, &scratch));
      }
    } else if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      if (f->is_repeated()) {
        for (int i = 0; i < r->FieldSize(m, f); ++i) {
          for_each_string(r->GetRepeatedMessage(m, f, i), on_string);
        }
      } else {
        for_each_string(r->GetMessage(m, f), on_string);
      }
    }
  }
}

bool ends_with_id(const std::string& name) {
  return name.size() >= 3 && name.compare(name.size() - 3, 3, "_id") == 0;
}

// Masks PAN-like values in every string of a parsed JSON document; returns how many.
size_t mask_json_strings(nlohmann::json& j) {
  size_t n = 0;
  if (j.is_string()) {
    size_t found = 0;
    std::string masked = mask_pans(j.get_ref<const std::string&>(), &found);
    if (found != 0) j = masked;
    return found;
  }
  if (j.is_object() || j.is_array()) {
    for (auto& v : j) n += mask_json_strings(v);
  }
  return n;
}

// Masks a JSON (or not quite JSON) text: raw digit runs, and runs hidden behind \\u escapes.
std::string mask_json_text(std::string_view text) {
  std::string masked = mask_pans(text);
  if (masked.find("\\u") == std::string::npos) return masked;
  auto j = nlohmann::json::parse(masked, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || mask_json_strings(j) == 0) return masked;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

constexpr std::string_view kParkedMagic{"\0PLPARK1", 8};

void put_be64(std::string* out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>(v >> (8 * i)));
}
void put_str(std::string* out, std::string_view s) {
  put_be64(out, s.size());
  out->append(s);
}
bool take_be64(std::string_view* in, uint64_t* v) {
  if (in->size() < 8) return false;
  *v = 0;
  for (int i = 0; i < 8; ++i) *v = (*v << 8) | static_cast<unsigned char>((*in)[i]);
  in->remove_prefix(8);
  return true;
}
bool take_str(std::string_view* in, std::string* s) {
  uint64_t n = 0;
  if (!take_be64(in, &n) || n > in->size()) return false;
  s->assign(in->data(), n);
  in->remove_prefix(n);
  return true;
}

}  // namespace

Status check_strict_json(std::string_view json) {
  StrictSax sax;
  bool ok = nlohmann::json::sax_parse(json.begin(), json.end(), &sax,
                                      nlohmann::json::input_format_t::json, /*strict=*/true,
                                      /*ignore_comments=*/false);
  if (ok) return Status::Ok();
  std::string why = sax.error.empty() ? "not strict JSON" : sax.error;
  std::replace(why.begin(), why.end(), '\n', ' ');
  return make_error(Code::kMalformed, fmt::format("invalid event JSON: {}", why));
}

// Byte classes for may_need_string_check: one table load per byte on the fold's hot path.
enum : uint8_t { kPlain = 0, kDigit = 1, kSeparator = 2, kSuspect = 3 };
constexpr std::array<uint8_t, 256> kByteClass = [] {
  std::array<uint8_t, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = kDigit;
  t[' '] = t['-'] = kSeparator;
  // NUL and the lead bytes of bidi controls (D8, E2) and non-characters (EF, F0-F4).
  for (int c : {0x00, 0xD8, 0xE2, 0xEF, 0xF0, 0xF1, 0xF2, 0xF3, 0xF4}) t[c] = kSuspect;
  return t;
}();

bool may_need_string_check(std::string_view bytes) {
  const size_t n = bytes.size();
  size_t run = 0;  // digits in the current run
  for (size_t i = 0; i < n; ++i) {
    const uint8_t k = kByteClass[static_cast<unsigned char>(bytes[i])];
    if (k >= kSeparator) [[unlikely]] {
      if (k == kSeparator) {
        if (run != 0 && i + 1 < n && is_digit(bytes[i + 1])) continue;  // "4111 1111"
      } else if (id_text_problem(bytes.substr(i, 4)) != nullptr) {
        return true;
      }
      run = 0;
      continue;
    }
    run = k == kDigit ? run + 1 : 0;  // branch-free: ids mix digits and letters at random
    if (run >= kPanDigitsMin) [[unlikely]] return true;
  }
  return false;
}

Status check_strings(const v1::Envelope& event) {
  Status out = Status::Ok();
  for_each_string(event, [&](const pb::FieldDescriptor* f, const std::string& value) {
    if (!out.ok()) return;
    auto where = [&] { return fmt::format("{}.{}", f->containing_type()->name(), f->name()); };
    if (holds_pan(value)) {
      out = make_error(Code::kPanDetected,
                       fmt::format("{} holds a card number ('{}'): send a token, never the PAN",
                                   where(), mask_pans(value)));
      return;
    }
    if (f->type() == pb::FieldDescriptor::TYPE_STRING && ends_with_id(f->name())) {
      if (const char* problem = id_text_problem(value)) {
        out = make_error(Code::kMalformed, fmt::format("{} contains {}", where(), problem));
      }
    }
  });
  return out;
}

bool holds_pan(std::string_view text) {
  bool found = false;
  for_each_pan(text, [&](const size_t*, size_t) {
    found = true;
    return false;
  });
  return found;
}

std::string mask_pans(std::string_view text, size_t* found) {
  std::string out(text);
  size_t count = 0;
  std::vector<size_t> hide;
  // Overlapping values are masked together. What is left is shorter runs with new
  // neighbours ('*'), which could in theory read as a PAN again: mask until none is left
  // (each pass hides at least 3 more digits).
  do {
    hide.clear();
    for_each_pan(out, [&](const size_t* pos, size_t digits) {
      ++count;
      for (size_t k = 6; k + 4 < digits; ++k) hide.push_back(pos[k]);  // keep 6 and 4
      return true;
    });
    for (size_t i : hide) out[i] = '*';
  } while (!hide.empty());
  if (found != nullptr) *found = count;
  return out;
}

size_t mask_pans(pb::Message* message) {
  const pb::Reflection* r = message->GetReflection();
  std::vector<const pb::FieldDescriptor*> fields;
  r->ListFields(*message, &fields);
  size_t count = 0;
  for (const pb::FieldDescriptor* f : fields) {
    if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_STRING) {
      int n = f->is_repeated() ? r->FieldSize(*message, f) : 1;
      for (int i = 0; i < n; ++i) {
        std::string value = f->is_repeated() ? r->GetRepeatedString(*message, f, i)
                                             : r->GetString(*message, f);
        size_t found = 0;
        std::string masked = mask_pans(value, &found);
        if (found == 0) continue;
        count += found;
        if (f->is_repeated()) {
          r->SetRepeatedString(message, f, i, std::move(masked));
        } else {
          r->SetString(message, f, std::move(masked));
        }
      }
    } else if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      if (f->is_repeated()) {
        for (int i = 0; i < r->FieldSize(*message, f); ++i) {
          count += mask_pans(r->MutableRepeatedMessage(message, f, i));
        }
      } else {
        count += mask_pans(r->MutableMessage(message, f));
      }
    }
  }
  return count;
}

std::string mask_record_value(RecordFormat format, std::string_view value) {
  if (format == RecordFormat::kRawJson && is_parked(value)) {
    auto parked = decode_parked(value);
    if (!parked) return mask_pans(value);
    parked->kept = mask_json_text(parked->kept);
    parked->reason = mask_pans(parked->reason);
    parked->source = mask_pans(parked->source);
    return encode_parked(*parked);
  }
  if (format == RecordFormat::kRawJson) return mask_json_text(value);
  if (!may_need_string_check(value)) return std::string(value);
  v1::Envelope event;
  if (!event.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
    return mask_pans(value);
  }
  if (mask_pans(&event) == 0) return std::string(value);
  return encode(event);
}

std::string encode_parked(const ParkedInput& p) {
  std::string out(kParkedMagic);
  out.push_back(static_cast<char>(p.code));
  out.push_back(p.truncated ? 1 : 0);
  put_be64(&out, p.length);
  put_str(&out, p.reason);
  put_str(&out, p.source);
  put_str(&out, p.sha256);
  put_str(&out, p.kept);
  return out;
}

bool is_parked(std::string_view value) { return value.substr(0, kParkedMagic.size()) == kParkedMagic; }

Result<ParkedInput> decode_parked(std::string_view value) {
  ParkedInput p;
  if (!is_parked(value) || value.size() < kParkedMagic.size() + 2) {
    return make_error(Code::kCorrupt, "parked input record does not decode");
  }
  value.remove_prefix(kParkedMagic.size());
  p.code = static_cast<Code>(static_cast<unsigned char>(value[0]));
  p.truncated = value[1] != 0;
  value.remove_prefix(2);
  if (!take_be64(&value, &p.length) || !take_str(&value, &p.reason) ||
      !take_str(&value, &p.source) || !take_str(&value, &p.sha256) ||
      !take_str(&value, &p.kept) || !value.empty() || p.code == Code::kOk) {
    return make_error(Code::kCorrupt, "parked input record does not decode");
  }
  return p;
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
