#!/usr/bin/env bash
# rebuild --log kafka against a real broker (issue 8, left item 6): a topic that does not
# exist, or a topic that is not the log the store folded, leaves the projections untouched
# (exit 1, same digest); the right topic rebuilds to the same digest.
# Usage: kafka_rebuild_test.sh PATH/TO/payledger PATH/TO/scripts/kafka
set -euo pipefail
bin=${1:?usage: kafka_rebuild_test.sh PAYLEDGER SCRIPTS_KAFKA}
kafka=${2:?usage: kafka_rebuild_test.sh PAYLEDGER SCRIPTS_KAFKA}
brokers=${PAYLEDGER_KAFKA_BROKERS:-127.0.0.1:19092}
source "$(dirname "$0")/lib.sh"
"$kafka" status >/dev/null 2>&1 || { echo "Kafka is not running on $brokers (scripts/kafka start)"; exit 1; }
t="test.rebuild.$$.$(date +%s%N)"
k=(--log kafka --brokers "$brokers")

"$bin" generate --events 3000 --seed 21 --merchants 30 > "$work/events.ndjson"
"$bin" topic create --brokers "$brokers" --topic "$t" --partitions 4 > /dev/null
"$bin" append "${k[@]}" --topic "$t" "$work/events.ndjson" > /dev/null
"$bin" fold "${k[@]}" --topic "$t" --group "$t.g" --data "$work/k" --until-idle -q > /dev/null
before=$("$bin" digest --data "$work/k")

run "$bin" rebuild "${k[@]}" --topic "$t.missing" --group "$t.g2" --data "$work/k" --until-idle -q
check "rebuild from a topic that does not exist exits 1 ($rc)" test "$rc" -eq 1
check "... names the topic" grep -qF "$t.missing" <<<"$err"
check "... keeps the projections" test "$("$bin" digest --data "$work/k")" = "$before"

# Another log: the embedded fold of the same events records another identity.
"$bin" append --data "$work/e" "$work/events.ndjson" > /dev/null
"$bin" fold --data "$work/e" -q > /dev/null
embedded=$("$bin" digest --data "$work/e")
run "$bin" rebuild "${k[@]}" --topic "$t" --group "$t.g3" --data "$work/e" --until-idle -q
check "rebuild of an embedded log's books from a topic exits 1 ($rc)" test "$rc" -eq 1
check "... says they are another log's books" grep -q "holds the books of log 'embedded:" <<<"$err"
check "... keeps the projections" test "$("$bin" digest --data "$work/e")" = "$embedded"

run "$bin" rebuild "${k[@]}" --topic "$t" --group "$t.g4" --data "$work/k" --until-idle -q
check "rebuild from the store's own topic exits 0 ($rc)" test "$rc" -eq 0
check "... to the same digest" test "$("$bin" digest --data "$work/k")" = "$before"
finish
