// Settlement posting rules (placeholder until the rules land).
#include "ledger/rules_internal.h"
