#include "ledger/methods.h"

#include "events/schema/check.h"

namespace payledger::ledger {
namespace {

constexpr bool indexed_by_method() {
  for (size_t i = 0; i < kMethodFacts.size(); ++i) {
    if (static_cast<size_t>(kMethodFacts[i].method) != i) return false;
  }
  return true;
}
static_assert(indexed_by_method(), "kMethodFacts[i] is the facts of Method value i");

}  // namespace

const MethodFacts& method_facts(Method method) {
  auto i = static_cast<size_t>(method);
  PAYLEDGER_CHECK(i < kMethodFacts.size(), "a Method value inside the enum");
  return kMethodFacts[i];
}

std::string_view method_name(Method method) {
  auto i = static_cast<size_t>(method);
  return i < kMethodFacts.size() ? kMethodFacts[i].name : "unknown";
}

const MethodFacts* find_method(std::string_view name) {
  for (const MethodFacts& facts : kMethodFacts) {
    if (facts.name == name) return &facts;
  }
  return nullptr;
}

std::optional<Method> method_of(v1::BankRail rail) {
  switch (rail) {
    case v1::BANK_RAIL_PIX: return Method::kPix;
    case v1::BANK_RAIL_UPI: return Method::kUpi;
    default: return std::nullopt;
  }
}

std::optional<Method> method_of(v1::VoucherMethod voucher) {
  switch (voucher) {
    case v1::VOUCHER_METHOD_KONBINI: return Method::kKonbini;
    case v1::VOUCHER_METHOD_BOLETO: return Method::kBoleto;
    case v1::VOUCHER_METHOD_OXXO: return Method::kOxxo;
    default: return std::nullopt;
  }
}

std::optional<Method> method_of(v1::Wallet wallet) {
  switch (wallet) {
    case v1::WALLET_GCASH: return Method::kGcash;
    case v1::WALLET_DANA: return Method::kDana;
    case v1::WALLET_TRUEMONEY: return Method::kTrueMoney;
    default: return std::nullopt;
  }
}

}  // namespace payledger::ledger
