#!/usr/bin/env bash
# Whole-process fold numbers (issue 9): events/s, CPU seconds and peak RSS per 1M events of
# `payledger fold` (or `rebuild`) over a generated log, pinned to one core. The log is the fold
# bench's stream (seed 42, 500 merchants, every market, with merchant contracts).
# Usage: bench/fold_rss.sh [EVENTS (default 1000000)] [fold|rebuild|callgrind]
#   callgrind: instructions per event of the whole `payledger fold` process under valgrind
#   (perf stat has no hardware counters on this box); ~50x slower, so 100000 events is plenty.
#   Needs valgrind (apt-get install valgrind; CI does not run it).
# Env: PAYLEDGER=path/to/payledger (default build/tools/payledger), CPU=core to pin (default 1),
#      CONTRACTS=0 for the stream without contracts, KEEP=1 to keep the data directory.
# The data goes under $TMPDIR (default /tmp): set TMPDIR to a private directory on a shared box.
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-1000000}
mode=${2:-fold}
case "$mode" in
  fold | rebuild | callgrind) ;;
  *) echo "usage: bench/fold_rss.sh [EVENTS] [fold|rebuild|callgrind]" >&2; exit 2 ;;
esac
bin=$(realpath "${PAYLEDGER:-build/tools/payledger}")
cpu=${CPU:-1}
[ -x "$bin" ] || { echo "no payledger at $bin: run scripts/build release" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time is missing (apt-get install time)" >&2; exit 2; }
data=$(mktemp -d "${TMPDIR:-/tmp}/payledger-fold-rss.XXXXXX")
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$data"' EXIT
gen_flags=()
[ "${CONTRACTS:-1}" = 0 ] && gen_flags=(--no-contracts)

"$bin" generate --events "$events" --seed 42 --merchants 500 "${gen_flags[@]}" |
  "$bin" append --data "$data" --no-sync - > /dev/null
if [ "$mode" = rebuild ]; then "$bin" fold --data "$data" -q > /dev/null; fi
if [ "$mode" = callgrind ]; then
  command -v valgrind > /dev/null || { echo "valgrind is missing (apt-get install valgrind)" >&2; exit 2; }
  valgrind --tool=callgrind --callgrind-out-file="$data/callgrind.out" \
    "$bin" fold --data "$data" -q > /dev/null 2> "$data/valgrind.txt"
  ir=$(sed -n 's/^summary: //p' "$data/callgrind.out" | head -1)
  awk -v n="$events" -v ir="$ir" 'BEGIN {
    printf "payledger fold, %d events: %.0f instructions (callgrind Ir), %.0f per event\n", n, ir, ir / n }'
  echo "(whole process: store open and close included; rerun with KEEP=1 and callgrind_annotate $data/callgrind.out for where)"
  exit 0
fi
/usr/bin/time -v -o "$data/time.txt" taskset -c "$cpu" "$bin" "$mode" --data "$data" -q \
  > "$data/out.txt"
field() { sed -n "s/^[[:space:]]*$1: //p" "$data/time.txt"; }
user=$(field "User time (seconds)")
sys=$(field "System time (seconds)")
wall=$(field "Elapsed (wall clock) time (h:mm:ss or m:ss)")
rss_kb=$(field "Maximum resident set size (kbytes)")
awk -v n="$events" -v u="$user" -v s="$sys" -v w="$wall" -v r="$rss_kb" -v mode="$mode" \
  -v cpu="$cpu" -v contracts="${CONTRACTS:-1}" 'BEGIN {
  k = split(w, p, ":"); secs = 0; for (i = 1; i <= k; ++i) secs = secs * 60 + p[i];
  cpu_s = u + s; m = n / 1e6;
  printf "payledger %s, %d events (contracts %s), pinned to cpu %s\n", mode, n, contracts == 0 ? "off" : "on", cpu;
  printf "wall %.2f s   %.0f events/s\n", secs, n / secs;
  printf "cpu  %.2f s (user %.2f + sys %.2f)   %.0f events per cpu-second\n", cpu_s, u, s, n / cpu_s;
  printf "peak RSS %.1f MiB   %.1f MiB per 1M events\n", r / 1024, r / 1024 / m;
}'
grep -E "folded|rebuilt" "$data/out.txt" | head -2 || true
