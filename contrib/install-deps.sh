#!/usr/bin/env bash
# Installs everything scotty needs to build, run its demo and run its tests on Debian 12.
# Safe to run repeatedly: it only installs what is missing, and with nothing missing it
# asks apt nothing. It says in one line what it installs; apt's output goes to a log file
# that is printed only when the install fails.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)

# One group per line; add a package to the line it belongs to (or a new commented line).
apt_packages=(
  # build
  cmake pkg-config gcc make
  libhiredis-dev libjansson-dev libssl-dev zlib1g-dev libyaml-dev libcurl4-openssl-dev libpq-dev
  libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libswresample-dev libavfilter-dev libjpeg62-turbo-dev libvips-dev time jq
  libcmocka-dev
  # the media task child's seccomp allowlist (media/media_sandbox.c)
  libseccomp-dev
  # link cards (worker/cards): libxml2's HTML parser, charset detection
  libxml2-dev libuchardet-dev
  # remote accounts (worker/accounts): the Public Suffix List of the subdomain rate limit,
  # IDNA for non-ASCII domains
  libpsl-dev libidn2-dev
  # the libFuzzer targets (tests/fuzz): clang with its sanitizer and fuzzer runtimes
  clang libclang-rt-14-dev
  # servers and peers started by the demo and the tests
  redis-server postgresql ruby ruby-sidekiq ruby-fugit ffmpeg openssl procps tmux prometheus
  # the media tests' independent checks: vipsthumbnail/vipsheader, the reference blurhash
  libvips-tools python3-blurhash
  # the Debian package (contrib/deb) and its test: dpkg-shlibdeps, lintian, the user tools
  dpkg-dev lintian adduser
  # the Dockerfile's test (tests/contrib/test_docker.sh): podman builds it on debootstrap's base
  podman debootstrap
)

# --list: print the list, one package a line (the Dockerfile takes its -dev packages).
if [ "${1:-}" = --list ]; then
  printf '%s\n' "${apt_packages[@]}"
  exit 0
fi

# One dpkg-query for the whole list; whatever it does not report installed is missing.
declare -A installed=()
while read -r state name; do
  [ "$state" = ii ] && installed[$name]=1
done < <(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' "${apt_packages[@]}" 2>/dev/null || true)
missing=()
for p in "${apt_packages[@]}"; do
  [ -n "${installed[$p]:-}" ] || missing+=("$p")
done
# Node.js may already come with the machine (with its own npm); Debian's npm
# conflicts with that, so install them only when the commands are missing.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

# quietly runs a command with its output in the log; on failure prints the log and exits.
log=""
open_log() { [ -n "$log" ] || log=$(mktemp "${TMPDIR:-/tmp}/scotty-install-deps.XXXXXX.log"); }
quietly() {
  open_log
  echo "\$ $*" >> "$log"
  if ! "$@" >> "$log" 2>&1; then
    echo "install-deps: failed: $*; the log ($log):" >&2
    cat "$log" >&2
    exit 1
  fi
}

if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  open_log
  echo "install-deps: installing ${#missing[@]} Debian packages: ${missing[*]} (log: $log)"
  # Another apt on this machine may hold the lock: wait for it rather than fail.
  quietly "${sudo_cmd[@]}" apt-get -o DPkg::Lock::Timeout=600 update
  quietly "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get -o DPkg::Lock::Timeout=600 install -y "${missing[@]}"
fi

# Node packages for test servers (the S3 server that verifies signatures).
if [ -f "$here/tests/storage/package.json" ] && [ ! -d "$here/tests/storage/node_modules" ]; then
  open_log
  echo "install-deps: installing the npm packages of tests/storage (log: $log)"
  quietly sh -c 'cd "$1" && npm install --no-audit --no-fund' sh "$here/tests/storage"
fi
