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
if [ -d tools/tests ]; then (cd tools && python3 -m unittest discover -s tests -v); fi
