#!/usr/bin/env bash
# Times whole hunts and prints events/s, MB/s, peak RSS and the share of
# rules evaluated per event, over (a) the EVTX attack samples and (b) a
# Windows JSON-lines corpus of about 1 GB built by repeating the OTRF
# datasets, both with every SigmaHQ rule under ../shared/data/sigma/rules;
# then the EVTX hunt against the evtx crate's own parse-only rate.
#
#   [ROUNDS=N] scripts/bench-hunt.sh [THREADS...]      (default: 1 2)
#
# This machine is shared: the same build's rate moves by up to two times
# from one minute to the next. With ROUNDS=N (default 1) each measure is
# taken N times and printed as its median with the range; the EVTX
# comparison then pairs the crate and the hunt round by round.
#
# Needs ../shared/data. The corpora are written to ${BENCH_DIR:-/tmp/vigie-bench}.
source "$(dirname "$0")/common.sh"
threads=("${@:-1 2}")
[ $# -eq 0 ] && threads=(1 2)
rounds=${ROUNDS:-1}

cargo build --release -q -p vigie-cli -p vigie-sources --examples --bins
vigie=${CARGO_TARGET_DIR:-target}/release/vigie
read_example=${CARGO_TARGET_DIR:-target}/release/examples/read

corpus=$bench/windows-1gb.jsonl
if [ ! -s "$corpus" ]; then
    one=$(otrf_once)
    : > "$corpus"
    while [ "$(stat -c %s "$corpus")" -lt 1000000000 ]; do cat "$one" >> "$corpus"; done
fi
# The EVTX samples five times over (a run of one copy lasts a few
# hundredths of a second, too short to time), as the crate reads them
# with --repeat 5.
evtx5=$bench/evtx5
if [ ! -d "$evtx5/5" ]; then
    rm -rf "$evtx5"
    for copy in 1 2 3 4 5; do mkdir -p "$evtx5/$copy" && cp -r "$shared/evtx/." "$evtx5/$copy/"; done
fi

# The median, lowest and highest of the numbers on stdin.
spread() {
    sort -g | awk '{v[NR] = $1} END {printf "%s %s %s", v[int((NR + 1) / 2)], v[1], v[NR]}'
}

# One hunt; prints "events seconds MB peak-RSS-KB load-seconds evaluated".
hunt_once() { # threads input
    local err=$bench/stderr.txt
    /usr/bin/time -f "%M" -o "$bench/rss.txt" "$vigie" hunt "$2" -r "$shared/sigma/rules" \
        -f jsonl -o /dev/null -q --stats -t "$1" 2> "$err" || true
    local events secs bytes evald loaded
    events=$(sed -n 's/^events: *\([0-9]*\) in .*/\1/p' "$err")
    # The rate `--stats` prints has more digits than its seconds.
    secs=$(sed -n 's/^events: *\([0-9]*\) in .*(\([0-9]*\) events\/s).*/\1 \2/p' "$err" |
        awk '{ if ($2 > 0) printf "%.4f", $1 / $2; else print 0 }')
    bytes=$(sed -n 's/^files:.*(\([0-9.]*\) MB).*/\1/p' "$err")
    evald=$(sed -n 's/^evaluated: *\([0-9.]*\) rules per event in full (\([0-9.]*\)%.*/\1 (\2%)/p' "$err")
    loaded=$(sed -n 's/^rules: *[0-9]* loaded in \([0-9.]*\)s.*/\1/p' "$err")
    echo "$events $secs $bytes $(cat "$bench/rss.txt") ${loaded:-0} $evald"
}

run() { # name threads input
    local name=$1 t=$2 input=$3 rates="" loads="" rss=0 line events secs bytes r loaded evald=""
    for _ in $(seq "$rounds"); do
        line=$(hunt_once "$t" "$input")
        read -r events secs bytes r loaded evald <<< "$line"
        rates="$rates $(awk -v e="$events" -v s="$secs" 'BEGIN { if (s > 0) printf "%.0f", e / s; else print 0 }')"
        loads="$loads $loaded"
        [ "$r" -gt "$rss" ] && rss=$r
    done
    read -r median low high <<< "$(echo $rates | tr ' ' '\n' | spread)"
    awk -v n="$name" -v t="$t" -v e="$events" -v m="$median" -v lo="$low" -v hi="$high" \
        -v b="$bytes" -v r="$rss" -v ev="$evald" -v l="$(echo $loads | tr ' ' '\n' | spread | cut -d' ' -f1)" \
        -v k="$rounds" 'BEGIN {
        range = (k > 1) ? sprintf(" (%d-%d, %d runs)", lo, hi, k) : ""
        printf "%-18s threads=%s %9d events %9.0f events/s%s %7.1f MB/s, %.0f per core; peak RSS %4.0f MB; rules evaluated per event %s; 3140 rules loaded in %s s\n",
            n, t, e, m, range, b * m / e, m / t, r / 1024, ev, l }'
}

for t in "${threads[@]}"; do
    run "evtx-samples x5" "$t" "$evtx5"
    run "windows-jsonl-1GB" "$t" "$corpus"
done

echo "EVTX end to end against the evtx crate's parse-only rate (its time over the hunt's):"
for t in "${threads[@]}"; do
    ratios=""
    for _ in $(seq "$rounds"); do
        crate=$("$read_example" --evtx-baseline --repeat 5 --threads "$t" "$shared/evtx" 2>&1 |
            sed -n 's/.* in \([0-9.]*\)s:.*/\1/p' | tail -1)
        read -r _ secs _ <<< "$(hunt_once "$t" "$evtx5")"
        ratios="$ratios $(awk -v c="$crate" -v h="$secs" 'BEGIN { if (h > 0) printf "%.0f", 100 * c / h; else print 0 }')"
    done
    read -r median low high <<< "$(echo $ratios | tr ' ' '\n' | spread)"
    echo "  threads=$t: $median% (range $low-$high%, $rounds rounds; target 70%)"
done
echo "vigie-sources reading EVTX without rules (1 thread):"
"$read_example" --threads 1 "$shared/evtx" 2>&1 | tail -1
