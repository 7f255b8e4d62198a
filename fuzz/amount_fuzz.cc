// Amount and Rate parsing: input = exponent byte, rounding-mode byte, then
// "AMOUNT|RATE". Parsing must reject or accept, never crash; what parses must format and
// parse back to the same value (parse(format(x)) == x), and a rate applied to an amount
// must round within one minor unit of the exact product under every mode.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/fuzz_util.h"
#include "ledger/amount.h"
#include "ledger/rate.h"

namespace {

using payledger::ledger::Amount;
using payledger::ledger::Int128;
using payledger::ledger::Rate;
using payledger::ledger::RoundingMode;

void check_scaled(std::string_view text, int exponent) {
  auto value = payledger::ledger::parse_scaled(text, exponent);
  if (!value) return;
  std::string printed = payledger::ledger::format_scaled(*value, exponent);
  if (exponent > 0) {
    size_t point = printed.find('.');
    FUZZ_ASSERT(point != std::string::npos && printed.size() - point - 1 ==
                    static_cast<size_t>(exponent), "format_scaled gave other decimals");
  }
  auto again = payledger::ledger::parse_scaled(printed, exponent);
  FUZZ_ASSERT(again.ok(), printed.c_str());
  FUZZ_ASSERT(*again == *value, printed.c_str());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  int exponent = data[0] % (payledger::ledger::kAssetExponentMax + 1);
  auto mode = static_cast<RoundingMode>(data[1] % 7);
  std::string_view text(reinterpret_cast<const char*>(data + 2), size - 2);
  size_t bar = text.find('|');
  std::string_view amount_text = text.substr(0, bar);
  std::string_view rate_text = bar == std::string_view::npos ? "" : text.substr(bar + 1);

  check_scaled(amount_text, exponent);
  check_scaled(rate_text, exponent);

  for (const char* code : {"USD", "JPY", "BHD"}) {
    auto asset = payledger::ledger::Asset::find(code).value();
    auto amount = Amount::parse(amount_text, asset);
    if (!amount) continue;
    auto again = Amount::parse(amount->to_string(), asset);
    FUZZ_ASSERT(again.ok() && *again == *amount, amount->to_string().c_str());
  }

  auto rate = Rate::parse(rate_text);
  if (!rate) return 0;
  FUZZ_ASSERT(rate->mantissa() > 0, "a parsed rate is not positive");
  auto rate_again = Rate::parse(rate->to_string());
  FUZZ_ASSERT(rate_again.ok() && rate_again->mantissa() == rate->mantissa() &&
                  rate_again->scale() == rate->scale(),
              rate->to_string().c_str());

  auto usd = payledger::ledger::Asset::find("USD").value();
  auto jpy = payledger::ledger::Asset::find("JPY").value();
  auto amount = Amount::parse(amount_text, usd);
  if (!amount) return 0;
  (void)rate->apply(*amount, mode);
  (void)rate->convert(*amount, jpy, mode);
  // floor <= every mode <= ceiling, and ceiling - floor <= 1 minor unit.
  auto floor = rate->apply(*amount, RoundingMode::kFloor);
  auto ceiling = rate->apply(*amount, RoundingMode::kCeiling);
  auto any = rate->apply(*amount, mode);
  if (floor && ceiling && any) {
    FUZZ_ASSERT(floor->minor() <= any->minor() && any->minor() <= ceiling->minor(),
                "a rounding mode falls outside [floor, ceiling]");
    FUZZ_ASSERT(ceiling->minor() - floor->minor() <= Int128(1), "rounding moved more than 1");
  }
  return 0;
}
