#!/usr/bin/env bash
# Installs everything scotty needs to build, run its demo and run its tests on Debian 12.
# Safe to run repeatedly: it only installs what is missing.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)

apt_packages=(
  # build
  cmake pkg-config gcc make
  libhiredis-dev libjansson-dev libssl-dev zlib1g-dev libyaml-dev libcurl4-openssl-dev libpq-dev
  libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libswresample-dev libavfilter-dev libjpeg62-turbo-dev time jq
  libcmocka-dev
  # the libFuzzer targets (tests/fuzz): clang with its sanitizer and fuzzer runtimes
  clang libclang-rt-14-dev
  # servers and peers started by the demo and the tests
  redis-server postgresql ruby ruby-sidekiq ruby-fugit ffmpeg openssl procps tmux prometheus
)

missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# Node.js may already come with the machine (with its own npm); Debian's npm
# conflicts with that, so install them only when the commands are missing.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}"
fi

# Node packages for test servers (the S3 server that verifies signatures).
if [ -f "$here/tests/storage/package.json" ] && [ ! -d "$here/tests/storage/node_modules" ]; then
  (cd "$here/tests/storage" && npm install --no-audit --no-fund --silent)
fi
