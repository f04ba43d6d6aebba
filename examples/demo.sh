#!/bin/sh
# The demo behind `npm run demo`: start a daemon, look at it, stop it.
set -e
cd "$(dirname "$0")/.."
dir=$(mktemp -d "${TMPDIR:-/tmp}/daemonocle-demo.XXXXXX")
daemonocle() { node dist/bin/daemonocle.cjs "$@"; }
opts="--name clock --pid-file $dir/clock.pid"

echo "\$ daemonocle start $opts --stdout $dir/clock.log -- examples/clock.js"
daemonocle start $opts --stdout "$dir/clock.log" -- examples/clock.js
echo "\$ daemonocle status $opts"
daemonocle status $opts
echo "\$ daemonocle status $opts --json"
daemonocle status $opts --json
echo "\$ daemonocle stop $opts"
daemonocle stop $opts
echo "\$ daemonocle status $opts"
daemonocle status $opts || echo "(exit $? = not running)"
echo "\$ cat $dir/clock.log"
cat "$dir/clock.log"
rm -rf "$dir"
