#!/usr/bin/env bash
# Makes sure `ffmpeg` is on PATH (openai-whisper decodes audio by running it).
#
#   tests/support/ensure_ffmpeg.sh
#
# Does nothing when ffmpeg is there. Otherwise installs Debian's `ffmpeg` with
# `apt-get install -y` (as root, or through password-less sudo; `apt-get update` only if the
# first install fails). Unlike tests/support/with_postgres.sh this never skips: `make
# test-openai` tests the openai-whisper engine, which cannot run without ffmpeg, so a
# failure to install is one line on stderr and exit 1.
set -euo pipefail

if command -v ffmpeg >/dev/null; then
    exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
        sudo=(sudo -n)
    else
        echo "ffmpeg is missing, and this is not root and has no password-less sudo to" \
            "apt-get install ffmpeg" >&2
        exit 1
    fi
fi
if ! command -v apt-get >/dev/null; then
    echo "ffmpeg is missing and there is no apt-get on this machine to install it" >&2
    exit 1
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
export DEBIAN_FRONTEND=noninteractive
echo "installing Debian's ffmpeg (apt-get install -y ffmpeg) ..."
if ! "${sudo[@]}" apt-get install -y -q --no-install-recommends ffmpeg >"$log" 2>&1; then
    "${sudo[@]}" apt-get update -q >>"$log" 2>&1 || true
    if ! "${sudo[@]}" apt-get install -y -q --no-install-recommends ffmpeg >>"$log" 2>&1; then
        echo "apt-get install -y ffmpeg failed: $(grep -E '^E:' "$log" | head -n 1 || tail -n 1 "$log")" >&2
        exit 1
    fi
fi
if ! command -v ffmpeg >/dev/null; then
    echo "ffmpeg was installed but is not on PATH" >&2
    exit 1
fi
echo "$(ffmpeg -version | head -n 1)"
