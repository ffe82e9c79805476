#!/usr/bin/env bash
# Times v8assets' thumbnail pipeline against vipsthumbnail (libvips, batch
# mode: one process converts many copies, time per image) and, when PHP with
# GD is installed, against what v8 did (bench/gd.php, timed in a loop inside
# one process as under PHP-FPM). All in the same run, on the same files.
#
#   bench/thumbs.sh [RUNS]        (needs: go; optional: libvips-tools, php-gd)
#
# Prints a Markdown table of median milliseconds and ratios, then the peak
# RSS of one 6000x4000 → 200x200 generation in a fresh process.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
runs=${1:-15}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

go build -o "$work/thumbs" ./bench/thumbs
CGO_ENABLED=0 go build -o "$work/thumbs-pure" ./bench/thumbs
mkdir -p "$work/src" "$work/out"
"$work/thumbs" -fixtures "$work/src"

have_vips=$(command -v vipsthumbnail >/dev/null && echo 1 || echo 0)
have_php=$(php -r 'echo function_exists("imagecreatefromjpeg") ? 1 : 0;' 2>/dev/null || echo 0)

vips_ms() { # src w h fit
  local batch=10 files=() i start end crop=()
  for i in $(seq $batch); do cp "$work/src/$1" "$work/out/copy$i.${1##*.}"; files+=("$work/out/copy$i.${1##*.}"); done
  [ "$4" = crop ] && crop=(--smartcrop centre)
  local best=""
  for _ in 1 2 3; do
    start=$(date +%s%N)
    vipsthumbnail -s "${2}x${3}" "${crop[@]}" -o "$work/out/t_%s.${1##*.}[Q=80]" "${files[@]}"
    end=$(date +%s%N)
    local t=$(( (end - start) / batch ))
    if [ -z "$best" ] || [ "$t" -lt "$best" ]; then best=$t; fi
  done
  awk -v ns="$best" 'BEGIN { printf "%.2f", ns / 1e6 }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || a == 0) print "–"; else printf "%.2f×", b / a }'; }

echo "| conversion | v8assets (turbo) | v8assets rendering v8 | v8assets (pure Go) | vipsthumbnail | PHP-GD | vips ÷ ours | GD ÷ ours | GD ÷ v8 rendering |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
while read -r src w h fit; do
  ours=$("$work/thumbs" -src "$work/src/$src" -w "$w" -h "$h" -fit "$fit" -n "$runs")
  v8r=$("$work/thumbs" -rendering v8 -src "$work/src/$src" -w "$w" -h "$h" -fit "$fit" -n "$runs")
  pure=$("$work/thumbs-pure" -src "$work/src/$src" -w "$w" -h "$h" -fit "$fit" -n "$(( (runs + 2) / 3 ))")
  vips=""; gd=""
  [ "$have_vips" = 1 ] && vips=$(vips_ms "$src" "$w" "$h" "$fit")
  [ "$have_php" = 1 ] && gd=$(php bench/gd.php "$work/src/$src" "$w" "$h" "$fit" "$runs")
  echo "| $src → ${w}×${h} $fit | $ours | $v8r | $pure | ${vips:-–} | ${gd:-–} | $(ratio "$ours" "$vips") | $(ratio "$ours" "$gd") | $(ratio "$v8r" "$gd") |"
done <<'CASES'
1800x1200.jpg 200 200 crop
1800x1200.jpg 200 200 contain
6000x4000.jpg 200 200 crop
6000x4000.jpg 800 600 crop
1800x1200.png 200 200 crop
7000x7000.png 200 200 crop
CASES

rss=$("$work/thumbs" -src "$work/src/6000x4000.jpg" -w 200 -h 200 -fit crop -once)
rss_pure=$("$work/thumbs-pure" -src "$work/src/6000x4000.jpg" -w 200 -h 200 -fit crop -once)
echo
echo "Peak RSS of one 6000×4000 → 200×200 crop in a fresh process: $((rss / 1024)) MiB (turbo), $((rss_pure / 1024)) MiB (pure Go)."
