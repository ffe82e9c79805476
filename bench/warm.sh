#!/usr/bin/env bash
# Throughput of `v8assets warm`: N copies of a generated 1800x1200 photo
# (q90) in a MariaDB project, every preset of a fresh v8 install (six system
# keys and "thumbnail"), -concurrency 2 on this machine. Prints thumbnails
# per second.
#
#   bench/warm.sh [FILES]      (default 50; needs MariaDB as for ./test.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
n=${1:-50}
sql() { mariadb -u root "$@"; }
work=$(mktemp -d)
db="v8assets_warm_$$"
cleanup() { sql -e "DROP DATABASE IF EXISTS \`$db\`" || true; rm -rf "$work"; }
trap cleanup EXIT

go build -o "$work/v8assets" .
go build -o "$work/thumbs" ./bench/thumbs
mkdir -p "$work/originals" "$work/generated"
"$work/thumbs" -photo 1800x1200 -o "$work/photo.jpg"
sql -e "CREATE DATABASE \`$db\` CHARACTER SET utf8 COLLATE utf8_general_ci"
sql "$db" < schema.sql
rows=()
for i in $(seq "$n"); do
  cp "$work/photo.jpg" "$work/originals/p$i.jpg"
  rows+=("($i, 'warmhash$(printf %08d "$i")', 'p$i.jpg', 'p$i.jpg', 'image/jpeg', 1, NOW())")
done
sql "$db" -e "INSERT INTO directus_files (id, private_hash, filename_disk, filename_download, type, uploaded_by, uploaded_on) VALUES $(IFS=,; echo "${rows[*]}")"
cat > "$work/config.toml" <<TOML
[projects.bench.database]
type = "mysql"
name = "$db"
username = "root"
socket = "$(sql -N -e "SELECT @@socket")"
[projects.bench.storage]
root = "$work/originals"
thumb_root = "$work/generated"
TOML
start=$(date +%s.%N)
"$work/v8assets" warm -config "$work/config.toml" -project bench -concurrency 2
end=$(date +%s.%N)
made=$(find "$work/generated" -type f | wc -l)
awk -v m="$made" -v s="$start" -v e="$end" 'BEGIN { printf "%d thumbnails in %.1f s: %.1f thumbnails/s\n", m, e - s, m / (e - s) }'
