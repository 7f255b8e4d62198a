#!/usr/bin/env bash
# Process-level tests of payledger against a real Kafka broker: crash (kill -9) and resume,
# two folds in one consumer group, SIGTERM, broker down at start, broker restart mid-fold,
# kcat interoperability, a group member killed mid-way, a static member restarted at once. Every test waits on observable
# progress (the store's stored offsets, read-only, through payledger_store_offsets), never on
# a bare sleep. Usage: kafka_test.sh PATH/TO/payledger PATH/TO/scripts/kafka
#        PATH/TO/payledger_store_offsets
set -euo pipefail
bin=${1:?usage: kafka_test.sh PAYLEDGER SCRIPTS_KAFKA STORE_OFFSETS}
kafka=${2:?usage: kafka_test.sh PAYLEDGER SCRIPTS_KAFKA STORE_OFFSETS}
offsets_tool=${3:?usage: kafka_test.sh PAYLEDGER SCRIPTS_KAFKA STORE_OFFSETS}
brokers=${PAYLEDGER_KAFKA_BROKERS:-127.0.0.1:19092}
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
run=$$.$(date +%s%N)
fails=0

check() {
  local what=$1; shift
  if "$@"; then echo "ok   - $what"; else echo "FAIL - $what"; fails=$((fails + 1)); fi
}
exit_code() { set +e; "$@" >/dev/null 2>&1; local rc=$?; set -e; echo "$rc"; }
topic() { echo "test.cli.$1.$run"; }
pl() { "$bin" "$@"; }

# Sum of a store's stored next offsets / of its noted log ends ("" if no store yet).
next_sum() { "$offsets_tool" "$1" 4 2>/dev/null | awk '/^sum/ {print $2}' || true; }
ends_sum() { "$offsets_tool" "$1" 4 2>/dev/null | awk '/^sum/ {print $3}' || true; }
# wait_progress DIR ABOVE: until DIR's stored next offsets sum past ABOVE (at most 60 s).
wait_progress() {
  local s
  for _ in $(seq 1 1200); do
    s=$(next_sum "$1")
    [ -n "$s" ] && [ "$s" -gt "$2" ] && return 0
    sleep 0.05
  done
  return 1
}
# A fold slowed down (each fetch waits 0.5 s for bytes that never come, one record batch
# per partition at a time), so a kill or a broker restart surely lands mid-stream.
throttle=(-X fetch.min.bytes=100000000 -X fetch.wait.max.ms=500 -X max.partition.fetch.bytes=16384)

"$kafka" status >/dev/null 2>&1 || { echo "Kafka is not running on $brokers (scripts/kafka start)"; exit 1; }

# Reference: the embedded fold of the same events.
pl generate --events 150000 --seed 77 --merchants 200 > "$work/events.ndjson"
pl append --data "$work/ref" "$work/events.ndjson" > /dev/null
pl fold --data "$work/ref" -q > /dev/null
want=$(pl digest --data "$work/ref")

# 1. Crash anywhere, resume, same digest: kill -9 at several points of one fold, each time
#    once the run has committed progress of its own, and checked to have died mid-stream.
t=$(topic crash)
pl topic create --brokers "$brokers" --topic "$t" --partitions 4 > /dev/null
pl append --log kafka --brokers "$brokers" --topic "$t" "$work/events.ndjson" > /dev/null
# Background runs call "$bin" directly: $! must be payledger itself, not a subshell.
# Each run joins a new group: a killed member stays in its group until its session times
# out, and positions come from the store anyway (Kafka's group offsets are informative).
prev=0
killed_at=()
for i in 1 2 3; do
  "$bin" fold --log kafka --brokers "$brokers" --topic "$t" --group "$t.g$i" --data "$work/crash" \
    --until-idle -q "${throttle[@]}" > /dev/null 2>&1 &
  pid=$!
  pids+=("$pid")
  check "crash run $i: the fold committed progress before the kill" wait_progress "$work/crash" "$prev"
  kill -9 "$pid" 2>/dev/null || true
  rc=0; wait "$pid" 2>/dev/null || rc=$?
  check "crash run $i: the fold died of the kill, it had not finished ($rc)" test "$rc" -eq 137
  now=$(next_sum "$work/crash")
  check "crash run $i: stored offsets moved forward ($prev -> $now)" test "$now" -gt "$prev"
  killed_at+=("$now")
  prev=$now
done
pl fold --log kafka --brokers "$brokers" --topic "$t" --group "$t.final" --data "$work/crash" \
  --until-idle -q > /dev/null
end=$(next_sum "$work/crash")
check "the fold read its partitions to the noted log ends ($end)" \
  test "$end" = "$(ends_sum "$work/crash")"
for k in "${killed_at[@]}"; do
  check "a kill landed mid-stream: 0 < $k < $end" test "$k" -gt 0 -a "$k" -lt "$end"
done
check "after kill -9 and restart the digest equals the embedded fold" \
  test "$(pl digest --data "$work/crash")" = "$want"

# 2. Two folds in one group share the partitions; their merged books equal one fold. Then
#    one leaves: its partitions move to the other, which rebuilds them from the log, and the
#    merged books (with the leaver's stale copies) still equal one fold.
head -n 100000 "$work/events.ndjson" > "$work/part1.ndjson"
tail -n +100001 "$work/events.ndjson" > "$work/part2.ndjson"
pl append --data "$work/ref1" "$work/part1.ndjson" > /dev/null
pl fold --data "$work/ref1" -q > /dev/null
want1=$(pl digest --data "$work/ref1")
t=$(topic group)
pl topic create --brokers "$brokers" --topic "$t" --partitions 4 > /dev/null
for i in a b; do
  "$bin" fold --log kafka --brokers "$brokers" --topic "$t" --group "$t.g" --data "$work/g$i" -q \
    > "$work/g$i.out" 2>&1 &
  pids+=("$!")
done
pid_a=${pids[-2]}
pid_b=${pids[-1]}
# Both join the group and split the partitions before any event exists: each store then
# holds (at offset 0) the partitions its member was given, and the member that joined second
# holds some only once the group has split them.
owns_some() { "$offsets_tool" "$1" 4 2>/dev/null | awk '$1 != "sum" && $2 != "-" {n++} END {exit n > 0 ? 0 : 1}'; }
split=no
for _ in $(seq 1 600); do
  if owns_some "$work/ga" && owns_some "$work/gb"; then split=yes; break; fi
  sleep 0.05
done
check "both members were given partitions before the events were appended" test "$split" = yes
pl append --log kafka --brokers "$brokers" --topic "$t" "$work/part1.ndjson" > /dev/null
wait_merged() {  # wait_merged WANT DIR...: until the merged digest of DIRs is WANT
  local want=$1; shift
  local args=() got=""
  for d in "$@"; do args+=(--data "$d"); done
  for _ in $(seq 1 120); do
    got=$(pl digest "${args[@]}" 2>/dev/null || true)
    [ "$got" = "$want" ] && return 0
    sleep 0.5
  done
  return 1
}
check "merged digest of two group members equals the single fold" \
  wait_merged "$want1" "$work/ga" "$work/gb"
check "each member holds part of the books" \
  test "$(pl digest --data "$work/ga")" != "$want1" -a "$(pl digest --data "$work/gb")" != "$want1"
kill -TERM "$pid_b"
rc_b=0; wait "$pid_b" || rc_b=$?
check "SIGTERM: the fold exits 0 ($rc_b)" test "$rc_b" = "0"
pl append --log kafka --brokers "$brokers" --topic "$t" "$work/part2.ndjson" > /dev/null
check "after a member leaves, the other rebuilds its partitions: merged digest = single fold" \
  wait_merged "$want" "$work/ga" "$work/gb"
check "the remaining member alone now holds the whole books" \
  test "$(pl digest --data "$work/ga")" = "$want"
tb=$(pl trial-balance --data "$work/ga" --data "$work/gb" --json)
check "merged trial balance balances" grep -q '"balanced": true' <<<"$tb"
kill -TERM "$pid_a"
rc_a=0; wait "$pid_a" || rc_a=$?
check "SIGTERM: the other fold exits 0 ($rc_a)" test "$rc_a" = "0"

# 3. Broker down at start: clear error naming the broker, non-zero exit, no state.
rc=0
out=$(pl fold --log kafka --brokers 127.0.0.1:1 --topic x --data "$work/down" --until-idle 2>&1) || rc=$?
check "unreachable broker: error names it" grep -q '127.0.0.1:1' <<<"$out"
check "unreachable broker: exit 1 ($rc)" test "$rc" -eq 1
check "unreachable broker: no data directory created" test ! -e "$work/down"

# 4. kcat interoperability: kcat consumes our records (merchant keys, our partitions) and
#    a record kcat produces (binary Protobuf from a file) is folded.
t=$(topic kcat)
pl topic create --brokers "$brokers" --topic "$t" --partitions 4 > /dev/null
head -n 200 "$work/events.ndjson" | pl append --log kafka --brokers "$brokers" --topic "$t" - > /dev/null
seen=$(kcat -C -b "$brokers" -t "$t" -e -q -f '%k\n' 2>/dev/null | sort -u | wc -l)
check "kcat reads our records with merchant keys ($seen keys)" test "$seen" -gt 10
first_key=$(kcat -C -b "$brokers" -t "$t" -p 0 -c 40 -e -q -f '%k\n' 2>/dev/null | grep -v '^\*$' | head -n 1)
check "kcat sees merchant ids as keys ($first_key)" grep -q '^m[0-9]' <<<"$first_key"
# The stream opens with the day's FX fix: reference data, key '*', in every partition.
for p in 0 1 2 3; do
  opening=$(kcat -C -b "$brokers" -t "$t" -p "$p" -c 1 -e -q -f '%k' 2>/dev/null)
  check "kcat: partition $p opens with a published rate under key '*' ($opening)" test "$opening" = '*'
done
pl fold --log kafka --brokers "$brokers" --topic "$t" --group "$t.g" --data "$work/kc" --until-idle -q > /dev/null
check "before the kcat event, its merchant is not in the books (exit 1)" \
  test "$(exit_code pl balance --data "$work/kc" --account merchant:m77777-XX:payable)" = 1
# A card authorisation encoded as binary Protobuf, produced by kcat with its own partitioner.
printf '%s' '{"event_id":"kcat-1","merchant_id":"m77777-XX","schema_version":1,"occurred_at":"2026-01-01T00:00:00Z","card_authorised":{"payment_id":"kc1","amount":{"currency":"EUR","amount":"12.50"}}}' \
  > "$work/one.json"
pl append --data "$work/tmp" "$work/one.json" > /dev/null
# Recover the binary value from the embedded log record (skip 8-byte frame + 3-byte body prefix + key).
python3 - "$work/tmp/log" "$work/one.bin" <<'PY'
import sys, glob, struct
for f in sorted(glob.glob(sys.argv[1] + "/p-*.log")):
    b = open(f, "rb").read()
    if not b: continue
    n = struct.unpack("<I", b[0:4])[0]
    body = b[8:8 + n]
    klen = body[1] | (body[2] << 8)
    open(sys.argv[2], "wb").write(body[3 + klen:])
PY
kcat -P -b "$brokers" -t "$t" -k m77777-XX "$work/one.bin" 2>/dev/null
pl fold --log kafka --brokers "$brokers" --topic "$t" --group "$t.g" --data "$work/kc" --until-idle -q > /dev/null
after=$(pl balance --data "$work/kc" --account merchant:m77777-XX:payable --json)
check "a kcat-produced event is folded" grep -q '"pending": "12.50"' <<<"$after"

# 5. Undecodable input and unknown schema versions go to <topic>.dlq with the reason in headers.
printf '%s\n' '{"event_id": broken' \
  '{"event_id":"v7","merchant_id":"m00001-IN","schema_version":7,"card_voided":{"payment_id":"p"}}' \
  | pl append --log kafka --brokers "$brokers" --topic "$t" - > /dev/null 2>&1
pl fold --log kafka --brokers "$brokers" --topic "$t" --group "$t.g" --data "$work/kc" --until-idle -q > /dev/null
dlq=$(kcat -C -b "$brokers" -t "$t.dlq" -e -q -f '%h\n' 2>/dev/null || true)
check "malformed record in the dead-letter topic" grep -q 'payledger-reject-code=malformed' <<<"$dlq"
check "unknown schema version in the dead-letter topic" \
  grep -q 'payledger-reject-code=unknown_schema_version' <<<"$dlq"
check "dead letters carry their source position" grep -q 'payledger-source-offset=' <<<"$dlq"
check "parked in rejects too" \
  grep -q '"code": "unknown_schema_version"' <<<"$(pl rejects --data "$work/kc" --json)"

# 6. Broker restarted during a fold: the fold had folded some, not all, of the first half
#    when the broker went down, went on folding after it came back, and in the end nothing
#    is lost or doubled.
t=$(topic restart)
pl topic create --brokers "$brokers" --topic "$t" --partitions 4 > /dev/null
head -n 75000 "$work/events.ndjson" > "$work/first.ndjson"
tail -n +75001 "$work/events.ndjson" > "$work/second.ndjson"
pl append --log kafka --brokers "$brokers" --topic "$t" "$work/first.ndjson" > /dev/null
"$bin" fold --log kafka --brokers "$brokers" --topic "$t" --group "$t.g" --data "$work/rs" -q \
  "${throttle[@]}" > "$work/rs.out" 2>&1 &
pid=$!
pids+=("$pid")
check "restart: the fold committed progress before the broker stopped" wait_progress "$work/rs" 0
"$kafka" stop > /dev/null 2>&1
before=$(next_sum "$work/rs")
first_end=$(ends_sum "$work/rs")
check "restart: the broker stopped mid-stream: 0 < $before < first half's end $first_end" \
  test "$before" -gt 0 -a "$before" -lt "$first_end"
"$kafka" start > /dev/null 2>&1
check "restart: the same fold process folds on after the restart" wait_progress "$work/rs" "$before"
check "restart: the fold said the broker was unreachable, then back" \
  grep -q "reachable again" "$work/rs.out"
pl append --log kafka --brokers "$brokers" --topic "$t" "$work/second.ndjson" > /dev/null
kill -TERM "$pid"; rc=0; wait "$pid" || rc=$?
check "restart: the fold exits 0 on SIGTERM ($rc)" test "$rc" -eq 0
# The throttled process would take minutes for the rest: an unthrottled run finishes.
pl fold --log kafka --brokers "$brokers" --topic "$t" --group "$t.g2" --data "$work/rs" \
  --until-idle -q > /dev/null
after=$(next_sum "$work/rs")
check "restart: every record folded ($after = noted log ends $(ends_sum "$work/rs") > $first_end)" \
  test "$after" = "$(ends_sum "$work/rs")" -a "$after" -gt "$first_end"
check "restart: same digest as the embedded fold" test "$(pl digest --data "$work/rs")" = "$want"

# 7. Two members of one group, one killed (kill -9) mid-way: the survivor exits 0 with
#    --until-idle having folded only its own partitions, so the merged books are short. The
#    survivor notes the log end of EVERY partition (not only its own), so a merged query can
#    tell that the dead member's partitions are behind.
t=$(topic survivor)
pl topic create --brokers "$brokers" --topic "$t" --partitions 4 > /dev/null
pl append --log kafka --brokers "$brokers" --topic "$t" "$work/events.ndjson" > /dev/null
"$bin" fold --log kafka --brokers "$brokers" --topic "$t" --group "$t.g" --data "$work/va" \
  --until-idle -q "${throttle[@]}" > /dev/null 2>&1 &
pid_a=$!
pids+=("$pid_a")
check "survivor: the member to be killed committed progress" wait_progress "$work/va" 0
rc_b=0
pl fold --log kafka --brokers "$brokers" --topic "$t" --group "$t.g" --data "$work/vb" \
  --until-idle -q > /dev/null 2>&1 || rc_b=$?
check "survivor: the other member exits 0 with --until-idle ($rc_b)" test "$rc_b" -eq 0
kill -9 "$pid_a" 2>/dev/null || true
rc_a=0; wait "$pid_a" 2>/dev/null || rc_a=$?
check "survivor: the first member died of kill -9, mid-way ($rc_a)" test "$rc_a" -eq 137
"$offsets_tool" "$work/va" 4 > "$work/va.offsets"
"$offsets_tool" "$work/vb" 4 > "$work/vb.offsets"
check "survivor: noted log ends of all partitions sum to at least the 150000 records appended" \
  test "$(awk '/^sum/ {print $3}' "$work/vb.offsets")" -ge 150000
# Partitions the survivor never folded: the dead member's copy ends before the log end the
# survivor noted (that is what a merged query needs to say "behind").
behind=$(join "$work/va.offsets" "$work/vb.offsets" | awk '$1 != "sum" && $4 == "-" {
  n++; if ($2 == "-" || $2 + 0 < $5 + 0) b++ } END {print (n > 0 && b == n) ? "yes" : "no (" n "," b ")"}')
check "survivor: the dead member's partitions are behind the log ends the survivor noted ($behind)" \
  test "$behind" = yes
check "survivor: every partition has a noted log end in the survivor's store" \
  test "$(awk '$1 != "sum" && $3 == "-"' "$work/vb.offsets" | wc -l)" -eq 0
merged=$("$bin" digest --data "$work/va" --data "$work/vb" --allow-partial 2>/dev/null || true)
check "survivor: the merged books are short (the scenario really happened)" test "$merged" != "$want"
# The queries say so: without --allow-partial they refuse (exit 1) naming a partition behind.
rc=0
"$bin" trial-balance --data "$work/va" --data "$work/vb" > "$work/tb.out" 2> "$work/tb.err" || rc=$?
check "survivor: a merged trial balance of the short books exits 1 ($rc)" test "$rc" -eq 1
check "survivor: ... saying a partition is behind its log" grep -q "partition .* behind\|short" "$work/tb.err"
rc=0
"$bin" digest --data "$work/va" --data "$work/vb" > /dev/null 2>&1 || rc=$?
check "survivor: a merged digest of the short books exits 1 ($rc)" test "$rc" -eq 1

# 8. Restart in the same group after kill -9. A dynamic member restarted in its group waits
#    until the dead member's session times out (10 s) before it gets any partition; with
#    --instance-id (static membership) the restart takes the dead member's place at once.
t=$(topic static)
pl topic create --brokers "$brokers" --topic "$t" --partitions 4 > /dev/null
pl append --log kafka --brokers "$brokers" --topic "$t" "$work/events.ndjson" > /dev/null
"$bin" fold --log kafka --brokers "$brokers" --topic "$t" --group "$t.g" --instance-id "$t.m1" \
  --data "$work/st" --until-idle -q "${throttle[@]}" > /dev/null 2>&1 &
pid=$!
pids+=("$pid")
check "static: the fold committed progress before the kill" wait_progress "$work/st" 0
kill -9 "$pid" 2>/dev/null || true
rc=0; wait "$pid" 2>/dev/null || rc=$?
killed_at=$(next_sum "$work/st")
check "static: the fold died of the kill mid-stream ($rc, $killed_at stored)" \
  test "$rc" -eq 137 -a "$killed_at" -lt 150000
start_ms=$(date +%s%3N)
rc=0
pl fold --log kafka --brokers "$brokers" --topic "$t" --group "$t.g" --instance-id "$t.m1" \
  --data "$work/st" --until-idle -q > "$work/st.out" 2>&1 || rc=$?
took_ms=$(( $(date +%s%3N) - start_ms ))
check "static: the restart in the same group exits 0 ($rc)" test "$rc" -eq 0
# The session timeout is 10 s: a restart that waited for it takes longer than that.
check "static: the restart did not wait for the killed member's session ($took_ms ms)" \
  test "$took_ms" -lt 8000
check "static: same digest as the embedded fold" test "$(pl digest --data "$work/st")" = "$want"

if [ "$fails" -ne 0 ]; then echo "$fails checks failed"; exit 1; fi
echo "all kafka checks passed"
