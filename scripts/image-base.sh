#!/usr/bin/env bash
# Makes a Debian bookworm base image with Python 3.11 for refmon's image, where no image
# registry is reachable: debootstrap (minbase, plus python3, python3-venv, python-is-python3
# and ca-certificates) from the Debian mirror apt uses, imported into podman. Prints the
# image reference, to pass as the Dockerfile's PYTHON_IMAGE, on standard output.
#
#   image-base.sh [--rebuild]
#
# Cached: the root filesystem as a tarball in ~/.cache/refmon/image-base/ and the podman
# image, both named after a hash of this script (the suite, packages and trimming are in it),
# so a change to the recipe makes a new base and an unchanged one costs nothing. --rebuild
# makes it again anyway, to take in Debian's latest updates. Runs as root (debootstrap).
# Mirror: REFMON_DEBIAN_MIRROR, else the first bookworm mirror in /etc/apt, else
# http://deb.debian.org/debian.
set -euo pipefail

suite=bookworm
packages=python3,python3-venv,python-is-python3,ca-certificates
rebuild=0
while [ $# -gt 0 ]; do
  case "$1" in
    --rebuild) rebuild=1; shift ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "image-base.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

for tool in podman debootstrap; do
  command -v "$tool" >/dev/null || {
    echo "image-base.sh: $tool not found (Debian: apt-get install podman runc debootstrap)" >&2
    exit 1
  }
done
[ "$(id -u)" -eq 0 ] || { echo "image-base.sh: debootstrap needs root" >&2; exit 1; }

key="$(sha256sum "$0" | cut -c1-12)"
image="localhost/refmon-base:$suite-$key"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/refmon/image-base"
tarball="$cache/$suite-$key.tar.gz"
mkdir -p "$cache"
# Two builds at once (a CI step and a test fixture) would otherwise debootstrap twice.
exec 9>"$cache/lock"
flock 9

mirror() {
  if [ -n "${REFMON_DEBIAN_MIRROR:-}" ]; then echo "$REFMON_DEBIAN_MIRROR"; return; fi
  local found=""
  # deb822 sources (URIs: before Suites:) and one-line sources.
  found="$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk -v s="$suite" '
    /^URIs:/ { uri = $2 } /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == s) { print uri; exit } }
    /^$/ { uri = "" }')"
  if [ -z "$found" ]; then
    found="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
      | awk -v s="$suite" '$1 == "deb" && $3 == s { print $2; exit }')"
  fi
  echo "${found:-http://deb.debian.org/debian}"
}

if [ "$rebuild" -eq 1 ]; then
  rm -f "$tarball"
  podman image rm -f "$image" >/dev/null 2>&1 || true
fi

if [ ! -f "$tarball" ]; then
  work="$(mktemp -d "$cache/rootfs.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
  source_mirror="$(mirror)"
  echo "image-base.sh: debootstrap $suite from $source_mirror (about a minute)" >&2
  started=$SECONDS
  if ! debootstrap --variant=minbase --include="$packages" "$suite" "$work/rootfs" \
    "$source_mirror" >"$work/debootstrap.log" 2>&1; then
    tail -n 30 "$work/debootstrap.log" >&2
    exit 1
  fi
  # What an image needs no copy of: package downloads and lists, logs, the host's name and
  # resolver (the engine provides both), documentation other than the licences, manuals and
  # translations. The same trimming as Debian's own slim images.
  (
    cd "$work/rootfs"
    rm -rf var/cache/apt/archives/*.deb var/cache/apt/*.bin var/lib/apt/lists/* \
      var/log/*.log var/log/apt/* etc/hostname etc/resolv.conf \
      usr/share/man/* usr/share/info/* usr/share/locale/*
    find usr/share/doc -mindepth 1 -not -name copyright -not -type d -delete
  )
  tar --numeric-owner -C "$work/rootfs" -czf "$work/rootfs.tar.gz" .
  mv "$work/rootfs.tar.gz" "$tarball"
  # Older recipes' tarballs are of no further use.
  find "$cache" -maxdepth 1 -name "$suite-*.tar.gz" -not -name "${tarball##*/}" -delete
  echo "image-base.sh: made $tarball in $((SECONDS - started)) s" >&2
fi

if ! podman image exists "$image"; then
  podman import --quiet --change 'CMD ["python3"]' \
    --message "debootstrap --variant=minbase --include=$packages $suite" \
    "$tarball" "$image" >/dev/null
  echo "image-base.sh: imported $image" >&2
fi
echo "$image"
