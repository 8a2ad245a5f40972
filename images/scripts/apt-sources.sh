#!/bin/sh
# apt-sources.sh SUITE COMPONENTS: prints, one a line, the apt sources
# ("deb URI SUITE COMPONENTS") that the image is built from, taken from the
# build host's own apt configuration (/etc/apt/sources.list, *.list and deb822
# *.sources under /etc/apt/sources.list.d) so that no mirror host is written
# into the project. Only the host's Debian entries for SUITE, SUITE-updates and
# SUITE-security are kept; their components are replaced by COMPONENTS (the
# Raspberry Pi firmware lives in non-free-firmware even when the host does not
# use it). IMAGE_MIRROR=URI overrides the main archive's URI.
set -eu
suite=$1 components=$2
etc=${APT_ETC:-/etc/apt}

entries() { # prints "URI SUITE" for every enabled deb source
	for f in "$etc/sources.list" "$etc"/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		sed -e 's/#.*//' "$f" | awk '$1 == "deb" {
			i = 2
			if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
			print $i, $(i+1)
		}'
	done
	for f in "$etc"/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		# deb822: paragraphs separated by blank lines.
		awk '
		function flush() {
			if (types ~ /(^| )deb( |$)/ && enabled !~ /^(no|false)$/)
				for (u = 1; u <= nu; u++) for (s = 1; s <= ns; s++) print uris[u], suites[s]
			types = ""; enabled = ""; nu = 0; ns = 0
		}
		/^[ \t]*#/ { next }
		/^[ \t]*$/ { flush(); next }
		{
			key = tolower($1); sub(/:$/, "", key)
			if (key == "types") { $1 = ""; types = $0 }
			else if (key == "enabled") enabled = tolower($2)
			else if (key == "uris") { for (i = 2; i <= NF; i++) uris[++nu] = $i }
			else if (key == "suites") { for (i = 2; i <= NF; i++) suites[++ns] = $i }
		}
		END { flush() }' "$f"
	done
}

found=$(entries | awk -v s="$suite" '$2 == s || $2 == s "-updates" || $2 == s "-security" || $2 == s "/updates"' | sort -u)
if [ -n "${IMAGE_MIRROR:-}" ]; then
	found=$(printf '%s\n%s %s\n' "$(printf '%s\n' "$found" | awk -v s="$suite" '$2 != s')" "$IMAGE_MIRROR" "$suite" | sed '/^$/d')
fi
if ! printf '%s\n' "$found" | awk -v s="$suite" '$2 == s { ok = 1 } END { exit !ok }'; then
	echo "apt-sources: the build host's apt sources ($etc) have no Debian entry for suite $suite; set IMAGE_MIRROR=URI" >&2
	exit 1
fi
printf '%s\n' "$found" | while read -r uri s; do
	echo "deb $uri $s $components"
done
