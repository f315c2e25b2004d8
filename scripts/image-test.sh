#!/usr/bin/env bash
# Builds the image from the Dockerfile (both stages) with a real container engine,
# docker or podman, whichever runs here, and runs it as users run it:
#   - the app's exit code comes out of `wait`, VNC answers with an RFB banner and
#     vncsnapshot gets a picture with the password, the HEALTHCHECK is healthy once
#     the session is ready (podman);
#   - `stop -t 10` ends it with 143 well inside the 10 s; a second `kill -s TERM`
#     ends it at once;
#   - the hardened way Kubernetes runs pods: --user 65534 (xvfb backend),
#     --read-only with a tmpfs on /tmp holding the runtime directory, --cap-drop ALL,
#     no-new-privileges;
#   - with podman, the Kubernetes manifests through `podman kube play`.
# Base images are made here, not pulled (no registry needs to be reachable): BASE is
# the debootstrap root of scripts/debian-root.sh imported as an image, GO_IMAGE that
# root with gcc and this machine's Go (the version go.mod names) in /usr/local/go.
# They are kept in the engine's store and remade when missing. The engine's needs
# are detected: when a container cannot start with the engine's defaults (crun with
# hybrid cgroups, setrlimit not permitted without CAP_SYS_RESOURCE), the test runs
# podman with runc, cgroupfs and no default ulimits (CONTAINERS_CONF, a file of its
# own under /var/tmp/xinit-go-images; the machine's /etc is left alone).
#
# Usage: scripts/image-test.sh   (root)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${XINIT_FRESH_ROOT:-}" ]; then
  echo "image-test: NOT RUN inside the fresh-root test (XINIT_FRESH_ROOT is set): CI runs it on the machine itself"
  exit 0
fi
work=/var/tmp/xinit-go-images
mkdir -p "$work"
say() { echo "image-test: $*"; }
: >"$work/run.log"

if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  engine=(docker)
else
  command -v podman >/dev/null || bash scripts/deps.sh test
  engine=(podman)
fi
gover=$(go env GOVERSION)
base=localhost/xinit-go-base:bookworm
builder=localhost/xinit-go-builder:$gover
tag=localhost/xinit-go:test

have() { "${engine[@]}" image inspect "$1" >/dev/null 2>&1; }

# BASE: the debootstrap root, as an image.
if ! have "$base"; then
  bash scripts/debian-root.sh /var/tmp/xinit-go-debian
  say "importing /var/tmp/xinit-go-debian as $base"
  tar -C /var/tmp/xinit-go-debian --exclude=./.debian-root-ok -cf - . | "${engine[@]}" import - "$base" >/dev/null 2>"$work/import.log" ||
    { cat "$work/import.log"; exit 1; }
fi

# The engine's needs: try a container with its defaults first.
if [ "${engine[0]}" = podman ] && ! podman run --rm "$base" true >"$work/probe.log" 2>&1; then
  cat >"$work/containers.conf" <<'EOF'
[containers]
default_ulimits = []
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
  export CONTAINERS_CONF=$work/containers.conf
  if ! podman run --rm "$base" true >>"$work/probe.log" 2>&1; then
    cat "$work/probe.log"; echo "FAIL: podman cannot run a container here, with its defaults or with $work/containers.conf"; exit 1
  fi
  say "podman's defaults cannot run a container here ($(grep -m1 -o 'Error: .*' "$work/probe.log" | cut -c1-120)); using runc, cgroupfs and no default ulimits ($CONTAINERS_CONF)"
fi

# GO_IMAGE: the root with gcc and this machine's Go.
if ! have "$builder"; then
  b=$work/builder-root
  rm -rf "$b"
  cp -a /var/tmp/xinit-go-debian "$b"
  say "making $builder: gcc and Go $gover in a copy of the root"
  chroot "$b" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gcc libc6-dev ca-certificates >/dev/null && apt-get clean && rm -rf /var/lib/apt/lists/*' >"$work/builder.log" 2>&1 ||
    { cat "$work/builder.log"; exit 1; }
  cp -a "$(go env GOROOT)" "$b/usr/local/go"
  changes=(--change "ENV PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
  [ -f "$b/etc/ssl/host-ca.crt" ] && changes+=(--change "ENV SSL_CERT_FILE=/etc/ssl/host-ca.crt")
  [ -n "${GOPROXY:-}" ] && changes+=(--change "ENV GOPROXY=$GOPROXY")
  tar -C "$b" --exclude=./.debian-root-ok -cf - . | "${engine[@]}" import "${changes[@]}" - "$builder" >/dev/null 2>"$work/import.log" ||
    { cat "$work/import.log"; exit 1; }
  rm -rf "$b"
fi

version=$(git describe --tags --always --dirty 2>/dev/null || echo devel)
revision=$(git rev-parse HEAD 2>/dev/null || true)
say "building the Dockerfile with ${engine[0]} (BASE=$base, GO_IMAGE=$builder)"
t0=$SECONDS
# podman's default OCI format drops HEALTHCHECK; the docker format keeps it.
format=()
[ "${engine[0]}" = podman ] && format=(--format docker)
if ! "${engine[@]}" build "${format[@]}" --build-arg BASE="$base" --build-arg GO_IMAGE="$builder" \
  --build-arg VERSION="$version" --build-arg REVISION="$revision" \
  -t "$tag" . >"$work/build.log" 2>&1; then
  tail -40 "$work/build.log"; echo "FAIL: the image did not build"; exit 1
fi
size=$("${engine[@]}" image inspect "$tag" --format '{{.Size}}')
say "built in $((SECONDS - t0)) s; the image is $((size / 1000000)) MB"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# The OCI labels say what the image is, and the licence and notices ship in it.
label() { "${engine[@]}" image inspect "$tag" --format "{{index .Config.Labels \"org.opencontainers.image.$1\"}}"; }
for kv in "title=xinit-go" "licenses=Apache-2.0" "version=$version" "revision=$revision" "source=https://github.com/xinit-go/xinit-go"; do
  got=$(label "${kv%%=*}")
  [ "$got" = "${kv#*=}" ] || fail "label org.opencontainers.image.${kv%%=*} is \"$got\", want \"${kv#*=}\""
done
[ -n "$(label description)" ] || fail "no org.opencontainers.image.description label"
docs=$("${engine[@]}" run --rm --entrypoint /bin/sh "$tag" -c 'head -c 200 /usr/share/doc/xinit-go/LICENSE; echo; grep -c "^====" /usr/share/doc/xinit-go/THIRD_PARTY_NOTICES' 2>>"$work/run.log" || true)
case "$docs" in *"Apache License"*) ;; *) fail "the image lacks /usr/share/doc/xinit-go/LICENSE" ;; esac
[ "$(echo "$docs" | tail -1)" -ge 8 ] 2>/dev/null || fail "the image lacks the third-party notices (/usr/share/doc/xinit-go/THIRD_PARTY_NOTICES)"

# Lean: no compiler, Go, documentation (beyond copyright files) or apt lists in the
# runtime stage.
lean='for p in /usr/bin/gcc /usr/local/go /root/go /usr/share/man/man1/Xvfb.1.gz; do [ -e $p ] && echo $p; done
ls /usr/share/doc/xvfb | grep -v -x copyright | sed "s|^|/usr/share/doc/xvfb/|"
ls /var/lib/apt/lists | grep -v -x -e lock -e partial -e auxfiles | head -3'
extra=$("${engine[@]}" run --rm --entrypoint /bin/sh "$tag" -c "$lean" 2>>"$work/run.log" || true)
if [ -n "$extra" ]; then
  fail "the runtime image holds what it should not (compilers, docs, caches):"; echo "$extra"
fi

names=()
cleanup() { for n in "${names[@]}"; do "${engine[@]}" rm -f "$n" >/dev/null 2>&1 || true; done; }
trap cleanup EXIT

# rfb PORT: waits up to 60 s for an RFB banner on 127.0.0.1:PORT.
rfb() {
  for _ in $(seq 600); do
    if { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null; then
      b=$(timeout 5 head -c 3 <&3 || true); exec 3>&-
      [ "$b" = RFB ] && return 0
    fi
    sleep 0.1
  done
  return 1
}
# healthy NAME: waits up to 60 s for the HEALTHCHECK to pass (podman runs it on demand).
healthy() {
  for _ in $(seq 120); do
    "${engine[@]}" healthcheck run "$1" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  return 1
}

# 1. As users run it: the app's exit code, VNC with a password, the health check.
n=xinit-go-it-exit-$$; names+=("$n")
port=$((20000 + RANDOM % 10000))
"${engine[@]}" run -d --name "$n" -e VNC_PASSWORD=imagetest -e XINIT_BACKEND=xvfb -p "127.0.0.1:$port:5900" \
  "$tag" sh -c 'glxinfo -B | grep "OpenGL renderer"; while [ ! -e /tmp/done ]; do sleep 0.1; done; exit 7' >/dev/null 2>>"$work/run.log"
rfb "$port" || fail "VNC did not answer with an RFB banner (run, port $port)"
if [ "${engine[0]}" = podman ]; then
  healthy "$n" || fail "the HEALTHCHECK never passed"
fi
# A real client gets a picture with the password (vncsnapshot reads it from a file).
if command -v vncsnapshot >/dev/null && command -v x11vnc >/dev/null; then
  x11vnc -storepasswd imagetest "$work/vncpasswd" >/dev/null 2>&1
  rm -f "$work/screen.jpg"
  timeout 60 vncsnapshot -passwd "$work/vncpasswd" -allowblank "127.0.0.1::$port" "$work/screen.jpg" >"$work/vncsnapshot.log" 2>&1 || true
  [ -s "$work/screen.jpg" ] || { fail "vncsnapshot got no picture with the password"; cat "$work/vncsnapshot.log"; }
else
  fail "vncsnapshot or x11vnc is missing here (scripts/deps.sh test installs them)"
fi
"${engine[@]}" exec "$n" touch /tmp/done
rc=$("${engine[@]}" wait "$n")
[ "$rc" = 7 ] || fail "exit $rc from wait, want the app's 7"
"${engine[@]}" logs "$n" 2>&1 | grep -q 'OpenGL renderer string' || fail "glxinfo did not run in the image"

# 2. stop -t 10: SIGTERM, the app's 143, well inside the 10 s.
n=xinit-go-it-stop-$$; names+=("$n")
"${engine[@]}" run -d --name "$n" -e XINIT_BACKEND=xvfb "$tag" sleep 1000 >/dev/null 2>>"$work/run.log"
healthy "$n" || { [ "${engine[0]}" != podman ] || fail "the HEALTHCHECK never passed (stop)"; }
t0=$(date +%s%N)
"${engine[@]}" stop -t 10 "$n" >/dev/null 2>>"$work/run.log"
took=$((($(date +%s%N) - t0) / 1000000))
rc=$("${engine[@]}" inspect "$n" --format '{{.State.ExitCode}}')
[ "$rc" = 143 ] || fail "exit $rc after stop, want 143 (the app's SIGTERM)"
[ "$took" -lt 9000 ] || fail "stop took $took ms: the engine had to SIGKILL"
say "stop -t 10: exit $rc after $took ms"

# kill -s TERM twice: the first starts the orderly stop (the app ignores it here),
# the second kills everything at once.
n=xinit-go-it-term2-$$; names+=("$n")
"${engine[@]}" run -d --name "$n" -e XINIT_BACKEND=xvfb -e XINIT_STOP_GRACE=20s "$tag" \
  sh -c 'trap "" TERM; touch /tmp/up; while :; do sleep 0.2; done' >/dev/null 2>>"$work/run.log"
for _ in $(seq 600); do "${engine[@]}" exec "$n" test -e /tmp/up 2>/dev/null && break; sleep 0.1; done
"${engine[@]}" kill -s TERM "$n" >/dev/null
sleep 1
[ "$("${engine[@]}" inspect "$n" --format '{{.State.Running}}')" = true ] || fail "one SIGTERM ended a session whose app ignores it (grace 20s)"
t0=$(date +%s%N)
"${engine[@]}" kill -s TERM "$n" >/dev/null 2>&1 || true
rc=$(timeout 10 "${engine[@]}" wait "$n" || echo "still running")
took=$((($(date +%s%N) - t0) / 1000000))
[ "$took" -lt 5000 ] || fail "a second SIGTERM did not end the session at once ($took ms, exit $rc)"
say "kill -s TERM twice: exit $rc, $took ms after the second"

# 3. Hardened as Kubernetes runs pods: a non-root user, a read-only root file
# system with tmpfs where xinit-go writes, no capabilities, no new privileges.
n=xinit-go-it-hard-$$; names+=("$n")
port=$((20000 + RANDOM % 10000))
# A tmpfs mounted for /run/xinit-go belongs to root, and xinit-go (not its owner)
# cannot make it private: the runtime directory goes under /tmp, which xinit-go
# creates itself. (A Kubernetes emptyDir is made for the pod's user; see the README.)
"${engine[@]}" run -d --name "$n" --user 65534:65534 --read-only --tmpfs /tmp -e XINIT_RUNTIME_DIR=/tmp/xinit-go \
  --cap-drop ALL --security-opt no-new-privileges -e XINIT_BACKEND=xvfb -e VNC_PASSWORD=imagetest \
  -p "127.0.0.1:$port:5900" "$tag" sh -c 'xdpyinfo | grep dimensions; while [ ! -e /tmp/done ]; do sleep 0.1; done; exit 5' >/dev/null 2>>"$work/run.log"
rfb "$port" || fail "hardened: VNC did not answer (port $port)"
"${engine[@]}" exec "$n" touch /tmp/done || true
rc=$("${engine[@]}" wait "$n")
[ "$rc" = 5 ] || { fail "hardened: exit $rc, want 5"; "${engine[@]}" logs "$n" 2>&1 | tail -20; }

# 4. The Kubernetes manifests on the engine (podman kube play): the Deployment with
# its Secret starts, its probes' commands pass (readiness means X is ready, VNC
# answers and the app runs); the Job's pod runs to the app's exit code; a pod of
# the Indexed Job, as index 3, sees its index, exits with the app's code (3 + the
# index) and leaves its bundle under its index. What podman cannot express is left
# out, and deploy/cmd/kubeplay says each thing.
kube=""
if [ "${engine[0]}" = podman ]; then
  kube=" and the Kubernetes manifests"
  mkdir -p "$work/kube"
  (cd deploy && go run ./cmd/kubeplay -dir kubernetes -image "$tag" -password kubetest1 \
    -session-args sleep,1000 -job-args sh,-c,'xdpyinfo >/dev/null && exit $((3 + ${RUN_INDEX:-0}))' -out "$work/kube") 2>&1 | sed 's/^/image-test: /'
  podman kube down "$work/kube/deployment.yaml" >/dev/null 2>&1 || true
  if podman kube play --build=false "$work/kube/deployment.yaml" >"$work/kube/play.log" 2>&1; then
    ctr=$(podman ps -a --format '{{.Names}}' | grep -E -- '^xinit-go-pod(-0)?-session$' | head -1)
    ready=""
    for _ in $(seq 120); do
      if podman exec "$ctr" /usr/local/bin/xinit-go health --ready >/dev/null 2>&1 &&
        podman exec "$ctr" /usr/local/bin/xinit-go health >/dev/null 2>&1; then ready=1; break; fi
      sleep 0.5
    done
    [ -n "$ready" ] || { fail "kube play: the Deployment's probes never passed"; podman logs "$ctr" 2>&1 | tail -20; }
    podman exec "$ctr" sh -c 'test "$(id -u)" = 1000' || fail "kube play: the session does not run as user 1000"
  else
    cat "$work/kube/play.log"; fail "kube play of the Deployment failed"
  fi
  podman kube down "$work/kube/deployment.yaml" >/dev/null 2>&1 || true
  podman secret rm xinit-go-vnc >/dev/null 2>&1 || true
  podman kube down "$work/kube/job.yaml" >/dev/null 2>&1 || true
  if podman kube play --build=false "$work/kube/job.yaml" >"$work/kube/play.log" 2>&1; then
    ctr=$(podman ps -a --format '{{.Names}}' | grep -- '^xinit-go-ci-session$' | head -1)
    rc=$(podman wait "$ctr" 2>/dev/null || echo none)
    [ "$rc" = 3 ] || { fail "kube play: the Job's pod exited $rc, want the app's 3"; podman logs "$ctr" 2>&1 | tail -20; }
  else
    cat "$work/kube/play.log"; fail "kube play of the Job's pod failed"
  fi
  podman kube down "$work/kube/job.yaml" >/dev/null 2>&1 || true
  podman kube down "$work/kube/indexed-job.yaml" >/dev/null 2>&1 || true
  if podman kube play --build=false "$work/kube/indexed-job.yaml" >"$work/kube/play.log" 2>&1; then
    ctr=$(podman ps -a --format '{{.Names}}' | grep -- '^xinit-go-runs-3-session$' | head -1)
    rc=$(podman wait "$ctr" 2>/dev/null || echo none)
    [ "$rc" = 6 ] || { fail "kube play: the Indexed Job's pod 3 exited $rc, want the app's 6 (3 + its index)"; podman logs "$ctr" 2>&1 | tail -20; }
    rm -rf "$work/kube/run-3"
    podman cp "$ctr:/artifacts/run-3" "$work/kube/run-3" >/dev/null 2>&1 || true
    grep -qs '"exit_code": 6' "$work"/kube/run-3/*/summary.json ||
      fail "kube play: no summary.json with exit code 6 under /artifacts/run-3 in the Indexed Job's pod 3"
  else
    cat "$work/kube/play.log"; fail "kube play of the Indexed Job's pod failed"
  fi
  podman kube down "$work/kube/indexed-job.yaml" >/dev/null 2>&1 || true
fi

[ "$fails" = 0 ] || exit 1
say "passed: built with ${engine[0]}, VNC, the exit code, the health check, stop, the hardened run$kube"
