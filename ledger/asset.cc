#include "ledger/asset.h"

#include <deque>
#include <unordered_map>

#include <fmt/format.h>

namespace payledger::ledger {
namespace {

struct IsoRow {
  const char* code;
  int exponent;
};

// ISO 4217 active codes with their minor-unit exponents. Codes whose minor unit is "N.A."
// (XAU, XDR, ...) are left out: they cannot be posted in minor units.
constexpr IsoRow kIso4217[] = {
    {"AED", 2}, {"AFN", 2}, {"ALL", 2}, {"AMD", 2}, {"AOA", 2}, {"ARS", 2}, {"AUD", 2},
    {"AWG", 2}, {"AZN", 2}, {"BAM", 2}, {"BBD", 2}, {"BDT", 2}, {"BGN", 2}, {"BHD", 3},
    {"BIF", 0}, {"BMD", 2}, {"BND", 2}, {"BOB", 2}, {"BRL", 2}, {"BSD", 2}, {"BTN", 2},
    {"BWP", 2}, {"BYN", 2}, {"BZD", 2}, {"CAD", 2}, {"CDF", 2}, {"CHF", 2}, {"CLF", 4},
    {"CLP", 0}, {"CNY", 2}, {"COP", 2}, {"CRC", 2}, {"CUP", 2}, {"CVE", 2}, {"CZK", 2},
    {"DJF", 0}, {"DKK", 2}, {"DOP", 2}, {"DZD", 2}, {"EGP", 2}, {"ERN", 2}, {"ETB", 2},
    {"EUR", 2}, {"FJD", 2}, {"FKP", 2}, {"GBP", 2}, {"GEL", 2}, {"GHS", 2}, {"GIP", 2},
    {"GMD", 2}, {"GNF", 0}, {"GTQ", 2}, {"GYD", 2}, {"HKD", 2}, {"HNL", 2}, {"HTG", 2},
    {"HUF", 2}, {"IDR", 2}, {"ILS", 2}, {"INR", 2}, {"IQD", 3}, {"IRR", 2}, {"ISK", 0},
    {"JMD", 2}, {"JOD", 3}, {"JPY", 0}, {"KES", 2}, {"KGS", 2}, {"KHR", 2}, {"KMF", 0},
    {"KRW", 0}, {"KWD", 3}, {"KYD", 2}, {"KZT", 2}, {"LAK", 2}, {"LBP", 2}, {"LKR", 2},
    {"LRD", 2}, {"LSL", 2}, {"LYD", 3}, {"MAD", 2}, {"MDL", 2}, {"MGA", 2}, {"MKD", 2},
    {"MMK", 2}, {"MNT", 2}, {"MOP", 2}, {"MRU", 2}, {"MUR", 2}, {"MVR", 2}, {"MWK", 2},
    {"MXN", 2}, {"MYR", 2}, {"MZN", 2}, {"NAD", 2}, {"NGN", 2}, {"NIO", 2}, {"NOK", 2},
    {"NPR", 2}, {"NZD", 2}, {"OMR", 3}, {"PAB", 2}, {"PEN", 2}, {"PGK", 2}, {"PHP", 2},
    {"PKR", 2}, {"PLN", 2}, {"PYG", 0}, {"QAR", 2}, {"RON", 2}, {"RSD", 2}, {"RUB", 2},
    {"RWF", 0}, {"SAR", 2}, {"SBD", 2}, {"SCR", 2}, {"SDG", 2}, {"SEK", 2}, {"SGD", 2},
    {"SHP", 2}, {"SLE", 2}, {"SOS", 2}, {"SRD", 2}, {"SSP", 2}, {"STN", 2}, {"SVC", 2},
    {"SYP", 2}, {"SZL", 2}, {"THB", 2}, {"TJS", 2}, {"TMT", 2}, {"TND", 3}, {"TOP", 2},
    {"TRY", 2}, {"TTD", 2}, {"TWD", 2}, {"TZS", 2}, {"UAH", 2}, {"UGX", 0}, {"USD", 2},
    {"UYI", 0}, {"UYU", 2}, {"UYW", 4}, {"UZS", 2}, {"VES", 2}, {"VND", 0}, {"VUV", 0},
    {"WST", 2}, {"XAF", 0}, {"XCD", 2}, {"XOF", 0}, {"XPF", 0}, {"YER", 2}, {"ZAR", 2},
    {"ZMW", 2}, {"ZWL", 2},
};

// Token assets known out of the box: tokenised bank deposits used by the 24/7 rail, one
// "<CCY>.TDS" per currency with a settlement calendar (and HKD), each with its currency's
// exponent (ledger/settlement.h deposit_token), and JPMD.
constexpr IsoRow kBuiltinTokens[] = {
    {"USD.TDS", 2}, {"EUR.TDS", 2}, {"GBP.TDS", 2}, {"JPY.TDS", 0}, {"BRL.TDS", 2},
    {"INR.TDS", 2}, {"MXN.TDS", 2}, {"HKD.TDS", 2}, {"JPMD", 2}};

class Registry {
 public:
  Registry() {
    for (const auto& row : kIso4217) add(row.code, row.exponent, AssetKind::kFiat);
    for (const auto& row : kBuiltinTokens) add(row.code, row.exponent, AssetKind::kToken);
  }
  const AssetSpec* find(std::string_view code) const {
    auto it = by_code_.find(code);
    return it == by_code_.end() ? nullptr : it->second;
  }
  const AssetSpec* add(std::string_view code, int exponent, AssetKind kind) {
    specs_.push_back(AssetSpec{std::string(code), exponent, kind});
    const AssetSpec* spec = &specs_.back();
    by_code_.emplace(spec->code, spec);
    return spec;
  }

 private:
  std::deque<AssetSpec> specs_;  // stable addresses
  std::unordered_map<std::string_view, const AssetSpec*> by_code_;
};

Registry& registry() {
  static Registry r;
  return r;
}

bool valid_token_code(std::string_view code) {
  if (code.empty() || code.size() > kAssetCodeLengthMax) return false;
  for (char c : code) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

Result<Asset> Asset::find(std::string_view code) {
  const AssetSpec* spec = registry().find(code);
  if (spec == nullptr) {
    return make_error(Code::kUnknownAsset, fmt::format("unknown currency or asset '{}'", code));
  }
  return Asset(spec);
}

Result<Asset> Asset::register_token(std::string_view code, int exponent) {
  if (!valid_token_code(code)) {
    return make_error(Code::kInvalidArgument,
                      fmt::format("token code '{}' must be 1-{} chars of A-Z 0-9 . -", code,
                                  kAssetCodeLengthMax));
  }
  if (exponent < 0 || exponent > kAssetExponentMax) {
    return make_error(Code::kInvalidArgument,
                      fmt::format("token exponent {} outside 0..{}", exponent, kAssetExponentMax));
  }
  if (const AssetSpec* spec = registry().find(code)) {
    if (spec->exponent != exponent) {
      return make_error(Code::kInvalidArgument,
                        fmt::format("asset '{}' already has exponent {}", code, spec->exponent));
    }
    return Asset(spec);
  }
  return Asset(registry().add(code, exponent, AssetKind::kToken));
}

}  // namespace payledger::ledger
