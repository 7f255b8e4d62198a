#!/usr/bin/env bash
# Issue 8 (left items 6 and 7): commands that could destroy or mislead refuse instead.
# rebuild --log kafka checks the broker before it drops anything; an unknown account is named
# (with a "did you mean"); --limit says "showing N of M"; an edited DIR/log/partitions file is
# refused. No broker needed (the one given does not exist).
# Usage: cli_guard_test.sh PATH/TO/payledger
set -euo pipefail
bin=${1:?usage: cli_guard_test.sh PATH/TO/payledger}
source "$(dirname "$0")/lib.sh"

"$bin" generate --events 2000 --seed 4 --merchants 20 > "$work/events.ndjson"
"$bin" append --data "$work/a" "$work/events.ndjson" > /dev/null
"$bin" fold --data "$work/a" -q > /dev/null
before=$("$bin" digest --data "$work/a")

# 1. rebuild against a broker that is not there: the store stays as it was.
run "$bin" rebuild --data "$work/a" --log kafka --brokers 127.0.0.1:1 --until-idle -q
check "rebuild with an unreachable broker exits 1 ($rc)" test "$rc" -eq 1
check "... names the brokers" grep -q "127.0.0.1:1" <<<"$err"
check "... says the projections were kept" grep -qi "projections.*kept\|kept.*projections" <<<"$err"
check "... did not drop them" bash -c '! grep -q "dropped projections" <<<"$1"' _ "$out$err"
run "$bin" digest --data "$work/a"
check "... the digest afterwards equals the digest before (rc $rc)" test "$out" = "$before"

# 2. Unknown accounts are named, exit 1, with the nearest account.
run "$bin" balance --data "$work/a" --account typo
check "balance of an unknown account exits 1 ($rc)" test "$rc" -eq 1
check "... names it" grep -q "'typo'" <<<"$err"
run "$bin" balance --data "$work/a" --account psp:revenue:fess
check "balance of a mistyped account exits 1 ($rc)" test "$rc" -eq 1
check "... suggests the account" grep -q "did you mean 'psp:revenue:fees'" <<<"$err"
run "$bin" balance --data "$work/a" --account psp:revenue:
check "balance of an existing prefix still exits 0 ($rc)" test "$rc" -eq 0
run "$bin" statement --data "$work/a" --account psp:revenue:fess
check "statement of a mistyped account exits 1 ($rc)" test "$rc" -eq 1
check "... names it" grep -q "'psp:revenue:fess'" <<<"$err"
check "... suggests the account" grep -q "did you mean 'psp:revenue:fees'" <<<"$err"

# 3. --limit: the summary says how many there are in all.
total=$("$bin" statement --data "$work/a" --account psp:revenue:fees --json |
  python3 -c 'import json,sys; print(len(json.load(sys.stdin)["lines"]))')
run "$bin" statement --data "$work/a" --account psp:revenue:fees --limit 3
check "statement --limit 3 says 'showing 3 of $total lines'" \
  grep -q "^showing 3 of $total lines" <<<"$out"
check "... (there are more than 3)" test "$total" -gt 3
# Three captures of payments that do not exist: logged by append, rejected by the fold.
for i in 1 2 3; do
  echo '{"schema_version":1,"event_id":"bad'$i'","merchant_id":"m1","occurred_at":"2026-01-01T00:00:00Z","card_captured":{"payment_id":"nope'$i'","amount":{"currency":"USD","amount":"1.00"}}}'
done > "$work/bad.ndjson"
"$bin" append --data "$work/a" "$work/bad.ndjson" > /dev/null
"$bin" fold --data "$work/a" -q > /dev/null
check "three rejects to list" test "$("$bin" rejects --data "$work/a" --json |
  python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" -eq 3
run "$bin" rejects --data "$work/a" --limit 2
check "rejects --limit 2 says 'showing 2 of 3 rejected events'" \
  grep -q "^showing 2 of 3 rejected events" <<<"$out"

# 4. An edited partition count is refused, naming the file; nothing is created.
"$bin" append --data "$work/p" "$work/events.ndjson" > /dev/null
echo 6 > "$work/p/log/partitions"
run "$bin" append --data "$work/p" "$work/events.ndjson"
check "append to a log whose partitions file was edited up exits 1 ($rc)" test "$rc" -eq 1
check "... names the file" grep -qF "$work/p/log/partitions" <<<"$err"
check "... created no partition" test ! -e "$work/p/log/p-0004.log" -a ! -e "$work/p/log/p-0005.log"
run "$bin" fold --data "$work/p" -q
check "fold of that log exits 1 too ($rc)" test "$rc" -eq 1
echo 2 > "$work/p/log/partitions"
run "$bin" append --data "$work/p" "$work/events.ndjson"
check "append to a log whose partitions file was edited down exits 1 ($rc)" test "$rc" -eq 1
check "... names the file" grep -qF "$work/p/log/partitions" <<<"$err"
echo 4 > "$work/p/log/partitions"
run "$bin" append --data "$work/p" "$work/events.ndjson"
check "restored, append works again ($rc)" test "$rc" -eq 0

finish
