// FX positions (docs/fx.md "Positions"): per owner (the house, or a merchant) and asset, the
// amount held, its weighted average cost and realised P&L in a reporting currency, the
// unrealised P&L at the latest rate, and the house's forwards marked to market.
//
// Derived, exactly and deterministically, from two projections the fold keeps: the journal
// lines of the position accounts (the house's `psp:fx:position`, each merchant's payable) and
// the published rates of the same partition. Each event's posted lines on one account and
// asset are one trade (ledger::trade) valued at the rate of the pair (asset, reporting) in
// force at the event's time (the latest as-of not after it; its mid). So any moment's
// positions come from the same books (`--as-of`, `fx-pnl --from --to`), a rebuild gives the
// same answer, and nothing more is written per event.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "events/schema/result.h"
#include "ledger/asset.h"
#include "ledger/fx.h"
#include "projections/queries.h"

namespace payledger::projections {

// The owner name of the house's positions.
inline constexpr std::string_view kHouseOwner = "house";

struct PositionsRequest {
  explicit PositionsRequest(ledger::Asset r) : reporting(r) {}
  ledger::Asset reporting;
  bool house = true;                    // the house's positions (psp:fx:position) and forwards
  bool merchants = true;                // merchants' positions (their payables)
  std::optional<std::string> merchant;  // only this merchant (with merchants)
  // Positions after the events at or before this moment, valued at the rates published by
  // then. nullopt: everything folded, at each pair's newest rate.
  std::optional<int64_t> as_of;
  // Also the positions after the events before this moment (strictly), valued at the rates
  // of the moment before it, for the P&L of a period (fx-pnl).
  std::optional<int64_t> from;
};

// One owner's position in one asset at one moment.
struct PositionState {
  ledger::Position position;  // amount (asset minor), cost and realised (reporting minor)
  uint64_t trades = 0;        // events that changed it
  uint64_t unpriced = 0;      // of which no rate valued: cost and P&L are then unknown
  std::optional<ledger::Int128> unrealised;  // at the moment's rate; nullopt: no rate
  std::optional<ledger::FxRate> mark;        // the rate that valued it (one partition's)
  bool priced() const { return unpriced == 0; }
};

struct PositionRow {
  std::string owner;  // kHouseOwner or a merchant id
  ledger::Asset asset;
  PositionState end;                   // at as_of
  std::optional<PositionState> start;  // just before `from` (when asked)
};

struct ForwardValue {
  ForwardRow row;
  bool settled = false;  // by the moment
  // notional x (spot - contract rate) at the moment (or at settlement, once settled), in
  // the pair's quote currency and in the reporting currency; nullopt: no rate.
  std::optional<ledger::Int128> mark_quote;
  std::optional<ledger::Int128> mark_reporting;
  std::optional<ledger::FxRate> spot;
  // What the forward itself is worth in the reporting currency at the moment: its mark while
  // open; 0 once settled, since settlement booked the exchange into psp:fx:position at the
  // forward rate and the position's P&L carries the difference from then on (counting the
  // settlement mark too would count it twice). nullopt: no rate.
  std::optional<ledger::Int128> value() const {
    return settled ? std::optional<ledger::Int128>(0) : mark_reporting;
  }
};

struct PositionsAnswer {
  ledger::Asset reporting;
  std::vector<PositionRow> rows;             // house first, then merchants by id; assets by code
  std::vector<ForwardValue> forwards;        // at as_of (booked by then)
  std::vector<ForwardValue> forwards_start;  // just before `from`, when asked
};

Result<PositionsAnswer> positions(const Stores& stores, const PositionsRequest& request);

// Whether line `a`'s event was booked before `b`'s in the same partition: by offset, and at
// one offset the expiries the record fired (event ids "deadline:...") before the record.
bool booked_before(const EntryLine& a, const EntryLine& b);

}  // namespace payledger::projections
