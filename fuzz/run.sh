#!/usr/bin/env bash
# Time-boxed fuzzing, run on purpose (CI only replays the committed inputs: tests/fuzz_replay.rs).
#
#   fuzz/run.sh [SECONDS] [TARGET ...]     default: 600 s each, every target
#
# Installs what it needs once per machine (the nightly toolchain, cargo-fuzz into cargo's own
# bin folder), builds the targets with cargo-fuzz (ASan, nightly), runs each for SECONDS on
# its committed corpus (new finds go to target/fuzz-corpus/TARGET, never into fuzz/corpus),
# and prints one row per target for the README's "Last fuzzing runs" table:
#   | target | date | commit | seconds | executions | crashes |
# A crash, timeout or OOM leaves its input in fuzz/artifacts/TARGET/ and fails the run: commit
# the input with its fix, and the suite replays it from then on.
set -euo pipefail
IFS=$'\n\t'

cd -- "$(dirname -- "${BASH_SOURCE[0]}")"
seconds=${1:-600}
[[ "${seconds}" =~ ^[0-9]+$ ]] || {
    printf 'usage: fuzz/run.sh [SECONDS] [TARGET ...]\n' >&2
    exit 64
}
shift || true

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null 2>&1 || cargo install --locked cargo-fuzz

targets=("$@")
if ((${#targets[@]} == 0)); then
    mapfile -t targets < <(cargo +nightly fuzz list)
fi
cargo +nightly fuzz build

commit=$(git rev-parse --short=7 HEAD)
if ! git diff --quiet HEAD -- . ../src ../Cargo.lock; then
    commit="${commit}+dirty"
fi
rows=()
status=0
for target in "${targets[@]}"; do
    mkdir -p "../target/fuzz-corpus/${target}"
    log=$(mktemp)
    crashes=0
    if ! cargo +nightly fuzz run "${target}" "../target/fuzz-corpus/${target}" "corpus/${target}" -- \
        -max_total_time="${seconds}" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 >"${log}" 2>&1; then
        crashes=1
        status=1
        tail -n 40 "${log}" >&2
    fi
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "${log}" | tail -n 1)
    rows+=("| \`${target}\` | $(date -u +%F) | ${commit} | ${seconds} | ${execs:-?} | ${crashes} |")
    rm -f "${log}"
done
printf '\nRows for the README (Fuzzing, "Last fuzzing runs"):\n'
printf '%s\n' "${rows[@]}"
exit "${status}"
