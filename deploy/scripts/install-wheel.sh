#!/bin/sh
# Install the wheel found in $1 into the Python environment of `python`, then check that the
# installed copy works outside the source tree (schemas load from the wheel, connectors load).
# The Dockerfile's runtime stage runs exactly this; so does tests/deploy/test_image_steps.py.
set -eu
wheels="$1"
python -m pip install --no-cache-dir --quiet --disable-pip-version-check "$wheels"/metaregistry-*.whl
cd /
metaregistry --version
metaregistry connectors
metaregistry parse-serial "GS1-1-UG-GS11236-16-2024-30307-1-19149" >/dev/null
python - <<'PY'
from metaregistry.schemas import schema_root, validator
root = str(schema_root())
assert "site-packages" in root or "dist-packages" in root, f"schemas not from the wheel: {root}"
validator("normalized/unit_block.schema.json")
print("schemas load from", root)
PY
