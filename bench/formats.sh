#!/usr/bin/env bash
# Bytes, encode time and SSIM of JPEG, WebP and AVIF thumbnails, on the
# held-out set (generated sources the AVIF quality map was not fitted on:
# portrait photo-like images, flat-colour graphics, half-transparent images)
# at every preset of a fresh v8 install; SSIM on red, green and blue over
# black and over white. Prints one row per thumbnail and format, the totals
# at q80, and WebP and AVIF at the quality whose mean SSIM equals JPEG q80's.
#
#   bench/formats.sh [-photos N] [-n RUNS] [-q QUALITY] [-set calibration]
#   bench/formats.sh -calibrate     refit the AVIF quality map (generator/avif_cgo.go) on the calibration set
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
exec go run ./bench/formats -demo uploads/demo/originals "$@"
