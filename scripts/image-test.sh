#!/usr/bin/env bash
# Builds refmon's image the way CI tests it, for tests/container/ to run:
# with Debian's podman and runc (installed when missing), on a local Debian base
# (scripts/image-base.sh, cached) and with no network (scripts/image-build.sh --offline).
# Reports the build time and the image size. CI runs it before the tests; the tests run it
# again (the engine's layer cache makes that quick) so they never test a stale image.
#
#   image-test.sh [--tag TAG]        default TAG: refmon:test
#
# Standard output, for the tests: IMAGE=<image id>, BASE=<base image> and
# CONTAINERS_CONF=<podman settings for this machine>. Runs as root. Then, by hand:
#   CONTAINERS_CONF=... podman run --rm IMAGE --help
set -euo pipefail
cd "$(dirname "$0")/.."

tag="refmon:test"
while [ $# -gt 0 ]; do
  case "$1" in
    --tag) tag="$2"; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "image-test.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

missing=()
command -v podman >/dev/null || missing+=(podman)
command -v runc >/dev/null || missing+=(runc)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "image-test.sh: installing from Debian: ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

# Podman's settings for this run only (the machine's own containers.conf is left alone):
# crun, podman's first choice, refuses this kernel's hybrid cgroup layout, and podman's
# default limits (1048576 open files and processes) are above what this machine permits,
# so creating any container fails with "error setting rlimit type 6/7: operation not
# permitted". These limits are ample for refmon.
conf_dir="${XDG_CACHE_HOME:-$HOME/.cache}/refmon/podman"
mkdir -p "$conf_dir"
cat >"$conf_dir/containers.conf.new" <<'EOF'
# Written by refmon's scripts/image-test.sh; used through CONTAINERS_CONF.
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]

[engine]
runtime = "runc"
EOF
mv "$conf_dir/containers.conf.new" "$conf_dir/containers.conf"
export CONTAINERS_CONF="$conf_dir/containers.conf"

python="${PYTHON:-}"
if [ -z "$python" ]; then
  if [ -x .venv/bin/python ]; then python=.venv/bin/python; else python=python3; fi
fi

started=$SECONDS
base="$(scripts/image-base.sh)"
echo "image-test.sh: base $base ready in $((SECONDS - started)) s" >&2
image="$(PYTHON="$python" scripts/image-build.sh --offline --engine podman --base "$base" \
  --tag "$tag")"
echo "IMAGE=$image"
echo "BASE=$base"
echo "CONTAINERS_CONF=$CONTAINERS_CONF"
