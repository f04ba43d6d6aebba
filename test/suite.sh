#!/bin/sh
# `npm test`: the whole suite under tap, then a sweep for any process the suite left behind (a test
# that hit its timeout never ran its teardown). Every process a test starts carries
# DAEMONOCLE_TEST_RUN in its environment; the sweep kills the survivors and fails the run.
DAEMONOCLE_TEST_RUN="$$-$(date +%s)"
export DAEMONOCLE_TEST_RUN
tap "$@"
status=$?
node test/sweep.js "$DAEMONOCLE_TEST_RUN" || status=1
exit "$status"
