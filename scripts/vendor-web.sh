#!/bin/sh
# vendor-web.sh fetches the released browser files the web UI uses
# (xterm.js and its addons; uPlot for the sensors' charts) from the npm
# registry and copies the few it needs into web/static/vendor/, with
# web/static/vendor/VERSIONS recording each package's version, the
# tarball's integrity and every copied file's sha256. The files are checked
# in, so `go build` needs neither Node nor the network; run this again only
# to change a version (edit the list below), then review the diff.
#
# age-encryption (typage, for decrypting run logs in the browser: castlog.js)
# ships ES modules that import its dependencies (@noble/*, @scure/base) by
# bare names, which a browser cannot resolve without a bundler or an import
# map (and an inline import map would need a hole in the pages'
# Content-Security-Policy). So the script installs it with its dependencies
# pinned (package.json below, overrides included, so that the nested copies
# are pinned too), walks the static imports from its dist/index.js, copies
# every module reached (and nothing else) to
# web/static/vendor/age-encryption/<package>/<path>, and rewrites each
# bare or relative specifier to the copied file's relative path. Only the
# specifiers change; VERSIONS records the rewritten files' sha256.
#
# Needs npm (for `npm pack` and `npm install`, which download and check the
# tarballs against the registry's integrity), node, tar and sha256sum.
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

# age-encryption and its dependencies, every version pinned.
AGE_PACKAGE_JSON='{
  "private": true,
  "dependencies": {
    "age-encryption": "0.3.1",
    "@noble/ciphers": "2.4.0",
    "@noble/curves": "2.4.0",
    "@noble/hashes": "2.4.0",
    "@noble/post-quantum": "0.5.4",
    "@scure/base": "2.4.0"
  },
  "overrides": {
    "@noble/post-quantum": { "@noble/curves": "2.0.1", "@noble/hashes": "2.0.1" }
  }
}'
mkdir -p "$work/age"
echo "$AGE_PACKAGE_JSON" >"$work/age/package.json"
(cd "$work/age" && npm install --silent --omit=dev --no-audit --no-fund >/dev/null)
node - "$work/age" "$vendor/age-encryption" <<'EOF' >"$work/age/copied"
// Walks the static imports from age-encryption's entry point, resolving
// them as Node does (node_modules up the tree, package.json "exports"),
// and writes each module with its specifiers made relative. Prints
// "package version copied-path" for every file written.
const fs = require('fs');
const path = require('path');
const [root, out] = process.argv.slice(2);
const importRE = /^(\s*(?:import|export)\s+(?:[^'";]*?\s+from\s+)?)(['"])([^'"]+)\2/gm;
const pkgOf = (file) => { // the package directory holding file
  let dir = path.dirname(file);
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir;
};
const outPath = (file) => { // where file goes under out: <package>/<path>
  const pdir = pkgOf(file);
  const pj = JSON.parse(fs.readFileSync(path.join(pdir, 'package.json')));
  const nested = path.relative(path.join(root, 'node_modules'), pdir).split(path.sep).filter((p) => p !== 'node_modules');
  const name = pj.name !== nested.join('/') ? pj.name + '@' + pj.version : pj.name; // a nested copy
  return { to: path.join(out, name, path.relative(pdir, file)), name: pj.name, version: pj.version, pdir };
};
const resolve = (from, spec) => {
  if (spec.startsWith('.')) return path.resolve(path.dirname(from), spec);
  const parts = spec.split('/');
  const name = spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  const sub = '.' + spec.slice(name.length);
  for (let dir = path.dirname(from); ; dir = path.dirname(dir)) {
    const pdir = path.join(dir, 'node_modules', name);
    if (fs.existsSync(pdir)) {
      const pj = JSON.parse(fs.readFileSync(path.join(pdir, 'package.json')));
      let target = pj.exports ? pj.exports[sub] : (sub === '.' ? (pj.module || pj.main || 'index.js') : sub);
      if (target && typeof target === 'object') target = target.import || target.default || target.browser;
      if (!target && !pj.exports && sub === '.') target = 'index.js';
      if (!target) throw new Error(`${from}: ${spec} is not exported by ${name}`);
      return path.join(pdir, target);
    }
    if (dir === path.dirname(dir)) throw new Error(`${from}: cannot find ${spec}`);
  }
};
const seen = new Set();
const licences = new Map();
const queue = [path.join(root, 'node_modules/age-encryption/dist/index.js')];
while (queue.length) {
  const file = queue.pop();
  if (seen.has(file)) continue;
  seen.add(file);
  const me = outPath(file);
  const text = fs.readFileSync(file, 'utf8').replace(importRE, (m, head, q, spec) => {
    const dep = resolve(file, spec);
    queue.push(dep);
    let rel = path.relative(path.dirname(me.to), outPath(dep).to).split(path.sep).join('/');
    if (!rel.startsWith('.')) rel = './' + rel;
    return head + q + rel + q;
  });
  if (/\bimport\s*\(/.test(text.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, ''))) throw new Error(`${file} has a dynamic import`);
  fs.mkdirSync(path.dirname(me.to), { recursive: true });
  fs.writeFileSync(me.to, text);
  console.log(`${me.name} ${me.version} ${path.relative(out, me.to)}`);
  const lic = path.join(me.pdir, 'LICENSE');
  if (!licences.has(lic) && fs.existsSync(lic)) {
    licences.set(lic, true);
    const to = path.join(path.dirname(outPath(path.join(me.pdir, 'package.json')).to), 'LICENSE');
    fs.copyFileSync(lic, to);
    console.log(`${me.name} ${me.version} ${path.relative(out, to)}`);
  }
}
EOF
sort -u "$work/age/copied" | while read -r name version file; do
	if [ "$name@$version" != "${last:-}" ]; then
		last="$name@$version"
		echo "$name $version $(npm view "$name@$version" dist.integrity)" >>"$vendor/VERSIONS"
	fi
	sum=$(sha256sum "$vendor/age-encryption/$file" | cut -d' ' -f1)
	echo "  age-encryption/$file $sum" >>"$vendor/VERSIONS"
done
echo "vendored age-encryption and $(sort -u "$work/age/copied" | wc -l) files of it and its dependencies into web/static/vendor/age-encryption"
