#!/usr/bin/env bash
# Issue 8 items 7, 9 and 13 at the command line: bad input kept and visible, no card number
# in the books, no silent no-ops. Usage: cli_input_test.sh PATH/TO/payledger
set -euo pipefail
bin=${1:?usage: cli_input_test.sh PATH/TO/payledger}
source "$(dirname "$0")/lib.sh"

handles_sigint() {  # the process has installed its SIGINT handler (SigCgt bit 2)
  local mask; mask=$(awk '/^SigCgt/ {print $2}' "/proc/$1/status" 2>/dev/null) || return 1
  [ -n "$mask" ] && (( (16#$mask >> 1) & 1 ))
}

ev() {  # ev EVENT_ID BODY: one event line for merchant m1
  printf '{"event_id":"%s","merchant_id":"m1","schema_version":1,"occurred_at":"2026-01-01T00:00:00Z",%s}\n' "$1" "$2"
}
auth() { ev "$1" "\"card_authorised\":{\"payment_id\":\"$2\",\"amount\":{\"currency\":\"EUR\",\"amount\":\"5.00\"}}"; }

# ---- item 7: a line over 1 MB is parked; the valid lines after it are appended.
{ auth a1 p1
  python3 -c 'print("{\"event_id\":\"big\",\"x\":\"" + "a" * 1500000 + "\"}")'
  auth a2 p2; auth a3 p3; } > "$work/big.ndjson"
run "$bin" append --data "$work/big" "$work/big.ndjson"
check "append with a 1.5 MB line exits 0" test "$rc" -eq 0
check "append names the oversized line" grep -q 'big.ndjson:2: malformed' <<<"$err"
"$bin" fold --data "$work/big" -q > /dev/null
check "the lines after the big one are applied" \
  test "$("$bin" balance --data "$work/big" --account merchant:m1:payable --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["pending"])')" = "15.00"
rej=$("$bin" rejects --data "$work/big" --json)
check "the big line is a reject with its line, length and hash" python3 -c '
import json,sys; r=json.load(sys.stdin); assert len(r)==1, r; r=r[0]
assert r["line"].endswith("big.ndjson:2") and r["raw_truncated"] and len(r["raw_sha256"])==64, r
assert r["raw_bytes"] > 1500000 and len(r["raw"]) <= 1024, r' <<<"$rej"
check "the stored hash is the SHA-256 of the line" test \
  "$(sed -n 2p "$work/big.ndjson" | tr -d '\n' | sha256sum | cut -c1-64)" = \
  "$(python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["raw_sha256"])' <<<"$rej")"

# Non-UTF-8 bytes in a reject: --json escapes them instead of dying.
printf '{"event_id":"bad\xff\xfe","merchant_id":"m1"}\n' > "$work/latin1.ndjson"
"$bin" append --data "$work/u" "$work/latin1.ndjson" > /dev/null 2>&1
"$bin" fold --data "$work/u" -q > /dev/null
run "$bin" rejects --data "$work/u" --json
check "rejects --json with non-UTF-8 bytes exits 0" test "$rc" -eq 0
check "rejects --json is valid JSON with the exact bytes in base64" python3 -c '
import json,sys,base64; r=json.load(sys.stdin)[0]
assert base64.b64decode(r["raw_base64"]) == open(sys.argv[1],"rb").read().rstrip(b"\n"), r' \
  "$work/latin1.ndjson" <<<"$out"

# Duplicate keys and lenient JSON are parked, each naming its line.
{ ev d1 '"merchant_id":"m2","card_authorised":{"payment_id":"p1","amount":{"currency":"EUR","amount":"5.00"}}'
  printf "{'event_id':'d2'}\n"
  ev d3 '"card_voided":{"payment_id":"p1"},'
  printf '{"event_id":"d4","merchant_id":"m1","schema_version":1,"occurred_at":{},"card_voided":{"payment_id":"p1"}}\n'
} > "$work/lenient.ndjson"
"$bin" append --data "$work/l" "$work/lenient.ndjson" > /dev/null 2>&1
"$bin" fold --data "$work/l" -q > /dev/null
rej=$("$bin" rejects --data "$work/l" --json)
check "duplicate, single-quoted, trailing-comma and {} time lines are all parked" python3 -c '
import json,sys; r=json.load(sys.stdin)
assert sorted(x["line"].rsplit(":",1)[1] for x in r) == ["1","2","3","4"], r
assert all(x["code"]=="malformed" for x in r), r' <<<"$rej"
check "the duplicate key is named" grep -q 'key \\"merchant_id\\" appears twice' <<<"$rej"
check "nothing of the lenient lines was applied" \
  test "$("$bin" balance --data "$work/l" --json)" = "[]"

# A UTF-8 byte order mark on the first line is accepted.
{ printf '\xEF\xBB\xBF'; auth b1 p1; auth b2 p2; } > "$work/bom.ndjson"
"$bin" append --data "$work/bom" "$work/bom.ndjson" > /dev/null
fold=$("$bin" fold --data "$work/bom" -q --json)
check "a BOM does not park the first event" grep -q '"applied": 2' <<<"$fold"

# A JSON array file is refused before anything is appended.
printf '[\n  {"event_id":"x"}\n]\n' > "$work/array.json"
run "$bin" append --data "$work/arr" "$work/array.json"
check "a JSON array file exits 1" test "$rc" -eq 1
check "the refusal says how to convert" grep -q "jq -c '.\[\]'" <<<"$err"
check "nothing was written for the array file" test ! -e "$work/arr/log"

# --dry-run validates without writing.
{ auth r1 p1; printf '{"event_id": broken\n'; ev r3 '"card_voided":{"payment_id":"p1"}' | sed 's/"schema_version":1/"schema_version":7/'; } > "$work/dry.ndjson"
run "$bin" append --dry-run --data "$work/dry" "$work/dry.ndjson"
check "dry run with bad lines exits 1" test "$rc" -eq 1
check "dry run lists line 2 (malformed)" grep -q 'dry.ndjson:2: malformed' <<<"$out"
check "dry run lists line 3 (schema version)" grep -q 'dry.ndjson:3: unknown_schema_version' <<<"$out"
check "dry run writes nothing" test ! -e "$work/dry"
auth r1 p1 > "$work/good.ndjson"
check "dry run of a clean file exits 0" \
  test "$(set +e; "$bin" append --dry-run "$work/good.ndjson" >/dev/null 2>&1; echo $?)" -eq 0

# --dry-run applies every check that needs no ledger state, with the codes fold gives
# (issue 8, left item 5): line N of amounts.ndjson must be rejected with code N.
money() { ev "$1" "\"$2\":{\"payment_id\":\"p$1\",\"amount\":{\"currency\":\"$3\",\"amount\":\"$4\"}}"; }
{ money m1 card_authorised EUR 1000000000000000000000000000000000000   # 10^36
  money m2 card_authorised EUR -5.00
  money m3 card_authorised EUR 0.00
  money m4 card_authorised EUR 10.001   # EUR has 2 decimals
  money m5 card_authorised EUR 1e3
  money m6 card_authorised brl 5.00
  money m7 card_captured EUR -5.00      # payment unknown to a dry run; the amount is not
} > "$work/amounts.ndjson"
want="overflow non_positive_amount non_positive_amount bad_amount bad_amount unknown_asset non_positive_amount"
run "$bin" append --dry-run "$work/amounts.ndjson"
check "dry run of bad amounts exits 1" test "$rc" -eq 1
check "dry run rejects each bad amount with fold's code" \
  test "$(sed -n 's/^.*amounts.ndjson:\([0-9]*\): \([a-z_]*\): .*/\2/p' <<<"$out" | tr '\n' ' ')" = "$want "
"$bin" append --data "$work/amt" "$work/amounts.ndjson" > /dev/null
"$bin" fold --data "$work/amt" -q > /dev/null || true
check "fold rejects the same lines with the same codes" \
  test "$("$bin" rejects --data "$work/amt" --json | python3 -c '
import json,sys; print(" ".join(r["code"] for r in sorted(json.load(sys.stdin), key=lambda r: r["event_id"])))')" = "$want"
# What only the ledger's state decides is left to the fold: a capture of a payment the file
# does not hold, a payout, the end of a contract, a checkout outcome.
{ ev s1 '"card_captured":{"payment_id":"p9","amount":{"currency":"EUR","amount":"5.00"}}'
  ev s2 '"payout_sent":{"payout_id":"o1","amount":{"currency":"EUR","amount":"100.00"}}'
  ev s3 '"merchant_contract_ended":{"method":"card"}'
  ev s4 '"checkout_completed":{"checkout_id":"k1","payment_id":"p1"}'
} > "$work/stateful.ndjson"
run "$bin" append --dry-run "$work/stateful.ndjson"
check "dry run leaves state-dependent rejects to the fold (exit 0)" test "$rc" -eq 0
run bash -c "'$bin' generate --events 200000 --seed 7 | '$bin' append --dry-run -"
check "the generator's events pass the dry run" test "$rc" -eq 0
check "... with zero rejects" grep -q '200000 valid events, 0 lines would be rejected' <<<"$out"

# Replayed rejects are marked resolved; replaying one twice is refused.
ev c1 '"card_captured":{"payment_id":"p9","amount":{"currency":"EUR","amount":"5.00"}}' | "$bin" append --data "$work/c" - > /dev/null
"$bin" fold --data "$work/c" -q > /dev/null
auth c0 p9 | "$bin" append --data "$work/c" - > /dev/null
"$bin" fold --data "$work/c" -q > /dev/null
pos=$("$bin" rejects --data "$work/c" --json | python3 -c 'import json,sys; r=json.load(sys.stdin)[0]; print("p%d/%d" % (r["partition"], r["offset"]))')
run "$bin" replay --data "$work/c" --at "$pos"
check "replay of one reject exits 0" test "$rc" -eq 0
# (The replayed copy is not folded yet, so the books are behind their log: --allow-partial.)
check "rejects shows the replayed reject as resolved" \
  grep -q '"resolved": "replayed as p' <<<"$("$bin" rejects --data "$work/c" --allow-partial --json)"
run "$bin" replay --data "$work/c" --at "$pos"
check "replaying the same reject twice exits 1" test "$rc" -eq 1
check "... saying it was already replayed" grep -q 'already replayed' <<<"$err"
"$bin" fold --data "$work/c" -q > /dev/null
check "the replayed capture applied once" \
  grep -q '"captured": "5.00"' <<<"$("$bin" payment --data "$work/c" --merchant m1 --id p9 --json)"

# ---- item 9: no card number in the log, the rejects or the WAL; a non-Luhn number passes.
{ ev k1 '"card_authorised":{"payment_id":"p1","amount":{"currency":"EUR","amount":"5.00"},"instrument_token":"4111 1111 1111 1111"}'
  ev k2 '"payout_sent":{"payout_id":"5555-5555-5555-4444","amount":{"currency":"EUR","amount":"1.00"}}'
  printf '{"event_id":"k3", broken 378282246310005\n'
  ev k4 '"card_voided":{"payment_id":"\u0036011111111111117"}'
  ev k5 '"card_authorised":{"payment_id":"p5","amount":{"currency":"EUR","amount":"5.00"},"instrument_token":"4111111111111112"}'
} > "$work/pan.ndjson"
"$bin" append --data "$work/pan" "$work/pan.ndjson" > /dev/null 2>&1
"$bin" fold --data "$work/pan" -q > /dev/null
rej=$("$bin" rejects --data "$work/pan" --json)
check "four card numbers are rejected as pan_detected" \
  test "$(grep -c '"code": "pan_detected"' <<<"$rej")" -eq 4
check "the non-Luhn 16-digit token is applied" \
  grep -q '"status": "authorised"' <<<"$("$bin" payment --data "$work/pan" --merchant m1 --id p5 --json)"
check "rejects show the masked form" grep -q '4111 11\*\* \*\*\*\* 1111' <<<"$rej"
for pan in "4111 1111 1111 1111" "5555-5555-5555-4444" "378282246310005" "6011111111111117" \
           "u0036011111111111117"; do
  check "no '$pan' in the stored log, projections or rejects" \
    bash -c '! grep -rqaF -- "$1" "$2" && ! grep -qF -- "$1" <<<"$3"' _ "$pan" "$work/pan" "$rej"
done

# A card number inside a longer digit run or beside other digit groups (issue 8, left
# item 1): rejected as pan_detected, masked in the dry run, the log, the rejects.
embedded=("b7 4111111111111111" "4111111111111111 7" "order-12-4111111111111111"
          "ref 2026 4111 1111 1111 1111" "1234 4111 1111 1111 1111" "4111 1111 1111 1111 12")
: > "$work/embedded.ndjson"
for i in "${!embedded[@]}"; do
  ev "x$i" "\"card_authorised\":{\"payment_id\":\"p$i\",\"amount\":{\"currency\":\"EUR\",\"amount\":\"5.00\"},\"instrument_token\":\"${embedded[$i]}\"}" >> "$work/embedded.ndjson"
done
ev x6 '"card_voided":{"payment_id":"order-12-4111111111111111"}' >> "$work/embedded.ndjson"
run "$bin" append --dry-run "$work/embedded.ndjson"
check "dry run rejects all seven embedded card numbers" \
  test "$(grep -c ': pan_detected: ' <<<"$out")" -eq 7
check "dry run shows the masked forms" \
  bash -c 'grep -qF "ref 2026 4111 11** **** 1111" <<<"$1" && grep -qF "4111 11** **** 1111 12" <<<"$1"' _ "$out"
dry=$out
run "$bin" append --data "$work/emb" "$work/embedded.ndjson"
append_err=$err
"$bin" fold --data "$work/emb" -q > /dev/null || true
rej=$("$bin" rejects --data "$work/emb" --json)
check "fold lists seven pan_detected rejects" \
  test "$(grep -c '"code": "pan_detected"' <<<"$rej")" -eq 7
check "the rejects show the masked form" grep -qF "order-12-411111******1111" <<<"$rej"
for pan in "4111111111111111" "1111 1111 1111"; do
  check "no '$pan' in the log, projections, rejects, dry run or append output" \
    bash -c '! grep -rqaF -- "$1" "$2" && ! grep -qF -- "$1" <<<"$3"' _ "$pan" "$work/emb" \
    "$rej$dry$append_err"
done

# ---- item 13: no silent no-ops.
run "$bin" trail-balance --data "$work/c"
check "unknown command exits 2" test "$rc" -eq 2
check "unknown command suggests the nearest" \
  grep -q "unknown command 'trail-balance'; did you mean 'trial-balance'?" <<<"$err"
run "$bin" report chekout --data "$work/c"
check "unknown nested command exits 2 with a suggestion" \
  bash -c '[ "$1" -eq 2 ] && grep -q "did you mean '"'"'report checkout'"'"'?" <<<"$2"' _ "$rc" "$err"
run "$bin" replay --data "$work/c" --code unknwon_payment
check "replay with a mistyped code exits 2" test "$rc" -eq 2
check "... naming the code" grep -q "'unknwon_payment' is not a reject code" <<<"$err"
run "$bin" replay --data "$work/c" --at p1/999
check "replay of a missing position exits 1" test "$rc" -eq 1
check "... saying there is none" grep -q "no reject at p1/999" <<<"$err"
run "$bin" statement --data "$work/c" --account merchant:nobody:payable
check "statement of an unknown account exits 1" test "$rc" -eq 1
check "... naming it" grep -q "no account 'merchant:nobody:payable'" <<<"$err"
run "$bin" statement --data "$work/c" --account merchant:m1:payable --limit -5
check "--limit -5 exits 2" test "$rc" -eq 2
run "$bin" rejects --data "$work/c" --limit -1
check "rejects --limit -1 exits 2" test "$rc" -eq 2
run "$bin" append --data "$work/d" "$work"
check "append of a directory exits 2" test "$rc" -eq 2
check "... saying it is a directory" grep -q "is a directory" <<<"$err"
run "$bin" fold --data "$work/c" --group g
check "--group without --log kafka exits 2" test "$rc" -eq 2
run "$bin" fold --data "$work/c" --until-idle
check "--until-idle without --log kafka exits 2" test "$rc" -eq 2
for opt in "--topic t" "--brokers 127.0.0.1:1" "-X a=b"; do
  # shellcheck disable=SC2086
  run "$bin" fold --data "$work/c" $opt
  check "fold $opt without --log kafka exits 2 (not silently ignored)" test "$rc" -eq 2
done
run "$bin" append --data "$work/c" --transactional-id t /dev/null
check "append --transactional-id without --log kafka exits 2" test "$rc" -eq 2
run "$bin" generate --events -5
check "generate --events -5 exits 2 (not 2^64 - 5 events)" test "$rc" -eq 2
check "... saying it must not be negative" grep -q 'must not be negative' <<<"$err"
run "$bin" append --data "$work/c" --partitions 8 "$work/good.ndjson"
check "--partitions 8 on a 4-partition log exits 2" test "$rc" -eq 2
check "... naming both counts" grep -q "already has 4 partitions; --partitions 8" <<<"$err"
run "$bin" append --data "$work/c" --partitions 4 "$work/good.ndjson"
check "--partitions equal to the log's count is fine" test "$rc" -eq 0

# append on a terminal says it is waiting for input.
check "append on a terminal prints a hint" python3 - "$bin" "$work/tty" <<'PY'
import os, pty, subprocess, sys
master, slave = pty.openpty()
p = subprocess.Popen([sys.argv[1], "append", "--data", sys.argv[2]], stdin=slave,
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
os.close(slave)
os.write(master, b"\x04")  # Ctrl-D: end of input
out, err = p.communicate(timeout=30)
sys.exit(0 if b"reading NDJSON from standard input (Ctrl-D to end)" in err and p.returncode == 0 else 1)
PY

# A second fold on one directory names the first; an interrupted fold says so, exit 130.
"$bin" generate --events 60000 --seed 5 --merchants 50 > "$work/many.ndjson"
"$bin" append --data "$work/f" "$work/many.ndjson" > /dev/null
"$bin" fold --data "$work/f" --batch 20 -q > "$work/fold1.out" 2> "$work/fold1.err" &
fold_pid=$!
wait_for "[ \"\$(cat '$work/f/fold.lock' 2>/dev/null)\" = '$fold_pid' ] && handles_sigint $fold_pid"
run "$bin" fold --data "$work/f" -q
check "a second fold exits 1" test "$rc" -eq 1
check "... naming the first one's pid" \
  grep -q "another payledger process is folding $work/f (pid $fold_pid)" <<<"$err"
kill -INT "$fold_pid"
set +e; wait "$fold_pid"; rc=$?; set -e
check "an interrupted fold exits 130" test "$rc" -eq 130
check "... saying it was interrupted" \
  grep -q 'interrupted after [0-9]* events; .* rerun `payledger fold` to continue' "$work/fold1.err"
"$bin" fold --data "$work/f" -q > /dev/null
check "the rerun finishes the fold" test "$("$bin" fold --data "$work/f" -q --json | grep -c '"records": 0')" -eq 1

# append and generate stop cleanly on a signal.
mkfifo "$work/fifo"
"$bin" append --data "$work/sig" - < "$work/fifo" > "$work/sig.out" 2> "$work/sig.err" &
append_pid=$!
exec 3> "$work/fifo"
auth s1 p1 >&3; auth s2 p2 >&3
wait_for "handles_sigint $append_pid"
kill -TERM "$append_pid"
set +e; wait "$append_pid"; rc=$?; set -e
exec 3>&-
check "append stopped by SIGTERM exits 143" test "$rc" -eq 143
check "... saying it was interrupted" grep -q 'append interrupted after line' "$work/sig.err"
"$bin" generate --events 50000000 --seed 1 -o "$work/gen.ndjson" 2> "$work/gen.err" &
gen_pid=$!
wait_for "[ -s '$work/gen.ndjson' ] && handles_sigint $gen_pid"
kill -INT "$gen_pid"
set +e; wait "$gen_pid"; rc=$?; set -e
check "generate stopped by SIGINT exits 130" test "$rc" -eq 130
check "... saying so" grep -q 'generate interrupted after' "$work/gen.err"
check "... its last line is whole" bash -c 'tail -n 1 "$1" | python3 -c "import json,sys; json.loads(sys.stdin.read())"' _ "$work/gen.ndjson"

if [ "$fails" -ne 0 ]; then echo "$fails checks failed"; exit 1; fi
echo "all checks passed"
