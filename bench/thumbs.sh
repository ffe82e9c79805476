#!/usr/bin/env bash
# Times v8assets' thumbnail pipeline (both renderings, cgo and pure Go)
# against vipsthumbnail (libvips) and, when PHP with GD is installed, against
# what v8 did (bench/gd.php). Every contender reads the file and converts it
# inside its timed part, and none is charged its process start-up: ours and
# GD time a loop inside one process; vipsthumbnail is timed on a batch of
# N+1 copies and on one, and the difference divided by N. The contenders
# are interleaved round by round; the table gives the median of the rounds
# and, in brackets, their spread (min–max).
#
#   bench/thumbs.sh [ROUNDS]      (needs: go; optional: libvips-tools, php-gd)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
rounds=${1:-5}
per=3 # conversions per round and contender (the median of them)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

go build -o "$work/thumbs" ./bench/thumbs
CGO_ENABLED=0 go build -o "$work/thumbs-pure" ./bench/thumbs
mkdir -p "$work/src" "$work/out"
"$work/thumbs" -fixtures "$work/src"

have_vips=$(command -v vipsthumbnail >/dev/null && echo 1 || echo 0)
have_php=$(php -r 'echo function_exists("imagecreatefromjpeg") ? 1 : 0;' 2>/dev/null || echo 0)

vips_ms() { # src w h fit: per-image ms without process start-up
  local n=$per files=() crop=() i t1 tn
  for i in $(seq $((n + 1))); do cp "$work/src/$1" "$work/out/copy$i.${1##*.}"; files+=("$work/out/copy$i.${1##*.}"); done
  [ "$4" = crop ] && crop=(--smartcrop centre)
  local s e
  s=$(date +%s%N); vipsthumbnail -s "${2}x${3}" "${crop[@]}" -o "$work/out/t_%s.${1##*.}[Q=80]" "${files[0]}"; e=$(date +%s%N); t1=$((e - s))
  s=$(date +%s%N); vipsthumbnail -s "${2}x${3}" "${crop[@]}" -o "$work/out/t_%s.${1##*.}[Q=80]" "${files[@]}"; e=$(date +%s%N); tn=$((e - s))
  awk -v a="$t1" -v b="$tn" -v n="$n" 'BEGIN { v = (b - a) / n / 1e6; if (v < 0) v = 0; printf "%.2f", v }'
}

stat3() { # values... -> "median [min–max]"
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "%.2f [%.1f–%.1f]", v[int((NR + 1) / 2)], v[1], v[NR] }'
}
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || a == 0) print "–"; else printf "%.2f×", b / a }'; }

echo "| conversion | v8assets (turbo) | v8assets rendering v8 | v8assets (pure Go) | vipsthumbnail | PHP-GD | vips ÷ ours | GD ÷ ours | GD ÷ v8 rendering |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
while read -r src w h fit; do
  ours=(); v8r=(); pure=(); vips=(); gd=()
  for _ in $(seq "$rounds"); do
    ours+=("$("$work/thumbs" -src "$work/src/$src" -w "$w" -h "$h" -fit "$fit" -n "$per")")
    v8r+=("$("$work/thumbs" -rendering v8 -src "$work/src/$src" -w "$w" -h "$h" -fit "$fit" -n "$per")")
    pure+=("$("$work/thumbs-pure" -src "$work/src/$src" -w "$w" -h "$h" -fit "$fit" -n 1)")
    [ "$have_vips" = 1 ] && vips+=("$(vips_ms "$src" "$w" "$h" "$fit")")
    [ "$have_php" = 1 ] && gd+=("$(php bench/gd.php "$work/src/$src" "$w" "$h" "$fit" "$per")")
  done
  o=$(median "${ours[@]}"); v=$(median "${v8r[@]}")
  vm=""; gm=""
  [ ${#vips[@]} -gt 0 ] && vm=$(median "${vips[@]}")
  [ ${#gd[@]} -gt 0 ] && gm=$(median "${gd[@]}")
  echo "| $src → ${w}×${h} $fit | $(stat3 "${ours[@]}") | $(stat3 "${v8r[@]}") | $(stat3 "${pure[@]}") |" \
    "$([ -n "$vm" ] && stat3 "${vips[@]}" || echo –) | $([ -n "$gm" ] && stat3 "${gd[@]}" || echo –) |" \
    "$(ratio "$o" "$vm") | $(ratio "$o" "$gm") | $(ratio "$v" "$gm") |"
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
