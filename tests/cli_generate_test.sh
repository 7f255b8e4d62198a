#!/usr/bin/env bash
# Issue 9: `payledger generate` emits merchant contracts, so MDR runs in the demo and the
# benches. The CLI's stream passes `append --dry-run`, folds with no rejects into balanced
# books with contract fees, and the same arguments give the same bytes.
# Usage: cli_generate_test.sh PATH/TO/payledger
set -euo pipefail
bin=${1:?usage: cli_generate_test.sh PATH/TO/payledger}
source "$(dirname "$0")/lib.sh"

"$bin" generate --events 200000 --seed 7 > "$work/g7.ndjson"
set +e; "$bin" generate --events 200000 --seed 7 | "$bin" append --dry-run - > "$work/dry"; rc=$?; set -e
check "generate --events 200000 --seed 7 | append --dry-run - exits 0 ($rc)" test "$rc" -eq 0
check "... 0 lines would be rejected" grep -q "200000 valid events, 0 lines would be rejected" "$work/dry"
check "same arguments give the same bytes" \
  cmp -s "$work/g7.ndjson" <("$bin" generate --events 200000 --seed 7)
sets=$(grep -c '"merchant_contract_set"' "$work/g7.ndjson" || true)
ends=$(grep -c '"merchant_contract_ended"' "$work/g7.ndjson" || true)
check "the stream sets contracts ($sets) and ends some ($ends)" test "$sets" -gt 200 -a "$ends" -gt 10
nocon=$("$bin" generate --events 20000 --seed 7 --no-contracts | grep -c merchant_contract || true)
check "--no-contracts emits none ($nocon)" test "$nocon" -eq 0

"$bin" append --data "$work/d" --no-sync "$work/g7.ndjson" > /dev/null
run "$bin" fold --data "$work/d" -q --no-sync
check "fold exits 0 ($rc)" test "$rc" -eq 0
check "... with 0 rejected" grep -q " 0 rejected" <<<"$out"
run "$bin" rejects --data "$work/d"
check "rejects lists none" grep -q "^0 rejected events" <<<"$out"
run "$bin" trial-balance --data "$work/d"
check "the trial balance balances (rc $rc)" test "$rc" -eq 0
finish
