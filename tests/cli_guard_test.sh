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

finish
