#!/bin/sh
# The production install, exactly as the image runs it: a fresh virtual environment at $1
# holding the hashed, pinned versions of requirements.lock (runtime + PostgreSQL driver, no
# benchmark or development package), then the gateway's own wheel without resolving again.
# Run from the source tree; the wheel test runs this same script when no Docker daemon exists.
set -eu
prefix=$1
uv venv --quiet --python "${PYTHON:-python3}" "$prefix"
uv pip install --quiet --python "$prefix/bin/python" --require-hashes --no-deps \
    -r requirements.lock
uv build --quiet --wheel --out-dir "$prefix/wheel" .
uv pip install --quiet --python "$prefix/bin/python" --no-deps "$prefix"/wheel/*.whl
rm -rf "$prefix/wheel"
uv pip check --python "$prefix/bin/python"
