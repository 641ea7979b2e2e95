#!/usr/bin/env bash
# Per-event costs of a whole hunt once the caches are warm, from callgrind:
# a hunt over the OTRF events once and twice, the difference being what
# one pass costs after the first. The last level is set to the core's L2
# (512 KB, 8-way) and then to the share of L3 the other tenants leave
# (about 2 MB, 16-way; see BENCHMARKS.md, fourteenth session).
#
#   scripts/steady-state-costs.sh [VIGIE_BINARY]
#
# Needs valgrind and ../shared/data; takes about five minutes on two cores.
source "$(dirname "$0")/common.sh"
vigie=${1:-${CARGO_TARGET_DIR:-target}/release/vigie}
work=$bench/steady
mkdir -p "$work"
once=$(otrf_once)
twice=$work/twice.jsonl
if [ ! -s "$twice" ]; then
    cat "$once" "$once" > "$twice"
fi
events=$(grep -c '' "$once")

run() { # tag input ll-bytes ll-ways
    valgrind --tool=callgrind --callgrind-out-file="$work/cg.$1" \
        --toggle-collect='vigie_sources::json::parse_batch' \
        --cache-sim=yes --branch-sim=yes --LL="$3,$4,64" \
        "$vigie" hunt "$2" -r "$shared/sigma/rules" -f jsonl -o /dev/null -q -t 1 2>&1 |
        sed -n 's/.*Collected : //p' > "$work/$1.txt"
}
run once-l2 "$once" 524288 8 & run twice-l2 "$twice" 524288 8 & wait
run once-l3 "$once" 2097152 16 & run twice-l3 "$twice" 2097152 16 & wait

# Collected: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw Bc Bcm Bi Bim
python3 - "$work" "$events" <<'PY'
import sys
work, events = sys.argv[1], int(sys.argv[2])
def load(tag):
    c = [int(x) for x in open(f"{work}/{tag}.txt").read().split()]
    return dict(ir=c[0], d1=c[4] + c[5], llr=c[7], llw=c[8], bcm=c[10] + c[12])
d = {}
for level in ("l2", "l3"):
    a, b = load(f"once-{level}"), load(f"twice-{level}")
    d[level] = {k: (b[k] - a[k]) / events for k in a}
l2, l3 = d["l2"], d["l3"]
memory = 50 * (l2["llr"] + l2["llw"] - l3["llr"] - l3["llw"]) + 500 * l3["llr"] + 100 * l3["llw"]
modeled = l2["ir"] + 12 * l2["d1"] + 15 * l2["bcm"] + memory
print(f"per event, steady state ({events} events): instructions {l2['ir']:.0f}, D1 misses {l2['d1']:.1f}, "
      f"mispredicts {l2['bcm']:.1f}, L2 misses read {l2['llr']:.2f} write {l2['llw']:.2f}, "
      f"2 MB misses read {l3['llr']:.2f} write {l3['llw']:.2f}; modeled cycles {modeled:.0f} (memory {memory:.0f})")
PY
