# shellcheck shell=sh
# The body of action.yml's one step: validate the inputs, find the binary (tool cache, else
# download from the release and verify against dist/SHA256SUMS of this checkout, or build
# from source), smoke-test it, then run `shipgate <mode>`; the step's exit code is the
# binary's.
#
# Sourced by action.yml under `env -u ENV -u BASH_ENV … /bin/sh -eu`; needs only a POSIX sh,
# tar, gzip, curl or wget, and sha256sum or shasum. Every input arrives through the
# environment (INPUT_*), never through `${{ }}` in the script text.
#
# Exit codes follow the binary's contract: 64 for a bad input, 2 when the binary cannot be
# obtained or verified (download, checksum, platform), else whatever shipgate returns.

set -Ceu
set -f
IFS='
'

sg_output() {
    # sg_output KEY VALUE: one GITHUB_OUTPUT line (values here never contain newlines).
    if [ -n "${GITHUB_OUTPUT:-}" ]; then
        printf '%s=%s\n' "$1" "$2" >>"${GITHUB_OUTPUT}"
    fi
}

sg_exit() {
    # sg_exit CODE: exit with CODE; a failure first lingers a moment. act-based runners in
    # host mode stop reading a step's pseudo-terminal as soon as a failing process exits and
    # drop what is still buffered: the last lines, the ::error annotation among them.
    if [ "$1" -ne 0 ]; then
        sleep 0.3 2>/dev/null || sleep 1
    fi
    exit "$1"
}

sg_bail() {
    # sg_bail CODE TITLE MESSAGE HINT
    case "$1" in
        64) sg_output result usage ;;
        *) sg_output result cannot-verify ;;
    esac
    printf '::error title=shipgate action%%3A %s::%s — hint: %s\n' "$2" "$3" "$4" >&2
    sg_exit "$1"
}

sg_info() {
    printf 'shipgate action: %s\n' "$*" >&2
}

sg_shown() {
    # A value fit to print inside an annotation: no line breaks, no `%`, bounded length.
    case "$1" in
        *'
'* | *"$(printf '\r')"* | *%*) printf '(a value with line breaks or %%)' ;;
        *)
            if [ "${#1}" -gt 200 ]; then
                printf '(a value of %s characters)' "${#1}"
            else
                printf '%s' "$1"
            fi
            ;;
    esac
}

sg_now_ms() {
    # Milliseconds since the epoch when `date +%N` works (GNU, busybox), else seconds * 1000.
    sg_ns=$(date +%s%N)
    case "${sg_ns}" in
        *N | *[!0-9]*) printf '%s000' "$(date +%s)" ;;
        *) printf '%s' "${sg_ns%??????}" ;;
    esac
}

sg_sha256() {
    # sg_sha256 FILE: print the file's lowercase hex SHA-256.
    if command -v sha256sum >/dev/null 2>&1; then
        sg_sum=$(sha256sum -- "$1")
    elif command -v shasum >/dev/null 2>&1; then
        sg_sum=$(shasum -a 256 -- "$1")
    else
        sg_bail 2 "no sha256 tool" "neither \`sha256sum\` nor \`shasum\` is on PATH: the download cannot be verified" \
            "install coreutils (sha256sum) or perl (shasum) on the runner"
    fi
    printf '%s' "${sg_sum%% *}"
}

sg_expected() {
    # sg_expected NAME: the SHA-256 listed for NAME in dist/SHA256SUMS, or nothing.
    while IFS=' ' read -r sg_hex sg_name || [ -n "${sg_hex:-}" ]; do
        sg_name=${sg_name#\*}
        if [ "${sg_name}" = "$1" ]; then
            case "${sg_hex}" in
                *[!0-9a-f]*) ;;
                *) [ "${#sg_hex}" -eq 64 ] && printf '%s' "${sg_hex}" && return 0 ;;
            esac
        fi
        sg_hex=''
    done <"${sg_sums_file}"
    return 0
}

sg_smoke() {
    # sg_smoke BINARY: it must run and say `shipgate <version>` (any version when built from source).
    sg_said=$("$1" --version 2>&1) ||
        sg_bail 2 "binary does not run" "\`$1 --version\` failed: $(sg_shown "${sg_said:-}")" \
            "the binary does not run on this runner: report the runner's OS and architecture, or set \`build-from-source: true\`"
    [ "${sg_said}" = "shipgate ${sg_version}" ] || [ "${sg_from_source}" = true ] ||
        sg_bail 2 "wrong binary" "\`$1 --version\` says \`$(sg_shown "${sg_said}")\`, expected \`shipgate ${sg_version}\`" \
            "re-package the release with dist/package.sh"
}

sg_scrubbed() {
    # Run a helper (curl, wget, tar, cargo) without the tokens in its environment.
    env -u INPUT_TOKEN -u INPUT_STATUS_TOKEN -u 'INPUT_STATUS-TOKEN' \
        -u SHIPGATE_TOKEN -u SHIPGATE_STATUS_TOKEN "$@"
}

sg_wget_answer() {
    # Read wget's `-S` log ($1): sg_code becomes the last HTTP status it got, and
    # sg_plain_redirect the first `Location:` to plain http (empty when there is none).
    # Shell only: the step needs no grep or sed.
    sg_code=''
    sg_plain_redirect=''
    [ -r "$1" ] || return 0
    while IFS= read -r sg_line || [ -n "${sg_line}" ]; do
        sg_line=${sg_line#"${sg_line%%[! ]*}"}
        case "${sg_line}" in
            HTTP/*)
                sg_rest=${sg_line#* }
                sg_code=${sg_rest%% *}
                ;;
            [Ll]ocation:*)
                sg_location=${sg_line#*:}
                sg_location=${sg_location#"${sg_location%%[! ]*}"}
                case "${sg_location}" in
                    [Hh][Tt][Tt][Pp]://*) [ -n "${sg_plain_redirect}" ] || sg_plain_redirect=${sg_location} ;;
                    *) ;;
                esac
                ;;
            *) ;;
        esac
    done <"$1"
}

# --- inputs -----------------------------------------------------------------------------

# Exported bash functions (`BASH_FUNC_name%%=() {…}`) would replace commands in any bash this
# step or its children start (and in this script, when /bin/sh is bash). dash hides them from
# `env`, so read the process's own environment too. `command` bypasses functions.
sg_environ=$(
    command env
    if [ -r "/proc/$$/environ" ]; then command tr '\000' '\n' <"/proc/$$/environ"; fi
)
case "
${sg_environ}" in
    *"
BASH_FUNC_"*)
        sg_bail 2 "exported shell functions" "refusing to run with exported BASH_FUNC_* functions in the environment" \
            "remove the exported functions (export -f) from the job's environment"
        ;;
    *) ;;
esac
unset sg_environ

sg_token=${INPUT_TOKEN:-}
sg_status_token=${INPUT_STATUS_TOKEN:-}
unset INPUT_TOKEN INPUT_STATUS_TOKEN

sg_mode=${INPUT_MODE:-}
case "${sg_mode}" in
    sync | tier | review-fire | promote | retarget | doctor) set -- "${sg_mode}" ;;
    config-check) set -- config check ;;
    version) set -- version ;;
    '') sg_bail 64 "missing input" "input \`mode\` is required" "set \`mode: sync\`, \`tier\`, \`review-fire\`, \`promote\` or \`retarget\`" ;;
    *) sg_bail 64 "invalid input" "invalid \`mode\` \`$(sg_shown "${sg_mode}")\`: not a shipgate mode" \
        "expected one of sync, tier, review-fire, promote, retarget, doctor, config-check, version" ;;
esac

sg_server=${INPUT_SERVER_URL:-}
case "${sg_server}" in
    '') sg_bail 64 "missing input" "input \`server-url\` is empty and github.server_url is not set" \
        "set \`server-url: https://your-gitea\`" ;;
    *[!A-Za-z0-9._~:/?#@!\$\&\'\(\)\*+,\;=%-]*) sg_bail 64 "invalid input" \
        "invalid \`server-url\` \`$(sg_shown "${sg_server}")\`: it contains spaces or characters a URL cannot hold" \
        "set \`server-url\` to the Gitea base URL, e.g. https://gitea.example.com" ;;
    http://?* | https://?*) ;;
    *) sg_bail 64 "invalid input" "invalid \`server-url\` \`$(sg_shown "${sg_server}")\`: not an http(s) URL" \
        "set \`server-url\` to the Gitea base URL, e.g. https://gitea.example.com" ;;
esac
while :; do
    case "${sg_server}" in
        */) sg_server=${sg_server%/} ;;
        *) break ;;
    esac
done

sg_dry_run=${INPUT_DRY_RUN:-}
case "${sg_dry_run}" in
    '' | true | false) ;;
    *) sg_bail 64 "invalid input" "invalid \`dry-run\` \`$(sg_shown "${sg_dry_run}")\`: not a boolean" "use true or false" ;;
esac

sg_pr=${INPUT_PR:-}
case "${sg_pr}" in
    '') ;;
    *[!0-9]* | 0) sg_bail 64 "invalid input" "invalid \`pr\` \`$(sg_shown "${sg_pr}")\`: not a pull request number" \
        "pass a positive integer, or leave \`pr\` empty to read it from the event" ;;
    *) ;;
esac

sg_from_source=${INPUT_BUILD_FROM_SOURCE:-false}
case "${sg_from_source}" in
    '') sg_from_source=false ;;
    true | false) ;;
    *) sg_bail 64 "invalid input" "invalid \`build-from-source\` \`$(sg_shown "${sg_from_source}")\`: not a boolean" \
        "use true or false" ;;
esac

sg_download_url=${INPUT_DOWNLOAD_URL:-}
case "${sg_download_url}" in
    '') ;;
    *[!A-Za-z0-9._~:/?#@!\$\&\'\(\)\*+,\;=%-]*) sg_bail 64 "invalid input" \
        "invalid \`download-url\` \`$(sg_shown "${sg_download_url}")\`: it contains spaces or characters a URL cannot hold" \
        "set \`download-url\` to the mirror folder holding the release tarballs" ;;
    http://?* | https://?*) ;;
    *) sg_bail 64 "invalid input" "invalid \`download-url\` \`$(sg_shown "${sg_download_url}")\`: not an http(s) URL" \
        "set \`download-url\` to the mirror folder holding the release tarballs" ;;
esac

sg_action_path=${GITHUB_ACTION_PATH:-${SHIPGATE_ACTION_PATH:-}}
[ -n "${sg_action_path}" ] || sg_action_path=/nonexistent
[ -d "${sg_action_path}" ] ||
    sg_bail 2 "no action checkout" "GITHUB_ACTION_PATH is not set: the runner did not say where the action's files are" \
        "run shipgate through \`uses:\` on a Gitea/Forgejo runner or act"
sg_sums_file=${sg_action_path}/dist/SHA256SUMS

# The version: the `version` input, else a full vX.Y.Z action ref, else dist/VERSION.
sg_ref=${SHIPGATE_ACTION_REF:-}
sg_version=${INPUT_VERSION:-}
if [ -n "${sg_version}" ]; then
    sg_version_from="input \`version\`"
else
    case "${sg_ref}" in
        v[0-9]*.[0-9]*.[0-9]*)
            sg_version=${sg_ref}
            sg_version_from="action ref \`${sg_ref}\`"
            ;;
        *)
            [ -r "${sg_action_path}/dist/VERSION" ] ||
                sg_bail 2 "no version" "\`dist/VERSION\` is missing from the action at \`$(sg_shown "${sg_ref:-?}")\`: the version to download is unknown" \
                    "pin a release tag (uses: …/shipgate@vX.Y.Z) or set the \`version\` input"
            IFS= read -r sg_version <"${sg_action_path}/dist/VERSION" || [ -n "${sg_version}" ] ||
                sg_bail 2 "no version" "\`dist/VERSION\` of the action is empty" "pin a release tag or set the \`version\` input"
            sg_version_from="dist/VERSION"
            ;;
    esac
fi
sg_version=${sg_version#v}
case "${sg_version}" in
    *[!0-9A-Za-z.+-]* | '' | [!0-9]* | *..*) sg_bail 64 "invalid input" \
        "invalid version \`$(sg_shown "${sg_version}")\` from ${sg_version_from}: not X.Y.Z" \
        "set \`version\` to a released version such as 1.2.3" ;;
    [0-9]*.[0-9]*.[0-9]*) ;;
    *) sg_bail 64 "invalid input" "invalid version \`$(sg_shown "${sg_version}")\` from ${sg_version_from}: not X.Y.Z" \
        "set \`version\` to a released version such as 1.2.3" ;;
esac

# Extra flags: split on blanks and newlines, never globbed or evaluated.
if [ -n "${INPUT_ARGS:-}" ]; then
    IFS=' 	
'
    # shellcheck disable=SC2086 # splitting is the point; globbing is off (set -f)
    set -- "$@" ${INPUT_ARGS}
    IFS='
'
fi
if [ "${sg_mode}" = config-check ] && [ -n "${INPUT_CONFIG:-}" ]; then
    set -- "$@" "${INPUT_CONFIG}"
fi

# --- the binary -----------------------------------------------------------------------------

if [ "${sg_from_source}" = true ]; then
    command -v cargo >/dev/null 2>&1 ||
        sg_bail 2 "no cargo" "\`build-from-source: true\` needs cargo, which is not on PATH" \
            "install a Rust toolchain in an earlier step, or drop build-from-source to use the release binary"
    sg_started=$(sg_now_ms)
    sg_root=${RUNNER_TEMP:-${TMPDIR:-/tmp}}/shipgate-from-source
    sg_info "building shipgate from ${sg_action_path} with cargo install --locked"
    sg_scrubbed cargo install --locked --quiet --force --path "${sg_action_path}" --root "${sg_root}" ||
        sg_bail 2 "build failed" "\`cargo install --locked --path\` of the action failed (output above)" \
            "fix the toolchain, or drop build-from-source to use the release binary"
    sg_bin=${sg_root}/bin/shipgate
    sg_smoke "${sg_bin}"
    sg_info "${sg_said} built from source in $(($(sg_now_ms) - sg_started)) ms"
else
    sg_os=${RUNNER_OS:-$(uname -s)}
    case "${sg_os}" in
        Linux | linux | LINUX) sg_os=linux ;;
        *) sg_bail 2 "unsupported platform" "unsupported runner OS \`$(sg_shown "${sg_os}")\`: shipgate publishes Linux binaries only" \
            "run on a Linux runner, or set \`build-from-source: true\`" ;;
    esac
    sg_arch=${RUNNER_ARCH:-$(uname -m)}
    case "${sg_arch}" in
        X64 | x64 | amd64 | AMD64 | x86_64) sg_arch=x86_64 ;;
        ARM64 | arm64 | aarch64 | AARCH64) sg_arch=aarch64 ;;
        *) sg_bail 2 "unsupported platform" "unsupported runner architecture \`$(sg_shown "${sg_arch}")\`: shipgate publishes x86_64 and aarch64 Linux binaries only" \
            "run on an x86_64 or arm64 runner, or set \`build-from-source: true\`" ;;
    esac
    sg_target=${sg_arch}-unknown-linux-musl
    sg_name=shipgate-${sg_version}-${sg_target}
    sg_asset=${sg_name}.tar.gz

    [ -r "${sg_sums_file}" ] ||
        sg_bail 2 "no checksums" "\`dist/SHA256SUMS\` is missing from the action at \`$(sg_shown "${sg_ref:-?}")\`: nothing to verify \`${sg_asset}\` against" \
            "pin a release tag (uses: …/shipgate@vX.Y.Z), or set \`build-from-source: true\`"
    sg_want_tar=$(sg_expected "${sg_asset}")
    sg_want_bin=$(sg_expected "${sg_name}/shipgate")
    if [ -z "${sg_want_tar}" ] || [ -z "${sg_want_bin}" ]; then
        sg_bail 2 "no checksum" "no checksum for \`${sg_asset}\` in dist/SHA256SUMS at \`$(sg_shown "${sg_ref:-?}")\`: refusing to run an unverified binary" \
            "use the version this ref was released with (dist/VERSION), pin a release tag, or set \`build-from-source: true\`"
    fi

    sg_cache_root=${RUNNER_TOOL_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}}
    sg_dir=${sg_cache_root}/shipgate/${sg_version}/${sg_want_tar}
    sg_bin=${sg_dir}/shipgate

    # Warm: the folder is keyed by the tarball's committed checksum and the binary only ever
    # appears there by an atomic rename after both checksums and the smoke test passed, so a
    # present binary is a verified one: no download, no hashing, no extra process. (Re-hashing
    # on every run would not stop anyone who can write the tool cache: the action's own
    # checkout, SHA256SUMS included, lives in the same runner-writable cache.)
    if [ ! -x "${sg_bin}" ]; then
        sg_started=$(sg_now_ms)
        if [ -n "${sg_download_url}" ]; then
            sg_url=${sg_download_url%/}/${sg_asset}
        else
            sg_repo=${SHIPGATE_ACTION_REPOSITORY:-}
            case "${sg_repo}" in
                */*/* | /* | */ | *[!A-Za-z0-9._/-]* | '')
                    sg_bail 2 "no release location" "the action repository \`$(sg_shown "${sg_repo}")\` is not OWNER/NAME: cannot locate the release" \
                        "use shipgate through \`uses: <host>/<owner>/shipgate@<tag>\`, or set \`download-url\` or \`build-from-source\`"
                    ;;
                *) ;;
            esac
            sg_url=${sg_server}/${sg_repo}/releases/download/v${sg_version}/${sg_asset}
        fi
        # Never downgrade: https stays https (also across redirects); http may go to https.
        case "${sg_url}" in
            https://*) sg_proto='=https' ;;
            *) sg_proto='=http,https' ;;
        esac
        if command -v curl >/dev/null 2>&1; then
            sg_fetcher=curl
        elif command -v wget >/dev/null 2>&1; then
            sg_fetcher=wget
        else
            sg_bail 2 "no downloader" "neither \`curl\` nor \`wget\` is on PATH: cannot download \`${sg_asset}\`" \
                "install curl on the runner, or set \`build-from-source: true\`"
        fi

        mkdir -p -- "${sg_cache_root}/shipgate/${sg_version}" ||
            sg_bail 2 "tool cache not writable" "cannot create \`${sg_cache_root}/shipgate/${sg_version}\`" \
                "make RUNNER_TOOL_CACHE writable for the runner user"
        sg_tmp=$(mktemp -d "${sg_cache_root}/shipgate/${sg_version}/.download.XXXXXX") ||
            sg_bail 2 "tool cache not writable" "cannot create a folder under \`${sg_cache_root}/shipgate/${sg_version}\`" \
                "make RUNNER_TOOL_CACHE writable for the runner user"
        trap 'rm -rf -- "${sg_tmp}"' EXIT

        sg_attempt=1
        sg_delay=1
        while :; do
            sg_status=0
            sg_code=''
            if [ "${sg_fetcher}" = curl ]; then
                sg_code=$(sg_scrubbed curl --proto "${sg_proto}" --proto-redir "${sg_proto}" --tlsv1.2 -sSL \
                    --connect-timeout 10 --max-time 300 -o "${sg_tmp}/${sg_asset}" -w '%{http_code}' \
                    -- "${sg_url}") || sg_status=$?
            else
                sg_scrubbed wget -q -S -T 30 -O "${sg_tmp}/${sg_asset}" -- "${sg_url}" \
                    2>"${sg_tmp}/wget.log" || sg_status=$?
                sg_wget_answer "${sg_tmp}/wget.log"
                # wget cannot be told to refuse a redirect from https to plain http: refuse
                # what it fetched that way (its checksum is never even looked at).
                if [ "${sg_proto}" = '=https' ] && [ -n "${sg_plain_redirect}" ]; then
                    sg_bail 2 "download failed" "\`${sg_url}\` redirected to plain http (\`${sg_plain_redirect%%\?*}\`): refusing a download that left https" \
                        "serve the release over https end to end, or set \`download-url\` to an https mirror"
                fi
                [ "${sg_status}" -ne 0 ] || [ -n "${sg_code}" ] || sg_code=200
            fi
            if [ "${sg_status}" -eq 0 ] && [ "${sg_code}" = 200 ]; then
                break
            fi
            case "${sg_code}" in
                404 | 410)
                    sg_bail 2 "download failed" "\`${sg_url}\` answered ${sg_code}: no release asset \`${sg_asset}\`" \
                        "publish release v${sg_version} with its assets (dist/package.sh, .gitea/workflows/release.yml); a private action repository needs \`download-url\` or \`build-from-source: true\`"
                    ;;
                401 | 403)
                    sg_bail 2 "download failed" "\`${sg_url}\` answered ${sg_code}: the release is not readable anonymously" \
                        "make the action repository public, or set \`download-url\` to a readable mirror, or \`build-from-source: true\`"
                    ;;
                408 | 429) ;;
                4??)
                    # Any other refusal will not change on a retry.
                    sg_bail 2 "download failed" "\`${sg_url}\` answered ${sg_code}: the server refused the download" \
                        "check \`download-url\` (or the action's release) in a browser; set \`download-url\` to a readable mirror, or \`build-from-source: true\`"
                    ;;
                *) ;;
            esac
            if [ "${sg_attempt}" -ge 4 ]; then
                sg_bail 2 "download failed" "could not download \`${sg_url}\` after ${sg_attempt} attempts: ${sg_fetcher} exit ${sg_status}, HTTP ${sg_code:-none}" \
                    "check that the runner can reach the server, or set \`download-url\` to a mirror"
            fi
            sg_info "download attempt ${sg_attempt} failed (${sg_fetcher} exit ${sg_status}, HTTP ${sg_code:-none}); retrying in ${sg_delay}s"
            sleep "${sg_delay}"
            sg_attempt=$((sg_attempt + 1))
            sg_delay=$((sg_delay * 2))
        done

        sg_have=$(sg_sha256 "${sg_tmp}/${sg_asset}")
        [ "${sg_have}" = "${sg_want_tar}" ] ||
            sg_bail 2 "checksum mismatch" "\`${sg_asset}\` from \`${sg_url}\` has SHA-256 ${sg_have}, dist/SHA256SUMS at \`$(sg_shown "${sg_ref:-?}")\` says ${sg_want_tar}: refusing to run it" \
                "the release asset is not the one this action ref was made for: check the release (re-upload with dist/package.sh) and never skip this check"
        sg_scrubbed tar -xzf "${sg_tmp}/${sg_asset}" -C "${sg_tmp}" ||
            sg_bail 2 "bad archive" "\`${sg_asset}\` passed its checksum but could not be unpacked" \
                "check that tar and gzip work on the runner"
        [ -f "${sg_tmp}/${sg_name}/shipgate" ] ||
            sg_bail 2 "bad archive" "\`${sg_asset}\` has no \`${sg_name}/shipgate\`" "re-package the release with dist/package.sh"
        sg_have=$(sg_sha256 "${sg_tmp}/${sg_name}/shipgate")
        [ "${sg_have}" = "${sg_want_bin}" ] ||
            sg_bail 2 "checksum mismatch" "\`${sg_name}/shipgate\` has SHA-256 ${sg_have}, dist/SHA256SUMS says ${sg_want_bin}: refusing to run it" \
                "re-package the release with dist/package.sh"
        chmod 0755 "${sg_tmp}/${sg_name}/shipgate"
        sg_smoke "${sg_tmp}/${sg_name}/shipgate"
        mkdir -p -- "${sg_dir}"
        # A rename within one file system: a concurrent job sees the old state or the whole file.
        mv -f -- "${sg_tmp}/${sg_name}/shipgate" "${sg_bin}"
        rm -rf -- "${sg_tmp}"
        trap - EXIT
        sg_info "${sg_said} downloaded from ${sg_url%/*}/, verified and cached in $(($(sg_now_ms) - sg_started)) ms"
    fi
fi

# --- run ----------------------------------------------------------------------------------

export SHIPGATE_SERVER="${sg_server}"
export SHIPGATE_VIA_ACTION=1
[ -z "${sg_token}" ] || export SHIPGATE_TOKEN="${sg_token}"
[ -z "${sg_status_token}" ] || export SHIPGATE_STATUS_TOKEN="${sg_status_token}"
[ -z "${INPUT_CONFIG:-}" ] || export SHIPGATE_CONFIG="${INPUT_CONFIG}"
[ -z "${sg_dry_run}" ] || export SHIPGATE_DRY_RUN="${sg_dry_run}"
[ -z "${sg_pr}" ] || export SHIPGATE_PR="${sg_pr}"
unset sg_token sg_status_token
# A child, not exec: on failure the step lingers (sg_exit) so the runner keeps the binary's
# last lines. The step's exit code is exactly the binary's.
sg_status=0
"${sg_bin}" "$@" || sg_status=$?
sg_exit "${sg_status}"
