#!/bin/sh
# Installs the Debian 12 packages duet needs to build, run and test (run as root).
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  ca-certificates gcc g++ clang pkg-config meson ninja-build python3 python3-numpy python3-scipy \
  glslc libvulkan-dev mesa-vulkan-drivers vulkan-validationlayers \
  libopenblas-dev libjansson-dev libpng-dev libsentencepiece-dev \
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libswresample-dev \
  portaudio19-dev ffmpeg >/dev/null
