#include "ledger/settlement.h"

#include "ledger/asset.h"

namespace payledger::ledger {

std::string_view rail_name(Rail rail) {
  switch (rail) {
    case Rail::kBatch:
      return "batch";
    case Rail::kTokenised:
      return "tokenised";
  }
  return "unknown";
}

std::string_view instruction_status_name(InstructionStatus status) {
  switch (status) {
    case InstructionStatus::kInstructed:
      return "instructed";
    case InstructionStatus::kSent:
      return "sent";
    case InstructionStatus::kTransferred:
      return "transferred";
    case InstructionStatus::kConfirmed:
      return "confirmed";
    case InstructionStatus::kReturned:
      return "returned";
  }
  return "unknown";
}

namespace {
constexpr std::string_view kTokenSuffix = ".TDS";
}  // namespace

std::string deposit_token(std::string_view currency) {
  std::string code = std::string(currency) + std::string(kTokenSuffix);
  auto asset = Asset::find(code);
  if (!asset || asset->kind() != AssetKind::kToken) return {};
  return code;
}

std::string token_currency(std::string_view token) {
  if (!token.ends_with(kTokenSuffix)) return {};
  std::string_view currency = token.substr(0, token.size() - kTokenSuffix.size());
  auto asset = Asset::find(currency);
  if (!asset || asset->kind() != AssetKind::kFiat) return {};
  return std::string(currency);
}

}  // namespace payledger::ledger
