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
# The bank account psp:bank:operating (EUR): s1 +250.00 on the 2nd (card scheme settlement:
# Dr bank), s2 +100.00 and o1 -40.00 (a payout: Cr bank) on the 3rd. The capture gives m1 the
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
  grep -q '"detail": "movement 0:2:psp:bank:operating was matched by statement STMT-20250102"' "$work/out"

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
finish
