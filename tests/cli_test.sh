#!/usr/bin/env bash
# End-to-end test of the payledger command line: generate -> append -> fold -> queries,
# exit codes, rejects, rebuild and double-append digests. Usage: cli_test.sh PATH/TO/payledger
set -euo pipefail
bin=${1:?usage: cli_test.sh PATH/TO/payledger}
source "$(dirname "$0")/lib.sh"

"$bin" generate --events 3000 --seed 9 --merchants 25 > "$work/events.ndjson"
check "generate writes 3000 lines" test "$(wc -l < "$work/events.ndjson")" -eq 3000
"$bin" generate --events 3000 --seed 9 --merchants 25 > "$work/again.ndjson"
check "generate is deterministic" cmp -s "$work/events.ndjson" "$work/again.ndjson"

"$bin" append --data "$work/a" "$work/events.ndjson" > /dev/null
"$bin" fold --data "$work/a" --quiet > /dev/null
tb=$("$bin" trial-balance --data "$work/a" --json)
check "trial balance JSON says balanced" grep -q '"balanced": true' <<<"$tb"
check "trial balance has JPY and BHD" grep -q '"asset": "BHD"' <<<"$tb"
check "trial balance exits 0" test "$(exit_code "$bin" trial-balance --data "$work/a")" -eq 0
digest_a=$("$bin" digest --data "$work/a")
check "digest is 64 hex chars" grep -Eq '^[0-9a-f]{64}$' <<<"$digest_a"

"$bin" rebuild --data "$work/a" --quiet > /dev/null
check "rebuild gives the same digest" test "$("$bin" digest --data "$work/a")" = "$digest_a"

"$bin" append --data "$work/b" "$work/events.ndjson" > /dev/null
"$bin" append --data "$work/b" - < "$work/events.ndjson" > /dev/null
fold_b=$("$bin" fold --data "$work/b" --json)
# Every record again: a published rate is a record in each of the 4 partitions.
rates=$(grep -c fx_rate_published "$work/events.ndjson")
check "the stream publishes rates ($rates)" test "$rates" -gt 0
check "double append: 3000 + 3 x $rates duplicates" \
  grep -q "\"duplicates\": $((3000 + 3 * rates))" <<<"$fold_b"
check "double append gives the same digest" test "$("$bin" digest --data "$work/b")" = "$digest_a"

balance=$("$bin" balance --data "$work/a" --account psp:revenue:fees --json)
check "balance JSON lists fee revenue" grep -q '"account": "psp:revenue:fees"' <<<"$balance"
statement=$("$bin" statement --data "$work/a" --account psp:revenue:fees --limit 5 --json)
# Fee revenue lines come from fee_assessed events and from contract MDR on money in.
check "statement JSON has lines" grep -Eq '"kind": "(fee_assessed|card_captured)"' <<<"$statement"

# Bad input: parked with a reason, the fold goes on, exit codes.
printf '%s\n' '{"event_id": broken' \
  '{"event_id":"x1","merchant_id":"m00001-IN","schema_version":1,"occurred_at":"2026-01-01T00:00:00Z","card_captured":{"payment_id":"nope","amount":{"currency":"INR","amount":"1.00"}}}' \
  '{"event_id":"x2","merchant_id":"m00001-IN","schema_version":7,"card_voided":{"payment_id":"p"}}' \
  > "$work/bad.ndjson"
"$bin" append --data "$work/a" "$work/bad.ndjson" > /dev/null 2>&1
check "fold with bad events exits 0" test "$(exit_code "$bin" fold --data "$work/a")" -eq 0
rejects=$("$bin" rejects --data "$work/a" --json)
check "malformed JSON is parked" grep -q '"code": "malformed"' <<<"$rejects"
check "unknown payment is parked" grep -q '"code": "unknown_payment"' <<<"$rejects"
check "unknown schema version is parked" grep -q '"code": "unknown_schema_version"' <<<"$rejects"
check "rejects keep the raw input" grep -q '"raw": "{\\"event_id\\": broken"' <<<"$rejects"
check "rejected events leave the digest alone" test "$("$bin" digest --data "$work/a")" = "$digest_a"

# Dead letters can be replayed once their cause is gone: a capture that arrived before its
# authorisation is parked, then applies when replayed after the authorisation.
cap='{"event_id":"late-cap","merchant_id":"m9","schema_version":1,"occurred_at":"2026-01-01T00:00:00Z","card_captured":{"payment_id":"p9","amount":{"currency":"EUR","amount":"5.00"}}}'
auth='{"event_id":"late-auth","merchant_id":"m9","schema_version":1,"occurred_at":"2026-01-01T00:00:00Z","card_authorised":{"payment_id":"p9","amount":{"currency":"EUR","amount":"5.00"}}}'
echo "$cap" | "$bin" append --data "$work/c" - > /dev/null
"$bin" fold --data "$work/c" -q > /dev/null
check "early capture is parked" grep -q '"code": "unknown_payment"' <<<"$("$bin" rejects --data "$work/c" --json)"
echo "$auth" | "$bin" append --data "$work/c" - > /dev/null
"$bin" fold --data "$work/c" -q > /dev/null
replayed=$("$bin" replay --data "$work/c" --code unknown_payment --json)
check "replay appends the parked capture" grep -q '"replayed": 1' <<<"$replayed"
"$bin" fold --data "$work/c" -q > /dev/null
posted=$("$bin" balance --data "$work/c" --account merchant:m9:payable --json)
check "replayed capture is posted" grep -q '"posted": "5.00"' <<<"$posted"
pay=$("$bin" payment --data "$work/c" --merchant m9 --id p9 --json)
check "payment shows the state machine" grep -q '"status": "captured"' <<<"$pay"
check "unknown payment exits 1" test "$(exit_code "$bin" payment --data "$work/c" --merchant m9 --id nope)" -eq 1
check "bad --at is a usage error (2)" test "$(exit_code "$bin" replay --data "$work/c" --at x)" -eq 2

# Checkout conversion report.
"$bin" append --data "$work/co" "$(dirname "$0")/scenarios/checkout/events.ndjson" > /dev/null
"$bin" fold --data "$work/co" -q > /dev/null
report=$("$bin" report checkout --data "$work/co" --json)
check "checkout report: pix BR abandonment 66.67%" \
  python3 -c 'import json,sys; r=json.load(sys.stdin); sys.exit(0 if any(x["method"]=="pix" and x["abandonment_rate"]=="66.67%" for x in r) else 1)' <<<"$report"
check "checkout report human output has a header" grep -q ABANDONMENT <<<"$("$bin" report checkout --data "$work/co")"

check "no subcommand is a usage error (2)" test "$(exit_code "$bin")" -eq 2
check "unknown option is a usage error (2)" test "$(exit_code "$bin" fold --data x --bogus)" -eq 2
check "missing --data is a usage error (2)" test "$(exit_code "$bin" digest)" -eq 2
check "bad account name is a usage error (2)" \
  test "$(exit_code "$bin" statement --data "$work/a" --account nope)" -eq 2
check "no projections is a failure (1)" test "$(exit_code "$bin" digest --data "$work/none")" -eq 1
check "--help exits 0" test "$(exit_code "$bin" --help)" -eq 0

demo=$("$bin" demo --events 2000 --data "$work/demo" --json)
check "demo JSON is balanced" grep -q '"balanced": true' <<<"$demo"
check "demo refuses a used data dir (2)" \
  test "$(exit_code "$bin" demo --events 10 --data "$work/demo")" -eq 2

finish
