#!/usr/bin/env bash
# Bank-statement reconciliation from the command line (issue 12 item 4, docs/cli.md
# "Reconciliation"): a tiny ledger moving money on psp:bank:operating, a camt.053 statement
# with one break (exit 1, the break named), a clean one (exit 0), a re-run (the stored report,
# unchanged), a CSV statement claiming a movement already matched, --json, and bad input.
# Usage: cli_reconcile_test.sh PATH/TO/payledger FIXTURES_DIR (tests/fixtures/reconcile)
set -euo pipefail
bin=${1:?usage: cli_reconcile_test.sh PATH/TO/payledger FIXTURES_DIR}
fixtures=${2:?usage: cli_reconcile_test.sh PATH/TO/payledger FIXTURES_DIR}
source "$(dirname "$0")/lib.sh"

ev() {  # ev EVENT_ID MERCHANT TIME BODY
  printf '{"event_id":"%s","merchant_id":"%s","schema_version":1,"occurred_at":"%s",%s}\n' "$@"
}
# The bank account psp:bank:operating (EUR): s1 +250.00 on the 2nd (card scheme settlement
# visa-1: Dr bank), s2 +100.00 (visa-2) and o1 -40.00 (payout po1: Cr bank) on the 3rd; the
# statements quote the settlement and payout ids. The capture gives m1 the
# payable balance the payout needs; it does not touch the bank.
{
  ev a1 m1 2025-01-01T08:00:00Z '"card_authorised":{"payment_id":"p1","amount":{"currency":"EUR","amount":"100.00"},"expires_at":"2025-02-01T00:00:00Z"}'
  ev c1 m1 2025-01-01T08:05:00Z '"card_captured":{"payment_id":"p1","amount":{"currency":"EUR","amount":"100.00"}}'
  ev s1 m1 2025-01-02T09:00:00Z '"card_scheme_settlement_received":{"settlement_id":"visa-1","scheme":"visa","amount":{"currency":"EUR","amount":"250.00"}}'
  ev s2 m1 2025-01-03T10:00:00Z '"card_scheme_settlement_received":{"settlement_id":"visa-2","scheme":"visa","amount":{"currency":"EUR","amount":"100.00"}}'
  ev o1 m1 2025-01-03T12:00:00Z '"payout_sent":{"payout_id":"po1","amount":{"currency":"EUR","amount":"40.00"}}'
} > "$work/in.ndjson"
"$bin" append --data "$work/d" --partitions 1 "$work/in.ndjson" > /dev/null
run "$bin" fold --data "$work/d" -q --json
check "5 events applied" grep -q '"applied": 5,' "$work/out"
run "$bin" balance --data "$work/d" --json
check "the bank holds 310.00 EUR (250.00 + 100.00 - 40.00)" grep -q '"310.00"' "$work/out"

# The 2nd: s1 matched, the bank fee FEE-JAN (-1.50) missing in the ledger, and the closing
# 248.50 (0.00 + 250.00 - 1.50) against the ledger's 250.00: difference -1.50.
run "$bin" reconcile --data "$work/d" --statement "$fixtures/stmt-2025-01-02.xml"
check "a statement with a break exits 1 ($rc)" test "$rc" -eq 1
check "the break is named: missing_in_ledger FEE-JAN -1.50" \
  grep -Eq '^missing_in_ledger +line 21 2025-01-02 -1.50 ref FEE-JAN: no movement with reference FEE-JAN$' "$work/out"
check "1 break" grep -q '^1 breaks, failed checks: \["closing_balance_disagrees"\]$' "$work/out"
check "s1 matched exactly" grep -Eq '^matched_exact +1 +250.00$' "$work/out"
check "closing balance disagrees by -1.50" \
  grep -Eq '^closing balance +DISAGREES statement 248.50, ledger 250.00, difference -1.50$' "$work/out"
check "the statement adds up" grep -Eq '^statement totals +ok ' "$work/out"
first_out=$out
check "the report is stored" test -f "$work/d/reconciliation/matched.json"

# Re-run: the stored report, unchanged, and the same exit code.
run "$bin" reconcile --data "$work/d" --statement "$fixtures/stmt-2025-01-02.xml"
check "re-run exits 1 again ($rc)" test "$rc" -eq 1
check "re-run prints the same report" test "$out" = "$first_out"
check "re-run says the report was stored" grep -q "the stored report, unchanged" "$work/err"

# The 3rd: clean. s2 exact, o1 one day off (value date the 4th); balances 250.00 and 310.00.
run "$bin" reconcile --data "$work/d" --statement "$fixtures/stmt-2025-01-03.xml"
check "a clean statement exits 0 ($rc)" test "$rc" -eq 0
check "no breaks" grep -q '^0 breaks, failed checks: none$' "$work/out"
check "o1 matched within the tolerance" grep -Eq '^matched_within_tolerance +1 +-40.00$' "$work/out"
check "opening balance agrees" grep -Eq '^opening balance +ok +statement 250.00, ledger 250.00' "$work/out"
run "$bin" reconcile --data "$work/d" --statement "$fixtures/stmt-2025-01-03.xml" --json
check "the stored clean report as JSON exits 0 ($rc)" test "$rc" -eq 0
check "--json parses" sh -c 'python3 -m json.tool "$1" > /dev/null' _ "$work/out"
check "--json says clean" grep -q '"clean": true,' "$work/out"

# A CSV statement with s1 again: the STMT-20250102 statement already matched it.
run "$bin" reconcile --data "$work/d" --statement "$fixtures/stmt-2025-01-02.csv" --json
check "a movement matched by another statement exits 1 ($rc)" test "$rc" -eq 1
check "--json parses (CSV)" sh -c 'python3 -m json.tool "$1" > /dev/null' _ "$work/out"
check "already_matched names the statement" \
  grep -q '"detail": "movement 0:2:s1:psp:bank:operating:EUR:0 was matched by statement STMT-20250102"' "$work/out"

# Bad input: malformed XML names FILE:LINE; another currency names both; usage errors exit 2.
printf '<Document>\n<BkToCstmrStmt>\n<Stmt><Id>X</Idd>\n' > "$work/bad.xml"
run "$bin" reconcile --data "$work/d" --statement "$work/bad.xml"
check "malformed XML exits 1 ($rc)" test "$rc" -eq 1
check "malformed XML names the line" grep -q "bad.xml:3: malformed XML" "$work/err"
sed 's/EUR/GBP/g; s/STMT-20250102/STMT-GBP/' "$fixtures/stmt-2025-01-02.xml" > "$work/gbp.xml"
run "$bin" reconcile --data "$work/d" --statement "$work/gbp.xml"
check "a statement in GBP on an EUR account exits 1 ($rc)" test "$rc" -eq 1
check "the error names both currencies" grep -q "no posted lines in GBP.*only in EUR" "$work/err"
printf '#statement,X\n#opening,2025-01-02,0.00,EUR\n#closing,2025-01-02,0.00,EUR\ndate,value_date,amount,currency,reference,entry_ref,reversal,description\n2025-01-02,,1.001,EUR,r,,,\n' > "$work/bad.csv"
run "$bin" reconcile --data "$work/d" --statement "$work/bad.csv" --account psp:bank:operating
check "too many decimals exits 1 ($rc)" test "$rc" -eq 1
check "too many decimals names FILE:LINE" grep -q "bad.csv:5: amount '1.001'" "$work/err"
check "--date-tolerance 99 is a usage error" \
  test "$(exit_code "$bin" reconcile --data "$work/d" --statement "$work/bad.csv" --date-tolerance 99)" -eq 2
check "--statement is required" test "$(exit_code "$bin" reconcile --data "$work/d")" -eq 2
run "$bin" reconcile --help
check "--help explains the passes" grep -q "missing_in_bank" "$work/out"

# Demo books: the demo ends with a statement of its busiest bank account reconciled (the
# injected breaks found, exit 0); generate-statement + reconcile on the same books.
run "$bin" demo --data "$work/demo" --events 4000 --merchants 30 --seed 3 -q --json
check "the demo exits 0 ($rc)" test "$rc" -eq 0
json_get() {  # json_get FILE PYTHON_EXPR (over j)
  python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@"
}
check "the demo's JSON has reconciliation, breaks as injected" \
  test "$(json_get "$work/out" 'j["reconciliation"]["as_injected"]')" = True
check "the demo's reconciliation found 1 missing_in_bank" \
  test "$(json_get "$work/out" 'j["reconciliation"]["summary"]["missing_in_bank"]["count"]')" = 1
acct=$(json_get "$work/out" 'j["reconciliation"]["account"]')
ccy=$(json_get "$work/out" 'j["reconciliation"]["currency"]')
first=$(json_get "$work/out" 'j["reconciliation"]["from"]')
last=$(json_get "$work/out" 'j["reconciliation"]["to"]')
demo_file=$(json_get "$work/out" 'j["reconciliation"]["file"]')
check "the demo wrote its statement under DIR/statements" test -f "$demo_file"
echo "demo reconciled $acct $ccy $first .. $last"
# A clean statement (--breaks 0) of the first day: exit 0, no breaks (in a copy of the books:
# its matches are claimed there, not in the books the next statement is reconciled with).
cp -r "$work/demo" "$work/demo-clean"
run "$bin" generate-statement --data "$work/demo-clean" --account "$acct" --currency "$ccy" \
  --from "$first" --to "$first" --breaks 0 -o "$work/clean.xml"
check "generate-statement --breaks 0 exits 0 ($rc)" test "$rc" -eq 0
run "$bin" reconcile --data "$work/demo-clean" --statement "$work/clean.xml"
check "the clean generated statement reconciles with no breaks ($rc)" test "$rc" -eq 0
check "no breaks (clean)" grep -q '^0 breaks, failed checks: none$' "$work/out"
# Two of each break on the last day, seed 5: reconcile finds exactly those (exit 1: breaks).
run "$bin" generate-statement --data "$work/demo" --account "$acct" --currency "$ccy" \
  --from "$last" --to "$last" --seed 5 --breaks 2 -o "$work/gen.xml" --json
check "generate-statement exits 0 ($rc)" test "$rc" -eq 0
cp "$work/out" "$work/gen.json"
run "$bin" reconcile --data "$work/demo" --statement "$work/gen.xml" --json
check "the generated statement with breaks exits 1 ($rc)" test "$rc" -eq 1
for kind in missing_in_bank missing_in_ledger amount_mismatch matched_within_tolerance \
  reversal_pairs; do
  check "2 $kind, as injected" \
    test "$(json_get "$work/out" "j['summary']['$kind']['count']")" = 2
done
for kind in duplicate_entry already_matched; do
  check "no $kind" test "$(json_get "$work/out" "j['summary']['$kind']['count']")" = 0
done
check "the fees: 2 x -1 unit" test "$(json_get "$work/out" \
  "j['summary']['missing_in_ledger']['amount'].lstrip('-').split('.')[0]")" = 2
check "missing_in_bank names the dropped movements" test \
  "$(json_get "$work/out" "sorted(b['movement']['key'] for b in j['breaks'] if b['kind']=='missing_in_bank')")" \
  = "$(json_get "$work/gen.json" "sorted(m['key'] for m in j['injected']['missing_in_bank'])")"
check "the closing differs by what was injected" test \
  "$(json_get "$work/out" "j['checks']['closing_balance']['difference']")" \
  = "$(json_get "$work/gen.json" "j['injected']['closing_difference']")"
check "movements reference business ids (payment ids), not event ids" test \
  "$(json_get "$work/out" "sum(1 for m in j['matched'] if m['movement']['reference']!=m['movement']['event_id'])")" -gt 0
check "generate-statement: a bad --from is a usage error" test "$(exit_code "$bin" \
  generate-statement --data "$work/demo" --account "$acct" --currency "$ccy" --from 2026-13-01 \
  -o "$work/x.xml")" -eq 2
check "generate-statement: -o is required" test "$(exit_code "$bin" generate-statement \
  --data "$work/demo" --account "$acct" --currency "$ccy")" -eq 2
run "$bin" generate-statement --data "$work/demo" --account "$acct" --currency XXX -o "$work/x.xml"
check "generate-statement: an unknown currency exits 1 ($rc)" test "$rc" -eq 1
run "$bin" generate-statement --data "$work/demo" --account psp:bank:nowhere --currency "$ccy" \
  -o "$work/x.xml"
check "generate-statement: an account with nothing exits 1 ($rc)" test "$rc" -eq 1
check "generate-statement --help explains the breaks" sh -c \
  '"$1" generate-statement --help | grep -q missing_in_bank' _ "$bin"
finish
