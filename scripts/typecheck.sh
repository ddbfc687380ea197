#!/usr/bin/env bash
# mypy --strict over refmon as installed: schemas/ and streams/ only become
# refmon.schemas and refmon.streams when installed, which mypy cannot see through
# an editable install, so install a copy into a scratch folder and check that.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${VENV:-$root/.venv}"
target="$(mktemp -d)"
# setuptools builds in ./build and copies whatever is there, deleted modules too.
rm -rf "$root/build"
trap 'rm -rf "$target"' EXIT
"$venv/bin/pip" install -q --no-deps --no-compile --target "$target/site" "$root"
cd "$target"
MYPYPATH="$target/site" "$venv/bin/mypy" --config-file "$root/pyproject.toml" -p refmon
