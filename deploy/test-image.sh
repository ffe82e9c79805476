#!/usr/bin/env bash
# Builds the Dockerfile with podman and checks the image, with no registry:
# the two base images (BASE and BUILDER) are made with mmdebstrap from
# Debian's packages and imported with `podman import`; the builder gets the
# host's Go toolchain and modules from the host's module cache.
#
# Checks: /server/ping, a demo thumbnail (also through `-p PORT:8080` with
# the image's defaults, as the README runs it), `v8assets health` and the image's
# HEALTHCHECK, the process and the thumbnails it writes into a mounted volume
# are uid 33, SIGTERM stops it well within shutdown_timeout, no compiler, under
# 200 MB, every linked library present and every runtime library installed is
# linked; both compose files validate; the MariaDB example's SQL loads into the
# local MariaDB and the image serves the demo from it through the
# deploy/beside-v8 nginx.conf, whose v8assets locations match the README's.
#
# Run by ./test.sh when podman is available. Needs root, podman, runc,
# mmdebstrap, docker-compose (or docker compose), nginx and MariaDB.
# The flags below (runc, cgroupfs, no default ulimits, --network=host) are for
# this sandbox only; the README's commands need none of them.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
root=$PWD

work=$(mktemp -d /tmp/v8assets-image.XXXXXX)
tag=localhost/v8assets-test:$$
run=v8assets-test-$$
db=v8a_image_$$
nginx_pid=
cleanup() {
	set +e
	podman rm -f -t 0 "$run-demo" "$run-readme" "$run-mariadb" >/dev/null 2>&1
	podman rmi -f "$tag" >/dev/null 2>&1
	[ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null
	mariadb -e "DROP DATABASE IF EXISTS $db; DROP USER IF EXISTS '$db'@'127.0.0.1'" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "-- $*"; }

# The sandbox's container runtime settings (crun and systemd cgroups do not
# work here), kept out of the user's configuration.
cat >"$work/containers.conf" <<'EOF'
[containers]
default_ulimits = []
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
export CONTAINERS_CONF="$work/containers.conf"

free_port() {
	local p
	for p in $(shuf -i 20000-60000 -n 50); do
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
	fail "no free port"
}

# wait_for URL SECONDS: polls until URL answers 2xx.
wait_for() {
	local deadline=$((SECONDS + $2))
	until curl -fsS -o /dev/null "$1" 2>/dev/null; do
		[ $SECONDS -lt $deadline ] || return 1
		sleep 0.05
	done
}

# Base images, made once per machine and kept in podman's storage under a tag
# naming what they were made from (delete them with `podman rmi` to remake).
# Like debian:bookworm-slim: merged /usr made by mmdebstrap's hook rather
# than the usrmerge package (which pulls in 47 MB of perl), no docs.
slim=(--variant=minbase --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr --aptopt='APT::Install-Recommends "false"'
	--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*'
	--dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/info/*'
	--dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias'
	--customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*')
builder_pkgs=gcc,libc6-dev,libturbojpeg0-dev,libwebp-dev,libspng-dev,libavif-dev
goversion=$(go env GOVERSION)
key=$(printf '%s\n' "${slim[@]}" "$builder_pkgs" "$goversion" | sha256sum | cut -c1-12)
base=localhost/v8assets-test-base:$key
builder=localhost/v8assets-test-builder:$key
if ! podman image exists "$base"; then
	step "mmdebstrap runtime base ($base)"
	mmdebstrap -q "${slim[@]}" bookworm "$work/base.tar" >"$work/mmdebstrap.log" 2>&1 ||
		{ cat "$work/mmdebstrap.log"; fail "mmdebstrap (runtime base)"; }
	podman import -q "$work/base.tar" "$base" >/dev/null
	rm "$work/base.tar"
fi
if ! podman image exists "$builder"; then
	step "mmdebstrap builder base with $goversion ($builder)"
	mmdebstrap -q "${slim[@]}" --include="$builder_pkgs" \
		--customize-hook="copy-in $(go env GOROOT) /usr/local" bookworm "$work/builder.tar" >"$work/mmdebstrap.log" 2>&1 ||
		{ cat "$work/mmdebstrap.log"; fail "mmdebstrap (builder base)"; }
	podman import -q --change 'ENV=PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		"$work/builder.tar" "$builder" >/dev/null
	rm "$work/builder.tar"
fi

# Bases made from other settings are not needed any more.
podman images --format '{{.Repository}}:{{.Tag}}' |
	grep -E '^localhost/v8assets-test-(base|builder):' | grep -v ":$key\$" | xargs -r podman rmi -f >/dev/null 2>&1 || true

step "podman build"
go mod download # fills the host's module cache, which the builder reads
version=$(git describe --always --dirty 2>/dev/null || echo test)
# --format docker keeps HEALTHCHECK (the OCI image format has no field for it).
podman build -q --format docker --network=host \
	--build-arg BASE="$base" --build-arg BUILDER="$builder" \
	--build-arg VERSION="$version" \
	--build-arg GOPROXY=file:///hostmod/cache/download \
	-v "$(go env GOMODCACHE):/hostmod:ro" \
	-t "$tag" . >"$work/build.log" 2>&1 || { cat "$work/build.log"; fail "podman build"; }

step "image contents"
size=$(podman image inspect --format '{{.Size}}' "$tag")
echo "image size: $((size / 1000000)) MB ($size bytes)"
[ "$size" -lt 200000000 ] || fail "image is $size bytes, over 200 MB"
inimage() { podman run --rm --network=host --no-healthcheck --entrypoint "$1" "$tag" "${@:2}"; }
inimage sh -c 'for c in gcc cc go c++ ld as; do command -v $c && exit 1; done; [ ! -e /usr/local/go ]' ||
	fail "the image holds a compiler"
got=$(inimage v8assets version)
case "$got" in "v8assets $version (built "*) ;; *) fail "version: $got" ;; esac
echo "$got"
inimage sh -c 'ldd /usr/local/bin/v8assets' >"$work/ldd"
! grep -q 'not found' "$work/ldd" || fail "missing libraries: $(grep 'not found' "$work/ldd")"
# Every runtime library the Dockerfile installs is one the binary links.
libs=$(sed -n '/^FROM \${BASE}/,$p' Dockerfile |
	awk '/apt-get install/ {f = 1; next} f && /&&/ {exit} f' | tr -s ' \\' '\n' | grep '^lib' || true)
[ -n "$libs" ] || fail "no runtime libraries found in the Dockerfile"
for pkg in $libs; do
	inimage dpkg -L "$pkg" | grep '\.so' | xargs -n1 basename | grep -qFf - "$work/ldd" ||
		fail "runtime package $pkg is installed but not linked"
done
health=$(podman image inspect --format '{{json .Config.Healthcheck}}' "$tag")
case "$health" in *'"v8assets","health"'*) ;; *) fail "HEALTHCHECK: $health" ;; esac

step "the demo, with a mounted thumbnail volume"
port=$(free_port)
gen=$work/generated
mkdir "$gen"
chown 33:33 "$gen"
start=$(date +%s.%N)
# --health-interval=disable: no systemd timer here; the check is run below.
podman run -d -q --name "$run-demo" --network=host --health-interval=disable \
	-e V8ASSETS_SERVER_LISTEN="127.0.0.1:$port" \
	-v "$gen:/srv/v8assets/uploads/demo/generated" "$tag" >/dev/null 2>"$work/run.log" ||
	{ cat "$work/run.log"; fail "podman run"; }
wait_for "http://127.0.0.1:$port/server/ping" 30 || { podman logs "$run-demo"; fail "no pong"; }
ready=$(date +%s.%N)
echo "cold start (podman run → first pong): $(awk "BEGIN {printf \"%.2f\", $ready - $start}") s"
[ "$(curl -fsS "http://127.0.0.1:$port/server/ping")" = pong ] || fail "/server/ping"
curl -fsS -o "$work/thumb.jpg" -D "$work/thumb.h" \
	"http://127.0.0.1:$port/demo/assets/demo0photo0jpeg1?key=directus-medium-crop"
grep -qi '^content-type: image/jpeg' "$work/thumb.h" || fail "thumbnail content type: $(cat "$work/thumb.h")"
[ "$(head -c 3 "$work/thumb.jpg" | od -An -tx1 | tr -d ' ')" = ffd8ff ] || fail "thumbnail is not a JPEG"
podman exec "$run-demo" v8assets health >/dev/null || fail "v8assets health in the container"
podman healthcheck run "$run-demo" 2>/dev/null || fail "the image's HEALTHCHECK"
uid=$(podman exec "$run-demo" awk '/^Uid:/ {print $2}' /proc/1/status)
[ "$uid" = 33 ] || fail "the server runs as uid $uid, not 33"
made=$(find "$gen" -type f)
[ -n "$made" ] || fail "no thumbnail in the mounted volume"
for f in $made; do
	[ "$(stat -c %u:%g "$f")" = 33:33 ] || fail "$f is owned by $(stat -c %u:%g "$f")"
done
timeout=$(podman exec "$run-demo" v8assets check-config | awk -F'"' '/^ *shutdown_timeout =/ {print $2; exit}')
[ -n "$timeout" ] || fail "no shutdown_timeout in check-config"
t0=$SECONDS
podman stop -t 60 "$run-demo" >/dev/null 2>&1
took=$((SECONDS - t0))
code=$(podman inspect --format '{{.State.ExitCode}}' "$run-demo")
echo "SIGTERM → stopped in ${took}s (shutdown_timeout $timeout), exit $code"
[ "$code" = 0 ] || fail "exit code $code after SIGTERM (137 = killed)"
[ "$took" -lt "${timeout%s}" ] || fail "stop took ${took}s"

step "the README's run command: -p PORT:8080, nothing else"
port=$(free_port)
podman run -d -q --name "$run-readme" -p "127.0.0.1:$port:8080" --health-interval=disable "$tag" >/dev/null 2>"$work/run.log" ||
	{ cat "$work/run.log"; fail "podman run -p"; }
wait_for "http://127.0.0.1:$port/demo/assets/demo0photo0jpeg1?key=thumbnail" 30 ||
	{ podman logs "$run-readme"; fail "the demo thumbnail through -p $port:8080"; }
podman rm -f -t 10 "$run-readme" >/dev/null 2>&1

step "compose files"
if docker compose version >/dev/null 2>&1; then compose=(docker compose); else compose=(docker-compose); fi
for f in deploy/demo/compose.yaml deploy/beside-v8/compose.yaml; do
	"${compose[@]}" -f "$f" config >"$work/compose.out" || fail "$f does not validate"
done
"${compose[@]}" -f deploy/demo/compose.yaml config >"$work/demo.yaml"

step "the MariaDB example's SQL, in the local MariaDB"
# The files compose mounts into docker-entrypoint-initdb.d, in MariaDB's order.
sqls=$(grep -o "$root/[^:]*:/docker-entrypoint-initdb.d/[^:]*" "$work/demo.yaml" |
	awk -F: '{print $2 " " $1}' | sort | cut -d' ' -f2)
[ "$(echo "$sqls" | wc -l)" = 2 ] || fail "initdb files: $sqls"
pass=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
mariadb -e "CREATE DATABASE $db; CREATE USER '$db'@'127.0.0.1' IDENTIFIED BY '$pass';
	GRANT ALL ON $db.* TO '$db'@'127.0.0.1'"
for f in $sqls; do mariadb "$db" <"$f" || fail "$f does not load"; done
[ "$(mariadb -N "$db" -e 'SELECT COUNT(*) FROM directus_files')" = 4 ] || fail "demo rows"

step "the image on MariaDB, behind deploy/beside-v8/nginx.conf"
# The v8assets part of the containers' nginx.conf is the README's recipe.
awk '/^### Put it behind nginx/{f=1} f && /^```nginx/{p=1; next} p && /^```/{exit} p' README.md |
	sed -n '/# GET\/HEAD/,/^    }$/p; /# POST/,/^    }$/p' >"$work/readme.locations"
sed -n '/# GET\/HEAD/,/^    }$/p; /# POST/,/^    }$/p' deploy/beside-v8/nginx.conf >"$work/deploy.locations"
[ -s "$work/readme.locations" ] || fail "no locations in the README's recipe"
diff -u "$work/readme.locations" "$work/deploy.locations" || fail "deploy/beside-v8/nginx.conf differs from the README"
uploads=$work/v8uploads
mkdir -p "$uploads/site"
cp -r uploads/demo/originals "$uploads/site/originals"
mkdir "$uploads/site/generated"
chown -R 33:33 "$uploads"
sed 's/projects\.site\./projects.demo./' deploy/beside-v8/config.toml >"$work/config.toml"
port=$(free_port)
podman run -d -q --name "$run-mariadb" --network=host --health-interval=disable \
	-v "$work/config.toml:/srv/v8assets/config.toml:ro" \
	-v "$uploads:/var/directus/public/uploads" \
	-e V8ASSETS_SERVER_LISTEN="127.0.0.1:$port" \
	-e V8ASSETS_PROJECTS_DEMO_DATABASE_HOST=127.0.0.1 \
	-e V8ASSETS_PROJECTS_DEMO_DATABASE_NAME="$db" \
	-e V8ASSETS_PROJECTS_DEMO_DATABASE_USERNAME="$db" \
	-e V8ASSETS_PROJECTS_DEMO_DATABASE_PASSWORD="$pass" \
	"$tag" >/dev/null 2>"$work/run.log" || { cat "$work/run.log"; fail "podman run"; }
wait_for "http://127.0.0.1:$port/readyz" 30 || { podman logs "$run-mariadb"; fail "not ready on MariaDB"; }
front=$(free_port)
mkdir "$work/nginx"
sed -e "s/server v8assets:8080;/server 127.0.0.1:$port;/" \
	-e 's/server directus:80;/server 127.0.0.1:9;/' \
	-e "s/listen 80;/listen 127.0.0.1:$front;/" deploy/beside-v8/nginx.conf >"$work/nginx/site.conf"
cat >"$work/nginx/nginx.conf" <<EOF
daemon off;
pid $work/nginx/nginx.pid;
events {}
http {
    access_log off;
    client_body_temp_path $work/nginx; proxy_temp_path $work/nginx;
    fastcgi_temp_path $work/nginx; uwsgi_temp_path $work/nginx; scgi_temp_path $work/nginx;
    include $work/nginx/site.conf;
}
EOF
nginx=$(command -v nginx || echo /usr/sbin/nginx)
"$nginx" -t -q -p "$work/nginx" -e "$work/nginx/error.log" -c "$work/nginx/nginx.conf" || fail "nginx -t"
"$nginx" -p "$work/nginx" -e "$work/nginx/error.log" -c "$work/nginx/nginx.conf" &
nginx_pid=$!
asset=/demo/assets/demo0portrait001
wait_for "http://127.0.0.1:$front$asset" 10 || { cat "$work/nginx/error.log"; fail "nginx"; }
curl -fsS -o "$work/direct" "http://127.0.0.1:$port$asset?key=directus-small-crop"
curl -fsS -o "$work/proxied" "http://127.0.0.1:$front$asset?key=directus-small-crop"
cmp -s "$work/direct" "$work/proxied" || fail "the thumbnail through nginx differs"
curl -fsS "http://127.0.0.1:$front$asset" | cmp -s - uploads/demo/originals/portrait.jpg ||
	fail "the original through nginx differs"
[ -n "$(find "$uploads/site/generated" -type f -user 33)" ] || fail "no thumbnail owned by uid 33 in the v8 uploads"
echo "image OK"
