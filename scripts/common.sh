# Sourced by the benchmark scripts: runs them from the repository root,
# skips cleanly when ../shared/data is absent, and builds the OTRF corpus
# they share, so that every script measures the same events.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[1]}")/.."
shared=../shared/data
if [ ! -d "$shared" ]; then
    echo "skipping: $shared not found" >&2
    exit 0
fi
bench=${BENCH_DIR:-/tmp/vigie-bench}
mkdir -p "$bench"

# Prints the path of the OTRF Windows datasets end to end (one JSON event
# per line), building the file the first time.
otrf_once() {
    local one=$bench/otrf-once.jsonl
    if [ ! -s "$one" ]; then
        find "$shared/jsonl" -name '*.json' -print0 | sort -z | xargs -0 cat > "$one"
    fi
    echo "$one"
}
