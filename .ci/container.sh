#!/usr/bin/env bash
# CI step (issue 19): the container image, built and run with podman as ../shared/recipes/containers.md
# says (a Debian base image made by debootstrap, runc, cgroupfs, the host's CA bundle mounted at build
# time). Checks that the app runs as a non-root user, that /health answers from the running container
# on 127.0.0.1, and that the bundled recorded class analysed inside the container matches the same run
# outside. Needs root (apt, podman). Cleans up its container and files; keeps the images, so the next
# run on this machine reuses the base image and the build's cached layers. Prints its timings.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/sbin:/sbin"  # debootstrap lives in sbin

BASE_IMAGE=localhost/debian-minbase:bookworm
IMAGE=localhost/classmood:ci
NAME="classmood-ci-$$"
SAMPLE=src/classmood/assets/sample_class.mp4
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] && PY=.venv/bin/python  # the CI venv: the run outside the container
WORK=$(mktemp -d /var/tmp/classmood-container.XXXXXX)
STARTED=$(date +%s)
STEP_START=$STARTED
TIMINGS=()

step() {  # step NAME: close the timing of the previous step, announce the next
    STEP_START=$(date +%s)
    echo "container: $1"
    TIMINGS+=("$1")
}
done_step() { TIMINGS[-1]="${TIMINGS[-1]}: $(( $(date +%s) - STEP_START )) s"; }
fail() {  # fail MESSAGE [LOG]: the log's tail, then one clear line
    [ -n "${2:-}" ] && [ -f "$2" ] && tail -n 25 "$2" >&2
    echo "container: error: $1" >&2
    exit 1
}
p() { podman --runtime runc --cgroup-manager cgroupfs "$@"; }
cleanup() {
    local status=$?
    p rm -f -v "$NAME" >/dev/null 2>&1 || true
    rm -rf "$WORK"
    printf 'container: time of %s\n' "${TIMINGS[@]}"
    echo "container: total $(( $(date +%s) - STARTED )) s (exit status $status)"
    exit "$status"
}
trap cleanup EXIT

step "tools (podman runc debootstrap)"
missing=()
for tool in podman runc debootstrap; do  # by command: dpkg -s also says 0 for a removed package's leftover config
    command -v "$tool" >/dev/null || missing+=("$tool")
done
if [ "${#missing[@]}" -gt 0 ]; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } \
        >"$WORK/apt.log" 2>&1 || fail "could not install ${missing[*]}" "$WORK/apt.log"
fi
# this sandbox refuses crun's rlimits and cgroup set-up: runc, cgroupfs and no default ulimits
printf '[containers]\ndefault_ulimits = []\n' >"$WORK/containers.conf"
export CONTAINERS_CONF="$WORK/containers.conf"
done_step

step "base image $BASE_IMAGE"
if ! p image exists "$BASE_IMAGE"; then
    debootstrap --variant=minbase bookworm "$WORK/rootfs" >"$WORK/debootstrap.log" 2>&1 \
        || fail "debootstrap of Debian bookworm failed" "$WORK/debootstrap.log"
    tar -C "$WORK/rootfs" -c . | p import -q - "$BASE_IMAGE" >/dev/null || fail "podman import of the base image failed"
    rm -rf "$WORK/rootfs"
else
    echo "container: (kept from an earlier run)"
fi
done_step

step "build $IMAGE"
old_image=$(p image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
ca=()
[ -f /etc/ssl/certs/ca-certificates.crt ] && ca=(-v /etc/ssl/certs/ca-certificates.crt:/run/host-ca.crt:ro)
p build --network host "${ca[@]}" --build-arg BASE="$BASE_IMAGE" -t "$IMAGE" . >"$WORK/build.log" 2>&1 \
    || fail "the image did not build (podman build)" "$WORK/build.log"
new_image=$(p image inspect --format '{{.Id}}' "$IMAGE")
if [ -n "$old_image" ] && [ "$old_image" != "$new_image" ]; then
    p rmi "$old_image" >/dev/null 2>&1 || true  # the previous build's image, now untagged
fi
done_step

step "app in the container, /health on 127.0.0.1"
port=$("$PY" -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
# the host's network: WebRTC media uses UDP ports chosen at run time (docs/app.md); the app binds 127.0.0.1
p run -d --name "$NAME" --network host -e CLASSMOOD_APP_PORT="$port" "$IMAGE" >/dev/null \
    || fail "the container did not start"
health=
for _ in $(seq 1 120); do
    health=$("$PY" -c "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=2).read().decode())" \
        "http://127.0.0.1:$port/health" 2>/dev/null) && break
    [ "$(p inspect --format '{{.State.Running}}' "$NAME")" = true ] || { p logs "$NAME" >"$WORK/app.log" 2>&1; fail "the app exited before /health answered" "$WORK/app.log"; }
    sleep 0.5
done
[ -n "$health" ] || { p logs "$NAME" >"$WORK/app.log" 2>&1; fail "/health did not answer on 127.0.0.1:$port within 60 s" "$WORK/app.log"; }
echo "container: /health -> $health"
"$PY" -c "import json, sys; sys.exit(json.loads(sys.argv[1]).get('status') != 'ok')" "$health" \
    || fail "/health did not say status ok: $health"
uid=$(p exec "$NAME" id -u)
[ "$uid" != 0 ] || fail "the app runs as root in the container"
echo "container: the app runs as uid $uid ($(p exec "$NAME" id -un))"
p stop -t 5 "$NAME" >/dev/null && p rm -v "$NAME" >/dev/null
done_step

step "recorded class analysed inside (no network) and outside"
# shellcheck disable=SC2016  # $(...) is expanded in the container
p run --rm --network none "$IMAGE" sh -c \
    'classmood analyze "$(python -c "import classmood, pathlib; print(pathlib.Path(classmood.__file__).parent / \"assets/sample_class.mp4\")")" --json' \
    >"$WORK/inside.json" 2>"$WORK/inside.log" || fail "classmood analyze failed in the container" "$WORK/inside.log"
"$PY" -m classmood analyze "$SAMPLE" --json >"$WORK/outside.json" 2>"$WORK/outside.log" \
    || fail "classmood analyze failed outside the container" "$WORK/outside.log"
"$PY" .ci/compare_analysis.py "$WORK/outside.json" "$WORK/inside.json" || fail "inside and outside differ (line above)"
done_step
echo "container: ok"
