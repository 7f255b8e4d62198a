#!/usr/bin/env bash
# payledger exposure from the command line (issue 10 item 5, docs/fx.md "Exposure and
# forecast"): exact amounts and a forecast on a hand-built history, the JSON's structure on a
# demo data set, the gnuplot chart (SVG, PNG; refused for other extensions; gnuplot missing),
# bad horizons, books with no history.
# Usage: cli_exposure_test.sh PATH/TO/payledger
set -euo pipefail
bin=${1:?usage: cli_exposure_test.sh PATH/TO/payledger}
source "$(dirname "$0")/lib.sh"

# 21 days (3 weeks from Thu 2026-01-01) of one USD capture a day, 100.00 + 10.00 x (day mod 7),
# then one authorisation left open (55.55, expiring 01-25).
{
  for d in $(seq 0 20); do
    day=$(printf '2026-01-%02d' $((d + 1)))
    amount=$((100 + 10 * (d % 7))).00
    printf '{"event_id":"a%d","merchant_id":"m1","schema_version":1,"occurred_at":"%sT10:00:00Z","card_authorised":{"payment_id":"p%d","amount":{"currency":"USD","amount":"%s"},"expires_at":"%sT23:00:00Z"}}\n' "$d" "$day" "$d" "$amount" "$day"
    printf '{"event_id":"c%d","merchant_id":"m1","schema_version":1,"occurred_at":"%sT11:00:00Z","card_captured":{"payment_id":"p%d","amount":{"currency":"USD","amount":"%s"}}}\n' "$d" "$day" "$d" "$amount"
  done
  printf '{"event_id":"open","merchant_id":"m1","schema_version":1,"occurred_at":"2026-01-21T12:00:00Z","card_authorised":{"payment_id":"px","amount":{"currency":"USD","amount":"55.55"},"expires_at":"2026-01-25T00:00:00Z"}}\n'
} > "$work/history.ndjson"
"$bin" append --data "$work/h" --partitions 2 "$work/history.ndjson" > /dev/null
"$bin" fold --data "$work/h" -q > /dev/null

run "$bin" exposure --data "$work/h" --horizon 14d --as-of 2026-01-22T12:00:00Z --json
check "exposure --json exits 0 ($rc)" test "$rc" -eq 0
cp "$work/out" "$work/h.json"
py() { python3 -c "import json,sys; x=json.load(open('$work/h.json')); $1"; }
# Payables: sum of the captures = 21 x 100.00 + 3 weeks x 10.00 x (0+1+...+6) = 2100.00 +
# 630.00 = 2730.00, due the day after the as-of (week 1); held: 55.55 (expiry 01-25, week 1);
# net 55.55 - 2730.00 = -2674.45.
check "USD week 1: holds 55.55, payables 2730.00, net -2674.45" py "
u=[c for c in x['currencies'] if c['asset']=='USD'][0]; w=u['buckets'][0]
sys.exit(0 if (w['bucket'],w['from'],w['to'],w['card_holds'],w['payables'],w['net'])==('week 1','2026-01-22','2026-01-28','55.55','2730.00','-2674.45') else 1)"
check "two weeks and 'later' (from 2026-02-05)" py "
u=x['currencies'][0]; b=u['buckets']
sys.exit(0 if [k['bucket'] for k in b]==['week 1','week 2','later'] and b[2]['from']=='2026-02-05' and b[2]['to'] is None else 1)"
check "no forwards (0.00), no open quotes" py "
h=x['currencies'][0]['hedged']; sys.exit(0 if h['forwards']=='0.00' and h['open_quotes']==0 else 1)"
# History 01-01 .. 01-21 (21 days, the as-of day 01-22 is forecast): ETS(A,A,A). 01-22 is
# day 21 of the pattern (21 mod 7 = 0): 100.00; 01-23: 110.00; 01-28 (day 27, 27 mod 7 = 6):
# 160.00.
check "forecast: ets_aaa over 21 days, 14 daily points" py "
f=x['currencies'][0]['forecast']
sys.exit(0 if f['method']=='ets_aaa' and f['history_days']==21 and f['history_from']=='2026-01-01' and len(f['daily'])==14 else 1)"
check "forecast recovers the weekly pattern (100, 110, 160 within 1.00)" py "
d=x['currencies'][0]['forecast']['daily']
ok=d[0]['date']=='2026-01-22' and abs(d[0]['forecast_mean']-100)<1 and abs(d[1]['forecast_mean']-110)<1 and abs(d[6]['forecast_mean']-160)<1
sys.exit(0 if ok else 1)"
check "bands ordered lo95 <= lo80 <= mean <= hi80 <= hi95" py "
d=x['currencies'][0]['forecast']['daily']
sys.exit(0 if all(p['forecast_lo95']<=p['forecast_lo80']<=p['forecast_mean']<=p['forecast_hi80']<=p['forecast_hi95'] for p in d) else 1)"
check "complete" py "sys.exit(0 if x['complete'] is True else 1)"

run "$bin" exposure --data "$work/h" --horizon 14d --as-of 2026-01-22T12:00:00Z
check "table: a USD week 1 row with the exact amounts" grep -Eq '^week 1 01-22\.\.01-28 +55\.55 +0\.00 +0\.00 +0\.00 +2730\.00 +-2674\.45 ' "$work/out"
check "table: the forecast line" grep -q '^forecast: ets_aaa over 21 days of history' "$work/out"

# The chart, by gnuplot.
run "$bin" exposure --data "$work/h" --horizon 14d --as-of 2026-01-22T12:00:00Z --plot "$work/x.svg"
check "--plot x.svg exits 0 ($rc)" test "$rc" -eq 0
check "an SVG file, not empty" test -s "$work/x.svg"
check "made by gnuplot" grep -q 'Produced by GNUPLOT' "$work/x.svg"
check "an <svg> document" grep -q '<svg' "$work/x.svg"
check "naming the currency" grep -q 'USD money in per day' "$work/x.svg"
run "$bin" exposure --data "$work/h" --horizon 7d --plot "$work/x.png"
check "--plot x.png exits 0 ($rc)" test "$rc" -eq 0
check "a PNG file" bash -c "head -c 8 '$work/x.png' | od -An -c | grep -q 'P   N   G'"
run "$bin" exposure --data "$work/h" --plot "$work/x.txt"
check "--plot x.txt is a usage error ($rc)" test "$rc" -eq 2
check "nothing written for x.txt" test ! -e "$work/x.txt"
run env PATH=/nonexistent "$bin" exposure --data "$work/h" --plot "$work/y.svg"
check "gnuplot missing: exit 1 ($rc)" test "$rc" -eq 1
check "naming gnuplot" grep -q 'gnuplot' "$work/err"

for bad in 0d 366d 30 30w d -5d 1000000000000d; do
  run "$bin" exposure --data "$work/h" --horizon "$bad"
  check "--horizon $bad is a usage error ($rc)" test "$rc" -eq 2
done
run "$bin" exposure --data "$work/h" --horizon 365d --json
check "--horizon 365d: 53 weeks and later" python3 -c "
import json,sys; x=json.load(open('$work/out')); sys.exit(0 if len(x['currencies'][0]['buckets'])==54 else 1)"
run "$bin" exposure --data "$work/h" --as-of yesterday
check "a bad --as-of is a usage error ($rc)" test "$rc" -eq 2
run "$bin" exposure --help
check "--help explains the fields" grep -q 'vouchers_expected' "$work/out"

# Books with no history (one rate publication only): exit 0, nothing to forecast.
printf '{"event_id":"r1","schema_version":1,"occurred_at":"2026-01-03T00:00:00Z","fx_rate_published":{"pair":"USD/BRL","mid":"5.5","source":"ECB","as_of":"2026-01-03T00:00:00Z"}}\n' > "$work/rate.ndjson"
"$bin" append --data "$work/e" --partitions 2 "$work/rate.ndjson" > /dev/null
"$bin" fold --data "$work/e" -q > /dev/null
run "$bin" exposure --data "$work/e" --json --plot "$work/e.svg"
check "no history: exit 0 ($rc)" test "$rc" -eq 0
check "no history: no currencies" python3 -c "
import json,sys; x=json.load(open('$work/out')); sys.exit(0 if x['currencies']==[] else 1)"
check "no history: the chart says so" grep -q 'no money-in history' "$work/e.svg"
check "never NaN" bash -c "! grep -qi nan '$work/out'"

# A demo data set: the JSON's structure, and each currency's total net = the sum of its
# buckets' nets (exact decimals).
"$bin" demo --events 20000 --data "$work/demo" -q > /dev/null
run "$bin" exposure --data "$work/demo" --horizon 30d --as-of 2026-01-20T00:00:00Z --json
check "demo: exit 0 ($rc)" test "$rc" -eq 0
check "demo: several currencies, 5 weeks + later, totals add up" python3 -c "
import json,sys
from decimal import Decimal as D
x=json.load(open('$work/out'))
cs=x['currencies']
ok=len(cs)>=5 and x['horizon_days']==30
for c in cs:
    b=c['buckets']
    ok=ok and [k['bucket'] for k in b]==['week 1','week 2','week 3','week 4','week 5','later']
    for f in ('card_holds','vouchers_outstanding','vouchers_expected','bnpl_upfronts','payables','net'):
        ok=ok and sum(D(k[f]) for k in b)==D(c['total'][f])
    t=c['total']
    ok=ok and D(t['net'])==D(t['card_holds'])+D(t['vouchers_expected'])+D(t['bnpl_upfronts'])-D(t['payables'])
    ok=ok and D(t['vouchers_expected'])<=D(t['vouchers_outstanding'])
    ok=ok and len(c['forecast']['daily']) in (0,30)
sys.exit(0 if ok else 1)"
check "demo: money is decimal strings, forecasts numbers" python3 -c "
import json,sys; x=json.load(open('$work/out')); c=x['currencies'][0]
d=c['forecast']['daily']
sys.exit(0 if isinstance(c['total']['net'],str) and (not d or isinstance(d[0]['forecast_mean'],float)) else 1)"
check "demo: voucher pay rates (paid <= ended)" python3 -c "
import json,sys; x=json.load(open('$work/out')); r=x['voucher_pay_rates']
sys.exit(0 if r and all(0<=v['paid']<=v['ended'] for v in r) else 1)"
finish
