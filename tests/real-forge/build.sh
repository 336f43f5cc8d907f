#!/usr/bin/env bash
# Build the real forges the test suite runs against, from the Go module proxy.
#
#   tests/real-forge/build.sh [NAME ...]      default: every name in versions.txt
#
# For each pinned line of tests/real-forge/versions.txt (`gitea-1.27.3 code.gitea.io/gitea
# v1.27.3 h1:…`) it downloads the module with `go mod download -json`, refuses it unless its
# h1: sum equals the pinned one, copies the source to target/real-forge/src/NAME (the server
# reads its templates and locale files from there at run time: the module carries no
# prebuilt frontend, so the binary is built without `bindata`; tests/spec.rs reads its
# swagger template), and builds target/real-forge/NAME with `-tags 'sqlite
# sqlite_unlock_notify'`. A binary that is already there, built from the pinned sum, with
# its source beside it, is kept: only a missing or differently pinned one is built.
#
# Called by the test harness (tests/support/real_gitea.rs) on first use and by .ci/run.
# Go's module and build caches stay where Go keeps them, so a rebuild is mostly a link.
set -euo pipefail
IFS=$'\n\t'

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
root=$(cd -- "${here}/../.." && pwd)
out="${CARGO_TARGET_DIR:-${root}/target}/real-forge"

bail() {
    printf 'real-forge: %s\n' "$*" >&2
    exit 1
}

command -v go >/dev/null 2>&1 ||
    bail "no \`go\` on PATH: Go 1.26 is needed to build Gitea (install it from go.dev, or put /usr/local/go/bin on PATH)"
command -v cc >/dev/null 2>&1 ||
    bail "no C compiler: Gitea's sqlite driver needs cgo (apt-get install gcc libc6-dev)"
command -v git >/dev/null 2>&1 || bail "no \`git\`: Gitea serves repositories with it (apt-get install git)"

mkdir -p "${out}/src"
# One builder at a time: parallel test binaries and .ci/run may all ask.
exec 9>"${out}/.lock"
flock 9

pins=()
while IFS=" " read -r name module version sum toolchain; do
    [[ -z "${name}" || "${name}" == \#* ]] && continue
    pins+=("${name} ${module} ${version} ${sum} ${toolchain:-local}")
done <"${here}/versions.txt"

wanted=("$@")
found_any=false
for pin in "${pins[@]}"; do
    IFS=' ' read -r name module version sum toolchain <<<"${pin}"
    if ((${#wanted[@]} > 0)); then
        match=false
        for w in "${wanted[@]}"; do [[ "${w}" == "${name}" ]] && match=true; done
        ${match} || continue
    fi
    found_any=true
    binary="${out}/${name}"
    stamp="${out}/${name}.built-from"
    src="${out}/src/${name}"
    # The source is kept too: the server reads its templates from it, the spec tests its
    # swagger template (templates/swagger/v1_json.tmpl).
    if [[ -x "${binary}" && -d "${src}/templates" && -f "${stamp}" && "$(cat "${stamp}")" == "${module}@${version} ${sum} ${toolchain}" ]]; then
        printf 'real-forge: %s is built (%s@%s)\n' "${name}" "${module}" "${version}"
        continue
    fi
    started=${SECONDS}
    printf 'real-forge: downloading %s@%s\n' "${module}" "${version}"
    # The checksum database has no entry for some pinned versions (1.22.6): the pinned sum is
    # the check, made here on what the proxy served.
    info=$(GOSUMDB=off GOFLAGS=-mod=mod GOTOOLCHAIN=local go mod download -json "${module}@${version}") ||
        bail "\`go mod download ${module}@${version}\` failed (is the Go module proxy reachable? GOPROXY=$(go env GOPROXY)): ${info}"
    got_sum=$(printf '%s\n' "${info}" | sed -n 's/^[[:space:]]*"Sum": "\(.*\)",\{0,1\}$/\1/p')
    dir=$(printf '%s\n' "${info}" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
    [[ -n "${got_sum}" && -n "${dir}" ]] || bail "go mod download gave no Sum/Dir for ${module}@${version}: ${info}"
    [[ "${got_sum}" == "${sum}" ]] ||
        bail "${module}@${version}: the proxy served sum ${got_sum}, versions.txt pins ${sum}: refusing to build it"

    rm -rf "${src}"
    cp -R "${dir}" "${src}"
    chmod -R u+w "${src}"
    printf 'real-forge: building %s with Go %s (tags sqlite sqlite_unlock_notify)\n' "${name}" "${toolchain}"
    (
        cd "${src}"
        # -mod=readonly with the module's own go.sum: every dependency is checked against it.
        CGO_ENABLED=1 GOTOOLCHAIN="${toolchain}" GOFLAGS=-mod=readonly \
            go build -trimpath -tags 'sqlite sqlite_unlock_notify' \
            -ldflags "-s -w -X 'main.Version=${version#v}' -X 'main.Tags=sqlite sqlite_unlock_notify'" \
            -o "${binary}.tmp" .
    ) || bail "building ${name} failed (see the go output above); retry with: tests/real-forge/build.sh ${name}"
    mv -f "${binary}.tmp" "${binary}"
    printf '%s\n' "${module}@${version} ${sum} ${toolchain}" >"${stamp}"
    printf 'real-forge: built %s in %ds\n' "${name}" "$((SECONDS - started))"
done
${found_any} || bail "no pinned forge named: ${wanted[*]} (see tests/real-forge/versions.txt)"
