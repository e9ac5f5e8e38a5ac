#!/bin/sh
# The README's test command: installs dependencies, builds, and runs every test suite.
# Vulkan tests run on Mesa's lavapipe when no GPU is present and are required to run
# (DUET_TEST_REQUIRE_VULKAN=1): a machine where Vulkan cannot open fails instead of skipping.
set -eu
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ]; then tools/install-deps.sh; fi
[ -d build ] || meson setup build --werror
meson compile -C build
export DUET_TEST_REQUIRE_VULKAN=1
meson test -C build --print-errorlogs --num-processes 2
# Python tools without PyTorch (TalkingShapes world, metrics): Debian's python3 with its numpy
# and scipy packages (a python3 earlier on PATH may lack them).
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
(cd tools && "$PY" -m unittest discover -s tests)
# The PyTorch side (duet-tiny modules, checkpoint converter) needs torch and safetensors, which
# Debian 12 does not package; where they are installed they run here too, else say so loudly.
if python3 -c 'import torch, safetensors' 2>/dev/null; then
  python3 -m unittest discover -s tools/duet_tiny/tests -t .
else
  echo "NOTE: torch/safetensors not installed: tools/duet_tiny/tests did NOT run" \
       "(pip install torch safetensors sentencepiece, then rerun)" >&2
fi
