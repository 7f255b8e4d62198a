// Golden scenarios: tests/scenarios/<method>/events.ndjson folded from the embedded log must
// give exactly the balances and rejections in expected.json (both written by hand). Every
// account not listed must end at zero.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "events/codec.h"
#include "events/embedded_log.h"
#include "projections/fold.h"
#include "projections/positions.h"
#include "projections/queries.h"
#include "test_util.h"

namespace payledger::testing {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> scenario_names() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(PAYLEDGER_SCENARIOS_DIR)) {
    if (entry.is_directory()) names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

class Scenario : public ::testing::TestWithParam<std::string> {};

TEST_P(Scenario, FoldsToTheHandWrittenBooks) {
  fs::path dir = fs::path(PAYLEDGER_SCENARIOS_DIR) / GetParam();
  TempDir data;
  events::EmbeddedLogOptions lo;
  lo.sync = false;
  auto log = events::EmbeddedLog::open(data.path() + "/log", lo).value();
  std::ifstream in(dir / "events.ndjson");
  std::string line;
  std::vector<events::AppendRecord> records;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    v1::Envelope e;
    Status parsed = events::from_json(line, &e);
    ASSERT_TRUE(parsed.ok()) << line << ": " << parsed.error().reason;
    records.push_back(events::event_record(e));
  }
  ASSERT_FALSE(records.empty());
  ASSERT_TRUE(log->append(records).ok());
  auto store = projections::Store::open(data.path() + "/projections", false).value();
  projections::FoldOptions fo;
  fo.sync = false;
  ASSERT_TRUE(projections::fold(*store, *log, fo).ok());

  nlohmann::json expected = nlohmann::json::parse(std::ifstream(dir / "expected.json"));
  std::map<std::string, std::pair<std::string, std::string>> want;  // account/asset -> posted, pending
  for (const auto& b : expected["balances"]) {
    want[b["account"].get<std::string>() + "/" + b["asset"].get<std::string>()] = {
        b["posted"].get<std::string>(), b["pending"].get<std::string>()};
  }
  for (const auto& row : projections::list_balances(*store, "").value()) {
    std::string key = row.account + "/" + row.asset;
    std::string posted = ledger::format_scaled(row.balance.posted_net(row.normal), row.exponent);
    std::string pending = ledger::format_scaled(row.balance.pending_net(row.normal), row.exponent);
    auto it = want.find(key);
    if (it == want.end()) {
      EXPECT_TRUE(row.balance.posted_net(row.normal).is_zero() &&
                  row.balance.pending_net(row.normal).is_zero())
          << key << " is not in expected.json but holds " << posted << " / " << pending;
      continue;
    }
    EXPECT_EQ(posted, it->second.first) << key << " posted";
    EXPECT_EQ(pending, it->second.second) << key << " pending";
    want.erase(it);
  }
  for (const auto& [key, _] : want) ADD_FAILURE() << key << " expected but never posted to";

  std::multimap<std::string, std::string> rejected;  // event id -> code
  for (const auto& r : projections::list_rejects(*store, 0).value()) {
    rejected.emplace(r.event_id, std::string(code_name(r.code)));
  }
  ASSERT_EQ(rejected.size(), expected["rejects"].size());
  for (const auto& r : expected["rejects"]) {
    auto it = rejected.find(r["event_id"].get<std::string>());
    ASSERT_NE(it, rejected.end()) << r["event_id"] << " was not rejected";
    EXPECT_EQ(it->second, r["code"].get<std::string>()) << r["event_id"];
  }
  EXPECT_TRUE(projections::trial_balance(*store)->balanced());

  if (expected.contains("positions")) {  // FX positions (docs/fx.md), all by hand
    const auto& want_pos = expected["positions"];
    projections::PositionsRequest request(
        ledger::Asset::find(want_pos["reporting"].get<std::string>()).value());
    auto got = projections::positions(projections::Stores{store.get()}, request).value();
    const int r = got.reporting.exponent();
    ASSERT_EQ(got.rows.size(), want_pos["rows"].size());
    for (size_t i = 0; i < got.rows.size(); ++i) {
      const auto& w = want_pos["rows"][i];
      const auto& row = got.rows[i];
      const std::string at = row.owner + " " + row.asset.code();
      EXPECT_EQ(row.owner, w["owner"].get<std::string>());
      EXPECT_EQ(row.asset.code(), w["asset"].get<std::string>());
      EXPECT_TRUE(row.end.priced()) << at;
      EXPECT_EQ(ledger::format_scaled(row.end.position.amount, row.asset.exponent()),
                w["amount"].get<std::string>()) << at;
      EXPECT_EQ(ledger::format_scaled(row.end.position.cost, r), w["cost"].get<std::string>())
          << at;
      EXPECT_EQ(ledger::format_scaled(row.end.position.realised, r),
                w["realised"].get<std::string>()) << at;
      ASSERT_TRUE(row.end.unrealised) << at;
      EXPECT_EQ(ledger::format_scaled(*row.end.unrealised, r), w["unrealised"].get<std::string>())
          << at;
    }
    ASSERT_EQ(got.forwards.size(), want_pos["forwards"].size());
    for (size_t i = 0; i < got.forwards.size(); ++i) {
      const auto& w = want_pos["forwards"][i];
      const auto& f = got.forwards[i];
      EXPECT_EQ(f.row.forward_id, w["forward_id"].get<std::string>());
      EXPECT_EQ(f.settled ? "settled" : "open", w["status"].get<std::string>());
      ASSERT_TRUE(f.mark_quote && f.mark_reporting);
      auto pair = ledger::CurrencyPair::parse(f.row.forward.pair).value();
      EXPECT_EQ(ledger::format_scaled(*f.mark_quote, pair.quote().exponent()),
                w["mark"].get<std::string>());
      EXPECT_EQ(ledger::format_scaled(*f.mark_reporting, r), w["mark_reporting"].get<std::string>());
      ASSERT_TRUE(f.value());
      EXPECT_EQ(ledger::format_scaled(*f.value(), r), w["value"].get<std::string>());
    }
    EXPECT_EQ(projections::list_revaluations(projections::Stores{store.get()})->size(),
              want_pos["revaluation_runs"].get<size_t>());
  }

  if (expected.contains("checkout_report")) {
    auto rows = projections::checkout_report(projections::Stores{store.get()}).value();
    ASSERT_EQ(rows.size(), expected["checkout_report"].size());
    for (size_t i = 0; i < rows.size(); ++i) {
      const auto& want_row = expected["checkout_report"][i];
      EXPECT_EQ(rows[i].method, want_row["method"].get<std::string>());
      EXPECT_EQ(rows[i].market, want_row["market"].get<std::string>());
      EXPECT_EQ(rows[i].started, want_row["started"].get<uint64_t>()) << rows[i].method;
      EXPECT_EQ(rows[i].completed, want_row["completed"].get<uint64_t>()) << rows[i].method;
      EXPECT_EQ(rows[i].abandoned, want_row["abandoned"].get<uint64_t>()) << rows[i].method;
      EXPECT_EQ(rows[i].abandonment_bp(), want_row["abandonment_bp"].get<uint64_t>())
          << rows[i].method;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Golden, Scenario, ::testing::ValuesIn(scenario_names()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace payledger::testing
