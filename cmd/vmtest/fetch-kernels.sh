#!/usr/bin/env bash
# fetch-kernels.sh CACHE [KERNELS]
#
# Fetches the Debian kernels listed in KERNELS (default: kernels.txt next to
# this script) into CACHE/<kernel release>/ (see extract) and prints the
# path of each vmlinuz, one a line, for `make vmtest` to boot. Progress goes
# to stderr.
#
# The suites (bullseye, trixie, sid ...) are reached through a private apt
# state under CACHE/apt whose sources are derived from the machine's own
# /etc/apt/sources.list.d/debian.sources, so the same mirror and keyring are
# used and the system's apt configuration is never touched. Only a few
# files are extracted: the guest runs from an initramfs, and every driver it
# uses is built in.
#
# An unreachable archive is an error, so that CI cannot pass without having
# booted anything. VMTEST_SKIP=1 turns it into a warning and an empty list,
# for local runs without network.
set -euo pipefail

cache=${1:?usage: fetch-kernels.sh CACHE [KERNELS]}
list=${2:-$(dirname "$0")/kernels.txt}
sources=/etc/apt/sources.list.d/debian.sources
state=$cache/apt
# Modules the guest loads, in load order, by path under kernel/.
modules=(net/ipv4/inet_diag net/ipv4/tcp_diag)

log() { echo "fetch-kernels: $*" >&2; }

mkdir -p "$state/parts" "$state/lists/partial" "$state/cache/archives/partial" "$state/debs"

# The suites named in the list, split by archive: security suites live under
# the debian-security URI, all others under the main one.
suites=$(awk '!/^#/ && NF {print $1}' "$list" | sort -u)
security=$(grep -E -- '-security$' <<<"$suites" | tr '\n' ' ' || true)
main=$(grep -vE -- '-security$' <<<"$suites" | tr '\n' ' ' || true)

# Rewrite each deb822 stanza of the system's sources with our suites,
# keeping its URIs, components and Signed-By. Paragraph mode (RS="") reads
# one stanza per record, so the order of fields inside it does not matter.
awk -v security="$security" -v main="$main" '
BEGIN { RS = ""; FS = "\n" }
{
	sec = 0
	for (i = 1; i <= NF; i++) if ($i ~ /^URIs:/ && $i ~ /-security\/?$/) sec = 1
	want = sec ? security : main
	if (want ~ /^ *$/) next
	for (i = 1; i <= NF; i++) print ($i ~ /^Suites:/ ? "Suites: " want : $i)
	print ""
}' "$sources" >"$state/parts/vmtest.sources"

apt_opts=(
	-o Dir::Etc::SourceList=/dev/null
	-o "Dir::Etc::SourceParts=$state/parts"
	-o "Dir::State::Lists=$state/lists"
	-o "Dir::Cache=$state/cache"
	-o APT::Sandbox::User=root
)

if ! apt-get "${apt_opts[@]}" -qq --error-on=any update \
	-o Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false >&2; then
	if [ "${VMTEST_SKIP:-}" = 1 ]; then
		log "WARNING: the Debian archive cannot be reached; VMTEST_SKIP=1, so no kernels"
		exit 0
	fi
	log "the Debian archive cannot be reached (set VMTEST_SKIP=1 to skip the VM tests locally)"
	exit 1
fi

# resolve SUITE PACKAGE prints the concrete linux-image package that PACKAGE
# stands for in SUITE, following meta packages through their Depends.
resolve() {
	local suite=$1 pkg=$2 dep
	while :; do
		dep=$(apt-cache "${apt_opts[@]}" show "$pkg/$suite" 2>/dev/null |
			awk -F': ' '/^Depends:/ {print $2; exit}' | tr ',|' '\n\n' |
			grep -oE '^ *linux-image-[^ ]+' | tr -d ' ' | head -1) || true
		[ -n "$dep" ] || break
		pkg=$dep
	done
	apt-cache "${apt_opts[@]}" show "$pkg/$suite" >/dev/null 2>&1 || return 1
	echo "$pkg"
}

# download SUITE PACKAGE fetches PACKAGE from SUITE into the debs directory
# and prints the path of the .deb.
download() {
	(cd "$state/debs" && apt-get "${apt_opts[@]}" -qq download "$2/$1" >&2)
	echo "$state"/debs/"$2"_*.deb
}

# unpack DEB DIR PATTERN... extracts the members of a package that match
# the patterns into DIR, in one pass: the .deb is xz-compressed, and an
# old-style image package carries every module, so a pass costs seconds.
unpack() {
	local deb=$1 dir=$2
	shift 2
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dir" --wildcards "$@"
}

# extract SUITE KV fills CACHE/KV with what a guest on release KV needs:
#   vmlinuz    the image;
#   config     its build configuration, which the guest gets as
#              /boot/config-KV: twtrace reads CONFIG_HZ there, as on an
#              installed system (Debian has no /proc/config.gz);
#   modules/   the modules in $modules, numbered in load order: Debian
#              builds sock_diag for TCP as modules, and the guest has no
#              modprobe to load them on demand as an installed system does.
# Older packaging ships it all in linux-image-KV, under /boot and
# /lib/modules; from 6.19 on linux-image-KV is a stub that depends on
# linux-binary-KV (the image), linux-base-KV (the config) and
# linux-modules-KV, which keep them under /usr/lib/modules/KV.
extract() {
	local suite=$1 kv=$2 deb tmp root i m f
	local patterns=()
	for m in "${modules[@]}"; do patterns+=("*/modules/$kv/kernel/$m.ko*"); done
	rm -f "$state"/debs/*.deb
	tmp=$(mktemp -d "$cache/.extract.XXXXXX")
	deb=$(download "$suite" "linux-image-$kv")
	if dpkg-deb -f "$deb" Depends | grep -F "linux-binary-$kv" >/dev/null; then
		root=$tmp/usr/lib/modules/$kv
		unpack "$(download "$suite" "linux-base-$kv")" "$tmp" "./usr/lib/modules/$kv/config"
		unpack "$(download "$suite" "linux-binary-$kv")" "$tmp" "./usr/lib/modules/$kv/vmlinuz"
		unpack "$(download "$suite" "linux-modules-$kv")" "$tmp" "${patterns[@]}"
	else
		root=$tmp/boot
		unpack "$deb" "$tmp" "./boot/config-$kv" "./boot/vmlinuz-$kv" "${patterns[@]}"
		mv "$root/config-$kv" "$root/config"
		mv "$root/vmlinuz-$kv" "$root/vmlinuz"
	fi
	rm -rf "${cache:?}/$kv"
	mkdir -p "$cache/$kv/modules"
	i=0
	for m in "${modules[@]}"; do
		f=$(find "$tmp" -path "*/modules/$kv/kernel/$m.ko*" -print -quit)
		[ -n "$f" ] || { log "$kv: module $m not found"; exit 1; }
		mv "$f" "$cache/$kv/modules/$(printf %02d $i)-${f##*/}"
		i=$((i + 1))
	done
	mv "$root/config" "$cache/$kv/config"
	mv "$root/vmlinuz" "$cache/$kv/vmlinuz" # last: its presence marks a complete entry
	rm -rf "$tmp" "$state"/debs/*.deb
}

declare -A seen
# The list is read on fd 3 so that apt cannot swallow it from stdin.
while read -r suite pkg flag <&3; do
	case $suite in '' | '#'*) continue ;; esac
	if ! image=$(resolve "$suite" "$pkg"); then
		if [ "$flag" = optional ]; then
			log "$pkg is no longer in $suite; skipping it"
			continue
		fi
		log "$pkg is not in $suite"
		exit 1
	fi
	kv=${image#linux-image-}
	[ -z "${seen[$kv]:-}" ] || continue
	seen[$kv]=1
	if [ -s "$cache/$kv/vmlinuz" ]; then
		log "$kv: cached"
	else
		log "$kv: downloading from $suite"
		extract "$suite" "$kv"
	fi
	echo "$cache/$kv/vmlinuz"
done 3<"$list"
