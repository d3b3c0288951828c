# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# bench-lib.sh - helpers shared by the tools/bench-* scripts. Source it.
#
#   median [FORMAT]        the median of the numbers on stdin (default %.0f)
#   median_range [FORMAT]  "MEDIAN (MIN..MAX)" of the numbers on stdin, or
#                          just the value when there is one
#   summary                append stdin to the summary section of this
#                          benchmark: $BENCH_SUMMARY (tools/bench collects
#                          them into build/bench/summary.txt), else stdout
#
# Every side-by-side measurement runs its sides interleaved, at least
# BENCH_REPEATS times (default 3), and is summarised as median and range;
# the raw runs stay in the benchmark's own output.

BENCH_REPEATS=${BENCH_REPEATS:-3}

median() {
	sort -g | awk -v f="${1:-%.0f}" '{ v[NR] = $1 }
		END { if (NR) printf f "\n", (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

median_range() {
	sort -g | awk -v f="${1:-%.0f}" '{ v[NR] = $1 }
		END {
			if (!NR) { print "-"; exit }
			m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			if (NR == 1) printf f "\n", m
			else printf f " (" f ".." f ")\n", m, v[1], v[NR]
		}'
}

summary() {
	if [ -n "${BENCH_SUMMARY:-}" ]; then cat >>"$BENCH_SUMMARY"; else cat; fi
}
