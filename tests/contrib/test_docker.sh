#!/usr/bin/env bash
# test_docker.sh -- contrib/docker/Dockerfile built for real with podman. Docker's
# engine does not run on this machine, and podman's OCI runtime cannot start containers
# here (setrlimit is refused), but `podman build --isolation chroot` runs a
# Dockerfile's RUN steps without one. No image registry is reachable either, so the
# debian:12 and debian:12-slim base images are made from Debian's archive with
# debootstrap (the official images are built the same way, the slim one with less
# documentation). Then: the image's entry point and user, `scotty --version` and a real
# `scotty status` against a Redis on loopback run inside it as its user, and no build
# tool is left in it. Removes every image and file it made.
# Usage: test_docker.sh SOURCE_DIR OUT_DIR     Exit 77 (skipped) when podman cannot build.
set -euo pipefail
src=$1
out=$2
fail() { echo "FAIL: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "SKIP: podman builds here need root"; exit 77; }
command -v podman >/dev/null || fail "podman is missing (contrib/install-deps.sh installs it)"
command -v debootstrap >/dev/null || fail "debootstrap is missing (contrib/install-deps.sh installs it)"

rm -rf "$out" && mkdir -p "$out"
tag="localhost/scotty-test:$$"
made=()
redis_pid=""
cleanup() {
  [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null
  for image in "${made[@]}"; do podman rmi -f "$image" >/dev/null 2>&1 || true; done
  podman image prune -f >/dev/null 2>&1 || true
  rm -rf "$out"
}
trap cleanup EXIT

# podman needs its storage and a kernel that lets it mount images.
if ! podman info >/dev/null 2>&1; then
  echo "SKIP: podman cannot run here: $(podman info 2>&1 | tail -n 1)"
  exit 77
fi

# The base images, unless this machine already has them.
for base in debian:12 debian:12-slim; do
  podman image exists "docker.io/library/$base" && continue
  if [ ! -d "$out/rootfs" ]; then
    mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
    [ -n "$mirror" ] || mirror=$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list)
    echo "== debootstrap bookworm from this machine's Debian mirror"
    debootstrap --variant=minbase bookworm "$out/rootfs" "$mirror" > "$out/debootstrap.log" 2>&1 ||
      { tail -n 20 "$out/debootstrap.log"; fail "debootstrap failed"; }
    # As in the official images: packages installed in a build start no services.
    printf '#!/bin/sh\nexit 101\n' > "$out/rootfs/usr/sbin/policy-rc.d"
    chmod 0755 "$out/rootfs/usr/sbin/policy-rc.d"
    rm -rf "$out/rootfs/var/cache/apt/archives/"*.deb "$out/rootfs/var/lib/apt/lists/"*
  fi
  tar -C "$out/rootfs" -c . | podman import - "docker.io/library/$base" >/dev/null
  made+=("docker.io/library/$base")
done
rm -rf "$out/rootfs"

echo "== podman build -f contrib/docker/Dockerfile (chroot isolation)"
made+=("$tag")
podman build --isolation chroot --ignorefile "$src/contrib/docker/Dockerfile.dockerignore" \
  -f "$src/contrib/docker/Dockerfile" -t "$tag" "$src" > "$out/build.log" 2>&1 ||
  { tail -n 40 "$out/build.log"; fail "the image did not build"; }

[ "$(podman image inspect --format '{{.Config.User}}' "$tag")" = scotty ] || fail "the image does not run as scotty"
[ "$(podman image inspect --format '{{json .Config.Entrypoint}}' "$tag")" = '["/usr/bin/scotty"]' ] ||
  fail "entry point is $(podman image inspect --format '{{json .Config.Entrypoint}}' "$tag")"

# Commands inside the image, as its user: a derived build whose RUN steps are them.
dir=$(mktemp -d /tmp/scotty-docker-redis.XXXXXX)
port=$(ruby -rsocket -e 's = TCPServer.new("127.0.0.1", 0); puts s.addr[1]; s.close')
redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --save '' --logfile "$dir/redis.log" --daemonize no &
redis_pid=$!
for _ in $(seq 300); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-cli -p "$port" ping >/dev/null || fail "redis-server did not start"
version=$(sed -n 's/^project(scotty VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
cat > "$out/Containerfile" <<CONTAINERFILE
FROM $tag
RUN test "\$(id -un)" = scotty && test "\$(/usr/bin/scotty --version)" = "scotty $version"
RUN /usr/bin/scotty status --redis-url redis://127.0.0.1:$port/0 > /tmp/status.txt && cat /tmp/status.txt \
 && grep -q 'nothing left to requeue' /tmp/status.txt
RUN ! command -v gcc && ! command -v cmake && ! command -v psql
CONTAINERFILE
made+=("$tag-check")
podman build --isolation chroot -f "$out/Containerfile" -t "$tag-check" "$out" > "$out/check.log" 2>&1 ||
  { cat "$out/check.log"; fail "a command failed inside the image"; }
grep -q 'nothing left to requeue' "$out/check.log" || { cat "$out/check.log"; fail "no status output"; }
rm -rf "$dir"
echo "PASS: the image builds, runs scotty as scotty, reaches Redis, and holds no build tools"
