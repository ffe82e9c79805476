#!/usr/bin/env bash
# Peak memory of thumbnail generation. Starts a fresh v8assets (embedded
# SQLite database, whitelist open) for each case and prints its peak RSS
# (VmHWM) and the time to answer:
#   - a 7000x7000 16-bit PNG -> 200x200 crop
#   - a 7070x7070 8-bit PNG -> 800x600 crop
#   - 300 MB of random bytes named .jpg (refused: 422)
#   - 14 different sizes of the 16-bit PNG at once, max_generation_memory = "256MiB"
#
#   bench/memory.sh          (needs: go, curl)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
work=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT

go build -o "$work/v8assets" .
go build -o "$work/thumbs" ./bench/thumbs
mkdir -p "$work/originals"
"$work/thumbs" -gradient 7000x7000 -depth 16 -o "$work/originals/big16.png"
"$work/thumbs" -gradient 7070x7070 -depth 8 -o "$work/originals/big8.png"
head -c 300000000 /dev/urandom > "$work/originals/random.jpg"
cat > "$work/seed.sql" <<'SQL'
INSERT INTO directus_files (id, private_hash, filename_disk, filename_download, type, uploaded_by, uploaded_on) VALUES
  (1, 'big16png00000001', 'big16.png', 'big16.png', 'image/png', 1, '2020-01-01 00:00:00'),
  (2, 'big8png000000001', 'big8.png', 'big8.png', 'image/png', 1, '2020-01-01 00:00:00'),
  (3, 'randomjpg0000001', 'random.jpg', 'random.jpg', 'image/jpeg', 1, '2020-01-01 00:00:00');
UPDATE directus_settings SET value = '[]' WHERE `key` = 'asset_whitelist';
SQL
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

start() { # max_generation_memory
  rm -rf "$work/generated" "$work/directus.db"*
  cat > "$work/config.toml" <<TOML
[server]
listen = "127.0.0.1:$port"
log_level = "warn"
max_generation_memory = "$1"
[projects.m]
max_source_pixels = 60000000
[projects.m.database]
type = "sqlite"
path = "directus.db"
seed = "seed.sql"
[projects.m.storage]
root = "originals"
thumb_root = "generated"
TOML
  "$work/v8assets" serve -config "$work/config.toml" 2>"$work/log" &
  pid=$!
  for _ in $(seq 100); do curl -fs -o /dev/null "http://127.0.0.1:$port/server/ping" && return; sleep 0.05; done
  cat "$work/log" >&2; exit 1
}
stop() { # prints VmHWM in MB
  local hwm; hwm=$(awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$pid/status")
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
  echo "$hwm"
}
get() { curl -s -o /dev/null -w '%{http_code} %{time_total}' "http://127.0.0.1:$port/m/assets/$1"; }

echo "| case | answer | time | peak RSS |"
echo "|---|---|---:|---:|"
for c in "big16png00000001?w=200&h=200&f=crop&q=80|7000² 16-bit PNG → 200×200 crop" \
         "big8png000000001?w=800&h=600&f=crop&q=80|7070² 8-bit PNG → 800×600 crop" \
         "randomjpg0000001?w=200&h=200&f=crop&q=80|300 MB of random bytes (.jpg)"; do
  start 512MiB
  read -r code secs <<<"$(get "${c%%|*}")"
  echo "| ${c#*|} | $code | $(awk -v s="$secs" 'BEGIN { printf "%.0f ms", s * 1000 }') | $(stop) MB |"
done

start 256MiB
t0=$(date +%s%N)
codes=()
for i in $(seq 14); do
  (get "big16png00000001?w=$((90 + i * 37))&h=$((60 + i * 29))&f=crop&q=80" | cut -d' ' -f1 > "$work/code.$i") &
done
wait $(jobs -p | grep -v "^$pid$") 2>/dev/null || true
for i in $(seq 14); do codes+=("$(cat "$work/code.$i")"); done
t1=$(date +%s%N)
summary=$(printf '%s\n' "${codes[@]}" | sort | uniq -c | awk '{printf "%s%d×%s", (NR > 1 ? ", " : ""), $1, $2}')
echo "| 14 sizes of the 16-bit PNG at once, budget 256 MiB | $summary | $(( (t1 - t0) / 1000000 )) ms | $(stop) MB |"
