#!/bin/bash
# test/under-load.sh [ROUNDS]: the tests that once failed on a fresh machine or under load (the
# soak, the orphan bursts, the subreaper count, the zombie, the group sums, the SIGKILLed wrapper,
# the notify senders), ROUNDS times (default 20) while two busy loops load both cores.
# Run after `npm run build`; ends with "N passed, N failed".
cd "$(dirname "$0")/.." || exit 1
export CI=true PATH="$PWD/node_modules/.bin:$PATH"
rounds=${1:-20}
sh -c 'while :; do :; done' & busy1=$!
sh -c 'while :; do :; done' & busy2=$!
trap 'kill $busy1 $busy2' EXIT
pass=0
fail=0
for i in $(seq "$rounds"); do
  for spec in "soak test/reliability.test.ts" "bursts test/pid1.test.ts" "subreaper test/run.test.ts" \
    "zombie test/pidfile.test.ts" "summed test/status.test.ts" "SIGKILLed test/run-extras.test.ts" \
    "notify test/notify-senders.test.ts"; do
    set -- $spec
    began=$SECONDS
    log=$(mktemp)
    if sh test/suite.sh --grep="$1" "$2" >"$log" 2>&1; then
      pass=$((pass + 1)); result=ok
    else
      fail=$((fail + 1)); result=FAILED; cat "$log"
    fi
    rm -f "$log"
    echo "round $i $1: $result in $((SECONDS - began)) s"
  done
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
