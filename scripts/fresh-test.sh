#!/usr/bin/env bash
# Proves the README's Quick start on a fresh machine: a Debian 12 minbase root file
# system (debootstrap) that holds only the README's prerequisites, Go at
# /usr/local/go (this machine's own, mounted read-only) and make (installed with
# apt-get, as the README says), runs the README's two commands there:
#   make demo   started, VNC must answer with an RFB banner, then stopped with
#               SIGTERM to the pid it prints; it must end with "demo stopped", and
#               make with exit 0
#   make test   all of it; the root file system test and the image test are not run
#               again inside (XINIT_FRESH_ROOT is set): CI runs them on the machine
# The root runs chrooted in its own mount and PID namespaces with /proc, /dev,
# /dev/shm and /sys mounted, and this machine's network.
#
# Kept between runs under /var/tmp (delete them freely): xinit-go-debian (the
# debootstrap root, copied afresh for each run), xinit-go-fresh (the last run's
# copy, removed at the next), xinit-go-cache/{apt,gomod,gobuild} (downloaded
# packages, Go modules and Go's build cache: they save time, not steps).
#
# Usage: scripts/fresh-test.sh   (root)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
base=/var/tmp/xinit-go-debian
root=/var/tmp/xinit-go-fresh
cache=/var/tmp/xinit-go-cache
goroot=$(go env GOROOT)

bash "$here/scripts/debian-root.sh" "$base"
rm -rf "$root"
cp -a "$base" "$root"
mkdir -p "$cache/apt" "$cache/gomod" "$cache/gobuild" "$root/src" "$root/usr/local/go" \
  "$root/root/go/pkg/mod" "$root/root/.cache/go-build" "$root/out"

# The project's files as a clone has them (tracked and new ones, not the ignored).
if git -C "$here" rev-parse --git-dir >/dev/null 2>&1; then
  (cd "$here" && git ls-files -z -co --exclude-standard | xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
    tar --null -T - -cf -) | tar -xf - -C "$root/src"
else
  (cd "$here" && tar --exclude=./bin --exclude=./.git -cf - .) | tar -xf - -C "$root/src"
fi

cat >"$root/fresh.sh" <<'EOF'
#!/bin/bash
# Runs inside the fresh root, as its root user.
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# The README's prerequisites: Go's bin directory on PATH, and make.
export PATH=$PATH:/usr/local/go/bin
step() { echo "fresh-test: $*"; }
step "prerequisite: apt-get install make"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends make >/out/make-install.log 2>&1 ||
  { cat /out/make-install.log; exit 1; }
cd /src

port=$((20000 + RANDOM % 10000)); hport=$((port + 1)); display=$((400 + RANDOM % 500))
step "make demo (VNC on port $port, display :$display)"
t0=$SECONDS
XINIT_VNC_PORT=$port XINIT_HEALTH_ADDR=127.0.0.1:$hport XINIT_DISPLAY=:$display \
  setsid make demo >/out/demo.log 2>&1 </dev/null &
demo=$!
ok=""
for _ in $(seq 6000); do   # make demo installs its packages first: up to 10 minutes
  kill -0 "$demo" 2>/dev/null || break
  if { exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null; then
    banner=$(timeout 5 head -c 12 <&3 || true); exec 3>&-
    case $banner in RFB*) ok=1; break ;; esac
  fi
  sleep 0.1
done
[ -n "$ok" ] && step "make demo: VNC answered \"$banner\" $((SECONDS - t0)) s after make demo started"
# Stopped as its output says: SIGTERM to the pid it prints. make then exits 0.
# (Ctrl-C signals the whole process group: make would then die of SIGINT as
# make does, after the demo's own clean stop.)
spid=$(grep -o 'or: kill [0-9]*' /out/demo.log | grep -o '[0-9]*$' || true)
if [ -n "$spid" ]; then kill -TERM "$spid"; else kill -TERM -- "-$demo" 2>/dev/null || true; fi
rc=0; wait "$demo" || rc=$?
if [ -z "$ok" ] || [ "$rc" != 0 ] || ! grep -q '^demo stopped' /out/demo.log; then
  echo "FAIL: make demo: VNC answered: ${ok:-no}; exit $rc (want 0 and \"demo stopped\"); its output:"
  cat /out/demo.log
  exit 1
fi
step "make demo: stopped, exit 0"

step "make test"
t0=$SECONDS
XINIT_FRESH_ROOT=1 make test
step "make test passed in $((SECONDS - t0)) s"
EOF
chmod +x "$root/fresh.sh"

# Only what a person's shell would have, plus the machine's network settings.
envs=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb CI=1 LANG=C.UTF-8)
for v in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY GOPROXY GONOSUMDB GONOSUMCHECK GOPRIVATE GOSUMDB GONOPROXY; do
  [ -n "${!v:-}" ] && envs+=("$v=${!v}")
done
[ -f "$root/etc/ssl/host-ca.crt" ] && envs+=(SSL_CERT_FILE=/etc/ssl/host-ca.crt)

echo "fresh-test: a fresh Debian 12 root in $root with Go $(go env GOVERSION) at /usr/local/go"
env -i "${envs[@]}" unshare --mount --pid --fork --kill-child bash -euc '
  root=$1 cache=$2 goroot=$3
  mount --make-rprivate /
  # The root a mount point of its own, as a machine'"'"'s / is (unshare --mount inside
  # it changes the propagation of /).
  mount --bind "$root" "$root"
  mount -t proc proc "$root/proc"
  mount --rbind /dev "$root/dev"
  mount -t tmpfs -o mode=1777 shm "$root/dev/shm"
  mount --rbind /sys "$root/sys"
  mount --bind "$goroot" "$root/usr/local/go"
  mount -o remount,bind,ro "$root/usr/local/go"
  mount --bind "$cache/apt" "$root/var/cache/apt/archives"
  mount --bind "$cache/gomod" "$root/root/go/pkg/mod"
  mount --bind "$cache/gobuild" "$root/root/.cache/go-build"
  exec chroot "$root" /fresh.sh
' fresh "$root" "$cache" "$goroot"
