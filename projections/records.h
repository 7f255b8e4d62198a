// Binary encodings of what the projections store in RocksDB, and their keys. Keys are
// big-endian where numeric so prefix scans come back in order. Every decoder checks its
// input and reports kCorrupt rather than trusting stored bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <google/protobuf/message.h>

#include "events/event_log.h"
#include "events/schema/result.h"
#include "projections/history.h"
#include "ledger/checkout.h"
#include "ledger/contract.h"
#include "ledger/fx.h"
#include "ledger/journal.h"
#include "ledger/payment.h"
#include "ledger/settlement.h"

namespace payledger::v1 {
class Envelope;
}  // namespace payledger::v1

namespace payledger::projections {

using ledger::Int128;

// Byte writer/reader with bounds checks for the encodings below.
class Writer {
 public:
  explicit Writer(std::string* out) : out_(out) {}
  void u8(uint8_t v) { out_->push_back(static_cast<char>(v)); }
  void be32(uint32_t v);
  void be64(uint64_t v);
  void i128(const Int128& v);  // 17 bytes: sign, 16-byte big-endian magnitude
  // 1-17 bytes: u8 sign (0x80) | magnitude length n (0-16), then the n-byte big-endian
  // magnitude without leading zeros (0 is one byte). For amounts, which are mostly small.
  void i128_compact(const Int128& v);
  void str16(std::string_view s);  // u16 length + bytes
  void str32(std::string_view s);  // u32 length + bytes

 private:
  std::string* out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool u8(uint8_t* v);
  bool be32(uint32_t* v);
  bool be64(uint64_t* v);
  bool i128(Int128* v);
  bool i128_compact(Int128* v);  // refuses non-minimal forms (one encoding per value)
  bool str16(std::string_view* s);
  bool str32(std::string_view* s);
  bool done() const { return pos_ == in_.size(); }

 private:
  bool take(size_t n, const char** p);
  std::string_view in_;
  size_t pos_ = 0;
};

// Every stored key starts with the be32 partition whose events produced it, so one
// partition's state can be dropped (DeleteRange) or told apart when instances that own
// different partitions are merged. Shape: be32 partition | a \0 b.
void make_key(std::string* out, uint32_t partition, std::string_view a, std::string_view b);
struct KeyParts {
  uint32_t partition = 0;
  std::string_view a;
  std::string_view b;
};
bool split_key(std::string_view key, KeyParts* out);
std::string partition_prefix(uint32_t partition);

// Amounts in balances, entry lines and payment records use the compact i128 form.
// balances CF: partition | account \0 asset -> Balance (the partition's share of the
// account: all of it for a merchant account, one partition's part for a house account)
std::string balance_key(uint32_t partition, std::string_view account, std::string_view asset);
std::string encode_balance(const ledger::Balance& b);
Result<ledger::Balance> decode_balance(std::string_view bytes);

// payments CF: partition | merchant \0 payment_id -> PaymentState (record v6: amounts in the
// compact i128 form)
std::string payment_key(uint32_t partition, std::string_view merchant,
                        std::string_view payment_id);
std::string encode_payment(const ledger::PaymentState& s);
Result<ledger::PaymentState> decode_payment(std::string_view bytes);

// checkouts CF: partition | merchant \0 checkout_id -> CheckoutState
std::string encode_checkout(const ledger::CheckoutState& c);
Result<ledger::CheckoutState> decode_checkout(std::string_view bytes);

// fx_quotes CF: partition | merchant \0 quote_id -> FxQuote
std::string encode_quote(const ledger::FxQuote& q);
Result<ledger::FxQuote> decode_quote(std::string_view bytes);

// fx_rates CF: partition | pair \0 be64(as_of, sign bit flipped) -> FxRate (reference data:
// the same rates in every partition, each partition's copy folded from its own records)
void rate_key(std::string* out, uint32_t partition, std::string_view pair, int64_t as_of_s);
std::string encode_rate(const ledger::FxRate& r);
// kCorrupt unless the value decodes, its pair and as-of are those of `key`, and its rates
// parse (mid, or bid and ask).
Result<ledger::FxRate> decode_rate(std::string_view key, std::string_view bytes);

// fx_house CF: the house's FX books (docs/fx.md), in the partition of the house key.
//   partition | 'f' forward_id -> FxForward
//   partition | 'r' be64(as_of, sign bit flipped) reporting -> FxRevaluation
void forward_key(std::string* out, uint32_t partition, std::string_view forward_id);
std::string encode_forward(const ledger::FxForward& f);
// kCorrupt unless the value decodes and its pair and rate parse.
Result<ledger::FxForward> decode_forward(std::string_view bytes);
std::string revaluation_key(uint32_t partition, int64_t as_of_s, std::string_view reporting);
std::string encode_revaluation(const ledger::FxRevaluation& r);
// kCorrupt unless the value decodes and its as-of and currency are those of `key`.
Result<ledger::FxRevaluation> decode_revaluation(std::string_view key, std::string_view bytes);
inline constexpr char kForwardTag = 'f';
inline constexpr char kRevaluationTag = 'r';

// settlement CF (docs/settlement.md), in the merchant's partition:
//   partition | merchant \0 'p' currency -> SettlementPolicy
//   partition | merchant \0 'i' instruction_id -> SettlementInstruction
inline constexpr char kPolicyTag = 'p';
inline constexpr char kInstructionTag = 'i';
void settlement_key(std::string* out, uint32_t partition, std::string_view merchant, char tag,
                    std::string_view id);
std::string encode_policy(const ledger::SettlementPolicy& p);
// kCorrupt unless the value decodes to a policy the rules could have made.
Result<ledger::SettlementPolicy> decode_policy(std::string_view bytes);
std::string encode_instruction(const ledger::SettlementInstruction& in);
Result<ledger::SettlementInstruction> decode_instruction(std::string_view bytes);

// contracts CF: partition | merchant \0 method -> Contract
std::string encode_contract(const ledger::Contract& c);
Result<ledger::Contract> decode_contract(std::string_view bytes);

// business_ids CF: be32 partition be64 first_offset -> the merchant-level business ids one
// fold batch applied from that partition (payout, fee and settlement ids: idempotency keys
// per merchant), each as a dedupe entry (str16 merchant \0 kind letter + id, be64 offset,
// be64 0); the fold loads them all at start.

// entries CF: partition | account \0 asset \0 be64 first_offset -> lines, in offset
// order. A chunk holds one fold batch's lines of one account, asset and partition, so the
// store takes one key per account per batch, not one per line.
struct EntryLine {
  uint64_t offset = 0;  // log offset of the event (with the partition, the entry's id)
  ledger::Side side = ledger::Side::kDebit;
  ledger::Bucket bucket = ledger::Bucket::kPosted;
  Int128 amount_minor = 0;
  uint8_t body_case = 0;  // which event body posted it
  std::string event_id;
  int64_t occurred_at_s = 0;
};
std::string entry_chunk_key(uint32_t partition, std::string_view account, std::string_view asset,
                            uint64_t first_offset);
// Splits an entries key; false if it has the wrong shape.
bool split_entry_key(std::string_view key, KeyParts* parts, uint64_t* first_offset);
void append_entry_line(std::string* chunk, const EntryLine& line);
// The same encoding without building an EntryLine (the fold's hot path).
void append_entry_line(std::string* chunk, uint64_t offset, ledger::Side side,
                       ledger::Bucket bucket, const Int128& amount_minor, uint8_t body_case,
                       std::string_view event_id, int64_t occurred_at_s);
// A chunk's value starts with the partition's share of the account's balance after its last
// line (u8 length, then the balance's encoding): a balance as known at any log offset is one
// chunk away (store format 11). The lines follow.
void append_entry_chunk_header(std::string* out, const ledger::Balance& closing);
// The lines of a chunk (its header checked, then skipped).
Result<std::vector<EntryLine>> decode_entry_chunk(std::string_view bytes);
// The balance after the chunk's last line, from its header.
Result<ledger::Balance> entry_chunk_closing(std::string_view bytes);
// Lines without a header (the history CF's day chunks, history.h).
Result<std::vector<EntryLine>> decode_entry_lines(std::string_view bytes);
// The number of lines in a chunk, with every check decode_entry_chunk makes, building none.
Result<size_t> count_entry_chunk(std::string_view bytes);

// Dedupe identity of an event: merchant \0 event_id (event ids are unique per merchant).
std::string dedupe_key(std::string_view merchant, std::string_view event_id);
// 128 bits of SHA-256 over an event's canonical encoding: tells an exact retry from a
// different event reusing the id (a collision needs ~2^64 events, not ~2^32 as with 64 bits).
struct Fingerprint {
  uint64_t hi = 0;
  uint64_t lo = 0;
  friend bool operator==(const Fingerprint&, const Fingerprint&) = default;
};
// dedupe CF: be32 partition | merchant \0 event_id -> be64 offset + be64 be64 content
// fingerprint: one key per applied event, so the fold can probe an id (bloom-filtered point
// lookup) without keeping every id ever applied in memory.
std::string dedupe_id_key(uint32_t partition, std::string_view dedupe_key);
std::string encode_dedupe_value(uint64_t offset, const Fingerprint& fingerprint);
// The same two encodings appended to *out (the fold builds them in reused buffers).
void append_dedupe_id_key(std::string* out, uint32_t partition, std::string_view dedupe_key);
void append_dedupe_value(std::string* out, uint64_t offset, const Fingerprint& fingerprint);
Result<Fingerprint> decode_dedupe_value(std::string_view bytes);
// The canonical encoding of a message (payledger canonical form v1), defined here rather than
// borrowed from protobuf, whose serialized bytes are not promised stable across versions (nor
// is its "deterministic" mode). Values, not bytes, are encoded:
//   message := "plc1" (top level only) field* be32(0)
//   field   := be32 number, u8 type, value   -- set fields in field-number order;
//              a repeated field is one such field per element, in element order
//   types   := 'i' signed ints and enums: be64 two's complement | 'u' unsigned: be64 |
//              'b' bool: u8 | 's' string/bytes: be32 length + bytes | 'd' float/double:
//              be64 of the IEEE double | 'm' message: nested message (no "plc1")
//   unknown fields (from a newer producer) follow, ordered by number (stable):
//              be32 number, 'x', u8 wire type, value (varint/fixed: be64; length-delimited:
//              be32 length + bytes; group: nested unknown fields + be32(0))
// So the same event decoded from any field order, from JSON with keys in any order, or by
// another protobuf version gives the same bytes. Map fields are not used by the schema and
// are refused (PAYLEDGER_CHECK), since their entry order is unspecified.
// This one, by reflection, is the definition (and the tests' oracle).
void canonical_encoding(const google::protobuf::Message& message, std::string* out);
// The same bytes for an event, written from the generated accessors without reflection (the
// fold's hot path: ListFields and the reflection getters were ~15% of a fold's instructions).
// A self-check at first use compares it with the reflection encoder on every body with every
// field set; on any difference (a schema field it does not know) it uses reflection instead.
void canonical_encoding(const v1::Envelope& event, std::string* out);
// Whether that self-check passed (the fast path is in use); the tests assert it.
bool canonical_encoding_fast_path();
Fingerprint content_fingerprint(std::string_view canonical_bytes);
// The first 128 bits of a SHA-256 digest: content_fingerprint of bytes already hashed.
Fingerprint fingerprint_of(const Sha256Digest& digest);

// meta CF
std::string offset_key(uint32_t partition);
// The end offset of a partition's log as last seen by a fold of this store (be64): how far
// the log was known to reach, so merged queries can say a partition is behind.
std::string log_end_key(uint32_t partition);
// The last record a fold folded from a partition (be64 offset be64 fingerprint), so the
// next fold can tell the same log from one that lost its tail and was appended to again.
std::string last_record_key(uint32_t partition);
// meta CF: watermark/p -> be64 of the partition's event-time watermark (max occurred_at folded,
// seconds, biased by 2^63 so that the order of the bytes is the order of the times).
std::string watermark_key(uint32_t partition);
// meta CF: earliest/p -> be64 biased: the earliest occurred_at folded from the partition (an
// as-of before it is before the books begin).
std::string earliest_key(uint32_t partition);
uint64_t bias_time(int64_t t_s);
int64_t unbias_time(uint64_t biased);

// deadlines CF: be32 partition | be64 biased deadline | merchant \0 payment -> empty: the
// payments with a deadline still ahead, in the order the fold fires them. The fold keeps the
// same index in memory (keys without the partition prefix).
std::string deadline_index_key(int64_t at_s, std::string_view merchant,
                               std::string_view payment_id);
// Splits an in-memory deadline index key (without partition); false if malformed.
bool split_deadline_index_key(std::string_view key, int64_t* at_s, std::string_view* merchant,
                              std::string_view* payment_id);
inline constexpr std::string_view kPartitionsKey = "partitions";
// Which log this store folds (FoldOptions::log_identity), recorded at its first commit.
inline constexpr std::string_view kLogIdentityKey = "log_identity";
inline constexpr std::string_view kFormatKey = "format";

// rejects CF: be32 partition be64 offset -> the reason and the original bytes
struct Reject {
  uint32_t partition = 0;
  uint64_t offset = 0;
  Code code = Code::kOk;
  std::string reason;
  std::string event_id;  // if it decoded far enough
  std::string merchant_id;
  events::RecordFormat format = events::RecordFormat::kProtobuf;
  std::string key;
  std::string value;  // the record as logged (card numbers masked), for replay
  // Empty while open; set by `payledger replay` ("replayed as p2/1500"): resolved.
  std::string resolved;
};
std::string reject_key(uint32_t partition, uint64_t offset);
std::string encode_reject(const Reject& r);
Result<Reject> decode_reject(std::string_view key, std::string_view bytes);

std::string be32_string(uint32_t v);
std::string be64_string(uint64_t v);
uint64_t read_be64(std::string_view s);  // requires s.size() >= 8

}  // namespace payledger::projections
