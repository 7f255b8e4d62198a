#include "test_util.h"

#include <stdlib.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "events/codec.h"
#include "events/embedded_log.h"
#include "projections/fold.h"
#include "projections/queries.h"

namespace payledger::testing {
namespace {

std::string key(std::string_view a, std::string_view b) {
  std::string k(a);
  k.push_back('\0');
  k.append(b);
  return k;
}

void money(v1::Money* m, const std::string& amount, const std::string& currency) {
  m->set_amount(amount);
  m->set_currency(currency);
}

}  // namespace

v1::Envelope envelope(const std::string& event_id, const std::string& merchant) {
  v1::Envelope e;
  e.set_event_id(event_id);
  e.set_merchant_id(merchant);
  e.set_schema_version(events::kSchemaVersion);
  e.mutable_occurred_at()->set_seconds(1767225600);
  return e;
}

v1::Envelope card_authorised(const std::string& event_id, const std::string& payment,
                             const std::string& amount, const std::string& currency) {
  v1::Envelope e = envelope(event_id);
  e.mutable_card_authorised()->set_payment_id(payment);
  money(e.mutable_card_authorised()->mutable_amount(), amount, currency);
  return e;
}

v1::Envelope card_captured(const std::string& event_id, const std::string& payment,
                           const std::string& amount, const std::string& currency) {
  v1::Envelope e = envelope(event_id);
  e.mutable_card_captured()->set_payment_id(payment);
  money(e.mutable_card_captured()->mutable_amount(), amount, currency);
  return e;
}

v1::Envelope card_voided(const std::string& event_id, const std::string& payment) {
  v1::Envelope e = envelope(event_id);
  e.mutable_card_voided()->set_payment_id(payment);
  return e;
}

v1::Envelope card_refunded(const std::string& event_id, const std::string& payment,
                           const std::string& amount, const std::string& currency) {
  v1::Envelope e = envelope(event_id);
  e.mutable_card_refunded()->set_payment_id(payment);
  money(e.mutable_card_refunded()->mutable_amount(), amount, currency);
  return e;
}

v1::Envelope payout(const std::string& event_id, const std::string& amount,
                    const std::string& currency) {
  v1::Envelope e = envelope(event_id);
  e.mutable_payout_sent()->set_payout_id("po-" + event_id);
  money(e.mutable_payout_sent()->mutable_amount(), amount, currency);
  return e;
}

v1::Envelope json_event(const std::string& json) {
  v1::Envelope e;
  Status s = events::from_json(json, &e);
  EXPECT_TRUE(s.ok()) << json << ": " << (s.ok() ? "" : s.error().reason);
  if (e.schema_version() == 0) e.set_schema_version(events::kSchemaVersion);
  if (e.merchant_id().empty() && !events::is_reference_data(e)) e.set_merchant_id("m1");
  if (!e.has_occurred_at()) e.mutable_occurred_at()->set_seconds(1767225600);
  return e;
}

const ledger::PaymentState* MemoryLedger::find_payment(std::string_view merchant,
                                                       std::string_view payment) const {
  auto it = payments.find(key(merchant, payment));
  return it == payments.end() ? nullptr : &it->second;
}

ledger::Balance MemoryLedger::balance(const ledger::AccountId& account,
                                      ledger::Asset asset) const {
  auto it = balances.find(key(account.name(), asset.code()));
  return it == balances.end() ? ledger::Balance{} : it->second;
}

const ledger::CheckoutState* MemoryLedger::find_checkout(std::string_view merchant,
                                                         std::string_view checkout) const {
  auto it = checkouts.find(key(merchant, checkout));
  return it == checkouts.end() ? nullptr : &it->second;
}

const ledger::Contract* MemoryLedger::find_contract(std::string_view merchant,
                                                    std::string_view method) const {
  auto it = contracts.find(key(merchant, method));
  return it == contracts.end() ? nullptr : &it->second;
}

bool MemoryLedger::merchant_business_id_seen(std::string_view merchant,
                                             std::string_view id) const {
  return business_ids.count(key(merchant, id)) != 0;
}

const ledger::FxQuote* MemoryLedger::find_quote(std::string_view merchant,
                                               std::string_view quote) const {
  auto it = quotes.find(key(merchant, quote));
  return it == quotes.end() ? nullptr : &it->second;
}

const ledger::FxRate* MemoryLedger::latest_rate(std::string_view pair, int64_t at_s) const {
  auto it = rates.upper_bound({std::string(pair), at_s});
  if (it == rates.begin()) return nullptr;
  --it;
  return it->first.first == pair ? &it->second : nullptr;
}

const ledger::FxForward* MemoryLedger::find_forward(std::string_view forward_id) const {
  auto it = forwards.find(std::string(forward_id));
  return it == forwards.end() ? nullptr : &it->second;
}

const ledger::SettlementPolicy* MemoryLedger::find_settlement_policy(
    std::string_view merchant, std::string_view currency) const {
  auto it = policies.find(key(merchant, currency));
  return it == policies.end() ? nullptr : &it->second;
}

const ledger::SettlementInstruction* MemoryLedger::find_instruction(std::string_view merchant,
                                                                    std::string_view id) const {
  auto it = instructions.find(key(merchant, id));
  return it == instructions.end() ? nullptr : &it->second;
}

Status MemoryLedger::apply(const v1::Envelope& event) {
  if (Status s = events::validate(event); !s) return s;
  auto fx = ledger::apply_event(event, *this);
  if (!fx) return fx.error();
  for (const auto& l : fx->entry.lines) {
    if (Status s = balances[key(l.account.name(), l.asset.code())].add(l.side, l.bucket,
                                                                       l.amount_minor);
        !s) {
      return s;
    }
  }
  if (fx->payment) {
    payments.insert_or_assign(key(event.merchant_id(), fx->payment->payment_id),
                              fx->payment->state);
  }
  if (fx->contract) {
    contracts.insert_or_assign(key(event.merchant_id(), fx->contract->method),
                               fx->contract->contract);
  }
  if (fx->checkout) {
    checkouts.insert_or_assign(key(event.merchant_id(), fx->checkout->checkout_id),
                               fx->checkout->state);
  }
  if (fx->merchant_business_id) {
    business_ids.insert(key(event.merchant_id(), *fx->merchant_business_id));
  }
  if (fx->rate) rates.insert_or_assign({fx->rate->pair, fx->rate->as_of_s}, *fx->rate);
  if (fx->quote) quotes.insert_or_assign(key(event.merchant_id(), fx->quote->quote_id), fx->quote->quote);
  if (fx->forward) forwards.insert_or_assign(fx->forward->forward_id, fx->forward->forward);
  if (fx->revaluation) revaluations.push_back(*fx->revaluation);
  if (fx->policy) {
    policies.insert_or_assign(key(event.merchant_id(), fx->policy->currency), fx->policy->policy);
  }
  if (fx->instruction) {
    instructions.insert_or_assign(key(event.merchant_id(), fx->instruction->instruction_id),
                                  fx->instruction->instruction);
  }
  return Status::Ok();
}

std::string apply_code(MemoryLedger& l, const v1::Envelope& e) {
  Status s = l.apply(e);
  return s.ok() ? "ok" : std::string(code_name(s.error().code));
}

std::string apply_reason(MemoryLedger& l, const v1::Envelope& e) {
  Status s = l.apply(e);
  return s.ok() ? "ok" : s.error().reason;
}

std::string embedded_digest(const std::vector<events::AppendRecord>& records,
                            uint32_t partitions) {
  TempDir dir;
  events::EmbeddedLogOptions o;
  o.partitions = partitions;
  o.sync = false;
  auto log = events::EmbeddedLog::open(dir.path() + "/log", o).value();
  EXPECT_TRUE(log->append(records).ok());
  auto store = projections::Store::open(dir.path() + "/projections", false).value();
  projections::FoldOptions fo;
  fo.sync = false;
  EXPECT_TRUE(projections::fold(*store, *log, fo).ok());
  return projections::projection_digest(*store).value();
}

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "payledger-test-XXXXXX").string();
  char* made = ::mkdtemp(tmpl.data());
  if (made == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = made;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string posted(const MemoryLedger& l, const ledger::AccountId& account,
                   const std::string& currency, ledger::Side normal) {
  ledger::Asset asset = ledger::Asset::find(currency).value();
  return ledger::format_scaled(l.balance(account, asset).posted_net(normal), asset.exponent());
}

}  // namespace payledger::testing
