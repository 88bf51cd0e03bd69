#!/usr/bin/env bash
# test_deb.sh -- the Debian package on this machine: builds it with contrib/deb/build.sh,
# runs lintian (no errors; every warning explained in the README's Packaging section),
# installs it with dpkg -i, checks the files, the scotty user and group, the packaged
# scotty (--version, and a real start against a private Redis as the scotty user, with
# the control socket open to the scotty group only), systemd-analyze verify on the
# installed units, then dpkg -r (only the configuration stays) and dpkg -P (nothing
# stays). Always purges what it installed.
# Usage: test_deb.sh SOURCE_DIR OUT_DIR        Exit 77 (skipped) when not root.
set -euo pipefail
src=$1
out=$2
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: installing a package needs root"
  exit 77
fi
fail() { echo "FAIL: $*" >&2; exit 1; }

status() { dpkg-query -W -f='${Status}' scotty 2>/dev/null || true; }
case "$(status)" in
  ''|'unknown ok not-installed') ;;
  *) fail "a scotty package is already on this machine ($(status)); remove it with dpkg -P scotty first" ;;
esac

work=$(mktemp -d /tmp/scotty-deb-test.XXXXXX)
chmod 0755 "$work" # the scotty user reaches the run directory inside it
redis_pid=""
scotty_pid=""
cleanup() {
  [ -n "$scotty_pid" ] && kill -KILL "$scotty_pid" 2>/dev/null
  [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null
  case "$(status)" in
    ''|'unknown ok not-installed') ;;
    *) dpkg_locked -P scotty >/dev/null || echo "cleanup: dpkg -P scotty failed" >&2 ;;
  esac
  rm -rf "$work"
}
trap cleanup EXIT

# dpkg with its lock waited for: another apt-get on this shared machine may hold it.
dpkg_locked() {
  local i
  for i in $(seq 120); do
    if dpkg "$@" >"$work/dpkg.log" 2>&1; then return 0; fi
    grep -q 'lock' "$work/dpkg.log" || { cat "$work/dpkg.log" >&2; return 1; }
    sleep 5
  done
  cat "$work/dpkg.log" >&2
  return 1
}

# Everything on the system whose path names scotty, outside dpkg's own database and the
# places tests and builds use (/tmp, /run, /work are not scanned).
scan() {
  find /etc /lib /usr /var -xdev \( -path /var/lib/dpkg -o -path /var/cache -o -path /var/tmp \
       -o -path /var/log \) -prune -o -path '*scotty*' -print 2>/dev/null | sort
}
accounts() { getent passwd scotty || true; getent group scotty || true; }

echo "== building the package"
deb=$("$src/contrib/deb/build.sh" "$out" | tail -n 1)
version=$(sed -n 's/^project(scotty VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
[ "$(basename "$deb")" = "scotty_${version}_$(dpkg --print-architecture).deb" ] || fail "unexpected file name $deb"

echo "== lintian"
lintian --display-level '>=warning' "$deb" > "$work/lintian.txt" 2>&1 || true
cat "$work/lintian.txt"
! grep -q '^E:' "$work/lintian.txt" || fail "lintian reports errors"
packaging=$(sed -n '/^## Packaging/,/^## /p' "$src/README.md")
for tag in $(sed -n 's/^W: scotty: \([a-z0-9-]*\).*/\1/p' "$work/lintian.txt" | sort -u); do
  grep -q -- "$tag" <<<"$packaging" || fail "lintian warning $tag is not explained in the README's Packaging section"
done

scan > "$work/before.txt"
accounts > "$work/accounts-before.txt"
[ ! -s "$work/accounts-before.txt" ] || fail "a scotty user or group exists before the install: $(cat "$work/accounts-before.txt")"

echo "== dpkg -i"
dpkg_locked -i "$deb" || fail "dpkg -i failed"
[ "$(status)" = "install ok installed" ] || fail "status after dpkg -i: $(status)"
dpkg-deb -c "$deb" | awk '{print substr($6, 2)}' | while read -r f; do
  [ -e "$f" ] || fail "packaged file $f is missing after install"
done
for b in scotty scotty-media scottyctl; do
  [ "$(dpkg -S "/usr/bin/$b" | cut -d: -f1)" = scotty ] || fail "/usr/bin/$b is not the package's"
done
[ "$(/usr/bin/scotty --version)" = "scotty $version" ] || fail "packaged scotty --version: $(/usr/bin/scotty --version)"
getent passwd scotty | grep -q ':/usr/sbin/nologin$' || fail "no system user scotty with nologin: $(getent passwd scotty)"
[ "$(id -gn scotty)" = scotty ] || fail "scotty's primary group is $(id -gn scotty), not scotty"
[ "$(stat -c '%a %U %G' /etc/scotty/scotty.env)" = "600 root root" ] ||
  fail "/etc/scotty/scotty.env is $(stat -c '%a %U %G' /etc/scotty/scotty.env)"
grep -q '^REDIS_URL=' /etc/scotty/scotty.env && grep -q '^DB_HOST=' /etc/scotty/scotty.env ||
  fail "/etc/scotty/scotty.env lacks Mastodon's variables"

echo "== systemd-analyze verify"
for unit in scotty-ingress.service scotty-exec.service; do
  systemd-analyze verify "/lib/systemd/system/$unit" > "$work/verify.txt" 2>&1 ||
    { cat "$work/verify.txt"; fail "systemd-analyze verify $unit"; }
  ! grep -q "$unit" "$work/verify.txt" || { cat "$work/verify.txt"; fail "systemd-analyze warns about $unit"; }
  grep -q '^User=scotty$' "/lib/systemd/system/$unit" || fail "$unit does not run as scotty"
done

echo "== the packaged scotty runs as the scotty user"
run="$work/run"
mkdir -m 0755 "$run"
chown scotty:scotty "$run"
redis-server --port 0 --unixsocket "$run/redis.sock" --unixsocketperm 777 --dir "$work" --save '' \
  --logfile "$work/redis.log" --daemonize no &
redis_pid=$!
for _ in $(seq 300); do
  redis-cli -s "$run/redis.sock" ping >/dev/null 2>&1 && break
  sleep 0.1
done
redis-cli -s "$run/redis.sock" ping >/dev/null || fail "redis-server did not start: $(cat "$work/redis.log")"
env -i PATH=/usr/bin:/bin RUNTIME_DIRECTORY="$run" REDIS_URL="unix://$run/redis.sock" \
  setpriv --reuid=scotty --regid=scotty --init-groups \
  /usr/bin/scotty -c 2 -q default -g pkgtest --control-group scotty > "$work/scotty.log" 2>&1 &
scotty_pid=$!
sock="$run/scotty-pkgtest.sock"
for _ in $(seq 600); do
  [ -S "$sock" ] && break
  kill -0 "$scotty_pid" 2>/dev/null || fail "packaged scotty exited: $(cat "$work/scotty.log")"
  sleep 0.1
done
[ -S "$sock" ] || fail "packaged scotty opened no control socket: $(cat "$work/scotty.log")"
redis-cli -s "$run/redis.sock" smembers processes | grep -q ":$scotty_pid:" || fail "no heartbeat in Redis"
[ "$(stat -c '%G %a' "$sock")" = "scotty 660" ] || fail "control socket is $(stat -c '%G %a' "$sock")"
setpriv --reuid=nobody --regid=scotty --clear-groups /usr/bin/scottyctl -s "$sock" stats > "$work/ctl.txt" 2>&1 ||
  fail "a member of the scotty group cannot use scottyctl: $(cat "$work/ctl.txt")"
if setpriv --reuid=nobody --regid=nogroup --clear-groups /usr/bin/scottyctl -s "$sock" stats >"$work/ctl.txt" 2>&1; then
  fail "a user outside the scotty group used the control socket"
fi
kill -TERM "$scotty_pid"
wait "$scotty_pid" || fail "packaged scotty exited $? on TERM: $(cat "$work/scotty.log")"
scotty_pid=""

echo "== dpkg -r leaves only the configuration"
dpkg_locked -r scotty || fail "dpkg -r failed"
[ "$(status)" = "deinstall ok config-files" ] || fail "status after dpkg -r: $(status)"
scan > "$work/removed.txt"
comm -13 "$work/before.txt" "$work/removed.txt" > "$work/left.txt"
printf '%s\n' /etc/scotty /etc/scotty/scotty.env > "$work/config.txt"
diff -u "$work/config.txt" "$work/left.txt" || fail "dpkg -r left more (or less) than /etc/scotty/scotty.env"
comm -23 "$work/before.txt" "$work/removed.txt" | grep . && fail "dpkg -r removed files that were there before"

echo "== dpkg -P leaves nothing"
dpkg_locked -P scotty || fail "dpkg -P failed"
case "$(status)" in ''|'unknown ok not-installed') ;; *) fail "status after dpkg -P: $(status)" ;; esac
scan > "$work/purged.txt"
diff -u "$work/before.txt" "$work/purged.txt" || fail "dpkg -P did not restore the file list"
accounts > "$work/accounts-after.txt"
[ ! -s "$work/accounts-after.txt" ] || fail "dpkg -P left the scotty user or group: $(cat "$work/accounts-after.txt")"
echo "PASS: package built, lint-clean of errors, installed, verified, removed and purged"
