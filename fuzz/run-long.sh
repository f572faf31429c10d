#!/usr/bin/env bash
# Runs every fuzz target of ./fuzz for DURATION each, one after the other,
# and prints how many inputs each ran.
#
#	fuzz/run-long.sh 10m        # or 1h, 30s, 500000x: a go test -fuzztime
#
# FUZZ_MINIMIZE sets -fuzzminimizetime (default 5s; CI uses 1s).
#
# A target that fails leaves its input in fuzz/testdata/fuzz/<Target>/
# (go test writes it there). Keep that file: once the bug is fixed it is a
# regression seed that every go test ./... runs. The script exits non-zero
# if any target failed.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -ne 1 ]; then
	echo "usage: fuzz/run-long.sh DURATION" >&2
	exit 2
fi
duration=$1
minimize=${FUZZ_MINIMIZE:-5s}

targets=$(go test -list '^Fuzz' ./fuzz | grep '^Fuzz' || true)
if [ -z "$targets" ]; then
	echo "no fuzz targets in ./fuzz" >&2
	exit 1
fi

# seconds converts a Go duration as the fuzzer prints it (1h2m3s, 45s) to
# seconds.
seconds() {
	awk -v d="$1" 'BEGIN {
		s = 0
		while (match(d, /^[0-9.]+(h|ms|m|s)/)) {
			n = substr(d, 1, RLENGTH); d = substr(d, RLENGTH + 1)
			if (n ~ /h$/) s += n * 3600
			else if (n ~ /ms$/) s += n / 1000
			else if (n ~ /m$/) s += n * 60
			else s += n
		}
		print s
	}'
}

log=$(mktemp)
trap 'rm -f "$log"' EXIT
failed=0
rows=()
for t in $targets; do
	printf '\n== %s for %s\n' "$t" "$duration"
	if go test -run '^$' -fuzz "^$t\$" -fuzztime "$duration" -fuzzminimizetime "$minimize" ./fuzz 2>&1 | tee "$log"; then
		result=ok
	else
		result=FAIL
		failed=1
	fi
	# The last progress line: "fuzz: elapsed: 30s, execs: 123456 (4100/sec), ..."
	last=$(grep -o 'elapsed: [0-9hms.]*, execs: [0-9]*' "$log" | tail -1 || true)
	execs=$(sed -n 's/.*execs: \([0-9]*\).*/\1/p' <<<"$last")
	elapsed=$(sed -n 's/elapsed: \([0-9hms.]*\),.*/\1/p' <<<"$last")
	execs=${execs:-0}
	rate=-
	if [ -n "$elapsed" ]; then
		secs=$(seconds "$elapsed")
		rate=$(awk -v n="$execs" -v s="$secs" 'BEGIN { if (s > 0) printf "%.0f", n / s; else print "-" }')
	fi
	crasher=$(grep -o 'testdata/fuzz/[^ ]*' "$log" | tail -1 || true)
	rows+=("$(printf '%-26s %-5s %12s %10s  %s' "$t" "$result" "$execs" "$rate" "$crasher")")
done

printf '\n== summary (%s each)\n' "$duration"
printf '%-26s %-5s %12s %10s  %s\n' target result execs execs/s crasher
printf '%s\n' "${rows[@]}"
exit "$failed"
