#!/usr/bin/env bash
# Builds refmon's image from deploy/Dockerfile (context: the repository root).
#
#   image-build.sh [--offline] [--base IMAGE] [--tag TAG] [--engine podman|docker]
#
#   --offline   build with no network at all: first `pip wheel` writes every wheel refmon
#               needs (its dependencies and its build requirements) to
#               .cache/image-wheels/ with this machine's Python 3.11 (PYTHON, default python3),
#               the image's, on the same or an older glibc; then the build installs
#               from those wheels only (PACKAGES=wheels) with networking off. The wheels step
#               needs PyPI (or PIP_INDEX_URL); where the build host has neither, make the
#               wheels elsewhere and build by hand (docs/deploying.md, "The image").
#   --base      the Python base image, the Dockerfile's PYTHON_IMAGE (default: the
#               Dockerfile's python:3.11-slim); scripts/image-base.sh makes one locally.
#   --tag       default refmon:local
#   --engine    default podman if installed, else docker
#
# Prints the image id on standard output; the build time and the image size on standard error.
# With podman the image is built in Docker's format: the OCI format has no HEALTHCHECK.
set -euo pipefail
cd "$(dirname "$0")/.."

offline=0
base=""
tag="refmon:local"
engine=""
while [ $# -gt 0 ]; do
  case "$1" in
    --offline) offline=1; shift ;;
    --base) base="$2"; shift 2 ;;
    --tag) tag="$2"; shift 2 ;;
    --engine) engine="$2"; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "image-build.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [ -z "$engine" ]; then
  if command -v podman >/dev/null; then engine=podman; else engine=docker; fi
fi
case "$engine" in
  podman) engine_args=(--format docker) ;;
  docker) engine_args=() ;;
  *) echo "image-build.sh: --engine is podman or docker" >&2; exit 2 ;;
esac

# PACKAGES is always spelled out: podman 4.3's buildah does not apply an ARG's default to the
# stage name in `FROM packages-${PACKAGES}`, and fails with `short-name "packages-index" did
# not resolve`.
args=(-f deploy/Dockerfile -t "$tag")
[ -z "$base" ] || args+=(--build-arg "PYTHON_IMAGE=$base")
if [ "$offline" -eq 1 ]; then
  python="${PYTHON:-python3}"
  wheels=.cache/image-wheels
  # pip picks the wheels of the Python it runs under; the image's is 3.11 (the Dockerfile's
  # python:3.11 and Debian bookworm's python3 alike).
  version="$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
  if [ "$version" != 3.11 ]; then
    echo "image-build.sh: --offline makes the wheels with Python 3.11, the image's;" \
      "$python is $version (set PYTHON to a python3.11)" >&2
    exit 2
  fi
  echo "image-build.sh: wheels for Python $version ($python) into $wheels" >&2
  # Made afresh each time, so no wheel of an older refmon or of a dropped dependency is left.
  rm -rf "$wheels"
  # The build requirements are read from pyproject.toml: with --no-index, pip's isolated
  # build environment for refmon can only install them from the wheel folder.
  mapfile -t build_requires < <("$python" -c '
import tomllib
with open("pyproject.toml", "rb") as f:
    print("\n".join(tomllib.load(f)["build-system"]["requires"]))')
  # refmon's wheel is built from a copy of what the image copies: setuptools writes build/
  # and an egg-info folder beside the sources, which are not to be left in the work tree.
  source="$(mktemp -d)"
  trap 'rm -rf "$source"' EXIT
  cp -r pyproject.toml README.md schemas streams src "$source/"
  "$python" -m pip wheel --quiet --disable-pip-version-check --wheel-dir "$wheels" \
    "${build_requires[@]}" "$source[kafka]"
  # The image builds refmon from the sources it copies; its wheel here would only change
  # with every build (timestamps) and so defeat the engine's layer cache.
  rm -f "$wheels"/refmon-*.whl
  # A wheel built here from source is tied to this machine's Python and glibc, not a
  # manylinux one; name them so that a mismatch in the image is easy to trace.
  built=$(find "$wheels" -name '*-linux_*.whl' -printf '%f ')
  [ -z "$built" ] || echo "image-build.sh: built on this machine, not manylinux: $built" >&2
  args+=(--build-arg PACKAGES=wheels --network none)
else
  args+=(--build-arg PACKAGES=index)
fi

iidfile="$(mktemp)"
trap 'rm -rf "$iidfile" "${source:-}"' EXIT
started=$SECONDS
"$engine" build "${engine_args[@]}" "${args[@]}" --iidfile "$iidfile" . >&2
echo "image-build.sh: built $tag in $((SECONDS - started)) s" >&2
# The id, not the tag: another build may take the tag meanwhile.
id="$(cat "$iidfile")"
size=$("$engine" image inspect --format '{{.Size}}' "$id")
echo "image-build.sh: $tag is $((size / 1000000)) MB ($size bytes)" >&2
echo "$id"
