// Settlement posting rules (issue 11, docs/settlement.md): policies, the batch rail's
// instructed -> sent -> confirmed / returned, reserves, deposit tokens and the token supply
// invariant. Expected balances by hand, with the arithmetic beside them.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "ledger/account.h"
#include "ledger/rules.h"
#include "ledger/rules_internal.h"
#include "test_util.h"

namespace payledger::testing {
namespace {

using ledger::Chart;
using ledger::Side;

int next_id = 0;

v1::Envelope event(const std::string& at, const std::string& body,
                   const std::string& merchant = "m1") {
  return json_event(fmt::format(R"({{"event_id":"s{}","merchant_id":"{}","occurred_at":"{}",{}}})",
                                next_id++, merchant, at, body));
}

v1::Envelope captured_gbp(const std::string& payment, const std::string& amount,
                          const std::string& at, const std::string& merchant = "m1") {
  return event(at,
               fmt::format(R"("card_captured":{{"payment_id":"{}",)"
                           R"("amount":{{"currency":"GBP","amount":"{}"}}}})",
                           payment, amount),
               merchant);
}

v1::Envelope authorised_gbp(const std::string& payment, const std::string& amount,
                            const std::string& at, const std::string& merchant = "m1") {
  return event(at,
               fmt::format(R"("card_authorised":{{"payment_id":"{}",)"
                           R"("amount":{{"currency":"GBP","amount":"{}"}},)"
                           R"("expires_at":"2026-12-31T00:00:00Z"}})",
                           payment, amount),
               merchant);
}

v1::Envelope policy(const std::string& rail, const std::string& extra = "",
                    const std::string& at = "2026-05-01T09:00:00Z",
                    const std::string& merchant = "m1") {
  return event(at,
               fmt::format(R"("merchant_settlement_policy_set":{{"currency":"GBP",)"
                           R"("rail":"SETTLEMENT_RAIL_{}","cutoff_local":"17:30",)"
                           R"("time_zone":"Europe/London","settlement_days":1{}}})",
                           rail, extra.empty() ? "" : "," + extra),
               merchant);
}

v1::Envelope instructed(const std::string& id, const std::string& amount, const std::string& at,
                        const std::string& rail = "BATCH", const std::string& extra = "",
                        const std::string& currency = "GBP", const std::string& merchant = "m1") {
  return event(at,
               fmt::format(R"("settlement_instructed":{{"instruction_id":"{}",)"
                           R"("amount":{{"currency":"{}","amount":"{}"}},)"
                           R"("rail":"SETTLEMENT_RAIL_{}","value_date":"2026-06-30T00:00:00Z"{}}})",
                           id, currency, amount, rail, extra.empty() ? "" : "," + extra),
               merchant);
}

v1::Envelope answer(const std::string& body, const std::string& id, const std::string& at,
                    const std::string& extra = "", const std::string& merchant = "m1") {
  return event(at,
               fmt::format(R"("{}":{{"instruction_id":"{}"{}}})", body, id,
                           extra.empty() ? "" : "," + extra),
               merchant);
}

v1::Envelope minted(const std::string& id, const std::string& amount, const std::string& at,
                    const std::string& token = "GBP.TDS", const std::string& merchant = "m1") {
  return event(at,
               fmt::format(R"("token_minted":{{"mint_id":"{}",)"
                           R"("amount":{{"currency":"{}","amount":"{}"}}}})",
                           id, token, amount),
               merchant);
}

v1::Envelope redeemed(const std::string& id, const std::string& amount, const std::string& at,
                      const std::string& merchant = "m1") {
  return event(at,
               fmt::format(R"("token_redeemed":{{"redemption_id":"{}",)"
                           R"("amount":{{"currency":"GBP.TDS","amount":"{}"}}}})",
                           id, amount),
               merchant);
}

ledger::AccountId account(const std::string& name) {
  return ledger::AccountId::parse(name).value();
}

// Posted balance on the debit side (assets, wallets) or the credit side (what is owed).
std::string debit(const MemoryLedger& l, const std::string& name, const std::string& ccy = "GBP") {
  return posted(l, account(name), ccy, Side::kDebit);
}
std::string credit(const MemoryLedger& l, const std::string& name, const std::string& ccy = "GBP") {
  return posted(l, account(name), ccy, Side::kCredit);
}

// m1 is owed GBP 1,000.00 (a captured card payment) and is paid by `rail` under T+1.
MemoryLedger merchant_owed_1000(const std::string& rail, const std::string& policy_extra = "") {
  MemoryLedger l;
  EXPECT_EQ(apply_code(l, authorised_gbp("p1", "1000.00", "2026-05-20T10:00:00Z")), "ok");
  EXPECT_EQ(apply_code(l, captured_gbp("p1", "1000.00", "2026-05-20T10:05:00Z")), "ok");
  EXPECT_EQ(apply_code(l, policy(rail, policy_extra)), "ok");
  EXPECT_EQ(credit(l, "merchant:m1:payable"), "1000.00");
  return l;
}

TEST(SettlementPolicy, IsKeptPerMerchantAndCurrency) {
  MemoryLedger l =
      merchant_owed_1000("BATCH", R"("minimum_payout":{"currency":"GBP","amount":"50.00"},)"
                                  R"("reserve_percent":"10","reserve_days":7)");
  const ledger::SettlementPolicy* p = l.find_settlement_policy("m1", "GBP");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->rail, ledger::Rail::kBatch);
  EXPECT_EQ(p->cutoff_minute, 17 * 60 + 30);  // "17:30"
  EXPECT_EQ(p->time_zone, "Europe/London");
  EXPECT_EQ(p->settlement_days, 1u);
  EXPECT_EQ(p->minimum_payout, 5000);  // 50.00 GBP in pence
  EXPECT_EQ(p->reserve_percent, "10");
  EXPECT_EQ(p->reserve_days, 7u);
  EXPECT_EQ(l.find_settlement_policy("m1", "EUR"), nullptr);
  EXPECT_EQ(l.find_settlement_policy("m2", "GBP"), nullptr);
}

TEST(SettlementPolicy, BadPoliciesAreRejectedWithTheirReason) {
  MemoryLedger l;
  auto with = [&](const std::string& currency, const std::string& fields) {
    return event("2026-05-01T09:00:00Z",
                 fmt::format(R"("merchant_settlement_policy_set":{{"currency":"{}",{}}})", currency,
                             fields));
  };
  const std::string ok = R"("rail":"SETTLEMENT_RAIL_BATCH","cutoff_local":"17:30",)"
                         R"("time_zone":"Europe/London","settlement_days":1)";
  EXPECT_EQ(apply_code(l, with("GBP", ok)), "ok");
  EXPECT_EQ(apply_code(l, with("GBP", R"("cutoff_local":"17:30","time_zone":"Europe/London")")),
            "missing_field");  // no rail
  EXPECT_EQ(apply_reason(l, with("GBP", R"("rail":"SETTLEMENT_RAIL_BATCH","cutoff_local":"24:00",)"
                                        R"("time_zone":"Europe/London")")),
            "merchant_settlement_policy_set.cutoff_local '24:00' is not a time of day HH:MM "
            "(00:00-23:59)");
  EXPECT_EQ(apply_code(l, with("GBP", R"("rail":"SETTLEMENT_RAIL_BATCH","cutoff_local":"17:30",)"
                                      R"("time_zone":"Mars/Olympus")")),
            "malformed");
  EXPECT_EQ(apply_code(l, with("GBP", R"("rail":"SETTLEMENT_RAIL_BATCH","cutoff_local":"17:30",)"
                                      R"("time_zone":"Europe/London","settlement_days":11)")),
            "malformed");                                                                 // T+0..10
  EXPECT_EQ(apply_code(l, with("GBP", ok + R"(,"reserve_percent":"10")")), "malformed");  // no days
  EXPECT_EQ(apply_code(l, with("GBP", ok + R"(,"reserve_days":7)")), "malformed");  // no percent
  EXPECT_EQ(apply_code(l, with("GBP", ok + R"(,"reserve_percent":"101","reserve_days":7)")),
            "bad_amount");
  EXPECT_EQ(apply_code(l, with("GBP", ok + R"(,"minimum_payout":{"currency":"EUR","amount":"1"})")),
            "currency_mismatch");
  EXPECT_EQ(apply_code(l, with("GBP.TDS", ok)), "unknown_asset");  // pays a currency, not a token
  EXPECT_EQ(apply_code(l, with("CHF", ok)), "unknown_asset");      // no calendar, no token
  EXPECT_EQ(apply_code(l, with("GBP", ok + R"(,"sweep_minutes":1441)")), "malformed");
}

TEST(SettlementBatch, InstructedSentConfirmedMovesThePayableOut) {
  MemoryLedger l = merchant_owed_1000("BATCH");
  // 1,000.00 payable: 900.00 paid, 100.00 held as reserve until 2026-05-29.
  EXPECT_EQ(apply_code(l, instructed("stl-1", "900.00", "2026-05-22T16:30:00Z", "BATCH",
                                     R"("reserve":{"currency":"GBP","amount":"100.00"},)"
                                     R"("reserve_release_at":"2026-05-29T16:30:00Z")")),
            "ok");
  EXPECT_EQ(credit(l, "merchant:m1:payable"), "0.00");  // 1,000.00 - 900.00 - 100.00
  EXPECT_EQ(credit(l, "merchant:m1:settling"), "900.00");
  EXPECT_EQ(credit(l, "merchant:m1:reserve"), "100.00");
  // Nothing left to pay: 0.01 more is refused.
  EXPECT_EQ(apply_code(l, instructed("stl-2", "0.01", "2026-05-22T16:31:00Z")),
            "insufficient_funds");

  EXPECT_EQ(apply_code(l, answer("settlement_sent", "stl-1", "2026-05-22T17:00:00Z")), "ok");
  EXPECT_EQ(debit(l, "psp:settlement:in-transit"), "900.00");
  EXPECT_EQ(debit(l, "psp:bank:operating"), "-900.00");  // the payout left the bank
  EXPECT_EQ(l.find_instruction("m1", "stl-1")->status, ledger::InstructionStatus::kSent);

  EXPECT_EQ(apply_code(l, answer("settlement_confirmed", "stl-1", "2026-05-26T08:00:00Z")), "ok");
  EXPECT_EQ(credit(l, "merchant:m1:settling"), "0.00");
  EXPECT_EQ(debit(l, "psp:settlement:in-transit"), "0.00");
  EXPECT_EQ(l.find_instruction("m1", "stl-1")->status, ledger::InstructionStatus::kConfirmed);
  EXPECT_EQ(apply_reason(l, answer("settlement_confirmed", "stl-1", "2026-05-26T08:01:00Z")),
            "instruction stl-1 is confirmed: it cannot be confirmed (a duplicate confirmation)");
  EXPECT_EQ(apply_code(l, answer("settlement_returned", "stl-1", "2026-05-26T09:00:00Z",
                                 R"("reason":"AC04")")),
            "illegal_transition");  // confirmed money does not come back by a return
  EXPECT_EQ(apply_code(l, answer("settlement_confirmed", "stl-9", "2026-05-26T08:00:00Z")),
            "unknown_instruction");
}

TEST(SettlementBatch, ReserveIsHeldUntilItsDayThenPayableAgain) {
  MemoryLedger l = merchant_owed_1000("BATCH", R"("reserve_percent":"10","reserve_days":7)");
  ASSERT_EQ(apply_code(l, instructed("stl-1", "900.00", "2026-05-22T16:30:00Z", "BATCH",
                                     R"("reserve":{"currency":"GBP","amount":"100.00"},)"
                                     R"("reserve_release_at":"2026-05-29T16:30:00Z")")),
            "ok");
  // A second before its day: held.
  EXPECT_EQ(apply_code(l, answer("settlement_reserve_released", "stl-1", "2026-05-29T16:29:59Z")),
            "not_yet_expired");
  EXPECT_EQ(credit(l, "merchant:m1:reserve"), "100.00");
  EXPECT_EQ(apply_code(l, answer("settlement_reserve_released", "stl-1", "2026-05-29T16:30:00Z")),
            "ok");
  EXPECT_EQ(credit(l, "merchant:m1:reserve"), "0.00");
  EXPECT_EQ(credit(l, "merchant:m1:payable"), "100.00");  // 0.00 + the 100.00 released
  EXPECT_EQ(apply_code(l, answer("settlement_reserve_released", "stl-1", "2026-05-30T00:00:00Z")),
            "illegal_transition");  // once
  // An instruction without a reserve has none to release.
  ASSERT_EQ(apply_code(l, instructed("stl-2", "100.00", "2026-05-29T17:00:00Z")), "ok");
  EXPECT_EQ(apply_code(l, answer("settlement_reserve_released", "stl-2", "2026-06-30T00:00:00Z")),
            "illegal_transition");
}

TEST(SettlementBatch, ReturnedPayoutIsPayableAgainWithItsReason) {
  MemoryLedger l = merchant_owed_1000("BATCH");
  ASSERT_EQ(apply_code(l, instructed("stl-1", "600.00", "2026-05-22T16:30:00Z")), "ok");
  ASSERT_EQ(apply_code(l, answer("settlement_sent", "stl-1", "2026-05-22T17:00:00Z")), "ok");
  EXPECT_EQ(apply_code(l, answer("settlement_returned", "stl-1", "2026-05-27T10:00:00Z")),
            "missing_field");  // a return says why
  ASSERT_EQ(apply_code(l, answer("settlement_returned", "stl-1", "2026-05-27T10:00:00Z",
                                 R"("reason":"AC04 account closed")")),
            "ok");
  EXPECT_EQ(credit(l, "merchant:m1:payable"), "1000.00");  // 1,000.00 - 600.00 + 600.00
  EXPECT_EQ(credit(l, "merchant:m1:settling"), "0.00");
  EXPECT_EQ(debit(l, "psp:settlement:in-transit"), "0.00");
  EXPECT_EQ(debit(l, "psp:bank:operating"), "0.00");  // -600.00 sent, +600.00 back
  const ledger::SettlementInstruction* in = l.find_instruction("m1", "stl-1");
  EXPECT_EQ(in->status, ledger::InstructionStatus::kReturned);
  EXPECT_EQ(in->return_reason, "AC04 account closed");
  // Refused before it left: payable again, the bank untouched.
  ASSERT_EQ(apply_code(l, instructed("stl-2", "250.00", "2026-05-27T16:30:00Z")), "ok");
  ASSERT_EQ(apply_code(l, answer("settlement_returned", "stl-2", "2026-05-27T16:40:00Z",
                                 R"("reason":"file rejected")")),
            "ok");
  EXPECT_EQ(credit(l, "merchant:m1:payable"), "1000.00");  // 1,000.00 - 250.00 + 250.00
  EXPECT_EQ(debit(l, "psp:bank:operating"), "0.00");
  // Returned is final.
  EXPECT_EQ(apply_code(l, answer("settlement_sent", "stl-2", "2026-05-27T17:00:00Z")),
            "illegal_transition");
}

TEST(SettlementBatch, InstructionsAreCheckedAgainstPolicyBalanceAndIds) {
  MemoryLedger l = merchant_owed_1000("BATCH");
  ASSERT_EQ(apply_code(l, authorised_gbp("p9", "5.00", "2026-05-20T10:00:00Z", "m2")), "ok");
  ASSERT_EQ(apply_code(l, captured_gbp("p9", "5.00", "2026-05-20T10:01:00Z", "m2")), "ok");
  // m1 never had EUR.
  EXPECT_EQ(apply_reason(l, instructed("e-1", "10.00", "2026-05-22T16:30:00Z", "BATCH", "", "EUR")),
            "merchant m1 has no EUR balance to settle");
  // m2 has GBP but no policy.
  EXPECT_EQ(
      apply_code(l, instructed("x", "5.00", "2026-05-22T16:30:00Z", "BATCH", "", "GBP", "m2")),
      "no_settlement_policy");
  // m1 is paid by batch.
  EXPECT_EQ(apply_reason(l, instructed("t-1", "10.00", "2026-05-22T16:30:00Z", "TOKENISED")),
            "merchant m1 is paid in GBP by the batch rail, not tokenised");
  EXPECT_EQ(apply_code(l, instructed("stl 1", "10.00", "2026-05-22T16:30:00Z")), "malformed");
  EXPECT_EQ(apply_code(l, instructed("stl-1", "10.00", "2026-05-22T16:30:00Z", "BATCH",
                                     R"("reserve":{"currency":"GBP","amount":"1.00"})")),
            "missing_field");  // a reserve needs its release time
  ASSERT_EQ(apply_code(l, instructed("stl-1", "10.00", "2026-05-22T16:30:00Z")), "ok");
  EXPECT_EQ(apply_code(l, instructed("stl-1", "10.00", "2026-05-22T16:31:00Z")),
            "duplicate_business_id");
  EXPECT_EQ(credit(l, "merchant:m1:payable"), "990.00");  // 1,000.00 - 10.00 once
  // A tokenised answer to a batch instruction.
  EXPECT_EQ(apply_code(l, answer("token_transferred", "stl-1", "2026-05-22T16:32:00Z")),
            "illegal_transition");
}

TEST(SettlementTokenised, MintTransferConfirmRedeem) {
  MemoryLedger l = merchant_owed_1000("TOKENISED");
  ASSERT_EQ(apply_code(l, instructed("stl-t1", "300.00", "2026-05-22T16:15:00Z", "TOKENISED")),
            "ok");
  EXPECT_EQ(apply_code(l, answer("settlement_sent", "stl-t1", "2026-05-22T16:15:01Z")),
            "illegal_transition");  // tokens are transferred, not sent
  EXPECT_EQ(apply_reason(l, answer("token_transferred", "stl-t1", "2026-05-22T16:15:02Z")),
            "the PSP's token wallet holds 0.00 GBP.TDS, the transfer needs 300.00: mint first");
  ASSERT_EQ(apply_code(l, minted("stl-t1", "300.00", "2026-05-22T16:15:03Z")), "ok");
  EXPECT_EQ(debit(l, "psp:token:backing"), "300.00");             // deposits set aside
  EXPECT_EQ(debit(l, "psp:bank:operating"), "-300.00");           // out of the operating account
  EXPECT_EQ(credit(l, "psp:token:issued", "GBP.TDS"), "300.00");  // the supply
  EXPECT_EQ(debit(l, "psp:token:wallet", "GBP.TDS"), "300.00");
  EXPECT_EQ(apply_code(l, minted("stl-t1", "1.00", "2026-05-22T16:15:04Z")),
            "duplicate_business_id");

  ASSERT_EQ(apply_code(l, answer("token_transferred", "stl-t1", "2026-05-22T16:15:05Z")), "ok");
  EXPECT_EQ(debit(l, "merchant:m1:token-wallet", "GBP.TDS"), "300.00");
  EXPECT_EQ(debit(l, "psp:token:wallet", "GBP.TDS"), "0.00");
  EXPECT_EQ(credit(l, "merchant:m1:settling"), "0.00");  // paid: the tokens are the merchant's
  EXPECT_EQ(credit(l, "psp:token:clearing"), "300.00");
  EXPECT_EQ(l.find_instruction("m1", "stl-t1")->status, ledger::InstructionStatus::kTransferred);
  EXPECT_EQ(apply_code(l, answer("token_transferred", "stl-t1", "2026-05-22T16:15:06Z")),
            "illegal_transition");  // once
  ASSERT_EQ(apply_code(l, answer("settlement_confirmed", "stl-t1", "2026-05-22T16:16:00Z")), "ok");
  EXPECT_EQ(l.find_instruction("m1", "stl-t1")->status, ledger::InstructionStatus::kConfirmed);

  EXPECT_EQ(apply_code(l, redeemed("r1", "300.01", "2026-05-22T18:00:00Z")), "insufficient_funds");
  ASSERT_EQ(apply_code(l, redeemed("r1", "120.00", "2026-05-22T18:00:00Z")), "ok");
  EXPECT_EQ(debit(l, "merchant:m1:token-wallet", "GBP.TDS"), "180.00");  // 300.00 - 120.00
  EXPECT_EQ(credit(l, "psp:token:issued", "GBP.TDS"), "180.00");
  EXPECT_EQ(debit(l, "psp:token:backing"), "180.00");  // = the supply
  EXPECT_EQ(credit(l, "psp:token:clearing"), "180.00");
  EXPECT_EQ(apply_code(l, redeemed("r1", "1.00", "2026-05-22T18:01:00Z")), "duplicate_business_id");
  ASSERT_EQ(apply_code(l, redeemed("r2", "180.00", "2026-05-22T18:02:00Z")), "ok");
  // Everything token-side is back to zero; the payout is out of the payable and the bank.
  EXPECT_EQ(credit(l, "psp:token:issued", "GBP.TDS"), "0.00");
  EXPECT_EQ(debit(l, "psp:token:backing"), "0.00");
  EXPECT_EQ(credit(l, "psp:token:clearing"), "0.00");
  EXPECT_EQ(credit(l, "merchant:m1:payable"), "700.00");  // 1,000.00 - 300.00
  EXPECT_EQ(debit(l, "psp:bank:operating"), "-300.00");

  EXPECT_EQ(apply_code(l, minted("m-x", "5.00", "2026-05-22T18:03:00Z", "GBP")),
            "currency_mismatch");
}

// A mint naming its instruction is checked against it: a rejected (unknown) instruction, the
// wrong amount or an instruction already paid refuse the mint, so no token is stranded.
TEST(SettlementTokenised, AMintForAnInstructionMatchesIt) {
  MemoryLedger l = merchant_owed_1000("TOKENISED");
  auto mint_for = [&](const std::string& id, const std::string& instruction,
                      const std::string& amount, const std::string& at) {
    return event(at, fmt::format(R"("token_minted":{{"mint_id":"{}","instruction_id":"{}",)"
                                 R"("amount":{{"currency":"GBP.TDS","amount":"{}"}}}})",
                                 id, instruction, amount));
  };
  EXPECT_EQ(apply_code(l, mint_for("m0", "stl-t1", "300.00", "2026-05-22T16:15:00Z")),
            "unknown_instruction");  // its instruction was never booked
  ASSERT_EQ(apply_code(l, instructed("stl-t1", "300.00", "2026-05-22T16:15:00Z", "TOKENISED")),
            "ok");
  EXPECT_EQ(apply_reason(l, mint_for("m1", "stl-t1", "299.99", "2026-05-22T16:15:01Z")),
            "token_minted.amount 299.99 GBP.TDS is not instruction stl-t1's 300.00 GBP");
  ASSERT_EQ(apply_code(l, mint_for("m2", "stl-t1", "300.00", "2026-05-22T16:15:02Z")), "ok");
  EXPECT_EQ(apply_reason(l, mint_for("m2b", "stl-t1", "300.00", "2026-05-22T16:15:02Z")),
            "instruction stl-t1 was minted for already");  // one mint per instruction
  ASSERT_EQ(apply_code(l, answer("token_transferred", "stl-t1", "2026-05-22T16:15:03Z")), "ok");
  EXPECT_EQ(apply_code(l, mint_for("m3", "stl-t1", "300.00", "2026-05-22T16:15:04Z")),
            "illegal_transition");                                // already transferred
  EXPECT_EQ(credit(l, "psp:token:issued", "GBP.TDS"), "300.00");  // one mint only
  EXPECT_EQ(apply_code(l, minted("bad id", "1.00", "2026-05-22T16:15:05Z")), "malformed");
}

TEST(SettlementBatch, AReturnReasonIsShortText) {
  MemoryLedger l = merchant_owed_1000("BATCH");
  ASSERT_EQ(apply_code(l, instructed("stl-1", "10.00", "2026-05-22T16:30:00Z")), "ok");
  EXPECT_EQ(apply_code(l, answer("settlement_returned", "stl-1", "2026-05-23T10:00:00Z",
                                 R"("reason":"AC04\nclosed")")),
            "malformed");
  EXPECT_EQ(apply_code(l, answer("settlement_returned", "stl-1", "2026-05-23T10:00:00Z",
                                 fmt::format(R"("reason":"{}")", std::string(257, 'x')))),
            "malformed");
  EXPECT_EQ(apply_code(l, answer("settlement_returned", "stl-1", "2026-05-23T10:00:00Z",
                                 fmt::format(R"("reason":"{}")", std::string(256, 'x')))),
            "ok");
}

// A retried redemption is a duplicate even when the wallet no longer holds its amount.
TEST(SettlementTokenised, ARetriedRedemptionIsADuplicateNotShortOfFunds) {
  MemoryLedger l = merchant_owed_1000("TOKENISED");
  ASSERT_EQ(apply_code(l, instructed("stl-t1", "100.00", "2026-05-22T16:15:00Z", "TOKENISED")),
            "ok");
  ASSERT_EQ(apply_code(l, minted("k1", "100.00", "2026-05-22T16:15:01Z")), "ok");
  ASSERT_EQ(apply_code(l, answer("token_transferred", "stl-t1", "2026-05-22T16:15:02Z")), "ok");
  ASSERT_EQ(apply_code(l, redeemed("r1", "100.00", "2026-05-22T18:00:00Z")), "ok");
  EXPECT_EQ(apply_code(l, redeemed("r1", "100.00", "2026-05-22T18:00:01Z")),
            "duplicate_business_id");
}

// A line on the supply with nothing set aside breaks the invariant: the fold stops (a bug in
// the rules, never bad input). Proves the check is live in release builds.
TEST(SettlementTokenisedDeathTest, SupplyWithoutBackingStopsTheFold) {
  MemoryLedger l;
  ledger::JournalEntry entry;
  const ledger::Asset token = ledger::Asset::find("GBP.TDS").value();
  entry.lines.push_back(
      ledger::Line{Chart::token_wallet(), token, Side::kDebit, ledger::Bucket::kPosted, 100});
  entry.lines.push_back(
      ledger::Line{Chart::token_issued(), token, Side::kCredit, ledger::Bucket::kPosted, 100});
  EXPECT_DEATH(ledger::internal::check_token_supply(l, entry),
               "tokens in circulation \\(1.00 GBP.TDS\\) equal the deposits set aside for them "
               "\\(0.00 GBP\\)");
}

// Random sequences of payments, instructions, mints, transfers and redemptions over two
// merchants on the tokenised rail: after every event (applied or rejected) the supply of each
// token equals the deposits set aside for it, and every asset's lines sum to zero.
TEST(SettlementTokenised, SupplyEqualsBackingAfterRandomSequences) {
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    std::mt19937 rng(seed);
    MemoryLedger l;
    const std::string merchants[] = {"m1", "m2"};
    for (const auto& m : merchants) {
      ASSERT_EQ(apply_code(l, policy("TOKENISED", "", "2026-05-01T00:00:00Z", m)), "ok");
    }
    int applied[5] = {};
    std::map<std::string, std::vector<std::string>> instructions;  // per merchant
    for (int step = 0; step < 300; ++step) {
      const std::string& m = merchants[rng() % 2];
      const std::string at =
          fmt::format("2026-05-02T{:02}:{:02}:{:02}Z", step / 60 % 24, step % 60, seed % 60);
      const std::string amount = fmt::format("{}.{:02}", rng() % 500, rng() % 100);
      const std::string id = fmt::format("{}-{}", seed, step);
      int kind = static_cast<int>(rng() % 5);
      v1::Envelope e;
      switch (kind) {
        case 0:
          ASSERT_EQ(apply_code(l, authorised_gbp(id, "999.00", at, m)), "ok");
          e = captured_gbp(id, amount == "0.00" ? "1.00" : amount, at, m);
          break;
        case 1:
          e = instructed(id, amount, at, "TOKENISED", "", "GBP", m);
          instructions[m].push_back(id);
          break;
        case 2:
          e = minted(id, amount, at, "GBP.TDS", m);
          break;
        case 3: {
          // Transfer one of this merchant's instructions (some rejected, some not minted for).
          const auto& ids = instructions[m];
          e = answer("token_transferred", ids.empty() ? "none" : ids[rng() % ids.size()], at, "",
                     m);
          break;
        }
        default:
          e = redeemed(id, amount, at, m);
          break;
      }
      if (l.apply(e).ok()) ++applied[kind];
      const ledger::Asset token = ledger::Asset::find("GBP.TDS").value();
      const ledger::Asset gbp = ledger::Asset::find("GBP").value();
      ASSERT_EQ(l.balance(Chart::token_issued(), token).posted_net(Side::kCredit),
                l.balance(Chart::token_backing(), gbp).posted_net(Side::kDebit))
          << "seed " << seed << " step " << step;
      for (const auto& asset : {token, gbp}) {
        ledger::Int128 sum = 0;
        for (const auto& [k, b] : l.balances) {
          if (k.ends_with(std::string(1, '\0') + asset.code())) {
            sum += b.posted_debit - b.posted_credit;
          }
        }
        ASSERT_EQ(sum, 0) << asset.code() << " seed " << seed << " step " << step;
      }
    }
    // Each kind happened, so the invariant was checked across real mints and redemptions.
    for (int kind = 0; kind < 5; ++kind) EXPECT_GT(applied[kind], 0) << "seed " << seed;
  }
}

}  // namespace
}  // namespace payledger::testing
