#!/usr/bin/env bash
# fetch-kernels.sh CACHE [KERNELS]
#
# Fetches the Debian kernels listed in KERNELS (default: kernels.txt next to
# this script) into CACHE/<kernel release>/{vmlinuz,config} and prints the
# path of each vmlinuz, one a line, for `make vmtest` to boot. Progress goes
# to stderr.
#
# The suites (bullseye, trixie, sid ...) are reached through a private apt
# state under CACHE/apt whose sources are derived from the machine's own
# /etc/apt/sources.list.d/debian.sources, so the same mirror and keyring are
# used and the system's apt configuration is never touched. Only vmlinuz and
# the config are extracted: no modules are needed, because the guest runs
# from an initramfs and every driver it uses is built in.
#
# An unreachable archive is an error, so that CI cannot pass without having
# booted anything. VMTEST_SKIP=1 turns it into a warning and an empty list,
# for local runs without network.
set -euo pipefail

cache=${1:?usage: fetch-kernels.sh CACHE [KERNELS]}
list=${2:-$(dirname "$0")/kernels.txt}
sources=/etc/apt/sources.list.d/debian.sources
state=$cache/apt

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

# take DEB DIR MEMBER... extracts members of a package into DIR in one pass
# (the .deb is xz-compressed, and an old-style image package carries all
# the modules: reading it costs seconds), each under its base name.
take() {
	local deb=$1 dir=$2 tmp m
	shift 2
	tmp=$(mktemp -d "$cache/.extract.XXXXXX")
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" "$@"
	for m; do mv "$tmp/$m" "$dir/"; done
	rm -rf "$tmp"
}

# extract SUITE KV fetches the image of release KV into CACHE/KV/vmlinuz and
# its build configuration into CACHE/KV/config: the guest gets the latter as
# /boot/config-KV, where twtrace looks up CONFIG_HZ as on an installed system.
# Older packaging ships both in linux-image-KV under /boot; from 6.19 on
# linux-image-KV is a stub that depends on linux-binary-KV (the image) and
# linux-base-KV (the config), which keep them under /usr/lib/modules/KV.
extract() {
	local suite=$1 kv=$2 deb dir=$cache/$2
	rm -f "$state"/debs/*.deb
	mkdir -p "$dir"
	deb=$(download "$suite" "linux-image-$kv")
	if dpkg-deb -f "$deb" Depends | grep -F "linux-binary-$kv" >/dev/null; then
		take "$(download "$suite" "linux-base-$kv")" "$dir" "./usr/lib/modules/$kv/config"
		take "$(download "$suite" "linux-binary-$kv")" "$dir" "./usr/lib/modules/$kv/vmlinuz"
	else
		take "$deb" "$dir" "./boot/config-$kv" "./boot/vmlinuz-$kv"
		mv "$dir/config-$kv" "$dir/config"
		mv "$dir/vmlinuz-$kv" "$dir/vmlinuz"
	fi
	rm -f "$state"/debs/*.deb
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
	if [ -s "$cache/$kv/vmlinuz" ] && [ -s "$cache/$kv/config" ]; then
		log "$kv: cached"
	else
		log "$kv: downloading from $suite"
		extract "$suite" "$kv"
	fi
	echo "$cache/$kv/vmlinuz"
done 3<"$list"
