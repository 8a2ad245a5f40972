#!/bin/sh
# Installs the Debian packages named in APT_PACKAGES that are not installed
# yet (and, with APT_ARCH, APT_ARCH_PACKAGES for that foreign architecture).
# Called by the Makefile; needs root or sudo only when something is missing.
set -eu
missing=""
for p in ${APT_PACKAGES:-}; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
if [ -n "${APT_ARCH:-}" ]; then
	for p in ${APT_ARCH_PACKAGES:-}; do
		dpkg-query -W -f='${Status}' "$p:$APT_ARCH" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p:$APT_ARCH"
	done
fi
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1; then
	SUDO="sudo"
else
	echo "missing Debian packages:$missing" >&2
	echo "run as root, or install sudo, so that they can be installed" >&2
	exit 1
fi
echo "installing Debian packages:$missing"
if [ -n "${APT_ARCH:-}" ] && ! dpkg --print-foreign-architectures | grep -qx "$APT_ARCH"; then
	$SUDO dpkg --add-architecture "$APT_ARCH"
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
