#!/bin/sh
# vendor-web.sh fetches the released browser files the web UI uses
# (xterm.js and its addons; uPlot for the sensors' charts) from the npm
# registry and copies the few it needs into web/static/vendor/, with
# web/static/vendor/VERSIONS recording each package's version, the
# tarball's integrity and every copied file's sha256. The files are checked
# in, so `go build` needs neither Node nor the network; run this again only
# to change a version (edit the list below), then review the diff.
#
# Needs npm (for `npm pack`, which downloads and checks the tarball against
# the registry's integrity), tar and sha256sum.
set -eu

# name@version  files to copy (paths inside the package)  destination
PACKAGES='
@xterm/xterm@6.0.0             lib/xterm.mjs css/xterm.css LICENSE        xterm
@xterm/addon-fit@0.11.0        lib/addon-fit.mjs LICENSE                  xterm-addon-fit
@xterm/addon-web-links@0.12.0  lib/addon-web-links.mjs LICENSE            xterm-addon-web-links
@xterm/addon-search@0.16.0     lib/addon-search.mjs LICENSE               xterm-addon-search
uplot@1.6.32                   dist/uPlot.esm.js dist/uPlot.min.css LICENSE  uplot
'

root=$(cd "$(dirname "$0")/.." && pwd)
vendor="$root/web/static/vendor"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

rm -rf "$vendor"
mkdir -p "$vendor"
{
	echo "# Vendored by scripts/vendor-web.sh from the npm registry; do not edit."
	echo "# package version tarball-integrity, then: file sha256"
} >"$vendor/VERSIONS"

echo "$PACKAGES" | while read -r spec rest; do
	[ -n "$spec" ] || continue
	set -- $rest
	dest=$(eval echo "\${$#}")
	name=${spec%@*}
	version=${spec##*@}
	mkdir -p "$work/$dest" "$vendor/$dest"
	(cd "$work/$dest" && npm pack --silent "$spec" >tarball)
	tgz="$work/$dest/$(cat "$work/$dest/tarball")"
	integrity=$(npm view "$spec" dist.integrity)
	tar -xzf "$tgz" -C "$work/$dest"
	echo "$name $version $integrity" >>"$vendor/VERSIONS"
	while [ $# -gt 1 ]; do
		file=$1
		shift
		cp "$work/$dest/package/$file" "$vendor/$dest/"
		base=$(basename "$file")
		sum=$(sha256sum "$vendor/$dest/$base" | cut -d' ' -f1)
		echo "  $dest/$base $sum" >>"$vendor/VERSIONS"
	done
	echo "vendored $name $version into web/static/vendor/$dest"
done
