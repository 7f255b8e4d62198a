// Test fixtures shared by the fold-level tests: a data directory with an embedded log and a
// projection store (Books), and a generated event stream. Header-only so each test file
// keeps its own helpers next to it and only the common ones live here.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "events/codec.h"
#include "events/embedded_log.h"
#include "ledger/amount.h"
#include "projections/fold.h"
#include "projections/queries.h"
#include "test_util.h"
#include "tools/generator.h"

namespace payledger::testing {

// An embedded log and a projection store in one temp directory.
class Books {
 public:
  explicit Books(uint32_t partitions = 4) {
    events::EmbeddedLogOptions o;
    o.partitions = partitions;
    o.sync = false;
    log_ = events::EmbeddedLog::open(dir_.path() + "/log", o).value();
    reopen_store();
  }
  void reopen_store() {
    store_.reset();
    store_ = projections::Store::open(dir_.path() + "/projections", false).value();
  }
  void drop_store() {
    store_.reset();
    ASSERT_TRUE(projections::Store::destroy(dir_.path() + "/projections").ok());
    reopen_store();
  }
  void append(const std::vector<v1::Envelope>& events) {
    std::vector<events::AppendRecord> records;
    for (const auto& e : events) records.push_back(events::event_record(e));
    ASSERT_TRUE(log_->append(records).ok());
  }
  void append_raw(const std::string& key, const std::string& value, events::RecordFormat f) {
    std::vector<events::AppendRecord> records{{key, value, f}};
    ASSERT_TRUE(log_->append(records).ok());
  }
  projections::FoldStats fold(projections::FoldOptions options = {}) {
    options.sync = false;
    auto stats = projections::fold(*store_, *log_, options);
    EXPECT_TRUE(stats.ok()) << (stats.ok() ? "" : stats.error().reason);
    return stats.ok() ? *stats : projections::FoldStats{};
  }
  std::string digest() { return projections::projection_digest(*store_).value(); }
  // "posted/pending" of one account in one asset, as the CLI prints them.
  std::string balance(const std::string& account, const std::string& asset) {
    for (const auto& r : projections::list_balances(*store_, account).value()) {
      if (r.account == account && r.asset == asset) {
        return ledger::format_scaled(r.balance.posted_net(r.normal), r.exponent) + "/" +
               ledger::format_scaled(r.balance.pending_net(r.normal), r.exponent);
      }
    }
    return "absent";
  }
  // The payment's state; fails the test if the store has no such payment.
  std::optional<ledger::PaymentState> payment(const std::string& merchant, const std::string& id) {
    auto p = projections::find_payment(projections::Stores{store_.get()}, merchant, id).value();
    EXPECT_TRUE(p.has_value()) << merchant << "/" << id;
    return p;
  }
  std::vector<projections::Reject> rejects() {
    return projections::list_rejects(*store_, 0).value();
  }
  projections::Store& store() { return *store_; }
  events::EmbeddedLog& log() { return *log_; }
  const std::string& dir() const { return dir_.path(); }

 private:
  TempDir dir_;
  std::unique_ptr<events::EmbeddedLog> log_;
  std::unique_ptr<projections::Store> store_;
};

// `n` events from the generator (deterministic for a seed).
inline std::vector<v1::Envelope> generated(uint64_t n, uint64_t seed = 3, uint32_t merchants = 40) {
  tools::Generator gen({n, seed, merchants, ""});
  std::vector<v1::Envelope> out;
  v1::Envelope e;
  while (gen.next(&e)) out.push_back(e);
  return out;
}

}  // namespace payledger::testing
