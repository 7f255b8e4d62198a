#!/usr/bin/env bash
# FX from the command line (issue 10, docs/fx.md): published rates reach every partition,
# `payledger rates` shows them (latest, history, as-of, JSON), refuses a pair written the
# other way round, and a rejected publication is appended again once, not once per partition.
# Usage: cli_fx_test.sh PATH/TO/payledger
set -euo pipefail
bin=${1:?usage: cli_fx_test.sh PATH/TO/payledger}
source "$(dirname "$0")/lib.sh"

rate() {  # rate EVENT_ID PAIR MID AS_OF
  printf '{"event_id":"%s","schema_version":1,"occurred_at":"2026-01-03T00:00:00Z","fx_rate_published":{"pair":"%s","mid":"%s","source":"ECB","as_of":"%s"}}\n' "$@"
}
{
  rate r1 USD/BRL 5.4321 2026-01-01T16:00:00Z
  rate r2 USD/BRL 5.5 2026-01-02T16:00:00Z
  rate r3 USD/JPY 151.235 2026-01-02T16:00:00Z
  rate r4 JPY/USD 0.0066 2026-01-02T16:00:00Z
} > "$work/rates.ndjson"
"$bin" append --data "$work/d" --partitions 3 "$work/rates.ndjson" > /dev/null
run "$bin" fold --data "$work/d" -q --json
check "3 partitions x 4 publications = 12 records folded" grep -q '"records": 12,' "$work/out"
check "9 applied (3 good publications x 3 partitions)" grep -q '"applied": 9,' "$work/out"

run "$bin" rates --data "$work/d"
check "rates exits 0 ($rc)" test "$rc" -eq 0
check "the latest USD/BRL in all 3 partitions" grep -Eq '^USD/BRL +2026-01-02T16:00:00Z +5.5 .* 3/3$' "$work/out"
# 1 / 151.235 = 0.006612226... -> 0.0066122260 (10 decimals, half-even)
check "USD/JPY with 1/mid" grep -Eq '^USD/JPY .* 151.235 .* 0.0066122260 ECB +3/3$' "$work/out"
run "$bin" rates --data "$work/d" --as-of 2026-01-01T23:59:59Z
check "as of the 1st: the rate as of the 1st" grep -Eq '^USD/BRL +2026-01-01T16:00:00Z +5.4321 ' "$work/out"
check "as of the 1st: no USD/JPY yet" bash -c "! grep -q USD/JPY '$work/out'"
run "$bin" rates --data "$work/d" --pair USD/BRL --history --json
check "history: two publications" test "$(grep -c '"pair": "USD/BRL"' "$work/out")" -eq 2
run "$bin" rates --data "$work/d" --pair BRL/USD
check "the other direction is a usage error ($rc)" test "$rc" -eq 2
check "naming the canonical pair" grep -q "use USD/BRL" "$work/err"
run "$bin" rates --data "$work/d" --as-of yesterday
check "a bad --as-of is a usage error ($rc)" test "$rc" -eq 2

# JPY/USD was rejected in each partition; replayed, it is appended once to every partition.
run "$bin" rejects --data "$work/d"
check "the reversed pair is rejected in 3 partitions" test "$(grep -c 'use USD/JPY' "$work/out")" -eq 3
run "$bin" replay --data "$work/d" --json
check "3 rejects replayed" grep -Eq '"replayed": 3(,|$)' "$work/out"
run "$bin" fold --data "$work/d" -q --json
check "one copy per partition: 3 records, not 9" grep -q '"records": 3,' "$work/out"
finish
