#!/usr/bin/env bash
# build.sh -- builds the Debian package scotty_<version>_<arch>.deb from this checkout:
# scotty, scotty-media and scottyctl in /usr/bin, the Scotty (ingress, pull, push) and
# Exec (scheduler, default) systemd units from contrib/systemd, a commented
# /etc/scotty/scotty.env from contrib/scotty.env.example, and maintainer scripts that
# create the `scotty` system user and group (the group may use the control socket).
#
# Usage: contrib/deb/build.sh [OUTDIR]     (default OUTDIR: build-pkg in the checkout)
# Prints the path of the .deb on its last line.
#
# Why dpkg-deb and not CPack or dpkg-buildpackage: the project's CMake files have no
# install rules (nothing else needs them), and the package is a handful of files, so a
# staged tree spelled out here is the shortest complete description of it. dpkg-deb and
# dpkg-shlibdeps (for the library dependencies) are Debian's own tools for exactly that.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mkdir -p "${1:-$here/build-pkg}" && cd "${1:-$here/build-pkg}" && pwd)
pkgsrc="$here/contrib/deb"

version=$(sed -n 's/^project(scotty VERSION \([0-9.]*\).*/\1/p' "$here/CMakeLists.txt")
[ -n "$version" ] || { echo "build.sh: no project(scotty VERSION ...) line in CMakeLists.txt" >&2; exit 1; }
arch=$(dpkg --print-architecture)
maint="${DEBFULLNAME:-$(git -C "$here" config user.name 2>/dev/null || echo scotty maintainers)}"
maint="$maint <${DEBEMAIL:-$(git -C "$here" config user.email 2>/dev/null || echo maintainers@scotty.invalid)}>"
commit=$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)

# A Release build with all of Debian's hardening flags (fortify, stack protector, PIE,
# relro, bindnow). _FORTIFY_SOURCE lets GCC see snprintf targets that the project's own
# builds do not, so -Wformat-truncation may warn here alone: shown, but not fatal, since
# a possibly cut message is no reason to ship no package (the snprintf stays bounded).
build="$out/build"
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_FLAGS="$(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS) -Wno-error=format-truncation" \
  -DCMAKE_EXE_LINKER_FLAGS="$(dpkg-buildflags --get LDFLAGS)" >/dev/null
cmake --build "$build" -j "$(nproc)" --target scotty scotty-media scottyctl >/dev/null

root="$out/root"
rm -rf "$root"
install -d -m 0755 "$root/DEBIAN" "$root/usr/bin" "$root/lib/systemd/system" \
  "$root/etc/scotty" "$root/usr/share/doc/scotty"
for bin in worker/scotty worker/scotty-media worker/control/scottyctl; do
  install -m 0755 "$build/$bin" "$root/usr/bin/"
  strip --strip-unneeded --remove-section=.comment --remove-section=.note "$root/usr/bin/${bin##*/}"
done

# The units of contrib/systemd, made to fit the package: binaries in /usr/bin, the
# `scotty` user and group (its members may use scottyctl), and Mastodon's directory as
# the working directory only where the host has one (a dedicated Scotty host may not).
for unit in scotty-ingress.service scotty-exec.service; do
  sed -e 's|/usr/local/bin/|/usr/bin/|g' \
      -e 's|/usr/local/share/doc/scotty/|/usr/share/doc/scotty/|g' \
      -e 's|^User=mastodon$|User=scotty|' \
      -e 's|^Group=mastodon$|Group=scotty|' \
      -e 's|--control-group mastodon|--control-group scotty|' \
      -e 's|^WorkingDirectory=/opt/mastodon$|WorkingDirectory=-/opt/mastodon|' \
      "$here/contrib/systemd/$unit" > "$root/lib/systemd/system/$unit"
  # Every rewrite must have applied: a changed source unit fails the build, not the host.
  for want in '^User=scotty$' '^Group=scotty$' '--control-group scotty' '^ExecStart=/usr/bin/scotty ' \
              '^WorkingDirectory=-/opt/mastodon$'; do
    grep -q -e "$want" "$root/lib/systemd/system/$unit" ||
      { echo "build.sh: contrib/systemd/$unit no longer matches the package's rewrite ($want)" >&2; exit 1; }
  done
  if grep -n -E '/usr/local|^(User|Group)=mastodon|--control-group mastodon' "$root/lib/systemd/system/$unit" |
       grep -v '^[0-9]*:#'; then
    echo "build.sh: contrib/systemd/$unit still names /usr/local or the mastodon user (lines above)" >&2
    exit 1
  fi
  chmod 0644 "$root/lib/systemd/system/$unit"
done

# The environment file: the example with a note on where it came from. Only root (and
# systemd, which reads it for the units) may read it: it holds the database password.
{
  echo "# /etc/scotty/scotty.env -- installed by the scotty package; edit it, then"
  echo "#   systemctl enable --now scotty-ingress   (and/or scotty-exec)"
  echo "# The guide: /usr/share/doc/scotty/operators.md"
  echo "#"
  cat "$here/contrib/scotty.env.example"
} > "$root/etc/scotty/scotty.env"
chmod 0600 "$root/etc/scotty/scotty.env"

doc="$root/usr/share/doc/scotty"
install -m 0644 "$here/README.md" "$doc/README.md"
install -m 0644 "$here/docs/operators.md" "$doc/operators.md"
install -m 0644 "$here/contrib/scotty.env.example" "$doc/scotty.env.example"
install -m 0644 "$here/contrib/grafana/scotty.json" "$doc/scotty.json"
install -m 0644 "$pkgsrc/copyright" "$doc/copyright"
{
  echo "scotty ($version) unstable; urgency=medium"
  echo
  echo "  * Built from the scotty repository at commit $commit."
  echo
  echo " -- $maint  $(date -R -d "@$(git -C "$here" log -1 --format=%ct 2>/dev/null || date +%s)")"
} | gzip -9n > "$doc/changelog.gz"
chmod 0644 "$doc/changelog.gz"

for script in postinst prerm postrm; do
  install -m 0755 "$pkgsrc/$script" "$root/DEBIAN/$script"
done
echo /etc/scotty/scotty.env > "$root/DEBIAN/conffiles"

# Library dependencies of the three binaries, as Debian's packages name them.
shl="$out/shlibdeps"
rm -rf "$shl" && mkdir -p "$shl/debian"
printf 'Source: scotty\n\nPackage: scotty\nArchitecture: any\n' > "$shl/debian/control"
libs=$(cd "$shl" && dpkg-shlibdeps -O "$root/usr/bin/scotty" "$root/usr/bin/scotty-media" \
         "$root/usr/bin/scottyctl" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$libs" ] || { echo "build.sh: dpkg-shlibdeps found no library dependencies" >&2; exit 1; }

size=$(du -k -s --exclude=DEBIAN "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<CONTROL
Package: scotty
Version: $version
Architecture: $arch
Maintainer: $maint
Installed-Size: $size
Depends: adduser, $libs
Section: net
Priority: optional
Description: Sidekiq-compatible background job worker for Mastodon
 scotty pops the federation-heavy jobs of a Mastodon server (queues ingress,
 pull, push, default and scheduler) from the same Redis as Ruby Sidekiq and
 runs them in C: remote fetches, media downloads and video transcoding under
 hard CPU caps. Jobs, retries, stats and heartbeats are those Sidekiq's Web UI
 reads, so Ruby and C workers share one Redis.
 .
 This package holds scotty, its media child scotty-media, the operator tool
 scottyctl, and systemd units for the Scotty (ingress, pull, push) and Exec
 (scheduler, default) roles, which are installed but not enabled.
CONTROL
(cd "$root" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | sort -z | xargs -0 md5sum) \
  > "$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/conffiles" "$root/DEBIAN/md5sums"

deb="$out/scotty_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
