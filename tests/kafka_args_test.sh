#!/usr/bin/env bash
# -X may not override the librdkafka settings exactly-once and ordering rest on: each is
# refused as a usage error (exit 2) naming the key, before any broker or directory is
# touched. No broker needed (the brokers given do not exist).
# Usage: kafka_args_test.sh PATH/TO/payledger
set -uo pipefail
bin=${1:?usage: kafka_args_test.sh PAYLEDGER}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0
check() {
  local what=$1; shift
  if "$@"; then echo "ok   - $what"; else echo "FAIL - $what"; fails=$((fails + 1)); fi
}
brokers=127.0.0.1:1
refused() {  # refused COMMAND-WORDS... -- KEY=VALUE
  local kv=${*: -1} key=${kv%%=*} out rc
  out=$("$bin" "${@:1:$#-1}" --log kafka --brokers "$brokers" -X "$kv" 2>&1); rc=$?
  check "$1 -X $kv: exit 2 ($rc)" test "$rc" -eq 2
  check "$1 -X $kv: message names the key" grep -qF -- "$key" <<<"$out"
  check "$1 -X $kv: message says it cannot be overridden" grep -q "cannot be overridden" <<<"$out"
}
for kv in isolation.level=read_uncommitted enable.auto.commit=true enable.auto.offset.store=true \
          auto.offset.reset=earliest AUTO.OFFSET.RESET=latest topic.auto.offset.reset=smallest \
          partition.assignment.strategy=cooperative-sticky enable.partition.eof=false \
          group.id=other group.instance.id=m1 bootstrap.servers=elsewhere:9092; do
  refused fold --data "$work/f" --until-idle "$kv"
done
for kv in enable.idempotence=false acks=1 request.required.acks=0 transactional.id=x \
          message.timeout.ms=900000 transaction.timeout.ms=1000 queuing.strategy=lifo; do
  refused append --data "$work/a" /dev/null "$kv"
done
check "no data directory was created" test ! -e "$work/f" -a ! -e "$work/a"
out=$("$bin" fold --data "$work/f" --log kafka -X novalue 2>&1); rc=$?
check "-X without '=' is a usage error ($rc)" test "$rc" -eq 2
# --instance-id (static group membership) takes the broker's characters only, and the
# Kafka log only.
out=$("$bin" fold --data "$work/f" --log kafka --brokers "$brokers" --instance-id 'a b' 2>&1); rc=$?
check "--instance-id with a space is a usage error ($rc)" test "$rc" -eq 2
check "--instance-id: the message says which characters" grep -q "A-Z a-z 0-9" <<<"$out"
out=$("$bin" fold --data "$work/f" --instance-id m1 2>&1); rc=$?
check "--instance-id without --log kafka is a usage error ($rc)" test "$rc" -eq 2
check "--instance-id without --log kafka: says so" grep -q "instance-id applies to the Kafka" <<<"$out"
check "no data directory was created by a refused --instance-id" test ! -e "$work/f"
# A setting that is not guarded still reaches librdkafka (it fails later on the broker).
out=$("$bin" fold --data "$work/f" --log kafka --brokers "$brokers" -X fetch.wait.max.ms=50 \
  --until-idle 2>&1); rc=$?
check "an unguarded -X key is accepted (fails on the unreachable broker instead: $rc)" \
  grep -q "cannot reach Kafka broker" <<<"$out"
if [ "$fails" -ne 0 ]; then echo "$fails checks failed"; exit 1; fi
echo "all kafka argument checks passed"
