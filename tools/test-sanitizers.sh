#!/bin/sh
# ASan + UBSan builds of the unit, ops and vulkan suites (docs/testing.md explains the two
# runs: LeakSanitizer is kept on for duet's own code with the Vulkan driver hidden, and turned
# off for the run on lavapipe, whose validation layer and ICD leak outside duet), then the
# libFuzzer targets replaying their seeds. Run after tools/install-deps.sh.
set -eu
cd "$(dirname "$0")/.."
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
[ -d build-asan ] || meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false \
  -Dbuildtype=debugoptimized >/dev/null
meson compile -C build-asan >/dev/null
VK_ICD_FILENAMES=/nonexistent.json \
  meson test -C build-asan --suite unit --suite ops --print-errorlogs --num-processes 2
ASAN_OPTIONS=detect_leaks=0 DUET_TEST_REQUIRE_VULKAN=1 \
  meson test -C build-asan --suite unit --suite ops --suite vulkan --print-errorlogs --num-processes 2
[ -d build-fuzz ] || CC=clang CXX=clang++ meson setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined \
  -Db_lundef=false -Dbuildtype=debugoptimized >/dev/null
meson compile -C build-fuzz >/dev/null
meson test -C build-fuzz --suite fuzz --print-errorlogs
