#!/usr/bin/env bash
# Makes a Debian 12 (bookworm) minbase root file system with debootstrap, once, and
# hands it what this machine needs to reach the network: the Debian mirror from the
# machine's own apt configuration (or DEBIAN_MIRROR), its apt Acquire settings
# (proxies, date checks) and its certificate bundle (SSL_CERT_FILE, else
# /etc/ssl/certs/ca-certificates.crt) as /etc/ssl/host-ca.crt, which apt in the root
# trusts. A root that is already complete (DIR/.debian-root-ok) is left as it is.
#
# Usage: scripts/debian-root.sh DIR        (root; installs debootstrap when missing)
#        scripts/debian-root.sh --mirror   (print the mirror it would use)
set -euo pipefail
apt_get=(apt-get -o DPkg::Lock::Timeout=600 -o Acquire::Retries=3)

mirror() {
  if [ -n "${DEBIAN_MIRROR:-}" ]; then echo "$DEBIAN_MIRROR"; return; fi
  # The machine's own sources: the first Debian archive whose suite is a release
  # (not -updates or -security).
  local m
  m=$(apt-get indextargets --format '$(ORIGIN) $(RELEASE) $(IDENTIFIER) $(REPO_URI)' 2>/dev/null |
    awk '$1 == "Debian" && $2 !~ /-/ && $3 == "Packages" { print $4; exit }')
  if [ -z "$m" ]; then
    echo "debian-root: no Debian archive in this machine's apt sources (apt-get indextargets);" \
      "set DEBIAN_MIRROR to a Debian mirror, e.g. DEBIAN_MIRROR=http://<your mirror>/debian" >&2
    return 1
  fi
  echo "${m%/}"
}

if [ "${1:-}" = --mirror ]; then mirror; exit; fi
dir=${1:?usage: debian-root.sh DIR | --mirror}
[ -e "$dir/.debian-root-ok" ] && exit 0

url=$(mirror)
command -v debootstrap >/dev/null || {
  "${apt_get[@]}" update -qq
  DEBIAN_FRONTEND=noninteractive "${apt_get[@]}" install -y -qq --no-install-recommends debootstrap >/dev/null
}
rm -rf "$dir"
mkdir -p "$(dirname "$dir")"
echo "debootstrap: Debian 12 minbase from $url into $dir"
log=$(mktemp)
if ! debootstrap --variant=minbase bookworm "$dir" "$url" >"$log" 2>&1; then
  tail -30 "$log"; rm -f "$log"; exit 1
fi
rm -f "$log"

# The machine's trust store and apt settings, so that the root reaches what the
# machine reaches (an intercepting proxy's own authority included).
bundle=${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}
if [ -r "$bundle" ]; then
  install -D -m 0644 "$bundle" "$dir/etc/ssl/host-ca.crt"
  echo 'Acquire::https::CAInfo "/etc/ssl/host-ca.crt";' >"$dir/etc/apt/apt.conf.d/90host-ca"
fi
apt-config dump 2>/dev/null |
  grep -E '^Acquire::(https?::Proxy|ftp::Proxy|Check-Valid-Until|Check-Date|Retries) ' \
    >"$dir/etc/apt/apt.conf.d/90host" || true
echo 'DPkg::Lock::Timeout "600";' >>"$dir/etc/apt/apt.conf.d/90host"
cp /etc/resolv.conf "$dir/etc/resolv.conf"
touch "$dir/.debian-root-ok"
