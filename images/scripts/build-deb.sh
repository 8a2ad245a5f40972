#!/bin/sh
# build-deb.sh ARCH BINDIR OUTDIR: packages the roomkiosk binaries in BINDIR
# (roomkiosk, roomkiosk-screen, roomctl, built for ARCH), the systemd units,
# the helpers and an example config as OUTDIR/roomkiosk_VERSION_ARCH.deb, and
# prints that path. dpkg-deb only: no packaging tool to install.
set -eu
arch=$1 bindir=$2 out=$3
here=$(cd "$(dirname "$0")/.." && pwd)
top=$(cd "$here/.." && pwd)

for b in roomkiosk roomkiosk-screen roomctl; do
	[ -x "$bindir/$b" ] || { echo "build-deb: $bindir/$b is missing (make build / make build-arm64)" >&2; exit 1; }
done

# Debian version: a sortable commit date and the short hash, +dirty when the
# tree differs from it.
if version=$(cd "$top" && git log -1 --format=%cd --date=format:%Y%m%d%H%M%S 2>/dev/null); then
	version="0.1.0~git$version.$(cd "$top" && git rev-parse --short=8 HEAD)"
	(cd "$top" && git diff --quiet HEAD -- . 2>/dev/null) || version="$version+dirty"
else
	version="0.1.0"
fi

root=$(mktemp -d "${TMPDIR:-/tmp}/roomkiosk-deb.XXXXXX")
trap 'rm -rf "$root"' EXIT
chmod 0755 "$root"
install -d "$root/DEBIAN" "$root/usr/bin" "$root/usr/lib/roomkiosk" \
	"$root/lib/systemd/system" "$root/lib/udev/rules.d" "$root/etc/roomkiosk" \
	"$root/etc/default" "$root/usr/share/doc/roomkiosk"
for b in roomkiosk roomkiosk-screen roomctl; do
	install -m 0755 "$bindir/$b" "$root/usr/bin/$b"
done
for u in roomkiosk.service roomkiosk-screen.service roomkiosk-import-config.service; do
	install -m 0644 "$here/systemd/$u" "$root/lib/systemd/system/$u"
done
for f in import-config screen-session screen-client; do
	install -m 0755 "$here/files/$f" "$root/usr/lib/roomkiosk/$f"
done
install -m 0644 "$here/files/60-roomkiosk.rules" "$root/lib/udev/rules.d/60-roomkiosk.rules"
install -m 0644 "$here/files/roomkiosk-screen.default" "$root/etc/default/roomkiosk-screen"
install -d "$root/lib/systemd/logind.conf.d"
install -m 0644 "$here/files/logind-roomkiosk.conf" "$root/lib/systemd/logind.conf.d/roomkiosk.conf"
# The project's example for a real Pi (configs/example.toml).
install -m 0644 "$top/configs/example.toml" "$root/etc/roomkiosk/roomkiosk.toml.example"
install -m 0644 "$here/README.md" "$root/usr/share/doc/roomkiosk/README.md"
for s in postinst prerm postrm; do
	install -m 0755 "$here/deb/$s" "$root/DEBIAN/$s"
done
printf '%s\n' /etc/default/roomkiosk-screen /etc/roomkiosk/roomkiosk.toml.example >"$root/DEBIAN/conffiles"

size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<CONTROL
Package: roomkiosk
Version: $version
Architecture: $arch
Maintainer: roomkiosk developers <roomkiosk@localhost>
Installed-Size: $size
Section: misc
Priority: optional
Depends: libc6, passwd, systemd, libasound2 | libasound2t64, libgl1, libgl1-mesa-dri, libx11-6, libxrandr2, libxcursor1, libxinerama1, libxi6, libxxf86vm1, libxext6, fonts-wqy-microhei, x11-xserver-utils, xserver-xorg-core | xvfb
Recommends: xserver-xorg-core, xserver-xorg-input-libinput, alsa-utils
Description: counseling-room door kiosk: consented, encrypted session recording
 The roomkiosk daemon (session core, consent-gated recorder that encrypts as it
 captures, room checks, MinIO sync, loopback status endpoint), the full-screen
 touchscreen client run as a kiosk on its own X server, and the roomctl admin
 tool, with their systemd units.
CONTROL

mkdir -p "$out"
deb="$out/roomkiosk_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
