#!/usr/bin/env bash
# Upload the packaged assets to the Gitea/Forgejo release of a tag, creating the release
# when it does not exist. Run by .gitea/workflows/release.yml after `dist/package.sh --check`.
#
#   RELEASE_SERVER=https://gitea.example.com RELEASE_REPOSITORY=acme/shipgate \
#   RELEASE_TOKEN=… dist/release.sh v1.2.3
#
# Uploads dist/out/shipgate-<version>-*.tar.gz and dist/out/SHA256SUMS (RELEASE_DIR overrides
# dist/out; its VERSION names the version). The token (write on
# releases: the automatic token with `contents: write`, or a PAT with write:repository) is
# sent in a header read from a private file, never on a command line or in a URL.
# Refuses, before sending anything:
# - a tag that is not v<VERSION>;
# - a package whose SHA256SUMS lacks a target's tarball or binary line (x86_64 and aarch64
#   must both be listed: the action refuses a runner whose platform has no line), or whose
#   tarballs do not hash to their lines;
# - a package whose SHA256SUMS differs from the committed dist/SHA256SUMS (the action checks
#   downloads against the committed file at the tag, so those assets would be refused).
# Also refuses a release that already has assets (delete them, or the release, and re-run: a
# published asset should not silently change).
set -CeEuo pipefail
IFS=$'\n\t'

bail() {
    printf '::error title=release::%s\n' "$*" >&2
    exit 1
}
info() {
    printf 'release: %s\n' "$*" >&2
}

root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
(($# == 1)) || bail "usage: dist/release.sh vX.Y.Z"
command -v jq >/dev/null || bail "jq is needed to read the API's JSON: apt-get install jq"
tag=$1
server=${RELEASE_SERVER:?RELEASE_SERVER is not set}
server=${server%/}
repository=${RELEASE_REPOSITORY:?RELEASE_REPOSITORY is not set}
[[ -n "${RELEASE_TOKEN:-}" ]] || bail "RELEASE_TOKEN is empty: set it to a token that may write releases"
[[ "${repository}" =~ ^[A-Za-z0-9._-]+/[A-Za-z0-9._-]+$ ]] || bail "bad repository \`${repository}\`"
[[ "${server}" =~ ^https?://[^[:space:]]+$ ]] || bail "bad server URL \`${server}\`"

out=${RELEASE_DIR:-${root}/dist/out}
[[ -f "${out}/VERSION" && -f "${out}/SHA256SUMS" ]] || bail "${out} holds no package: run dist/package.sh --check first"
version=$(<"${out}/VERSION")
[[ "${tag}" == "v${version}" ]] ||
    bail "tag \`${tag}\` does not match the packaged version \`${version}\`: bump Cargo.toml, run dist/package.sh, commit, then tag v<version>"

# Every target's tarball and binary are listed, and each tarball is the one listed.
missing=()
for target in x86_64-unknown-linux-musl aarch64-unknown-linux-musl; do
    for name in "shipgate-${version}-${target}.tar.gz" "shipgate-${version}-${target}/shipgate"; do
        grep -qxF -- "${name}" <(sed 's/^[0-9a-f]\{64\}  //' "${out}/SHA256SUMS") || missing+=("${target}")
    done
done
if ((${#missing[@]} > 0)); then
    bail "${out}/SHA256SUMS has no lines for $(printf '%s\n' "${missing[@]}" | sort -u | paste -sd ' ' -): a release must list every target. Install gcc-aarch64-linux-gnu and musl-tools, run \`rustup target add x86_64-unknown-linux-musl aarch64-unknown-linux-musl\`, then dist/package.sh, and commit dist/SHA256SUMS"
fi
assets=()
while IFS= read -r line; do
    name=${line#*  }
    case "${name}" in
        *.tar.gz) assets+=("${name}") ;;
        *) ;;
    esac
done <"${out}/SHA256SUMS"
for name in "${assets[@]}"; do
    [[ -f "${out}/${name}" ]] || bail "${out}/${name} is missing: run dist/package.sh first"
    listed=$(grep -F -- "  ${name}" "${out}/SHA256SUMS" | head -n 1)
    actual=$(sha256sum -- "${out}/${name}")
    [[ "${listed%%  *}" == "${actual%% *}" ]] ||
        bail "${out}/${name} does not match its SHA256SUMS line: run dist/package.sh again"
done
cmp -s -- "${out}/SHA256SUMS" "${root}/dist/SHA256SUMS" ||
    bail "${out}/SHA256SUMS differs from the committed dist/SHA256SUMS, which the action checks downloads against: run dist/package.sh --check, or dist/package.sh and commit dist/SHA256SUMS"
assets+=(SHA256SUMS)

scratch=$(mktemp -d)
trap 'rm -rf -- "${scratch}"' EXIT
header="${scratch}/auth"
(
    umask 077
    printf 'Authorization: token %s\n' "${RELEASE_TOKEN}" >"${header}"
)
unset RELEASE_TOKEN
api="${server}/api/v1/repos/${repository}"

# call METHOD URL [curl args…]: the body goes to ${scratch}/body, the status is printed.
# Only reads are retried: a retried POST could create a second release or asset.
call() {
    local method=$1 url=$2 retry=()
    shift 2
    [[ "${method}" != GET ]] || retry=(--retry 3 --retry-delay 2)
    curl --proto '=https,http' -sS "${retry[@]}" -o "${scratch}/body" -w '%{http_code}' \
        -H "@${header}" -H 'Accept: application/json' -X "${method}" "$@" -- "${url}"
}

release_id() {
    local id
    id=$(jq -r '.id' "${scratch}/body") || id=''
    [[ "${id}" =~ ^[0-9]+$ ]] || bail "unexpected release JSON from ${api}: $(head -c 200 "${scratch}/body")"
    printf '%s' "${id}"
}

status=$(call GET "${api}/releases/tags/${tag}")
case "${status}" in
    200)
        id=$(release_id)
        assets_now=$(jq -r '.assets | length' "${scratch}/body") || assets_now=''
        [[ "${assets_now}" == 0 ]] ||
            bail "release ${tag} already has assets: delete them (or the release) and re-run; published assets must not change silently"
        info "release ${tag} exists (id ${id})"
        ;;
    404)
        prerelease=false
        [[ "${version}" != *-* ]] || prerelease=true
        body=$(printf '{"tag_name":"%s","name":"shipgate %s","body":"Assets are checked by the action against dist/SHA256SUMS at this tag.","draft":false,"prerelease":%s}' \
            "${tag}" "${version}" "${prerelease}")
        status=$(call POST "${api}/releases" -H 'Content-Type: application/json' --data-binary "${body}")
        [[ "${status}" == 201 ]] || bail "creating release ${tag} answered ${status}: $(head -c 300 "${scratch}/body")"
        id=$(release_id)
        info "created release ${tag} (id ${id})"
        ;;
    *) bail "reading release ${tag} answered ${status}: $(head -c 300 "${scratch}/body")" ;;
esac

for name in "${assets[@]}"; do
    status=$(call POST "${api}/releases/${id}/assets?name=${name}" -F "attachment=@${out}/${name}")
    [[ "${status}" == 201 ]] || bail "uploading ${name} answered ${status}: $(head -c 300 "${scratch}/body")"
    info "uploaded ${name}"
done
info "done: ${server}/${repository}/releases/tag/${tag}"
