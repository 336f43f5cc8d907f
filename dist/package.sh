#!/usr/bin/env bash
# Reproducible release packaging for shipgate.
#
#   dist/package.sh                 build, write dist/out/*.tar.gz, dist/SHA256SUMS, dist/VERSION
#   dist/package.sh --out DIR       build, write DIR/*.tar.gz, DIR/SHA256SUMS, DIR/VERSION
#                                   (the committed files in dist/ are left alone)
#   dist/package.sh --check         build into dist/out and fail unless the result equals the
#                                   committed dist/SHA256SUMS and dist/VERSION (release CI)
#   --target TRIPLE                 only this target (repeatable); default: every target below
#   --profile NAME                  cargo profile [default: dist]
#
# Targets: x86_64-unknown-linux-musl (always; needs `rustup target add
# x86_64-unknown-linux-musl` and musl-gcc from musl-tools) and aarch64-unknown-linux-musl
# (built when its rust target and aarch64-linux-gnu-gcc are installed, else skipped with a
# message; with an explicit --target it is required).
#
# Each tarball is `shipgate-<version>-<target>.tar.gz` holding
# `shipgate-<version>-<target>/shipgate`. SHA256SUMS lists every tarball and every binary
# inside one (`sha256sum -c --ignore-missing` format); the action checks both.
#
# Reproducibility: the same source, Cargo.lock and toolchain give the same bytes on any
# machine: path prefixes are remapped out of the binary, the tarball has fixed names, order,
# owners, modes and mtime, and gzip stores no name or time.
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

if [[ "${explicit_targets}" == false ]]; then
    targets=(x86_64-unknown-linux-musl)
    if has_target aarch64-unknown-linux-musl && command -v aarch64-linux-gnu-gcc >/dev/null; then
        targets+=(aarch64-unknown-linux-musl)
    else
        info "skipping aarch64-unknown-linux-musl: needs \`rustup target add aarch64-unknown-linux-musl\` and \`apt-get install gcc-aarch64-linux-gnu\`"
    fi
fi

cargo_home=${CARGO_HOME:-${HOME}/.cargo}
cargo_home=$(cd -- "${cargo_home}" 2>/dev/null && pwd -P || printf '%s' "${cargo_home}")
# Remap the machine-specific prefixes that panic locations would otherwise embed.
rustflags="--remap-path-prefix=${cargo_home}=/cargo"$'\x1f'"--remap-path-prefix=${root}=/shipgate"
cflags="-ffile-prefix-map=${cargo_home}=/cargo -ffile-prefix-map=${root}=/shipgate"

target_dir=${CARGO_TARGET_DIR:-${root}/target}
stage=$(mktemp -d "${out}/.stage.XXXXXX")
trap 'rm -rf -- "${stage}"' EXIT

sums=()
for target in "${targets[@]}"; do
    has_target "${target}" || bail "rust target \`${target}\` is not installed: run \`rustup target add ${target}\`"
    env_name=${target//-/_}
    case "${target}" in
        x86_64-unknown-linux-musl) cc=musl-gcc ;;
        aarch64-unknown-linux-musl) cc=aarch64-linux-gnu-gcc ;;
        *) bail "no C compiler known for \`${target}\`" ;;
    esac
    command -v "${cc}" >/dev/null ||
        bail "\`${cc}\` is needed to build ${target}: install musl-tools (x86_64) or gcc-aarch64-linux-gnu (aarch64)"
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
    cmp -s -- "${out}/VERSION" "${root}/dist/VERSION" || {
        info "dist/VERSION says $(cat -- "${root}/dist/VERSION" 2>/dev/null || printf 'nothing'), Cargo.toml says ${version}"
        status=1
    }
    if ! diff -- "${root}/dist/SHA256SUMS" "${out}/SHA256SUMS" >&2; then
        info "the build does not reproduce the committed dist/SHA256SUMS (diff above)"
        status=1
    fi
    if ((status != 0)); then
        bail "packaging check failed: rebuild with the toolchain in dist/out/BUILDINFO, run dist/package.sh and commit dist/SHA256SUMS and dist/VERSION"
    fi
    info "dist/SHA256SUMS and dist/VERSION match this build"
fi
printf '%s\n' "${sorted}"
