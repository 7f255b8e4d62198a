#!/usr/bin/env bash
# `payledger export` (issue 12 item 5, docs/cli.md "Export to hledger / beancount"): hledger
# and bean-check accept the journals, and their balances equal `payledger balance --json`
# for every account and commodity (posted, and pending on the parallel tree), now and
# --as-of a mid point; a tampered amount is caught by the comparison; refusals exit non-zero
# and leave no file.
# Usage: cli_export_test.sh PATH/TO/payledger
set -euo pipefail
bin=${1:?usage: cli_export_test.sh PATH/TO/payledger}
source "$(dirname "$0")/lib.sh"

for tool in hledger bean-check; do
  if ! command -v "$tool" > /dev/null; then
    echo "FAIL - $tool is not installed (scripts/install-deps installs it)"
    exit 1
  fi
done
# beancount's Python modules are installed for the interpreter bean-check runs on.
beanpy=$(head -1 "$(command -v bean-check)" | sed 's/^#! *//')
if ! $beanpy -c 'import beancount.loader' 2> /dev/null; then
  echo "FAIL - $beanpy cannot import beancount"
  exit 1
fi

# compare.py hledger BAL.csv BALANCE.json | beancount FILE BALANCE.json: every (account,
# commodity) of either side; payledger's signed balance is debit - credit (posted, and pending
# under pending:<account> / <Root>:Pending:...). Exact decimals, missing = 0. Exit 1 listing
# each difference.
cat > "$work/compare.py" << 'EOF'
import csv, json, sys
from decimal import Decimal

def payledger(path):
    want = {}
    for r in json.load(open(path)):
        want[("posted", r["account"], r["asset"])] = (
            Decimal(r["posted_debit"]) - Decimal(r["posted_credit"]))
        want[("pending", r["account"], r["asset"])] = (
            Decimal(r["pending_debit"]) - Decimal(r["pending_credit"]))
    return want

def hledger(path):
    got = {}
    for row in csv.DictReader(open(path)):
        if row["account"] == "total":
            continue
        acct, bucket = row["account"], "posted"
        if acct.startswith("pending:"):
            acct, bucket = acct[len("pending:"):], "pending"
        got[(bucket, acct, row["commodity"])] = Decimal(row["balance"])
    return got

def beancount(path):
    from beancount import loader
    from beancount.core import data
    entries, errors, _ = loader.load_file(path)
    if errors:
        sys.exit("beancount errors: %s" % errors[:3])
    names, got = {}, {}
    for e in entries:
        if isinstance(e, data.Open):
            bucket = "pending" if e.account.split(":")[1] == "Pending" else "posted"
            names[e.account] = (bucket, e.meta["payledger-account"])
    for e in entries:
        if isinstance(e, data.Transaction):
            for p in e.postings:
                key = names[p.account] + (p.units.currency,)
                got[key] = got.get(key, Decimal(0)) + p.units.number
    return got

mode, journal, balance = sys.argv[1:4]
got = hledger(journal) if mode == "hledger" else beancount(journal)
want = payledger(balance)
bad = 0
for key in sorted(set(got) | set(want)):
    g, w = got.get(key, Decimal(0)), want.get(key, Decimal(0))
    if g != w:
        bad += 1
        print("DIFF %s %s %s: export %s, payledger %s" % (key + (g, w)))
nonzero = sum(1 for v in want.values() if v != 0)
print("compared %d balances (%d non-zero), %d differ" % (len(set(got) | set(want)), nonzero, bad))
sys.exit(1 if bad or nonzero == 0 else 0)
EOF
hledger_balances() {  # hledger_balances JOURNAL OUT.csv: one row per account and commodity
  hledger -f "$1" bal --flat --empty --no-total -O csv --layout=bare > "$2"
}
bean_balances_ok() {  # bean_balances_ok FILE BALANCE.json
  $beanpy "$work/compare.py" beancount "$1" "$2"
}

# A small book written by hand: tokeny is settled on the tokenised rail, so its 250.00 GBP
# sale becomes 250.00 GBP.TDS deposit tokens in its wallet (a symbol hledger must quote).
ev() {  # ev EVENT_ID MERCHANT TIME BODY
  printf '{"event_id":"%s","merchant_id":"%s","schema_version":1,"occurred_at":"%s",%s}\n' "$@"
}
{
  ev pol-tokeny tokeny 2026-08-01T00:00:00Z '"merchant_settlement_policy_set":{"currency":"GBP","rail":"SETTLEMENT_RAIL_TOKENISED","cutoff_local":"17:30","time_zone":"Europe/London","settlement_days":1}'
  ev a-p2 tokeny 2026-08-28T09:30:00Z '"card_authorised":{"payment_id":"p2","amount":{"currency":"GBP","amount":"250.00"},"expires_at":"2026-12-31T00:00:00Z"}'
  ev c-p2 tokeny 2026-08-28T09:30:00Z '"card_captured":{"payment_id":"p2","amount":{"currency":"GBP","amount":"250.00"}}'
  ev a-p3 holdy 2026-08-28T10:00:00Z '"card_authorised":{"payment_id":"p3","amount":{"currency":"GBP","amount":"40.00"},"expires_at":"2026-12-31T00:00:00Z"}'
} > "$work/small.ndjson"
"$bin" append --data "$work/s" --partitions 2 "$work/small.ndjson" > /dev/null
"$bin" fold --data "$work/s" -q > /dev/null
"$bin" settle --data "$work/s" --as-of 2026-08-28T16:40:00Z > /dev/null
run "$bin" export --data "$work/s" --format hledger
check "small: export hledger to stdout exits 0 ($rc)" test "$rc" -eq 0
cp "$work/out" "$work/small.journal"
check "small: hledger reads it" hledger -f "$work/small.journal" bal > /dev/null
check "small: strict hledger (accounts, commodities declared) accepts it" \
  hledger -s -f "$work/small.journal" check
check "small: the token commodity is quoted and declared" \
  grep -q '^commodity 1000.00 "GBP.TDS"$' "$work/small.journal"
check "small: the capture is dated by its UTC day, named by kind, merchant and payment" \
  grep -Eq '^2026-08-28 card_captured tokeny p2  ; event:c-p2, time:2026-08-28T09:30:00Z, position:[0-9]+/[0-9]+/0' \
  "$work/small.journal"
hledger_balances "$work/small.journal" "$work/small.csv"
# tokeny: 250.00 GBP captured and paid out as 250.00 GBP.TDS (no contract: no fee).
check "small: tokeny's wallet holds 250.00 GBP.TDS" \
  grep -q '^"merchant:tokeny:token-wallet","GBP.TDS","250.00"$' "$work/small.csv"
# holdy: 40.00 GBP only authorised: a hold, debit of the pending tree.
check "small: holdy's authorisation is 40.00 pending, not posted" \
  grep -Eq '^"pending:[a-z:]+","GBP","40.00"$' "$work/small.csv"
check "small: ... and no posted holdy balance" bash -c "! grep -q '^\"merchant:holdy' '$work/small.csv'"
"$bin" balance --data "$work/s" --json > "$work/small-bal.json"
check "small: hledger balances = payledger balances" \
  $beanpy "$work/compare.py" hledger "$work/small.csv" "$work/small-bal.json"
run "$bin" export --data "$work/s" --format beancount -o "$work/small.beancount"
check "small: export beancount exits 0 ($rc)" test "$rc" -eq 0
check "small: bean-check accepts it" bean-check "$work/small.beancount"
check "small: the token wallet is an Assets account with its GBP.TDS" \
  grep -Eq '^  Assets:Merchant:Tokeny:Token-wallet +250.00 GBP.TDS$' "$work/small.beancount"
check "small: beancount balances = payledger balances" \
  bean_balances_ok "$work/small.beancount" "$work/small-bal.json"

# A demo book: 20,000 events over every market, rail and asset.
"$bin" demo --events 20000 --data "$work/d" -q > /dev/null
"$bin" balance --data "$work/d" --json > "$work/bal.json"
run "$bin" export --data "$work/d" --format hledger -o "$work/all.journal" --json
check "demo: export hledger exits 0 ($rc)" test "$rc" -eq 0
check "demo: no FILE.tmp left" test ! -e "$work/all.journal.tmp"
check "demo: the summary counts transactions" grep -Eq '"transactions": [1-9][0-9]{3,}' "$work/out"
check "demo: strict hledger accepts it" hledger -s -f "$work/all.journal" check
hledger_balances "$work/all.journal" "$work/all.csv"
run $beanpy "$work/compare.py" hledger "$work/all.csv" "$work/bal.json"
echo "$out"
check "demo: every hledger balance = payledger's ($rc)" test "$rc" -eq 0
check "demo: a deposit token is among them" grep -q '"USD.TDS"' "$work/all.journal"

# Tampering: one transaction's two amounts moved by one minor unit (it still balances, so
# hledger and bean-check read it) must show up as differences on both accounts. tamper.py IN
# OUT POSTING-PREFIX-REGEX edits the first two-posting transaction it finds.
cat > "$work/tamper.py" << 'EOF'
import re, sys
from decimal import Decimal
lines = open(sys.argv[1]).read().split("\n")
post = re.compile(r"^(" + sys.argv[3] + r" +)(-?\d+\.\d\d) (USD|EUR|GBP|BRL)$")
for i in range(len(lines) - 2):
    a, b = post.match(lines[i]), post.match(lines[i + 1])
    if a and b and lines[i + 2] == "" and a.group(3) == b.group(3) \
            and Decimal(a.group(2)) == -Decimal(b.group(2)):
        one = Decimal("0.01") * (1 if Decimal(a.group(2)) > 0 else -1)
        lines[i] = a.group(1) + str(Decimal(a.group(2)) + one) + " " + a.group(3)
        lines[i + 1] = b.group(1) + str(Decimal(b.group(2)) - one) + " " + b.group(3)
        print("tampered:", lines[i].split()[0], "and", lines[i + 1].split()[0])
        break
else:
    sys.exit("no two-posting transaction to tamper with")
open(sys.argv[2], "w").write("\n".join(lines))
EOF
$beanpy "$work/tamper.py" "$work/all.journal" "$work/tampered.journal" '    \S+'
hledger_balances "$work/tampered.journal" "$work/tampered.csv"
run $beanpy "$work/compare.py" hledger "$work/tampered.csv" "$work/bal.json"
check "tampered hledger: the comparison fails ($rc)" test "$rc" -eq 1
check "tampered hledger: naming two differences" grep -q "2 differ" "$work/out"

run "$bin" export --data "$work/d" --format beancount -o "$work/all.beancount"
check "demo: export beancount exits 0 ($rc)" test "$rc" -eq 0
run bean-check "$work/all.beancount"
check "demo: bean-check exits 0 ($rc)" test "$rc" -eq 0
echo "$out$err" | head -5
run bean_balances_ok "$work/all.beancount" "$work/bal.json"
echo "$out"
check "demo: every beancount balance = payledger's ($rc)" test "$rc" -eq 0
# The same tampering in beancount: bean-check still passes, the balances do not.
$beanpy "$work/tamper.py" "$work/all.beancount" "$work/tampered.beancount" '  [A-Z]\S+'
check "tampered beancount: bean-check still accepts it" bean-check "$work/tampered.beancount"
run bean_balances_ok "$work/tampered.beancount" "$work/bal.json"
check "tampered beancount: the comparison fails ($rc)" test "$rc" -eq 1
check "tampered beancount: naming two differences" grep -q "2 differ" "$work/out"

# --as-of the median transaction's event time (the time: tag): fewer transactions, balances =
# balance --as-of at that moment.
n=$(grep -cE '^[0-9]{4}-[0-9]{2}-[0-9]{2} ' "$work/all.journal")
mid=$(grep -oE '; event:[^,]*, time:[0-9TZ:-]+' "$work/all.journal" | sed 's/.*time://' | sort | sed -n "$((n / 2))p")
echo "as of $mid (the median event time of $n transactions)"
"$bin" balance --data "$work/d" --as-of "$mid" --json > "$work/bal-mid.json"
run "$bin" export --data "$work/d" --format hledger --as-of "$mid" -o "$work/mid.journal"
check "as-of: export exits 0 ($rc)" test "$rc" -eq 0
m=$(grep -cE '^[0-9]{4}-[0-9]{2}-[0-9]{2} ' "$work/mid.journal")
check "as-of: fewer transactions ($m of $n)" test "$m" -lt "$n" -a "$m" -gt 0
check "as-of: no transaction after $mid" \
  bash -c "! grep -oE 'time:[0-9TZ:-]+' '$work/mid.journal' | sed 's/time://' | awk '\$1 > \"$mid\"' | grep -q ."
hledger_balances "$work/mid.journal" "$work/mid.csv"
run $beanpy "$work/compare.py" hledger "$work/mid.csv" "$work/bal-mid.json"
echo "$out"
check "as-of: every hledger balance = balance --as-of ($rc)" test "$rc" -eq 0
run "$bin" export --data "$work/d" --format beancount --as-of "$mid" -o "$work/mid.beancount"
check "as-of: bean-check accepts the beancount export" bean-check "$work/mid.beancount"
check "as-of: beancount balances = balance --as-of" \
  bean_balances_ok "$work/mid.beancount" "$work/bal-mid.json"
# The full balances differ from the mid-point ones: the as-of comparison is not vacuous.
run $beanpy "$work/compare.py" hledger "$work/mid.csv" "$work/bal.json"
check "as-of: the mid-point export differs from today's balances ($rc)" test "$rc" -eq 1

# Refusals.
run "$bin" export --data "$work/s" --format ledger
check "an unknown --format is a usage error ($rc)" test "$rc" -eq 2
run "$bin" export --data "$work/s"
check "no --format is a usage error ($rc)" test "$rc" -eq 2
run "$bin" export --data "$work/s" --format hledger --as-of yesterday
check "a bad --as-of is a usage error ($rc)" test "$rc" -eq 2
run "$bin" export --data "$work/s" --format hledger --as-of 2020-01-01 -o "$work/early.journal"
check "an --as-of before the first event: exit 1 ($rc)" test "$rc" -eq 1
check "... and no file" test ! -e "$work/early.journal" -a ! -e "$work/early.journal.tmp"
run "$bin" export --data "$work/s" --format hledger --json
check "--json without -o is a usage error ($rc)" test "$rc" -eq 2
run "$bin" export --data "$work/s" --format hledger -o "$work/no/such/dir/x.journal"
check "an unwritable -o: exit 1 ($rc)" test "$rc" -eq 1
run "$bin" export --data "$work/nothing-here" --format hledger
check "a missing --data: exit 1 ($rc)" test "$rc" -eq 1

# Two merchants whose names differ only in '_' vs '-' map to one beancount account: refused,
# naming both, nothing written; hledger keeps payledger's names and exports them.
{
  ev c1 shop_a 2026-08-28T09:00:00Z '"card_authorised":{"payment_id":"q1","amount":{"currency":"EUR","amount":"1.00"},"expires_at":"2026-12-31T00:00:00Z"}'
  ev c2 shop-a 2026-08-28T09:00:00Z '"card_authorised":{"payment_id":"q2","amount":{"currency":"EUR","amount":"2.00"},"expires_at":"2026-12-31T00:00:00Z"}'
} > "$work/clash.ndjson"
"$bin" append --data "$work/c" --partitions 1 "$work/clash.ndjson" > /dev/null
"$bin" fold --data "$work/c" -q > /dev/null
echo "ok" > "$work/clash.beancount"  # an earlier export stays as it was
run "$bin" export --data "$work/c" --format beancount -o "$work/clash.beancount"
check "beancount name collision: exit 1 ($rc)" test "$rc" -eq 1
check "naming both accounts" grep -q "merchant:shop-a:.*merchant:shop_a:\|merchant:shop_a:.*merchant:shop-a:" "$work/err"
check "the earlier file is untouched" test "$(cat "$work/clash.beancount")" = ok
check "no FILE.tmp left" test ! -e "$work/clash.beancount.tmp"
run "$bin" export --data "$work/c" --format hledger -o "$work/clash.journal"
check "the same books export to hledger ($rc)" test "$rc" -eq 0
check "with both merchants' accounts" \
  bash -c "grep -q 'merchant:shop_a:' '$work/clash.journal' && grep -q 'merchant:shop-a:' '$work/clash.journal'"

finish
