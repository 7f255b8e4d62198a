#!/usr/bin/env bash
# Audit speed (issue 12): fold, verify, rebuild and checkpoint of a generated log (events/s,
# wall time), then the latency of the point-in-time queries (scripts/query-latency with AS_OF:
# balance --as-of, statement --from --to) on that store.
# Usage: bench/audit_bench.sh [EVENTS (default 10000000)]
# Env: PAYLEDGER=path/to/payledger (default build/tools/payledger), KEEP=1 to keep the data,
#      RUNS=query runs (default 5). Data under $TMPDIR (default /tmp): ~1 GB per 1M events.
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-10000000}
bin=$(realpath "${PAYLEDGER:-build/tools/payledger}")
[ -x "$bin" ] || { echo "no payledger at $bin: run scripts/build release" >&2; exit 2; }
data=$(mktemp -d "${TMPDIR:-/tmp}/payledger-audit-bench.XXXXXX")
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$data"' EXIT

timed() {  # timed LABEL CMD...: wall seconds (and events/s) of one run
  local label=$1; shift
  local s e
  s=$(date +%s%N); "$@" > /dev/null; e=$(date +%s%N)
  local ms=$(( (e - s) / 1000000 ))
  echo "$label: ${ms} ms, $(( events * 1000 / (ms > 0 ? ms : 1) )) events/s"
}

echo "events: $events, machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
"$bin" generate --events "$events" --seed 42 --merchants 2000 |
  "$bin" append --data "$data" --no-sync - > /dev/null
timed "fold" "$bin" fold --data "$data" -q
echo "store: $(du -sh "$data/projections" | cut -f1) projections, $(du -sh "$data/log" | cut -f1) log"
timed "verify" "$bin" verify --data "$data" -q
timed "rebuild" "$bin" rebuild --data "$data" -q
s=$(date +%s%N); "$bin" checkpoint --data "$data" --out "$data/cp" > /dev/null; e=$(date +%s%N)
echo "checkpoint: $(( (e - s) / 1000000 )) ms"
# The as-of: the middle of the books' event time.
span=$("$bin" accounts --data "$data" --json |
  python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["first_event_at"], d["latest_event_at"])')
first_s=$(date -u -d "${span% *}" +%s)
last_s=$(date -u -d "${span#* }" +%s)
mid=$(date -u -d "@$(( (first_s + last_s) / 2 ))" +%Y-%m-%dT%H:%M:%SZ)
echo "books span ${span% *} .. ${span#* }; as-of $mid"
AS_OF=$mid scripts/query-latency "$data" "" "${RUNS:-5}"
