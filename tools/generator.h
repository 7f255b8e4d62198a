// The demo workload generator: a seeded, realistic stream of payment events for many
// merchants in several markets (cards with partial captures, voids and refunds; PIX and
// UPI transfers; merchant contracts (MDR) set, repriced and ended; fees; payouts and
// settlement on the batch and tokenised rails). Same
// options => same events, on any machine.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "payledger/v1/events.pb.h"

namespace payledger::tools {

struct GeneratorOptions {
  uint64_t events = 10000;
  uint64_t seed = 1;
  uint32_t merchants = 100;
  // Only merchants of this market ("BR": cards, PIX, Boleto; "IN": cards, UPI; "JP": cards,
  // Konbini; "MX": cards, OXXO; "US", "DE", "GB", "BH": cards). Empty: all eight markets.
  std::string market;
  // Merchant contracts: most merchants are priced by contracts per payment method (the
  // ledger charges their MDR on money-in), repriced or ended and later renewed as time
  // goes on; the rest are billed by explicit fee_assessed events. false: no contracts, every
  // fee explicit.
  bool contracts = true;
  // Event time advances by 0..N-1 seconds per event (default 5: ~2 s on average, so 90 days
  // of event time take ~3.9M events). Tests raise it to reach long windows (PIX's 90-day
  // refund limit) in a few thousand events; the CLI keeps the default.
  uint32_t max_seconds_between_events = 5;
  // Daily FX rate publications (fx_rate_published at the 16:00 UTC fix, a random walk with
  // bid/ask spreads per currency against USD; issue 10): each is one event but a record in
  // every partition. On for `generate`, the demo and the fold bench; off by default so that
  // tests counting records per event keep one record per event. With rates the house also
  // trades (merchant key "psp"): after each fix a revaluation run, a sweep of the currencies
  // it took in into USD at the bid/ask, and weekly forwards selling the next week's flow,
  // settled on their value date; merchants outside the US convert part of their balance
  // into USD now and then (at their quote when they hold one, else the fix, 0.5% markup).
  bool rates = false;
  // With rates: 0..100, the share of merchant events drawn as FX events instead (quote locks
  // and balance conversions), for the FX-heavy bench. 0: the usual mix.
  uint32_t fx_heavy_percent = 0;
  // Settlement (issue 11, docs/settlement.md "Generated settlement"): merchants paid in a
  // currency with a business-day calendar get a settlement policy after their contracts (half
  // on the batch rail, half tokenised) and are paid by settlement instructions at their cycles
  // (sent, confirmed or returned; minted, transferred, confirmed, redeemed; reserves released)
  // instead of payout_sent. On for `generate`, the demo and the benches; tests that pin the
  // stream from before issue 11 turn it off.
  bool settlement = true;
};

class Generator {
 public:
  explicit Generator(const GeneratorOptions& options);
  ~Generator();
  // Fills `out` with the next event; false once `events` have been produced.
  bool next(payledger::v1::Envelope* out);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace payledger::tools
