#!/usr/bin/env bash
# Runs every fuzz target of ./fuzz, one after the other, and prints how
# many inputs each ran.
#
#	fuzz/run-long.sh 10m        # each target for ten minutes (or 1h, 30s)
#	fuzz/run-long.sh 500000x    # each target for 500000 inputs
#	fuzz/run-long.sh ci         # each target for its count below (CI)
#
# FUZZ_MINIMIZE sets -fuzzminimizetime, a duration or a count (default 5s).
#
# A target fails when it writes a crasher or reports any other failure.
# A crasher is left in fuzz/testdata/fuzz/<Target>/ (go test writes it
# there). Keep that file: once the bug is fixed it is a regression seed
# that every go test ./... runs. The script exits non-zero if any target
# failed.
#
# Durations and Go 1.26: at the end of a duration -fuzztime, the fuzz
# coordinator can fail a target with a bare "context deadline exceeded"
# although nothing was found (a race, golang/go#75804, fixed in Go 1.27).
# With a duration, a target that fails that way and wrote no crasher is
# reported as "race", not as a failure. Counts have no deadline to race:
# CI uses them.
set -euo pipefail
cd "$(dirname "$0")/.."

# ci_budget is each target's count of inputs in CI, from the rates
# measured on 2 busy cores (fuzz/run-long.sh 20000x: 1,800 to 6,700
# inputs a second, start-up included): about 10 s a target, so that the
# whole step, the instrumented build included, takes a few minutes cold.
# A new target needs a line here: "ci" refuses a target without one.
declare -A ci_budget=(
	[FuzzBearerTokens]=60000x
	[FuzzBodiesCBOR]=50000x
	[FuzzBodiesJSON]=40000x
	[FuzzClientAnswers]=30000x
	[FuzzDetectPrivateKey]=40000x
	[FuzzHandler]=30000x
	[FuzzIdentifier]=20000x
	[FuzzInstanceToken]=40000x
	[FuzzKDFParams]=30000x
	[FuzzOpenSSHContainer]=30000x
	[FuzzParsePEM]=30000x
	[FuzzParsePrivateKey]=30000x
	[FuzzPrivateKeyDER]=30000x
	[FuzzParsePublicKey]=25000x
	[FuzzRegistryInspect]=25000x
	[FuzzRegistryOpen]=30000x
	[FuzzRegistryPlaintext]=30000x
)

budget_re='^([0-9]+x|([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+)$'
if [ $# -ne 1 ] || { [ "$1" != ci ] && ! [[ $1 =~ $budget_re ]]; }; then
	echo "usage: fuzz/run-long.sh DURATION|COUNTx|ci   (10m, 1h, 500000x, or ci: each target's CI count)" >&2
	exit 2
fi
budget=$1
minimize=${FUZZ_MINIMIZE:-5s}
if ! [[ $minimize =~ $budget_re ]]; then
	echo "fuzz/run-long.sh: FUZZ_MINIMIZE=$minimize: want a duration (5s) or a count (1000x)" >&2
	exit 2
fi

targets=$(go test -list '^Fuzz' ./fuzz | grep '^Fuzz' || true)
if [ -z "$targets" ]; then
	echo "no fuzz targets in ./fuzz" >&2
	exit 1
fi
if [ "$budget" = ci ]; then
	missing=
	for t in $targets; do
		[ -n "${ci_budget[$t]:-}" ] || missing+=" $t"
	done
	if [ -n "$missing" ]; then
		echo "fuzz/run-long.sh: no CI count for:$missing (add it to ci_budget)" >&2
		exit 1
	fi
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

# corpus lists the files of a target's corpus in testdata, where go test
# writes a crasher.
corpus() {
	LC_ALL=C ls "fuzz/testdata/fuzz/$1" 2>/dev/null || true
}

log=$(mktemp)
trap 'rm -f "$log"' EXIT
failed=0
rows=()
for t in $targets; do
	want=$budget
	[ "$budget" != ci ] || want=${ci_budget[$t]}
	printf '\n== %s for %s\n' "$t" "$want"
	before=$(corpus "$t")
	# -timeout bounds the whole target, far above its budget: a count
	# runs as long as the machine needs, a duration stops on its own.
	if go test -run '^$' -fuzz "^$t\$" -fuzztime "$want" -fuzzminimizetime "$minimize" -timeout 2h ./fuzz 2>&1 | tee "$log"; then
		result=ok
	else
		result=FAIL
	fi
	crasher=$(LC_ALL=C comm -13 <(printf '%s\n' "$before") <(corpus "$t") | sed "s|^|fuzz/testdata/fuzz/$t/|" | tr '\n' ' ')
	if [ -z "$crasher" ]; then
		crasher=$(sed -n 's/.*Failing input written to \(.*\)$/\1/p' "$log" | tail -1)
	fi
	if [ "$result" = FAIL ] && [ -z "$crasher" ] && [[ $want != *x ]] &&
		grep -qE '^[[:space:]]*context deadline exceeded$' "$log"; then
		result=race
		echo "== $t: \"context deadline exceeded\" with no crasher at the end of a duration: Go's fuzz coordinator race (golang/go#75804), not a finding"
	fi
	[ "$result" != FAIL ] || failed=1
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
	rows+=("$(printf '%-26s %-10s %-5s %12s %10s  %s' "$t" "$want" "$result" "$execs" "$rate" "$crasher")")
done

printf '\n== summary (%s)\n' "$budget"
printf '%-26s %-10s %-5s %12s %10s  %s\n' target budget result execs execs/s crasher
printf '%s\n' "${rows[@]}"
exit "$failed"
