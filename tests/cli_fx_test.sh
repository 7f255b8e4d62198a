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

# Positions and FX P&L over the golden treasury scenario (amounts by hand in its expected.json).
scenario="$(dirname "$0")/scenarios/fx_treasury/events.ndjson"
"$bin" append --data "$work/t" --partitions 2 "$scenario" > /dev/null
"$bin" fold --data "$work/t" -q > /dev/null
run "$bin" positions --data "$work/t"
check "positions exits 0 ($rc)" test "$rc" -eq 0
# m1 BRL: flat, cost 0.00, realised 23.75, unrealised 0.00; house: 950.00 costing 200.00
# (average 200 / 950 = 0.210526 USD per BRL), realised -5.95, unrealised -10.00.
check "the house row" grep -Eq '^house +BRL +950.00 +200.00 +0.210526 +-5.95 +-10.00 +USD/BRL 5.0 \(2026-02-04\)$' "$work/out"
check "m1's row" grep -Eq '^m1 +BRL +0.00 +0.00 +- +23.75 +0.00 ' "$work/out"
# The forward was marked -100 x (5.0 - 4.5) = -50.00 BRL = -10.00 USD at its settlement; its
# value is then 0 (the 450.00 BRL it delivered are in the house's position, whose unrealised
# -10.00 carries that loss: counted once). House: -5.95 - 10.00 = -15.95; m1: 23.75.
check "the settled forward" grep -Eq '^fw1 +USD/BRL +sell +100.00 +4.5 +2026-02-05 +settled +-50.00 BRL +-10.00 +0.00$' "$work/out"
check "house totals" grep -q "^house (the PSP's FX P&L): realised -5.95, unrealised -10.00, forwards 0.00, total -15.95 USD$" "$work/out"
check "merchants' totals apart" grep -q '^merchants (on their own payables): realised 23.75, unrealised 0.00, forwards 0.00, total 23.75 USD$' "$work/out"
run "$bin" positions --data "$work/t" --merchant m1 --as-of 2026-01-03 --json
check "as of the 3rd: m1 holds 1000.00 BRL costing 200.00" \
  grep -q '"amount": "1000.00",' "$work/out"
check "as of the 3rd: no house rows" bash -c "! grep -q '\"owner\": \"house\"' '$work/out'"
check "JSON cost is a decimal string" grep -q '"cost": "200.00",' "$work/out"
run "$bin" positions --data "$work/t" --merchant nobody
check "an unknown merchant exits 1 ($rc)" test "$rc" -eq 1
check "naming it" grep -q "merchant nobody has no payable" "$work/err"
run "$bin" positions --data "$work/t" --merchant m1 --house
check "--merchant with --house is a usage error ($rc)" test "$rc" -eq 2
run "$bin" positions --data "$work/t" --as-of soon
check "a bad --as-of is a usage error ($rc)" test "$rc" -eq 2
run "$bin" positions --data "$work/t" --reporting usd
check "an unknown reporting currency is a usage error ($rc)" test "$rc" -eq 2
# January: m1 realised 23.75, unrealised 0 -> 25.00 (500 BRL costing 100.00 at 4.0 = 125.00);
# the house realised -5.95; the open forward's mark 0 -> 12.50 (-100 x (4.0 - 4.5) = 50 BRL).
run "$bin" fx-pnl --data "$work/t" --from 2026-01-01 --to 2026-02-01 --json
check "fx-pnl exits 0 ($rc)" test "$rc" -eq 0
check "m1's January total 48.75" grep -q '"total": "48.75"' "$work/out"
check "the forward's change 12.50" grep -q '"change": "12.50"' "$work/out"
check "the house's January: -5.95 + 12.50 = 6.55" python3 -c "
import json,sys; x=json.load(open('$work/out')); sys.exit(0 if x['totals']['house']['total']=='6.55' and x['totals']['merchants']['total']=='48.75' else 1)"
check "the revaluation run of the 6th" grep -q '"as_of": "2026-01-06T00:00:00Z"' "$work/out"
run "$bin" fx-pnl --data "$work/t" --from 2026-01-01 --to 2026-02-01 --house
# As of the 6th the house was flat (unrealised 0.00) and the open forward worth 12.50: m1's
# 25.00 is not the house's.
check "a run for the house only shows the house" grep -q '^revaluation run v1 as of 2026-01-06T00:00:00Z in USD: house unrealised 0.00, forwards 12.50$' "$work/out"
run "$bin" fx-pnl --data "$work/t" --from 2026-02-01 --to 2026-01-01
check "--from after --to is a usage error ($rc)" test "$rc" -eq 2

# Back-test: one merchant flow counts (c1: +500 BRL on 01-04 at mid 4.0 = 125.00); the
# house's trades (h1, f4) are not flows; c4 (02-05) has no fix after its day: left out.
# lock: 500 / 4.1 (ask) = 121.9512 -> 121.95, cost 3.05; spot and forwards: the next fix is
# 02-04's mid 5.0 (no bid/ask): 100.00, cost 25.00.
run "$bin" fx-backtest --data "$work/t"
check "fx-backtest exits 0 ($rc)" test "$rc" -eq 0
check "the BRL row" grep -Eq '^BRL +1 +125.00 +25.00 \(2000.0 bp\) +3.05 \(244.0 bp\) +25.00 \(2000.0 bp\)$' "$work/out"
check "c4 left out" grep -q '^BRL: 1 flows left out (1 on days with no fix after them yet' "$work/out"
run "$bin" fx-backtest --data "$work/d" --json
check "no flows: exit 1 ($rc)" test "$rc" -eq 1
check "saying so" grep -q "no merchant FX flows to back-test" "$work/err"
finish
