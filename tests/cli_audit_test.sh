#!/usr/bin/env bash
# Audit from the command line (issue 12, docs/audit.md): balances and statements at past
# points (event time and log positions), CSV, verify (and what it catches), checkpoint and
# rebuild --from-checkpoint, accounts, a payment's timeline without its merchant, and the
# refusals (a malformed or too-early --as-of, a position beyond the books).
# Usage: cli_audit_test.sh PATH/TO/payledger
set -euo pipefail
bin=${1:?usage: cli_audit_test.sh PATH/TO/payledger}
source "$(dirname "$0")/lib.sh"

ev() {  # ev EVENT_ID MERCHANT TIME BODY
  printf '{"event_id":"%s","merchant_id":"%s","schema_version":1,"occurred_at":"%s",%s}\n' "$@"
}
card() {  # card MERCHANT PAYMENT AMOUNT AUTH_TIME CAPTURE_TIME: a USD card payment
  ev "a-$2" "$1" "$4" "\"card_authorised\":{\"payment_id\":\"$2\",\"amount\":{\"currency\":\"USD\",\"amount\":\"$3\"},\"expires_at\":\"2026-12-31T00:00:00Z\"}"
  ev "c-$2" "$1" "$5" "\"card_captured\":{\"payment_id\":\"$2\",\"amount\":{\"currency\":\"USD\",\"amount\":\"$3\"}}"
}
# Two merchants, one partition each at most; m1's payable by hand (credit-normal):
#   p1 100.00 captured 2026-03-01T10:00Z, p2 30.00 captured 2026-03-02T10:00Z,
#   p3 7.00 captured 2026-03-01T09:00Z but appended last (a late event).
{
  card m1 p1 100.00 2026-03-01T09:59:00Z 2026-03-01T10:00:00Z
  card m2 q1 55.00 2026-03-01T11:00:00Z 2026-03-01T11:05:00Z
  card m1 p2 30.00 2026-03-02T09:59:00Z 2026-03-02T10:00:00Z
} > "$work/first.ndjson"
card m1 p3 7.00 2026-03-01T08:59:00Z 2026-03-01T09:00:00Z > "$work/late.ndjson"
"$bin" append --data "$work/d" --partitions 2 "$work/first.ndjson" > /dev/null
"$bin" fold --data "$work/d" -q > /dev/null
# The positions before the late payment arrived, as digest prints them (stderr).
run "$bin" digest --data "$work/d"
positions=$(grep -o 'log positions [0-9:,]*' <<<"$err" | awk '{print $3}')
check "digest names the positions it covers ($positions)" grep -Eq '^[0-9]+:[0-9]+(,[0-9]+:[0-9]+)*$' <<<"$positions"
check "... and the chain heads" grep -q "chain head [0-9a-f]\{64\} (" <<<"$err"
check "... with the digest alone on stdout" test "$(wc -l <<<"$out")" -eq 1
"$bin" append --data "$work/d" "$work/late.ndjson" > /dev/null
"$bin" fold --data "$work/d" -q > /dev/null

posted() {  # posted ARGS...: m1's posted payable
  "$bin" balance --data "$work/d" --account merchant:m1:payable --json "$@" |
    python3 -c 'import json,sys; r=[x for x in json.load(sys.stdin) if x["asset"]=="USD"]; print(r[0]["posted"] if r else "none")'
}
check "now: 137.00 (100.00 + 30.00 + 7.00)" test "$(posted)" = "137.00"
check "as of 2026-03-01 (its close): 107.00 (100.00 + the late 7.00)" \
  test "$(posted --as-of 2026-03-01)" = "107.00"
check "as of 09:30Z on the 1st: 7.00 (only the late payment by then)" \
  test "$(posted --as-of 2026-03-01T09:30:00Z)" = "7.00"
check "as of the same moment written with an offset (+02:00)" \
  test "$(posted --as-of 2026-03-01T11:30:00+02:00)" = "7.00"
check "at the positions before the late payment: 130.00 (100.00 + 30.00)" \
  test "$(posted --at-offset "$positions")" = "130.00"
check "as of the 1st's close, as known then: 100.00" \
  test "$(posted --as-of 2026-03-01 --at-offset "$positions")" = "100.00"

# Statement: event-time order, opening and running balances, CSV.
run "$bin" statement --data "$work/d" --account merchant:m1:payable -b 2026-03-01T09:30:00Z -e 2026-03-02 --json
check "statement -b/-e exits 0 ($rc)" test "$rc" -eq 0
check "... opening 7.00, closing 137.00, posted lines p1 then p2" python3 - "$work/out" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
a = d["assets"][0]
posted = [(l["payment"], l["posted_balance"]) for l in d["lines"] if l["bucket"] == "posted"]
assert a["opening_posted"] == "7.00", a
assert a["closing_posted"] == "137.00", a
assert posted == [("p1", "107.00"), ("p2", "137.00")], posted
assert all(l["merchant"] == "m1" for l in d["lines"]), d["lines"]
EOF
run "$bin" statement --data "$work/d" --account merchant:m1:payable --csv
check "statement --csv has a header and one record per line" \
  test "$(head -1 <<<"$out")" = "occurred_at,position,merchant,payment,event_id,kind,bucket,side,amount,asset,posted_balance,pending_balance"
check "... in event-time order: the late p3 first" grep -q "^2026-03-01T08:59:00Z,.*,m1,p3," <<<"$(sed -n 2p <<<"$out")"
run "$bin" balance --data "$work/d" -O csv
check "balance -O csv" grep -q '^merchant:m1:payable,USD,137.00,' <<<"$out"
run "$bin" rejects --data "$work/d" --csv
check "rejects --csv: a header even with none" test "$out" = "partition,offset,code,reason,event_id,merchant_id,resolved"

# Refusals.
run "$bin" balance --data "$work/d" --as-of 2025-12-31
check "an as-of before the first event exits 1 ($rc)" test "$rc" -eq 1
check "... naming the first event" grep -q "before the books' first event (2026-03-01T08:59:00Z)" <<<"$err"
run "$bin" balance --data "$work/d" --as-of 2026-13-45
check "a malformed --as-of is a usage error ($rc)" test "$rc" -eq 2
run "$bin" balance --data "$work/d" --at-offset 0:99999
check "a position beyond the books exits 1 ($rc)" test "$rc" -eq 1
check "... saying so" grep -q "beyond what the books folded" <<<"$err"
run "$bin" balance --data "$work/d" --at-offset 7:1
check "a partition the log does not have is a usage error ($rc)" test "$rc" -eq 2
run "$bin" statement --data "$work/d" --account merchant:m1:payable -b 2026-03-03 -e 2026-03-01
check "--from after --to is a usage error ($rc)" test "$rc" -eq 2

# accounts, payment without --merchant.
run "$bin" accounts --data "$work/d" --json
check "accounts lists m1's payable" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert any(a["account"]=="merchant:m1:payable" and a["assets"]==["USD"] for a in d["accounts"])' "$work/out"
run "$bin" payment --data "$work/d" --id p3 --json
check "payment without --merchant finds m1's p3 ($rc)" test "$rc" -eq 0
check "... with its two events in its timeline" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["merchant_id"]=="m1"; assert [e["kind"] for e in d["timeline"]]==["card_authorised","card_captured"], d["timeline"]' "$work/out"
run "$bin" payment --data "$work/d" --id nope
check "an unknown payment exits 1 ($rc)" test "$rc" -eq 1

# verify: clean, then a changed log record (rewritten with a valid CRC by appending the
# tampered events to a new log under the same books), then a flipped byte.
run "$bin" verify --data "$work/d"
check "verify of untouched books exits 0 ($rc)" test "$rc" -eq 0
check "... saying so" grep -q "^verified:" <<<"$out"
cp -a "$work/d" "$work/flip"
f=$(ls -S "$work/flip/log"/p-*.log | head -1)  # the largest: the one with records
size=$(stat -c %s "$f")
printf '\x00' | dd of="$f" bs=1 seek=$((size / 2)) conv=notrunc status=none
run "$bin" verify --data "$work/flip"
check "verify of a log with a flipped byte exits 1 ($rc)" test "$rc" -eq 1
check "... naming the file" grep -q "$(basename "$f")" <<<"$err"

# A parked event replayed after its cause is fixed: verify still passes (the resolved mark is
# replay's, not a difference).
ev c-p9 m1 2026-03-02T12:00:00Z '"card_captured":{"payment_id":"p9","amount":{"currency":"USD","amount":"5.00"}}' > "$work/orphan.ndjson"
"$bin" append --data "$work/d" "$work/orphan.ndjson" > /dev/null
"$bin" fold --data "$work/d" -q > /dev/null
ev a-p9 m1 2026-03-02T11:59:00Z '"card_authorised":{"payment_id":"p9","amount":{"currency":"USD","amount":"5.00"},"expires_at":"2026-12-31T00:00:00Z"}' > "$work/fix.ndjson"
"$bin" append --data "$work/d" "$work/fix.ndjson" > /dev/null
"$bin" fold --data "$work/d" -q > /dev/null
run "$bin" replay --data "$work/d" --code unknown_payment
check "replay of the parked capture ($rc)" test "$rc" -eq 0
"$bin" fold --data "$work/d" -q > /dev/null
run "$bin" verify --data "$work/d"
check "verify after a replay exits 0 ($rc)" test "$rc" -eq 0

# checkpoint, more events, rebuild --from-checkpoint --verify.
run "$bin" checkpoint --data "$work/d" --out "$work/cp"
check "checkpoint exits 0 ($rc)" test "$rc" -eq 0
check "... writes its manifest" test -s "$work/cp/checkpoint.json"
card m2 q2 12.00 2026-03-03T10:00:00Z 2026-03-03T10:01:00Z > "$work/more.ndjson"
"$bin" append --data "$work/d" "$work/more.ndjson" > /dev/null
"$bin" fold --data "$work/d" -q > /dev/null
want=$("$bin" digest --data "$work/d" 2>/dev/null)
run "$bin" rebuild --data "$work/d" --from-checkpoint "$work/cp" --verify -q
check "rebuild --from-checkpoint --verify exits 0 ($rc)" test "$rc" -eq 0
check "... to the same digest as the full fold" test "$("$bin" digest --data "$work/d" 2>/dev/null)" = "$want"
run "$bin" checkpoint --data "$work/d" --out "$work/cp"
check "a checkpoint into an existing directory exits 1 ($rc)" test "$rc" -eq 1
finish
