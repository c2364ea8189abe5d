#!/usr/bin/env bash
# Every runtime dependency of classmood must install from wheels on Windows x86_64, macOS (Intel and
# Apple silicon) and Linux (x86_64 and aarch64): pip resolves pyproject's list for each platform from
# wheel metadata only (no wheel is downloaded; cache under /tmp). One 'error: PLATFORM: ...' line per
# dependency without a wheel, and exit 1. Takes well under a minute with a warm index.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python .ci/check_wheels.py --cache-dir "${TMPDIR:-/tmp}/classmood-wheel-check-cache" "$@"
