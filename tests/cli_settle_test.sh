#!/usr/bin/env bash
# Settlement from the command line (issue 11, docs/settlement.md): `settle` decides, appends
# and folds; twice is once; `settlements` lists status and ageing; the bank's answers (sent,
# confirmed, returned) and a token redemption are appended like any event; `wallets` shows
# the tokens against the deposits set aside; bad input and refusals exit non-zero.
# Usage: cli_settle_test.sh PATH/TO/payledger
set -euo pipefail
bin=${1:?usage: cli_settle_test.sh PATH/TO/payledger}
source "$(dirname "$0")/lib.sh"

ev() {  # ev EVENT_ID MERCHANT TIME BODY
  printf '{"event_id":"%s","merchant_id":"%s","schema_version":1,"occurred_at":"%s",%s}\n' "$@"
}
sale() {  # sale MERCHANT PAYMENT AMOUNT TIME: a GBP card payment captured at TIME
  ev "a-$2" "$1" "$4" "\"card_authorised\":{\"payment_id\":\"$2\",\"amount\":{\"currency\":\"GBP\",\"amount\":\"$3\"},\"expires_at\":\"2026-12-31T00:00:00Z\"}"
  ev "c-$2" "$1" "$4" "\"card_captured\":{\"payment_id\":\"$2\",\"amount\":{\"currency\":\"GBP\",\"amount\":\"$3\"}}"
}
policy() {  # policy MERCHANT RAIL EXTRA
  ev "pol-$1" "$1" 2026-08-01T00:00:00Z "\"merchant_settlement_policy_set\":{\"currency\":\"GBP\",\"rail\":\"SETTLEMENT_RAIL_$2\",\"cutoff_local\":\"17:30\",\"time_zone\":\"Europe/London\",\"settlement_days\":1$3}"
}
{
  policy batchy BATCH ',"reserve_percent":"10","reserve_days":7'
  policy tokeny TOKENISED ''
  sale batchy p1 100.00 2026-08-28T09:00:00Z
  sale tokeny p2 250.00 2026-08-28T09:30:00Z
  sale nopolicy p3 10.00 2026-08-28T09:40:00Z
} > "$work/in.ndjson"
"$bin" append --data "$work/d" --partitions 2 "$work/in.ndjson" > /dev/null
"$bin" fold --data "$work/d" -q > /dev/null

run "$bin" settle --data "$work/d" --as-of 2026-08-28T16:40:00Z --dry-run
check "dry run exits 0 ($rc)" test "$rc" -eq 0
check "dry run says nothing was appended" grep -q "dry run: nothing appended" "$work/out"
run "$bin" settlements --data "$work/d" --json
check "after a dry run there is no instruction" grep -q '"instructions": \[\]' "$work/out"

# Friday 28 August 2026, 17:40 BST: after the 17:30 cut-off. batchy: 100.00, 10% reserve ->
# 90.00 paid, value date Tue 1 Sep (Mon 31 Aug is a bank holiday); tokeny: 250.00 at the
# 16:30 UTC sweep.
run "$bin" settle --data "$work/d" --as-of 2026-08-28T16:40:00Z
check "settle exits 0 ($rc)" test "$rc" -eq 0
check "batchy instructed 90.00 + 10.00 reserve for Tuesday" \
  grep -Eq '^batchy +GBP +batch +instructed +90.00 +10.00 +0.00 +2026-09-01 +stl-GBP-2026-08-28$' "$work/out"
check "tokeny instructed 250.00 today" \
  grep -Eq '^tokeny +GBP +tokenised +instructed +250.00 +0.00 +0.00 +2026-08-28 +stl-GBP-2026-08-28T1630$' "$work/out"
check "4 events appended, 4 applied" grep -q "appended 4 events; folded 4 records: 4 applied, 0 rejected" "$work/out"
digest1=$("$bin" digest --data "$work/d")
run "$bin" settle --data "$work/d" --as-of 2026-08-28T16:40:00Z --json
check "settle twice: nothing instructed the second time" grep -q '"instructed": 0,' "$work/out"
check "settle twice: no events" grep -q '"events": 0,' "$work/out"
check "settle twice: the same books" test "$("$bin" digest --data "$work/d")" = "$digest1"

run "$bin" settlements --data "$work/d"
check "settlements exits 0 ($rc)" test "$rc" -eq 0
check "batchy's instruction is open" grep -Eq '^batchy +stl-GBP-2026-08-28 +batch +GBP +90.00 +instructed +2026-08-28T16:40:00Z +2026-09-01 +0m$' "$work/out"
check "tokeny's tokens are transferred" grep -Eq '^tokeny +stl-GBP-2026-08-28T1630 +tokenised +GBP +250.00 +transferred ' "$work/out"
run "$bin" wallets --data "$work/d"
check "wallets exits 0 ($rc)" test "$rc" -eq 0
check "tokeny holds 250.00 GBP.TDS" grep -Eq '^tokeny +GBP.TDS +250.00$' "$work/out"
check "250.00 in circulation = 250.00 set aside" grep -Eq '^GBP +GBP.TDS +250.00 +250.00$' "$work/out"

# The bank's answers: batchy's payout is sent, then returned; tokeny's bank confirms and
# redeems 100.00 of the tokens.
{
  ev s1 batchy 2026-08-28T17:00:00Z '"settlement_sent":{"instruction_id":"stl-GBP-2026-08-28"}'
  ev r1 batchy 2026-09-01T10:00:00Z '"settlement_returned":{"instruction_id":"stl-GBP-2026-08-28","reason":"AC04 account closed"}'
  ev k1 tokeny 2026-08-28T16:45:00Z '"settlement_confirmed":{"instruction_id":"stl-GBP-2026-08-28T1630"}'
  ev k2 tokeny 2026-08-28T16:46:00Z '"settlement_confirmed":{"instruction_id":"stl-GBP-2026-08-28T1630"}'
  ev x1 tokeny 2026-08-28T18:00:00Z '"token_redeemed":{"redemption_id":"red-1","amount":{"currency":"GBP.TDS","amount":"100.00"}}'
  ev x2 tokeny 2026-08-28T18:01:00Z '"token_redeemed":{"redemption_id":"red-2","amount":{"currency":"GBP.TDS","amount":"150.01"}}'
  ev k3 batchy 2026-09-01T10:00:00Z '"settlement_confirmed":{"instruction_id":"stl-GBP-2099-01-01"}'
} > "$work/answers.ndjson"
"$bin" append --data "$work/d" "$work/answers.ndjson" > /dev/null
run "$bin" fold --data "$work/d" -q --json
check "4 answers applied, 3 rejected" grep -q '"applied": 4,' "$work/out"
run "$bin" rejects --data "$work/d"
check "a duplicate confirmation is rejected" grep -q "illegal_transition.*(a duplicate confirmation)" "$work/out"
check "a redemption above the wallet is rejected" grep -q "insufficient_funds.*redemption of 150.01 GBP.TDS exceeds the 150.00" "$work/out"
check "a confirmation of an unknown instruction is rejected" grep -q "unknown_instruction" "$work/out"
run "$bin" balance --data "$work/d" --account merchant:batchy:payable
check "the returned 90.00 is payable again" grep -Eq 'merchant:batchy:payable +GBP +90.00' "$work/out"
run "$bin" settlements --data "$work/d" --status returned
check "--status returned lists it with its reason" grep -q "returned: AC04 account closed" "$work/out"
check "and only it" bash -c "! grep -q tokeny '$work/out'"
run "$bin" settlements --data "$work/d" --status open --json
check "nothing is open" grep -q '"instructions": \[\]' "$work/out"
run "$bin" wallets --data "$work/d" --json
check "150.00 in circulation after redeeming 100.00" grep -q '"in_circulation": "150.00"' "$work/out"
check "equal to the deposits set aside" grep -q '"equal": true' "$work/out"

# Refusals.
run "$bin" settle --data "$work/d" --as-of yesterday
check "a bad --as-of is a usage error ($rc)" test "$rc" -eq 2
run "$bin" settle --data "$work/d" --as-of 2026-09-10
check "a date alone is a usage error ($rc)" test "$rc" -eq 2
check "saying cut-offs are local" grep -q "cut-offs are local" "$work/err"
run "$bin" settle --data "$work/d" --as-of 2026-09-10T16:40:00Z --merchant nopolicy
check "a merchant with no policy: exit 1 ($rc)" test "$rc" -eq 1
check "saying so" grep -q "merchant nopolicy has no settlement policy" "$work/err"
run "$bin" settlements --data "$work/d" --status lost
check "an unknown --status is a usage error ($rc)" test "$rc" -eq 2
sale batchy p9 5.00 2026-09-02T09:00:00Z > "$work/more.ndjson"
"$bin" append --data "$work/d" "$work/more.ndjson" > /dev/null
run "$bin" settle --data "$work/d" --as-of 2026-09-02T16:40:00Z
check "books behind their log: settle refuses ($rc)" test "$rc" -eq 1
check "naming the fold to run" grep -q "run \`payledger fold" "$work/err"
"$bin" fold --data "$work/d" -q > /dev/null
# A run more than 366 days after a partition's latest event: the fold refuses its start
# (clock_skew), settle says so and exits 1.
run "$bin" settle --data "$work/d" --as-of 2027-12-31T18:00:00Z --merchant batchy
check "an as-of a year past the books: exit 1 ($rc)" test "$rc" -eq 1
check "naming clock_skew" grep -q "clock_skew" "$work/err"
# Friday 2027-12-31 18:00 London, after the cut-off: T+1 needs 2028, which the GBP calendar
# does not cover: the merchant cannot be decided (never guessed), exit 1, nothing appended.
{  # activity in every partition, so the run's start is within a year of each
  sale batchy p10 1.00 2027-06-01T09:00:00Z
  sale tokeny p11 1.00 2027-06-01T09:00:00Z
  sale nopolicy p12 1.00 2027-06-01T09:00:00Z
} > "$work/later.ndjson"
"$bin" append --data "$work/d" "$work/later.ndjson" > /dev/null
"$bin" fold --data "$work/d" -q > /dev/null
run "$bin" settle --data "$work/d" --as-of 2027-12-31T18:00:00Z --merchant batchy
check "a value date outside the calendar: exit 1 ($rc)" test "$rc" -eq 1
check "reported as failed" grep -q "failed: " "$work/out"

run "$bin" settle --data "$work/d" --as-of 2026-08-28T16:40:00Z
check "an as-of before the books' latest event: exit 1 ($rc)" test "$rc" -eq 1
check "saying why" grep -q "may not be before their latest event" "$work/err"

# The rails comparison over this history (GBP: both merchants replayed under each rail).
# Batch, cut-off 17:30 BST (16:30Z), T+1: batchy's 100.00 (Fri 09:00Z) and tokeny's 250.00
# (09:30Z) are funded Tue 1 Sep 00:00 BST = Mon 23:00Z (Mon 31 Aug is a holiday): 86 h and
# 85.5 h; batchy's 5.00 (Wed 2 Sep 09:00Z) Thu 3 Sep 00:00 BST = Wed 23:00Z: 14 h. Weighted:
# (10000 x 309600 + 25000 x 307800 + 500 x 50400) / 35500 = 304681.7 s = 84.6 h. Tokenised:
# each flow is on a 15-minute sweep: 0.0 h. The settlement events are not flows.
run "$bin" settle report --data "$work/d" --compare-rails
check "settle report exits 0 ($rc)" test "$rc" -eq 0
check "batch 84.6 h vs tokenised 0.0 h to funds" grep -Eq '^  time to funds, average \(h\) +84.6 +0.0$' "$work/out"
check "3 flows on each rail" grep -Eq '^  flows in period +3 +3$' "$work/out"
run "$bin" settle report --data "$work/d" --compare-rails --json
check "JSON names GBP" grep -q '"currency": "GBP"' "$work/out"
run "$bin" settle report --data "$work/d"
check "settle report without --compare-rails: usage error ($rc)" test "$rc" -eq 2
run "$bin" settle report --data "$work/d" --compare-rails --plot "$work/chart.txt"
check "a chart that is not .svg/.png: usage error ($rc)" test "$rc" -eq 2
# gnuplot is installed by scripts/install-deps (as for `exposure --plot`).
run "$bin" settle report --data "$work/d" --compare-rails --plot "$work/chart.svg"
check "the chart is drawn ($rc)" test "$rc" -eq 0
check "by gnuplot" grep -q 'Produced by GNUPLOT' "$work/chart.svg"

# Help explains the command.
run "$bin" settle --help
check "settle --help explains cycles" grep -q "cut-off" "$work/out"
finish
