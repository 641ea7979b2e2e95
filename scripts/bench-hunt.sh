#!/usr/bin/env bash
# Times whole hunts and prints events/s, MB/s, peak RSS and the share of
# rules evaluated per event, over (a) the EVTX attack samples and (b) a
# Windows JSON-lines corpus of about 1 GB built by repeating the OTRF
# datasets, both with every SigmaHQ rule under ../shared/data/sigma/rules.
#
#   scripts/bench-hunt.sh [THREADS...]      (default: 1 2)
#
# Needs ../shared/data. The corpus is written to ${BENCH_DIR:-/tmp/vigie-bench}.
source "$(dirname "$0")/common.sh"
threads=("${@:-1 2}")
[ $# -eq 0 ] && threads=(1 2)

cargo build --release -q -p vigie-cli -p vigie-sources --examples --bins
vigie=${CARGO_TARGET_DIR:-target}/release/vigie

corpus=$bench/windows-1gb.jsonl
if [ ! -s "$corpus" ]; then
    one=$(otrf_once)
    : > "$corpus"
    while [ "$(stat -c %s "$corpus")" -lt 1000000000 ]; do cat "$one" >> "$corpus"; done
fi

run() { # name threads args...
    local name=$1 t=$2; shift 2
    local err=$bench/stderr.txt
    /usr/bin/time -f "%M" -o "$bench/rss.txt" "$vigie" hunt "$@" -r "$shared/sigma/rules" \
        -f jsonl -o /dev/null -q --stats -t "$t" 2> "$err" || true
    local events secs bytes rss evald loaded
    events=$(sed -n 's/^events: *\([0-9]*\) in \([0-9.]*\)s.*/\1/p' "$err")
    secs=$(sed -n 's/^events: *\([0-9]*\) in \([0-9.]*\)s.*/\2/p' "$err")
    bytes=$(sed -n 's/^files:.*(\([0-9.]*\) MB).*/\1/p' "$err")
    evald=$(sed -n 's/^evaluated: *\([0-9.]*\) rules per event in full (\([0-9.]*\)%.*/\1 (\2%)/p' "$err")
    loaded=$(sed -n 's/^rules: *\([0-9]*\) loaded in \([0-9.]*\)s.*/\1 rules in \2 s/p' "$err")
    rss=$(cat "$bench/rss.txt")
    awk -v n="$name" -v t="$t" -v e="$events" -v s="$secs" -v b="$bytes" -v r="$rss" -v ev="$evald" -v l="$loaded" 'BEGIN {
        printf "%-18s threads=%s %9d events %7.2f s %9.0f events/s %7.1f MB/s peak RSS %5.0f MB, rules evaluated per event %s [%s]\n",
            n, t, e, s, e / s, b / s, r / 1024, ev, l }'
}

for t in "${threads[@]}"; do
    run "evtx-samples" "$t" "$shared/evtx"
    run "windows-jsonl-1GB" "$t" "$corpus"
done

echo "evtx crate alone (parse + render JSON, 1 thread):"
cargo run --release -q -p vigie-sources --example read -- --evtx-baseline "$shared/evtx" 2>&1 | tail -1
echo "vigie-sources reading EVTX without rules (1 thread):"
cargo run --release -q -p vigie-sources --example read -- --threads 1 "$shared/evtx" 2>&1 | tail -1
