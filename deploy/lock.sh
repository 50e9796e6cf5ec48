#!/bin/sh
# Re-pin the image's dependencies after a change to pyproject.toml: every runtime package and
# the PostgreSQL driver, each with the hashes of its published files, for the image's Python.
set -eu
uv pip compile pyproject.toml --extra postgres --generate-hashes --no-header \
    --python-version 3.11 --python-platform x86_64-manylinux_2_28 -o requirements.lock
