#!/usr/bin/env bash
# Cache-hit throughput. In one run, with the contenders interleaved round by
# round, serves the same cached thumbnail (200x133 JPEG, ?key=thumbnail) and
# the same ~2 MB original from
#   (a) a bare Go http.ServeFile server (bench/fileserver),
#   (b) v8assets with the lookup cache (the default, change_probe = 250ms),
#   (c) v8assets with change_probe = "0" (v8's two queries per request),
# all reading one MariaDB database and one uploads folder, with
# `wrk -t2 -c32`. Prints the median req/s and p99 per contender, the ratios
# to (a), and the database queries per request (MariaDB's Questions counter,
# which also counts the change probes and the counter reads themselves).
#
#   bench/hits.sh [ROUNDS] [DURATION]      (default 3 rounds of 5s each)
#
# Needs MariaDB as for ./test.sh; installs wrk with apt-get when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
rounds=${1:-3}
duration=${2:-5s}

if ! command -v wrk >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
sql() { mariadb -u root "$@"; }
sql -e 'SELECT 1' >/dev/null

work=$(mktemp -d)
db="v8assets_bench_$$"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sql -e "DROP DATABASE IF EXISTS \`$db\`" || true
  rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/v8assets" .
go build -o "$work/fileserver" ./bench/fileserver
go build -o "$work/thumbs" ./bench/thumbs
mkdir -p "$work/uploads/originals" "$work/uploads/generated"
"$work/thumbs" -photo 3000x2000 -o "$work/uploads/originals/photo.jpg"

sql -e "CREATE DATABASE \`$db\` CHARACTER SET utf8 COLLATE utf8_general_ci"
sql "$db" < schema.sql
sql "$db" -e "INSERT INTO directus_files (id, private_hash, filename_disk, filename_download, type, uploaded_by, uploaded_on)
              VALUES (1, 'benchhash0000001', 'photo.jpg', 'photo.jpg', 'image/jpeg', 1, NOW())"
socket=$(sql -N -e "SELECT @@socket")

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start_v8assets() { # name probe; sets $port
  port=$(free_port)
  cat > "$work/$1.toml" <<TOML
[server]
listen = "127.0.0.1:$port"
[projects.bench]
change_probe = "$2"
[projects.bench.database]
type = "mysql"
name = "$db"
username = "root"
socket = "$socket"
[projects.bench.storage]
root = "$work/uploads/originals"
thumb_root = "$work/uploads/generated"
TOML
  "$work/v8assets" serve -config "$work/$1.toml" >/dev/null 2>&1 &
  pids+=($!)
}
start_v8assets cached 250ms; port_b=$port
start_v8assets uncached 0; port_c=$port
port_a=$(free_port)
"$work/fileserver" -listen "127.0.0.1:$port_a" -root "$work/uploads" >/dev/null 2>&1 &
pids+=($!)
for port in "$port_a" "$port_b" "$port_c"; do
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
done
# Generate the thumbnail once; every request below is a hit.
curl -fs -o /dev/null "http://127.0.0.1:$port_b/bench/assets/benchhash0000001?key=thumbnail"
sleep 3 # let the tables leave the change probe's "recently written" window

declare -A url
url[thumb,a]="http://127.0.0.1:$port_a/generated/w200,h200,fcontain,q80/photo.jpg"
url[thumb,b]="http://127.0.0.1:$port_b/bench/assets/benchhash0000001?key=thumbnail"
url[thumb,c]="http://127.0.0.1:$port_c/bench/assets/benchhash0000001?key=thumbnail"
url[orig,a]="http://127.0.0.1:$port_a/originals/photo.jpg"
url[orig,b]="http://127.0.0.1:$port_b/bench/assets/benchhash0000001"
url[orig,c]="http://127.0.0.1:$port_c/bench/assets/benchhash0000001"
for k in "${!url[@]}"; do curl -fs -o /dev/null "${url[$k]}" || { echo "no 200 from ${url[$k]}" >&2; exit 1; }; done

questions() { sql -N -e "SHOW GLOBAL STATUS LIKE 'Questions'" | awk '{print $2}'; }
to_ms() { awk '{ v=$1; if (v ~ /us$/) { sub(/us$/,"",v); v/=1000 } else if (v ~ /ms$/) { sub(/ms$/,"",v) } else if (v ~ /s$/) { sub(/s$/,"",v); v*=1000 } printf "%.2f", v }'; }
declare -A rps p99 qpr
for round in $(seq "$rounds"); do
  for kind in thumb orig; do
    for who in a b c; do
      q0=$(questions)
      out=$(wrk -t2 -c32 -d"$duration" --latency "${url[$kind,$who]}")
      q1=$(questions)
      r=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
      n=$(awk '/requests in/ {print $1}' <<<"$out")
      rps[$kind,$who]+="$r "
      p99[$kind,$who]+="$(awk '$1 == "99%" {print $2}' <<<"$out" | to_ms) "
      qpr[$kind,$who]+="$(awk -v q=$((q1 - q0)) -v n="$n" 'BEGIN { printf "%.3f", q / n }') "
    done
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "| request | contender | req/s (median of $rounds) | p99 ms | DB queries / request | ÷ ServeFile |"
echo "|---|---|---:|---:|---:|---:|"
for kind in thumb orig; do
  base=$(median <<<"${rps[$kind,a]}")
  for who in a b c; do
    name=$([ $who = a ] && echo "Go http.ServeFile" || { [ $who = b ] && echo "v8assets (cache)" || echo "v8assets (change_probe 0)"; })
    label=$([ $kind = thumb ] && echo "cached thumbnail" || echo "2 MB original")
    r=$(median <<<"${rps[$kind,$who]}")
    q=$([ $who = a ] && echo "–" || median <<<"${qpr[$kind,$who]}")
    echo "| $label | $name | $r | $(median <<<"${p99[$kind,$who]}") | $q | $(awk -v a="$base" -v b="$r" 'BEGIN { printf "%.2f", b / a }') |"
  done
done
