#!/usr/bin/env bash
# The one test command (README "Tests"): makes sure MariaDB runs, then checks
# formatting, vets, runs every test with the race detector, and fuzzes the
# request parsers briefly.
set -euo pipefail
cd "$(dirname "$0")"
export PATH="$PATH:/usr/local/go/bin"

mariadb_up() {
  mariadb-admin --connect-timeout=2 ping >/dev/null 2>&1 ||
    mariadb-admin --connect-timeout=2 -h 127.0.0.1 -u root ping >/dev/null 2>&1
}

if ! mariadb_up; then
  if [ ! -x /usr/sbin/mariadbd ]; then
    echo "== installing mariadb-server"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mariadb-server >/dev/null
  fi
  if ! mariadb_up; then
    echo "== starting MariaDB"
    install -d -o mysql -g mysql /run/mysqld 2>/dev/null || mkdir -p /run/mysqld
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
    for _ in $(seq 60); do mariadb_up && break; sleep 0.5; done
  fi
  mariadb_up || { echo "MariaDB did not start" >&2; exit 1; }
fi

# A C compiler (cgo, the race detector) and the C libraries of the native
# codec path (generator/codec_cgo.go).
if ! command -v gcc >/dev/null || [ ! -f /usr/include/turbojpeg.h ] || [ ! -f /usr/include/webp/encode.h ] || [ ! -f /usr/include/spng.h ] || [ ! -f /usr/include/avif/avif.h ]; then
  echo "== installing gcc libturbojpeg0-dev libwebp-dev libspng-dev libavif-dev"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc libc6-dev libturbojpeg0-dev libwebp-dev libspng-dev libavif-dev >/dev/null
fi

# TestHostileOriginals recodes a JPEG with arithmetic coding (jpegtran).
if ! command -v jpegtran >/dev/null; then
  echo "== installing libjpeg-turbo-progs"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libjpeg-turbo-progs >/dev/null
fi

# TestREADMENginxRecipe runs the README's nginx block in a real nginx (its
# own prefix and port; the system's nginx configuration is never touched).
if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
  echo "== installing nginx-light"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null
  # The package starts a system nginx on port 80; the tests do not need it.
  (systemctl stop nginx || service nginx stop || nginx -s quit) >/dev/null 2>&1 || true
fi

# The S3 tests start a real S3 server per test: versitygw, installed once
# into $(go env GOPATH)/bin and reused by later runs on the same machine.
if ! command -v versitygw >/dev/null && [ ! -x "$(go env GOPATH)/bin/versitygw" ]; then
  echo "== installing versitygw"
  go install github.com/versity/versitygw/cmd/versitygw@v1.8.0
fi

# deploy/test-image.sh builds the Dockerfile with podman from Debian bases made
# by mmdebstrap (no registry) and validates the compose files.
if ! command -v podman >/dev/null || ! command -v runc >/dev/null || ! command -v mmdebstrap >/dev/null ||
  ! { docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null; }; then
  echo "== installing podman runc mmdebstrap docker-compose"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc mmdebstrap docker-compose >/dev/null
fi

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt needed: $unformatted" >&2; exit 1; fi

echo "== go vet"
go vet ./...

echo "== go test -race"
go test -race -count=1 ./...

echo "== pure-Go codec path"
CGO_ENABLED=0 go build -o /dev/null .
# The tests of the C codecs skip here, by name, with their reason.
purego=$(go test -count=1 -tags purego -v ./generator 2>&1) || { echo "$purego"; exit 1; }
echo "$purego" | grep -B1 -- '--- SKIP' | grep -v -e '^--$' -e '=== ' || true
echo "$purego" | tail -n 1

echo "== fuzz (brief)"
# A count, not a duration: duration-based -fuzztime can fail spuriously with
# "context deadline exceeded" in Go 1.26 (golang/go#75804).
for target in FuzzParseQuery FuzzDecodeID; do
  go test -run '^$' -fuzz "^${target}\$" -fuzztime 30000x ./middleware
done
go test -run '^$' -fuzz '^FuzzParse$' -fuzztime 30000x ./v8config
go test -run '^$' -fuzz '^FuzzIsNumeric$' -fuzztime 30000x ./whitelist
# Each input of the router fuzzer is a real HTTP request, so fewer of them.
go test -run '^$' -fuzz '^FuzzRouter$' -fuzztime 3000x ./middleware

echo "== container image (deploy/test-image.sh)"
deploy/test-image.sh
