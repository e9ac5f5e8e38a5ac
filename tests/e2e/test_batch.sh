#!/bin/sh
# duet batch through the command: a failing job does not stop the rest, --resume skips jobs
# whose output exists, --shard i/N takes jobs i, i+N, ... of the sorted list.
# The model folder holds only duet-tiny's config.json: every script checks, every render fails
# at the load; what is checked is which jobs were taken and how.
# Usage: test_batch.sh PATH/TO/duet
set -u
DUET=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
check() { # NAME CONDITION-TEXT... ; uses $T/log
    name=$1; shift
    if "$@"; then echo "ok   $name"; else echo "FAIL $name"; cat "$T/log"; fails=$((fails + 1)); fi
}
mkdir -p "$T/jobs"
for j in a b c d; do
    cat >"$T/jobs/$j.json" <<J
{"model": "duet-tiny", "output": "$j.mp4", "shots": [{"prompt": "shot $j", "duration_s": 1}]}
J
done
printf '{"shots": [' >"$T/jobs/b.json"   # malformed: must not stop c and d
echo not-really-an-mp4 >"$T/jobs/d.mp4"   # d is finished for --resume

mkdir -p "$T/models/duet-tiny"
cp "$(dirname "$0")/../../models/duet-tiny/config.json" "$T/models/duet-tiny/"
export DUET_MODELS="$T/models"
"$DUET" batch "$T/jobs" --backend cpu >"$T/log" 2>&1; rc=$?
check all_taken_one_failure_does_not_stop [ $rc -ne 0 ]
check four_failed grep -q "0 rendered, 0 skipped, 4 failed" "$T/log"
check c_after_b grep -q "jobs/c.json: FAILED" "$T/log"

"$DUET" batch "$T/jobs" --resume --backend cpu >"$T/log" 2>&1
check resume_skips_d grep -q "jobs/d.json: output exists, skipped" "$T/log"
check resume_counts grep -q "0 rendered, 1 skipped, 3 failed" "$T/log"

"$DUET" batch "$T/jobs" --shard 1/2 --backend cpu >"$T/log" 2>&1
check shard_1_of_2 sh -c "grep -q 'jobs/b.json: FAILED' '$T/log' && grep -q 'jobs/d.json: FAILED' '$T/log' \
    && ! grep -q 'jobs/a.json' '$T/log' && ! grep -q 'jobs/c.json' '$T/log'"

"$DUET" batch "$T/jobs" --shard 2/2 >"$T/log" 2>&1; rc=$?
check bad_shard [ $rc -eq 2 ]
"$DUET" batch "$T/jobs" -o x.mp4 >"$T/log" 2>&1; rc=$?
check refuses_o [ $rc -eq 2 ]
check no_output_left sh -c "! ls '$T/jobs'/a.mp4 '$T/jobs'/*.tmp >/dev/null 2>&1"

[ $fails -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "all batch cases passed"
