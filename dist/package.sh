#!/usr/bin/env bash
# Reproducible release packaging for shipgate.
#
#   dist/package.sh                 build every target, write dist/out/*.tar.gz and the
#                                   committed dist/SHA256SUMS and dist/VERSION. Refuses unless
#                                   every target below can be built here: the committed file
#                                   must list them all (the action refuses a platform it
#                                   has no line for).
#   dist/package.sh --out DIR       build what this machine can, write DIR/*.tar.gz,
#                                   DIR/SHA256SUMS, DIR/VERSION (the committed files in dist/
#                                   are left alone); names each target it skipped
#   dist/package.sh --check         build what this machine can into dist/out and fail unless
#                                   each built target's lines equal the committed
#                                   dist/SHA256SUMS, dist/VERSION matches, and the committed
#                                   file lists every target. Names each target it skipped and
#                                   did not check (release CI passes every --target, so
#                                   nothing is skipped there)
#   --target TRIPLE                 only this target (repeatable); an explicit target is
#                                   required: missing tools fail instead of skipping it
#   --profile NAME                  cargo profile [default: dist]
#
# Targets: x86_64-unknown-linux-musl (needs `rustup target add x86_64-unknown-linux-musl`
# and musl-gcc from musl-tools) and aarch64-unknown-linux-musl (needs `rustup target add
# aarch64-unknown-linux-musl` and aarch64-linux-gnu-gcc from gcc-aarch64-linux-gnu).
#
# Each tarball is `shipgate-<version>-<target>.tar.gz` holding
# `shipgate-<version>-<target>/shipgate`. SHA256SUMS lists every tarball and every binary
# inside one (`sha256sum -c --ignore-missing` format); the action checks both.
#
# Reproducibility: the same source, Cargo.lock and toolchain give the same bytes in any
# folder on any machine: path prefixes (the source tree, CARGO_HOME, a target dir outside
# the tree) are remapped out of the binary, the tarball has fixed names, order, owners,
# modes and mtime, and gzip stores no name or time. tests/action/package.rs builds a copy of
# the tree in another folder and compares the bytes.
set -CeEuo pipefail
IFS=$'\n\t'

bail() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}
info() {
    printf 'package: %s\n' "$*" >&2
}

root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
out=''
check=false
profile=dist
targets=()
explicit_targets=false
while (($# > 0)); do
    case "$1" in
        --out)
            (($# >= 2)) || bail "--out needs a directory"
            out=$2
            shift 2
            ;;
        --check)
            check=true
            shift
            ;;
        --target)
            (($# >= 2)) || bail "--target needs a target triple"
            case "$2" in
                x86_64-unknown-linux-musl | aarch64-unknown-linux-musl) ;;
                *) bail "unsupported target \`$2\`: expected x86_64-unknown-linux-musl or aarch64-unknown-linux-musl" ;;
            esac
            targets+=("$2")
            explicit_targets=true
            shift 2
            ;;
        --profile)
            (($# >= 2)) || bail "--profile needs a name"
            profile=$2
            shift 2
            ;;
        -h | --help)
            sed -n '2,/^set -CeEuo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
            exit 0
            ;;
        *) bail "unknown argument \`$1\`: see dist/package.sh --help" ;;
    esac
done
if [[ "${check}" == true && -n "${out}" ]]; then
    bail "--check and --out cannot be combined: --check builds into dist/out"
fi
write_committed=false
if [[ -z "${out}" ]]; then
    out="${root}/dist/out"
    [[ "${check}" == true ]] || write_committed=true
fi
mkdir -p -- "${out}"
out=$(cd -- "${out}" && pwd -P)

# The version, from the [package] table of Cargo.toml.
version=''
in_package=false
while IFS= read -r line; do
    case "${line}" in
        '[package]') in_package=true ;;
        '['*) in_package=false ;;
        version*=*)
            if [[ "${in_package}" == true && -z "${version}" ]]; then
                version=${line#*=}
                version=${version//[\" ]/}
            fi
            ;;
        *) ;;
    esac
done <"${root}/Cargo.toml"
[[ "${version}" =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] ||
    bail "could not read the package version from Cargo.toml: got \`${version}\`"

installed_targets=$(rustup target list --installed 2>/dev/null) ||
    bail "rustup is needed to list installed targets: install it from https://rustup.rs"
has_target() {
    local t
    for t in ${installed_targets}; do
        [[ "${t}" == "$1" ]] && return 0
    done
    return 1
}

all_targets=(x86_64-unknown-linux-musl aarch64-unknown-linux-musl)
c_compiler() {
    case "$1" in
        x86_64-unknown-linux-musl) printf 'musl-gcc' ;;
        aarch64-unknown-linux-musl) printf 'aarch64-linux-gnu-gcc' ;;
        *) bail "no C compiler known for \`$1\`" ;;
    esac
}
# needs TARGET: what this machine lacks to build TARGET, empty when nothing.
needs() {
    local lacks='' cc
    has_target "$1" || lacks="\`rustup target add $1\`"
    cc=$(c_compiler "$1")
    if ! command -v "${cc}" >/dev/null; then
        [[ -z "${lacks}" ]] || lacks+=' and '
        case "$1" in
            x86_64-unknown-linux-musl) lacks+="${cc} (\`apt-get install musl-tools\`)" ;;
            *) lacks+="${cc} (\`apt-get install gcc-aarch64-linux-gnu\`)" ;;
        esac
    fi
    printf '%s' "${lacks}"
}
# words A B C: "A B C" whatever IFS is.
words() {
    local IFS=' '
    printf '%s' "$*"
}

skipped=()
if [[ "${explicit_targets}" == false ]]; then
    for target in "${all_targets[@]}"; do
        missing=$(needs "${target}")
        if [[ -z "${missing}" ]]; then
            targets+=("${target}")
        else
            skipped+=("${target}: needs ${missing}")
        fi
    done
fi
if [[ "${write_committed}" == true ]]; then
    # dist/SHA256SUMS is what the action checks downloads against: it lists every target,
    # or an arm64 runner is refused. Only a build of every target may write it.
    [[ "${explicit_targets}" == false ]] ||
        bail "dist/SHA256SUMS must list every target, so --target needs --out DIR (or --check): run dist/package.sh without --target to write it"
    if ((${#skipped[@]} > 0)); then
        for line in "${skipped[@]}"; do
            printf 'error: cannot build %s\n' "${line}" >&2
        done
        bail "dist/SHA256SUMS must list every target ($(words "${all_targets[@]}")): install what is named above and run dist/package.sh again, or use --out DIR for a build of this machine's targets only"
    fi
elif [[ "${check}" == false ]]; then
    for line in "${skipped[@]}"; do
        info "skipped ${line}"
    done
fi
((${#targets[@]} > 0)) || bail "no target can be built here: $(words "${skipped[@]}")"

# The variables cargo sets for a crate it builds or runs, present when this script runs
# under `cargo test`. Build scripts that declare rerun-if-env-changed on them (ring does,
# on CARGO_MANIFEST_DIR and CARGO_PKG_*) would rerun, and everything above them rebuild,
# whenever a run from a shell follows one from the tests.
while IFS= read -r name; do
    case "${name}" in
        CARGO_MANIFEST_* | CARGO_PKG_* | CARGO_CRATE_NAME | CARGO_BIN_NAME | CARGO_BIN_EXE_* | \
            CARGO_PRIMARY_PACKAGE | CARGO_TARGET_TMPDIR | CARGO_CFG_* | CARGO_FEATURE_* | \
            CARGO_RUSTC_CURRENT_DIR | OUT_DIR) unset "${name}" ;;
        *) ;;
    esac
done < <(compgen -e)

cargo_home=${CARGO_HOME:-${HOME}/.cargo}
cargo_home=$(cd -- "${cargo_home}" 2>/dev/null && pwd -P || printf '%s' "${cargo_home}")
# Remap the machine-specific prefixes that panic locations would otherwise embed.
rustflags="--remap-path-prefix=${cargo_home}=/cargo"$'\x1f'"--remap-path-prefix=${root}=/shipgate"
cflags="-ffile-prefix-map=${cargo_home}=/cargo -ffile-prefix-map=${root}=/shipgate"
target_dir=${CARGO_TARGET_DIR:-${root}/target}
mkdir -p -- "${target_dir}"
target_dir=$(cd -- "${target_dir}" && pwd -P)
case "${target_dir}/" in
    "${root}/"*) ;;
    *)
        # Build scripts' OUT_DIR lives there; remap it to where it sits in a default build.
        rustflags+=$'\x1f'"--remap-path-prefix=${target_dir}=/shipgate/target"
        cflags+=" -ffile-prefix-map=${target_dir}=/shipgate/target"
        ;;
esac
stage=$(mktemp -d "${out}/.stage.XXXXXX")
trap 'rm -rf -- "${stage}"' EXIT

sums=()
for target in "${targets[@]}"; do
    env_name=${target//-/_}
    cc=$(c_compiler "${target}")
    missing=$(needs "${target}")
    [[ -z "${missing}" ]] || bail "cannot build ${target}: needs ${missing}"
    info "building ${target} (profile ${profile})"
    (
        cd -- "${root}"
        export "CC_${env_name}=${cc}" "CFLAGS_${env_name}=${cflags}"
        if [[ "${target}" == aarch64-unknown-linux-musl ]]; then
            export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=aarch64-linux-gnu-gcc
        fi
        unset RUSTFLAGS
        CARGO_ENCODED_RUSTFLAGS=${rustflags} cargo build --locked --quiet \
            --profile "${profile}" --target "${target}" --bin shipgate
    )
    binary="${target_dir}/${target}/${profile}/shipgate"
    [[ -f "${binary}" ]] || bail "cargo did not produce \`${binary}\`"

    name="shipgate-${version}-${target}"
    mkdir -- "${stage}/${name}"
    cp -- "${binary}" "${stage}/${name}/shipgate"
    chmod 0755 -- "${stage}/${name}" "${stage}/${name}/shipgate"
    tar --create --file=- --directory="${stage}" --format=gnu --sort=name --mtime=@0 \
        --owner=0 --group=0 --numeric-owner -- "${name}" | gzip -n -9 >|"${stage}/${name}.tar.gz"
    mv -f -- "${stage}/${name}.tar.gz" "${out}/${name}.tar.gz"
    tar_sum=$(sha256sum -- "${out}/${name}.tar.gz")
    bin_sum=$(sha256sum -- "${stage}/${name}/shipgate")
    sums+=("${tar_sum%% *}  ${name}.tar.gz" "${bin_sum%% *}  ${name}/shipgate")
    info "wrote ${out}/${name}.tar.gz"
done

sorted=$(printf '%s\n' "${sums[@]}" | LC_ALL=C sort -k2)
printf '%s\n' "${sorted}" >|"${out}/SHA256SUMS"
printf '%s\n' "${version}" >|"${out}/VERSION"
{
    rustc -vV
    cargo -V
} >|"${out}/BUILDINFO"

if [[ "${write_committed}" == true ]]; then
    cp -- "${out}/SHA256SUMS" "${root}/dist/SHA256SUMS"
    cp -- "${out}/VERSION" "${root}/dist/VERSION"
    info "wrote dist/SHA256SUMS and dist/VERSION: commit them before tagging v${version}"
fi
if [[ "${check}" == true ]]; then
    status=0
    committed="${root}/dist/SHA256SUMS"
    [[ -f "${committed}" ]] || bail "dist/SHA256SUMS is missing: run dist/package.sh and commit it"
    cmp -s -- "${out}/VERSION" "${root}/dist/VERSION" || {
        info "dist/VERSION says $(cat -- "${root}/dist/VERSION" 2>/dev/null || printf 'nothing'), Cargo.toml says ${version}"
        status=1
    }
    # The committed file lists exactly every target's tarball and binary…
    expected=()
    for target in "${all_targets[@]}"; do
        expected+=("shipgate-${version}-${target}.tar.gz" "shipgate-${version}-${target}/shipgate")
    done
    names=()
    while IFS= read -r line || [[ -n "${line}" ]]; do
        names+=("${line#*  }")
    done <"${committed}"
    for name in "${expected[@]}"; do
        found=false
        for listed in "${names[@]}"; do
            [[ "${listed}" != "${name}" ]] || found=true
        done
        if [[ "${found}" == false ]]; then
            info "dist/SHA256SUMS has no line for ${name}"
            status=1
        fi
    done
    for listed in "${names[@]}"; do
        found=false
        for name in "${expected[@]}"; do
            [[ "${listed}" != "${name}" ]] || found=true
        done
        if [[ "${found}" == false ]]; then
            info "dist/SHA256SUMS has an unexpected line for \`${listed}\`"
            status=1
        fi
    done
    # …and each built target's lines are the ones this build wrote.
    built=()
    for target in "${targets[@]}"; do
        built+=("shipgate-${version}-${target}.tar.gz" "shipgate-${version}-${target}/shipgate")
    done
    selected=''
    while IFS= read -r line || [[ -n "${line}" ]]; do
        for name in "${built[@]}"; do
            [[ "${line#*  }" != "${name}" ]] || selected+="${line}"$'\n'
        done
    done <"${committed}"
    if ! diff -- <(printf '%s' "${selected}" | LC_ALL=C sort -k2) "${out}/SHA256SUMS" >&2; then
        info "the build does not reproduce the committed dist/SHA256SUMS (diff above: < committed, > this build)"
        status=1
    fi
    for line in "${skipped[@]}"; do
        info "skipped ${line}; its SHA256SUMS lines were not checked"
    done
    if ((status != 0)); then
        bail "packaging check failed: rebuild with the toolchain in dist/out/BUILDINFO, run dist/package.sh and commit dist/SHA256SUMS and dist/VERSION"
    fi
    info "dist/SHA256SUMS and dist/VERSION match this build of $(words "${targets[@]}")"
fi
printf '%s\n' "${sorted}"
