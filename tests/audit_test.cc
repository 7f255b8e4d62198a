// Issue 12: books at past points (as-of event time, at log offsets), the hash chain, verify
// and checkpoints. Expected values by hand where they are money; the property tests compare
// the kept history with refolds of truncated logs (a different path: the fold itself).
#include "projections/audit.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <filesystem>
#include <random>

#include "events/codec.h"
#include "events/embedded_log.h"
#include "projections/fold.h"
#include "projections/queries.h"
#include "projections/verify.h"
#include "tests/test_util.h"
#include "tools/generator.h"

namespace payledger {
namespace {

using projections::PointInTime;
using projections::Store;
using projections::Stores;
using testing::TempDir;

std::vector<events::AppendRecord> generated(uint64_t n, uint64_t seed, uint32_t spread_s) {
  tools::GeneratorOptions o;
  o.events = n;
  o.seed = seed;
  o.merchants = 12;
  o.max_seconds_between_events = spread_s;  // several UTC days in a few thousand events
  tools::Generator gen(o);
  std::vector<events::AppendRecord> records;
  v1::Envelope e;
  while (gen.next(&e)) records.push_back(events::event_record(e));
  return records;
}

struct Books {
  std::unique_ptr<events::EmbeddedLog> log;
  std::unique_ptr<Store> store;
  uint64_t deadlines_fired = 0;
};

Books fold_records(const std::string& dir, const std::vector<events::AppendRecord>& records,
                   size_t batch = 700, uint32_t partitions = 4) {
  events::EmbeddedLogOptions lo;
  lo.partitions = partitions;
  lo.sync = false;
  Books b;
  b.log = events::EmbeddedLog::open(dir + "/log", lo).value();
  if (!records.empty()) {
    EXPECT_TRUE(b.log->append(records).ok());
  }
  b.store = Store::open(dir + "/projections", false).value();
  projections::FoldOptions fo;
  fo.sync = false;
  fo.batch_events_max = batch;  // many chunks per account and day
  auto stats = projections::fold(*b.store, *b.log, fo);
  EXPECT_TRUE(stats.ok()) << (stats.ok() ? "" : stats.error().reason);
  if (stats.ok()) b.deadlines_fired = stats->deadlines_fired;
  return b;
}

std::map<std::string, ledger::Balance> by_account(
    const std::vector<projections::BalanceRow>& rows) {
  std::map<std::string, ledger::Balance> out;
  for (const auto& r : rows) {
    if (r.balance == ledger::Balance{}) continue;
    out[r.account + " " + r.asset] = r.balance;
  }
  return out;
}

int64_t occurred_at(const events::AppendRecord& r) {
  v1::Envelope e;
  EXPECT_TRUE(events::decode(r.value, &e));
  return e.occurred_at().seconds();
}

// as-of T == a fresh fold of only the records that occurred at or before T, at random cuts.
TEST(AuditAsOf, BalancesAsOfEqualARefoldOfTheLogCutAtThatTime) {
  TempDir dir;
  auto records = generated(5000, 21, 240);  // ~5000 x 120 s: about a week of event time
  auto full = fold_records(dir.path() + "/full", records);
  int64_t first = occurred_at(records.front()), last = occurred_at(records.back());
  ASSERT_GT(last - first, 3 * 86400) << "the stream must cross UTC days";
  std::mt19937_64 rng(7);
  size_t compared = 0, cuts_inside_a_day = 0;
  for (int round = 0; round < 6; ++round) {
    const int64_t t = first + static_cast<int64_t>(rng() % static_cast<uint64_t>(last - first));
    if (t % 86400 != 0) ++cuts_inside_a_day;
    std::vector<events::AppendRecord> cut;
    for (const auto& r : records) {
      if (occurred_at(r) <= t) cut.push_back(r);
    }
    auto truncated = fold_records(dir.path() + "/cut" + std::to_string(round), cut, 333);
    PointInTime at;
    at.as_of_s = t;
    auto as_of = projections::balances_at(Stores{full.store.get()}, "", at);
    ASSERT_TRUE(as_of.ok()) << as_of.error().reason;
    auto refold = projections::list_balances(Stores{truncated.store.get()}, "");
    ASSERT_TRUE(refold.ok());
    auto a = by_account(*as_of), b = by_account(*refold);
    ASSERT_FALSE(b.empty());
    EXPECT_EQ(a.size(), b.size()) << "cut at " << t;
    for (const auto& [account, balance] : b) {
      ASSERT_TRUE(a.count(account)) << account << " at " << t;
      EXPECT_EQ(a[account], balance) << account << " at " << t;
      ++compared;
    }
  }
  EXPECT_GT(compared, 100u);
  EXPECT_GT(cuts_inside_a_day, 0u);
}

// at-offset P == a fresh fold of the log bounded at P, at random positions.
TEST(AuditAtOffset, BalancesAtOffsetsEqualARefoldOfTheLogCutThere) {
  TempDir dir;
  auto records = generated(4000, 5, 60);
  auto full = fold_records(dir.path() + "/full", records);
  std::mt19937_64 rng(11);
  for (int round = 0; round < 5; ++round) {
    std::vector<uint64_t> ends(4);
    PointInTime at;
    for (uint32_t p = 0; p < 4; ++p) {
      uint64_t end = full.log->end_offset(p).value();
      ends[p] = rng() % (end + 1);
      at.at_offsets[p] = ends[p];
    }
    projections::BoundedLog bounded(*full.log, ends);
    auto store = Store::open(dir.path() + "/cut" + std::to_string(round), false).value();
    projections::FoldOptions fo;
    fo.sync = false;
    fo.batch_events_max = 250;
    ASSERT_TRUE(projections::fold(*store, bounded, fo).ok());
    auto at_offsets = projections::balances_at(Stores{full.store.get()}, "", at).value();
    auto refold = projections::list_balances(Stores{store.get()}, "").value();
    EXPECT_EQ(by_account(at_offsets), by_account(refold)) << "round " << round;
    // The trial balance at a past position balances too.
    EXPECT_TRUE(projections::trial_balance_of(at_offsets).value().balanced());
  }
}

// A hand-built history with a late event: the statement is in event-time order, the as-of
// answer includes the late event, the at-offset answer does not.
TEST(AuditStatement, LateEventsShowInEventTimeOrderAndOnlyAsOfTime) {
  TempDir dir;
  // m1's payable (credit-normal): captures credit it. Times by hand:
  //   offset 0: auth p1 100.00 at 10:00, offset 1: capture p1 100.00 at 10:05
  //   offset 2: auth p2 30.00 at 12:00,  offset 3: capture p2 30.00 at 12:10
  //   offset 4: auth p3 7.00 at 09:00,   offset 5: capture p3 7.00 at 09:30 (late: arrives last)
  auto at = [](const char* hhmm) {
    return testing::json_event(std::string("{\"occurred_at\":\"2026-03-02T") + hhmm + ":00Z\"}")
        .occurred_at();
  };
  std::vector<v1::Envelope> events = {
      testing::card_authorised("e1", "p1", "100.00"), testing::card_captured("e2", "p1", "100.00"),
      testing::card_authorised("e3", "p2", "30.00"),  testing::card_captured("e4", "p2", "30.00"),
      testing::card_authorised("e5", "p3", "7.00"),   testing::card_captured("e6", "p3", "7.00")};
  const char* times[] = {"10:00", "10:05", "12:00", "12:10", "09:00", "09:30"};
  std::vector<events::AppendRecord> records;
  for (size_t i = 0; i < events.size(); ++i) {
    *events[i].mutable_occurred_at() = at(times[i]);
    records.push_back(events::event_record(events[i]));
  }
  auto books = fold_records(dir.path(), records, 700, 1);
  Stores stores{books.store.get()};
  const std::string account = "merchant:m1:payable";
  auto posted = [&](const PointInTime& p) {
    auto rows = projections::balances_at(stores, account, p).value();
    for (const auto& r : rows) {
      if (r.account == account) return ledger::format_scaled(r.balance.posted_net(r.normal), 2);
    }
    return std::string("none");
  };
  PointInTime noon;
  noon.as_of_s = at("12:00").seconds();
  EXPECT_EQ(posted(noon), "107.00");  // 100.00 (10:05) + 7.00 (09:30, arrived last)
  PointInTime noon_then = noon;
  noon_then.at_offsets[0] = 4;             // before the late auth and capture arrived
  EXPECT_EQ(posted(noon_then), "100.00");  // what the books said at offset 4 about noon
  PointInTime at_offset_5;
  at_offset_5.at_offsets[0] = 5;  // offsets 0..4: the late capture (offset 5) not yet known
  EXPECT_EQ(posted(at_offset_5), "130.00");  // 100.00 + 30.00
  PointInTime start;
  start.at_offsets[0] = 0;  // before the partition's first record
  EXPECT_EQ(posted(start), "none");
  PointInTime nine;
  nine.as_of_s = at("09:00").seconds();
  EXPECT_EQ(posted(nine), "0.00");  // only the 09:00 authorisation (7.00 pending) by then
  PointInTime before;
  before.as_of_s = at("08:59").seconds();
  EXPECT_EQ(posted(before), "none");  // no line yet: the account held nothing

  auto st = projections::statement_between(stores, account, at("09:15").seconds(),
                                           at("12:05").seconds(), PointInTime{}, 0)
                .value();
  ASSERT_EQ(st.assets.size(), 1u);
  EXPECT_EQ(ledger::format_scaled(st.assets[0].opening.posted_net(st.normal), 2), "0.00");
  // In range 09:15..12:05: e6 (09:30), e1 (10:00), e2 (10:05), e3 (12:00); e4 (12:10) after.
  std::vector<std::string> order;
  for (const auto& l : st.lines) {
    if (order.empty() || order.back() != l.line.event_id) order.push_back(l.line.event_id);
  }
  EXPECT_EQ(order, (std::vector<std::string>{"e6", "e1", "e2", "e3"}));
  std::vector<const projections::TimedLine*> posted_lines;
  for (const auto& l : st.lines) {
    if (l.line.bucket == ledger::Bucket::kPosted) posted_lines.push_back(&l);
  }
  ASSERT_EQ(posted_lines.size(), 2u);  // the captures: 09:30 p3 +7.00, 10:05 p1 +100.00
  EXPECT_EQ(posted_lines[0]->line.event_id, "e6");
  EXPECT_EQ(posted_lines[0]->payment, "p3");
  EXPECT_EQ(posted_lines[0]->merchant, "m1");
  EXPECT_EQ(ledger::format_scaled(posted_lines[0]->running.posted_net(st.normal), 2), "7.00");
  EXPECT_EQ(posted_lines[1]->line.event_id, "e2");
  // 7.00 + 100.00 = 107.00
  EXPECT_EQ(ledger::format_scaled(posted_lines[1]->running.posted_net(st.normal), 2), "107.00");
  EXPECT_EQ(ledger::format_scaled(st.assets[0].closing.posted_net(st.normal), 2), "107.00");

  // The payment's timeline: its two events, in log order, with their lines.
  std::vector<std::string> merchants;
  auto timeline = projections::payment_timeline(stores, "", "p3", &merchants).value();
  ASSERT_EQ(timeline.size(), 2u);
  EXPECT_EQ(merchants, std::vector<std::string>{"m1"});
  EXPECT_EQ(timeline[0].event_id, "e5");
  EXPECT_EQ(timeline[1].event_id, "e6");
  EXPECT_FALSE(timeline[1].lines.empty());
}

// Two folds of one log in different batch sizes: the same chain heads and digest, and no
// difference between the stores.
TEST(AuditChain, ChainHeadsAndStoresDoNotDependOnBatching) {
  TempDir dir;
  auto records = generated(3000, 3, 30);
  auto a = fold_records(dir.path() + "/a", records, 97);
  auto b = fold_records(dir.path() + "/b", records, 5000);
  auto ha = projections::chain_heads(Stores{a.store.get()}).value();
  auto hb = projections::chain_heads(Stores{b.store.get()}).value();
  ASSERT_EQ(ha.size(), 4u);
  for (size_t i = 0; i < ha.size(); ++i) {
    ASSERT_TRUE(ha[i].chain && hb[i].chain);
    EXPECT_EQ(ha[i].chain->head, hb[i].chain->head);
    EXPECT_EQ(ha[i].chain->records, ha[i].next_offset);  // every record chained
  }
  EXPECT_EQ(projections::projection_digest(Stores{a.store.get()}).value(),
            projections::projection_digest(Stores{b.store.get()}).value());
  auto diff = projections::first_difference(*a.store, *b.store).value();
  EXPECT_FALSE(diff) << diff->what;
}

projections::VerifyReport verify(Books& books, const std::string& scratch) {
  projections::FoldOptions fo;
  fo.sync = false;
  fo.batch_events_max = 400;
  auto r = projections::verify_store(*books.store, *books.log, scratch, fo, "");
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().reason);
  return r.ok() ? *r : projections::VerifyReport{};
}

TEST(AuditVerify, AnUntouchedStoreVerifies) {
  TempDir dir;
  auto books = fold_records(dir.path(), generated(2000, 8, 30));
  auto r = verify(books, dir.path() + "/scratch");
  EXPECT_TRUE(r.ok()) << (r.first ? r.first->what : r.chain ? r.chain->what : "");
  EXPECT_EQ(r.records, 2000u + 0) << "every record refolded";
  EXPECT_GT(r.checkpoints, 4u);
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/scratch")) << "scratch store removed";
}

// A balance changed in RocksDB behind the ledger's back (a valid write: checksums agree).
TEST(AuditVerify, AStoredBalanceChangedBehindTheLedgersBackIsNamed) {
  TempDir dir;
  auto books = fold_records(dir.path(), generated(2000, 8, 30));
  std::string key, value;
  auto it = books.store->cursor(projections::Cf::kBalances, projections::Reading::kQuery);
  for (it.seek_to_first(); it.valid(); it.next()) {
    projections::KeyParts parts;
    ASSERT_TRUE(projections::split_key(it.key(), &parts));
    if (parts.a == "psp:revenue:fees") {
      key = std::string(it.key());
      value = std::string(it.value());
      break;
    }
  }
  ASSERT_FALSE(key.empty()) << "the generator books fees";
  projections::KeyParts victim;
  ASSERT_TRUE(projections::split_key(key, &victim));
  const std::string expected_account = "psp:revenue:fees " + std::string(victim.b);
  auto b = projections::decode_balance(value).value();
  b.posted_credit += ledger::Int128(1);  // one cent more revenue
  projections::StoreBatch wb(*books.store);
  wb.put(projections::Cf::kBalances, key, projections::encode_balance(b));
  ASSERT_TRUE(books.store->write(wb, false).ok());
  auto r = verify(books, dir.path() + "/scratch");
  ASSERT_TRUE(r.first);
  EXPECT_EQ(r.first->account, expected_account);
  EXPECT_EQ(r.first->partition, victim.partition);
  EXPECT_NE(r.first->what.find("the balance of " + expected_account + " differs"),
            std::string::npos)
      << r.first->what;
  EXPECT_FALSE(r.chain) << "the log was not touched";
}

// A flipped byte in a stored entries chunk's closing balance (its header).
TEST(AuditVerify, AFlippedByteInAChunksClosingBalanceIsNamed) {
  TempDir dir;
  auto books = fold_records(dir.path(), generated(2000, 8, 30));
  auto it = books.store->cursor(projections::Cf::kEntries, projections::Reading::kQuery);
  it.seek_to_first();
  ASSERT_TRUE(it.valid());
  std::string key(it.key()), value(it.value());
  value[2] = static_cast<char>(value[2] ^ 0x01);  // the first byte of the balance's magnitude
  projections::StoreBatch wb(*books.store);
  wb.put(projections::Cf::kEntries, key, value);
  ASSERT_TRUE(books.store->write(wb, false).ok());
  auto r = verify(books, dir.path() + "/scratch");
  ASSERT_TRUE(r.first);
  EXPECT_EQ(r.first->column_family, "entries");
  EXPECT_TRUE(r.first->offset.has_value());
}

// A record of the log rewritten with a valid CRC (same length): the chain names the range,
// the projections the offset.
TEST(AuditVerify, ARecordRewrittenInTheLogIsNamed) {
  TempDir dir;
  auto records = generated(2000, 8, 30);
  // Change one captured amount's last digit in the record bytes (protobuf: the amount is a
  // string field, so the length stays the same).
  size_t victim = records.size();
  for (size_t i = 500; i < records.size(); ++i) {
    v1::Envelope e;
    ASSERT_TRUE(events::decode(records[i].value, &e));
    if (e.has_card_captured()) {
      victim = i;
      break;
    }
  }
  ASSERT_LT(victim, records.size());
  auto books = fold_records(dir.path(), records);
  // Rewrite the log: the same records, the victim's amount one cent less (same digits count).
  v1::Envelope e;
  ASSERT_TRUE(events::decode(records[victim].value, &e));
  std::string amount = e.card_captured().amount().amount();
  ASSERT_FALSE(amount.empty());
  char& last = amount.back();
  last = last == '0' ? '1' : static_cast<char>(last - 1);
  e.mutable_card_captured()->mutable_amount()->set_amount(amount);
  auto tampered = records;
  tampered[victim] = events::event_record(e);
  books.log.reset();
  std::filesystem::remove_all(dir.path() + "/log");
  events::EmbeddedLogOptions lo;
  lo.partitions = 4;
  lo.sync = false;
  books.log = events::EmbeddedLog::open(dir.path() + "/log", lo).value();
  ASSERT_TRUE(books.log->append(tampered).ok());
  auto r = verify(books, dir.path() + "/scratch");
  ASSERT_TRUE(r.chain) << "the chain must catch a changed record";
  ASSERT_TRUE(r.first) << "the refolded books differ too";
  const uint32_t p = events::partition_for_key(e.merchant_id(), 4);
  EXPECT_EQ(r.chain->partition, p);
  EXPECT_EQ(r.first->partition, p);
}

TEST(AuditCheckpoint, CheckpointPlusTheTailEqualsAFullFold) {
  TempDir dir;
  auto records = generated(3000, 13, 30);
  std::vector<events::AppendRecord> head(records.begin(), records.begin() + 1800);
  std::vector<events::AppendRecord> tail(records.begin() + 1800, records.end());
  auto books = fold_records(dir.path() + "/books", head);
  auto info =
      projections::make_checkpoint(*books.store, dir.path() + "/cp", "2026-11-29T00:00:00Z");
  ASSERT_TRUE(info.ok()) << info.error().reason;
  EXPECT_EQ(projections::read_checkpoint(dir.path() + "/cp").value().digest, info->digest);
  // Restore: the checkpoint's projections, then the tail folded on top.
  std::filesystem::copy(dir.path() + "/cp/projections", dir.path() + "/restored",
                        std::filesystem::copy_options::recursive);
  ASSERT_TRUE(books.log->append(tail).ok());
  auto restored = Store::open(dir.path() + "/restored", false).value();
  projections::FoldOptions fo;
  fo.sync = false;
  ASSERT_TRUE(projections::fold(*restored, *books.log, fo).ok());
  auto full = fold_records(dir.path() + "/full", records, 450);
  EXPECT_EQ(projections::projection_digest(Stores{restored.get()}).value(),
            projections::projection_digest(Stores{full.store.get()}).value());
  auto diff = projections::first_difference(*restored, *full.store).value();
  EXPECT_FALSE(diff) << diff->what;
  // A changed checkpoint is refused, even where the projection digest does not look (the
  // journal: its chain checkpoints decide where a restored fold resumes its chain).
  auto cp = Store::open(dir.path() + "/cp/projections", false).value();
  projections::StoreBatch wb(*cp);
  wb.put(projections::Cf::kJournal, projections::chain_key(0, 1), std::string(40, '\0'));
  ASSERT_TRUE(cp->write(wb, false).ok());
  cp.reset();
  auto refused = projections::read_checkpoint(dir.path() + "/cp");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().reason.find("changed after it was made"), std::string::npos);
}

// A removed latest chain checkpoint: verify names it, and a fold refuses to go on from an
// older head.
TEST(AuditVerify, ARemovedChainCheckpointIsNamedAndRefusedByTheFold) {
  TempDir dir;
  auto books = fold_records(dir.path(), generated(2000, 8, 30), 300);
  auto heads = projections::chain_heads(Stores{books.store.get()}).value();
  ASSERT_FALSE(heads.empty());
  const auto& h = heads.front();
  ASSERT_TRUE(h.chain);
  ASSERT_EQ(h.chain_at, h.next_offset) << "the latest checkpoint covers the stored offset";
  projections::StoreBatch wb(*books.store);
  wb.erase(projections::Cf::kJournal, projections::chain_key(h.partition, h.chain_at));
  ASSERT_TRUE(books.store->write(wb, false).ok());
  auto r = verify(books, dir.path() + "/scratch");
  ASSERT_TRUE(r.chain);
  EXPECT_EQ(r.chain->partition, h.partition);
  EXPECT_NE(r.chain->what.find("checkpoints were removed"), std::string::npos) << r.chain->what;
  projections::FoldOptions fo;
  fo.sync = false;
  auto again = projections::fold(*books.store, *books.log, fo);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, Code::kCorrupt);
}

// One record that fires hundreds of deadlines (a quiet weekend on a busy partition): every
// expiry is journaled at that record's offset, and the fold goes on.
TEST(AuditJournal, ARecordThatFiresHundredsOfDeadlinesIsJournaled) {
  TempDir dir;
  std::vector<events::AppendRecord> records;
  for (int i = 0; i < 300; ++i) {
    auto e = testing::json_event(fmt::format(
        R"({{"event_id":"a{0}","occurred_at":"2026-03-01T00:00:00Z","card_authorised":{{"payment_id":"p{0}","amount":{{"currency":"USD","amount":"1.00"}},"expires_at":"2026-03-02T00:00:00Z"}}}})",
        i));
    records.push_back(events::event_record(e));
  }
  auto later = testing::json_event(
      R"({"event_id":"late","occurred_at":"2026-03-05T00:00:00Z","card_authorised":{"payment_id":"q","amount":{"currency":"USD","amount":"1.00"},"expires_at":"2026-03-09T00:00:00Z"}})");
  records.push_back(events::event_record(later));
  auto books = fold_records(dir.path(), records, 700, 1);
  Stores stores{books.store.get()};
  EXPECT_EQ(books.deadlines_fired, 300u);
  size_t at_last = 0;
  ASSERT_TRUE(projections::for_each_journal_entry(stores, [&](const auto& e) {
                if (e.offset == 300) ++at_last;
                return Status::Ok();
              }).ok());
  EXPECT_EQ(at_last, 301u);  // 300 expiries fired, then the record's own event
  auto timeline = projections::payment_timeline(stores, "m1", "p299", nullptr).value();
  ASSERT_EQ(timeline.size(), 2u);  // authorised, then expired by the fold
  EXPECT_TRUE(timeline[1].fired);
}

TEST(AuditPositions, ParsesAndRefusesPositions) {
  auto ok = projections::parse_positions("0:12,3:0", 4).value();
  EXPECT_EQ(ok.at(0), 12u);
  EXPECT_EQ(ok.at(3), 0u);
  for (const char* bad : {"", "0", "0:", ":5", "0:5,0:6", "4:1", "0:x", "0:5,"}) {
    EXPECT_FALSE(projections::parse_positions(bad, 4).ok()) << bad;
  }
}

}  // namespace
}  // namespace payledger
