#!/usr/bin/env bash
# Bytes, encode time and SSIM of JPEG, WebP and AVIF thumbnails (issue #15):
# the demo photos and generated photo-like images at every preset of a fresh
# v8 install, q80, each output compared with the same resized pixels.
# Prints one row per thumbnail and format, then the totals against the
# targets (WebP ≤ 0.75×, AVIF ≤ 0.6× JPEG's bytes at SSIM within 0.005;
# AVIF encode of 300×300 ≤ 100 ms median).
#
#   bench/formats.sh [-photos N] [-n RUNS] [-q QUALITY]
#   bench/formats.sh -calibrate     refit the AVIF quality map (generator/avif_cgo.go)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
exec go run ./bench/formats -demo uploads/demo/originals "$@"
