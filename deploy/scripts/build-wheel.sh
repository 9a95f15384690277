#!/bin/sh
# Build the metaregistry wheel (schemas inside) into $1 (default ./dist).
# The Dockerfile's build stage runs exactly this; so does tests/deploy/test_image_steps.py.
set -eu
out="${1:-dist}"
python -m pip install --no-cache-dir --quiet --disable-pip-version-check build
python -m build --wheel --outdir "$out" .
