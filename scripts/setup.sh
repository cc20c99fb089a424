#!/usr/bin/env bash
# Set-up and the main job: a virtual environment with the requirements and Ikomia, the plugin
# linked into Ikomia's plugins folder, the weights, and the bundled portrait matted into
# matte.png and cutout.png.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
# The runtime requirements one file at a time in sorted order, as Ikomia installs a plugin's.
for requirements in $(ls requirements[0-9]*.txt | sort); do
  .venv/bin/python -m pip install --quiet -r "$requirements"
done
.venv/bin/python -m pip install --quiet "ikomia==0.16.1"

# Weights: taken from ../shared/models when present; otherwise the plugin downloads them from
# Ikomia's model hub on its first run.
checkpoint=modnet_photographic_portrait_matting.ckpt
if [ ! -f "weights/$checkpoint" ] && [ -f "../shared/models/$checkpoint" ]; then
  mkdir -p weights
  cp "../shared/models/$checkpoint" "weights/$checkpoint"
fi

IKOMIA_AUTO_COMPLETION=0 .venv/bin/python scripts/tools/run_sample.py samples/astronaut.png --output-dir .
