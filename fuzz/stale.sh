#!/usr/bin/env bash
# Names every fuzz target whose parsers changed since its last recorded run.
#
# The README's "Last fuzzing runs" table records, per target, the commit that run fuzzed; each
# body in fuzz/bodies/ names the files it parses with (`//! parsers: …`). A target is stale when
# its body or one of those files differs between that commit and HEAD: `fuzz/run.sh SECONDS
# TARGET` fuzzes it again, and its printed row replaces the old one.
# Exit 1 when a target has no row, names no parsers, or records a commit this clone lacks;
# a stale target is printed (CI shows it), not an error: fuzzing is run on purpose.
set -euo pipefail
IFS=$'\n\t'

cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.."
status=0
stale=0
mapfile -t targets < <(sed -n 's/^[[:space:]]*("\([a-z_]*\)", .*/\1/p' fuzz/bodies/mod.rs)
((${#targets[@]} > 0)) || {
    printf 'fuzz/stale.sh: no targets in fuzz/bodies/mod.rs\n' >&2
    exit 1
}
for target in "${targets[@]}"; do
    row=$(grep -E "^\| \`${target}\` \|" README.md || true)
    if [[ -z "${row}" ]]; then
        printf 'fuzz: %s has no row in the README'"'"'s "Last fuzzing runs" table: run fuzz/run.sh 600 %s\n' "${target}" "${target}"
        status=1
        continue
    fi
    commit=$(printf '%s\n' "${row}" | awk -F'|' '{gsub(/ /, "", $4); print $4}')
    commit=${commit%+dirty}
    IFS=' ' read -r -a parsers <<<"$(sed -n 's|^//! parsers: ||p' "fuzz/bodies/${target}.rs")"
    if ((${#parsers[@]} == 0)); then
        printf 'fuzz: fuzz/bodies/%s.rs names no parsers (a "//! parsers: FILE ..." line)\n' "${target}"
        status=1
        continue
    fi
    if ! git cat-file -e "${commit}^{commit}" 2>/dev/null; then
        printf 'fuzz: %s: the recorded commit %s is not in this clone (a shallow clone? run: git fetch --unshallow)\n' "${target}" "${commit}"
        status=1
        continue
    fi
    # The body counts from the commit it first appears in (bodies moved out of
    # fuzz/fuzz_targets/ after some runs were recorded).
    body=()
    git cat-file -e "${commit}:fuzz/bodies/${target}.rs" 2>/dev/null && body=("fuzz/bodies/${target}.rs")
    changed=$(git diff --name-only "${commit}" HEAD -- "${body[@]}" "${parsers[@]}" | paste -sd' ')
    if [[ -n "${changed}" ]]; then
        printf 'fuzz: %s is stale: %s changed since its last run (%s); fuzz it: fuzz/run.sh 600 %s\n' \
            "${target}" "${changed}" "${commit}" "${target}"
        stale=$((stale + 1))
    else
        printf 'fuzz: %s is current (last run on %s)\n' "${target}" "${commit}"
    fi
done
printf 'fuzz: %d of %d targets stale\n' "${stale}" "${#targets[@]}"
exit "${status}"
