#!/usr/bin/env bash
# What each command checks of the embedded log (issue 9, queries). Queries (balance,
# statement, ...) open the log without scanning it: they trust its tail hint (p-NNNN.tail) only
# when it names the synced size, the file is that long and the last record's frame checks out,
# then check identity, coverage and the last folded record as before. digest, trial-balance,
# fold and rebuild CRC every record. Each kind of damage is tried against each command.
# Usage: query_log_integrity_test.sh PATH/TO/payledger
set -euo pipefail
bin=${1:?usage: query_log_integrity_test.sh PATH/TO/payledger}
source "$(dirname "$0")/lib.sh"

"$bin" generate --events 4000 --seed 5 --merchants 30 > "$work/e1.ndjson"
"$bin" generate --events 1000 --seed 6 --merchants 30 > "$work/e2.ndjson"
"$bin" generate --events 3000 --seed 8 --merchants 30 > "$work/e3.ndjson"
"$bin" append --data "$work/a" "$work/e1.ndjson" > /dev/null
cp -r "$work/a/log" "$work/log-older"      # the log before e2: an "older backup"
"$bin" append --data "$work/a" "$work/e2.ndjson" > /dev/null
"$bin" fold --data "$work/a" -q > /dev/null
cp -r "$work/a/log" "$work/log-good"
quiet() { case "$1" in fold|rebuild) echo -q ;; esac; }
restore() { rm -rf "$work/a/log"; cp -r "$work/log-good" "$work/a/log"; }
account=merchant:m00002-JP:payable
"$bin" balance --data "$work/a" > "$work/balance.good"
"$bin" statement --data "$work/a" --account "$account" --limit 100 > "$work/statement.good"
check "the writer keeps a tail hint per partition" test -s "$work/a/log/p-0001.tail"

flip() {  # flip FILE BYTE: inverts one byte in place
  local byte
  byte=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
  printf "\\$(printf '%03o' $(( byte ^ 255 )))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
# The start of partition 1's last record, from its tail hint (u64 at byte 16, little-endian).
last_start=$(od -An -tu8 -j 16 -N8 "$work/a/log/p-0001.tail" | tr -d ' ')
size=$(stat -c %s "$work/a/log/p-0001.log")
check "the hint's last record lies inside the file" test "$last_start" -gt 0 -a "$last_start" -lt "$size"

# 1. A bit flip in the middle of the log (a record folded long ago): only the commands that
#    CRC every record see it. A query answers from the books, which were folded from the
#    intact record; it does not read the record again.
flip "$work/a/log/p-0001.log" $(( size / 2 ))
for cmd in digest trial-balance fold rebuild; do
  run "$bin" "$cmd" --data "$work/a" $(quiet "$cmd")
  check "middle flip: $cmd exits 1" test "$rc" -eq 1
  check "middle flip: $cmd names the file and byte" \
    grep -Eq "p-0001.log is corrupt at byte [0-9]+ \(record [0-9]+ of partition 1\)" "$work/err"
done
run "$bin" balance --data "$work/a"
check "middle flip: balance answers from the books without scanning the log" test "$rc" -eq 0
check "... the same answer" cmp -s "$work/out" "$work/balance.good"
run "$bin" statement --data "$work/a" --account "$account" --limit 100
check "middle flip: statement answers without scanning the log" test "$rc" -eq 0
check "... the same page" cmp -s "$work/out" "$work/statement.good"
restore

# 2. A bit flip in the last record (the one the books were last folded to): every command.
flip "$work/a/log/p-0001.log" $(( last_start + 20 ))
for cmd in balance digest trial-balance fold; do
  run "$bin" "$cmd" --data "$work/a" $(quiet "$cmd")
  check "last-record flip: $cmd exits 1" test "$rc" -eq 1
  check "last-record flip: $cmd names the file and the record's byte" \
    grep -q "p-0001.log is corrupt at byte $last_start (record [0-9]* of partition 1)" "$work/err"
done
run "$bin" statement --data "$work/a" --account "$account" --limit 100
check "last-record flip: statement exits 1 naming the byte" \
  grep -q "p-0001.log is corrupt at byte $last_start" "$work/err"
restore

# 3. The log file was cut (shorter than its synced size).
truncate -s $(( size - 10 )) "$work/a/log/p-0001.log"
for cmd in balance statement digest trial-balance fold; do
  extra=(); [ "$cmd" = statement ] && extra=(--account "$account")
  run "$bin" "$cmd" --data "$work/a" $(quiet "$cmd") "${extra[@]}"
  check "cut log: $cmd exits 1" test "$rc" -eq 1
  check "cut log: $cmd names the file" grep -q "p-0001.log" "$work/err"
done
restore

# 4. The whole log directory replaced by an older backup (synced sizes and hints agree with
#    it): the books hold records it lacks.
rm -rf "$work/a/log"; cp -r "$work/log-older" "$work/a/log"
for cmd in balance statement digest trial-balance fold; do
  extra=(); [ "$cmd" = statement ] && extra=(--account "$account")
  run "$bin" "$cmd" --data "$work/a" $(quiet "$cmd") "${extra[@]}"
  check "older log: $cmd exits 1" test "$rc" -eq 1
  check "older log: $cmd names the partition and offsets" \
    grep -Eq "partition [0-9]+: the projections in .* are folded to offset [0-9]+ but the log is shorter" "$work/err"
done

# 5. The older backup appended to again, past where the books were: the offsets are back,
#    the records at them are not the ones folded.
"$bin" append --data "$work/a" "$work/e3.ndjson" > /dev/null
for cmd in balance digest fold; do
  run "$bin" "$cmd" --data "$work/a" $(quiet "$cmd")
  check "replaced log: $cmd exits 1" test "$rc" -eq 1
  check "replaced log: $cmd names the partition and the record" \
    grep -Eq "partition [0-9]+: .* the record at offset [0-9]+ is not the one they folded" "$work/err"
done
restore

# 6. A missing, stale or damaged hint is only a hint: the query scans and answers the same.
rm "$work/a/log/p-0000.tail"
flip "$work/a/log/p-0002.tail" 3                               # fails its CRC
cp "$work/log-older/p-0003.tail" "$work/a/log/p-0003.tail"     # names another synced size
run "$bin" balance --data "$work/a"
check "bad hints: balance exits 0" test "$rc" -eq 0
check "... with the same answer" cmp -s "$work/out" "$work/balance.good"
restore
# A hint whose count is wrong (CRC recomputed, last frame still good) does not change the
# answer: the last folded record is then not the hint's last, so the query indexes the
# partition (full scan) to read it, and takes the end offset from the scan.
python3 - "$work/a/log/p-0001.tail" <<'PY'
import struct, sys, zlib
p = sys.argv[1]
synced, count, last = struct.unpack_from("<QQQ", open(p, "rb").read())
body = struct.pack("<QQQ", synced, count + 5, last)
open(p, "wb").write(body + struct.pack("<II", zlib.crc32(body), 0))
PY
run "$bin" balance --data "$work/a"
check "a hint with a wrong count: balance exits 0" test "$rc" -eq 0
check "... with the same answer" cmp -s "$work/out" "$work/balance.good"
restore

# 7. Appends not folded yet: the hint gives the new end, so the query is short and says so.
"$bin" append --data "$work/a" "$work/e3.ndjson" > /dev/null
run "$bin" balance --data "$work/a"
check "unfolded appends: balance exits 1 (short books)" test "$rc" -eq 1
check "... naming the partition behind its log" grep -q "the books are short by" "$work/err"
"$bin" fold --data "$work/a" -q > /dev/null
run "$bin" balance --data "$work/a"
check "after the fold: balance exits 0" test "$rc" -eq 0

finish
