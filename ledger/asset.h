// Assets: fiat currencies (ISO 4217 exponents) and token assets that declare their own
// exponent. An Asset is a cheap handle to an immutable, interned specification.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "events/schema/result.h"

namespace payledger::ledger {

// Largest exponent an asset may declare; keeps 10^exponent well inside 128 bits.
inline constexpr int kAssetExponentMax = 18;
// Longest asset code accepted (ISO codes are 3 letters; token codes are longer).
inline constexpr size_t kAssetCodeLengthMax = 16;

enum class AssetKind : uint8_t { kFiat, kToken };

struct AssetSpec {
  std::string code;  // "USD", "JPY", "USD.TDS"
  int exponent;      // minor units per major unit = 10^exponent
  AssetKind kind;
};

class Asset {
 public:
  // Looks up an ISO 4217 currency or a registered token. Unknown codes are rejected with
  // Code::kUnknownAsset; currencies without minor units (XAU, XDR) are not in the table.
  static Result<Asset> find(std::string_view code);
  // Registers a token asset (e.g. a bank's tokenised deposit). Idempotent for the same
  // exponent; a different exponent for an existing code is kInvalidArgument. Not
  // thread-safe: call at start-up, before folding.
  static Result<Asset> register_token(std::string_view code, int exponent);

  const std::string& code() const { return spec_->code; }
  int exponent() const { return spec_->exponent; }
  AssetKind kind() const { return spec_->kind; }

  friend bool operator==(Asset a, Asset b) { return a.spec_ == b.spec_; }

 private:
  explicit Asset(const AssetSpec* spec) : spec_(spec) {}
  const AssetSpec* spec_;
};

}  // namespace payledger::ledger
