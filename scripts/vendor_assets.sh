#!/usr/bin/env bash
# Vendor the web assets Jatigi serves itself (no CDN: the app must work with no internet).
#
# Fetches the pinned npm packages with `npm pack` into a temporary folder, checks each tarball
# against its pinned sha512 integrity, copies the files the pages use with each package's LICENSE
# into src/jatigi/web/static/vendor/, and rewrites VERSIONS.md there (versions, sha256, licences).
#
# To update: change a version below, run the script once with the new version and an empty
# integrity (it prints the tarball's integrity and stops), pin that integrity, run it again,
# then run the browser tests (`.venv/bin/pytest tests/browser`) and commit the result.
set -euo pipefail

HTMX_VERSION=2.0.11
HTMX_INTEGRITY=sha512-Thx/WtpeOQqSrqBCw/A1cwGJGg4UrVa3+sW0GmrM3p4gJgO89ecH4qtbnyzDDWFvBTqjnIMCgELTNt636dtamA==
LEAFLET_VERSION=1.9.4
LEAFLET_INTEGRITY=sha512-nxS1ynzJOmOlHp+iL3FyWqK89GtNL8U8rvlMOsQdTTssxZwCXh8N2NB3GDQOL+YR3XnWyZAxwQixURb+FA74PA==

cd "$(dirname "$0")/.."
DEST="$PWD/src/jatigi/web/static/vendor"

command -v npm >/dev/null 2>&1 || { echo "vendor_assets: npm is needed (apt-get install npm)" >&2; exit 1; }

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

integrity() {  # the npm "sha512-<base64>" integrity of a file
  printf 'sha512-%s' "$(openssl dgst -sha512 -binary "$1" | base64 -w0)"
}

# fetch NAME VERSION INTEGRITY: the package unpacked in $WORK/NAME/package
fetch() {
  local name=$1 version=$2 expected=$3 tarball actual
  tarball="$(cd "$WORK" && npm pack --silent "$name@$version" | tail -n 1)"
  actual="$(integrity "$WORK/$tarball")"
  if [ -z "$expected" ]; then
    echo "vendor_assets: $name@$version has integrity $actual: pin it in $0 and run again" >&2
    exit 1
  fi
  if [ "$actual" != "$expected" ]; then
    echo "vendor_assets: $name@$version: integrity $actual, expected $expected" >&2
    exit 1
  fi
  mkdir -p "$WORK/$name"
  tar -xzf "$WORK/$tarball" -C "$WORK/$name"
}

fetch htmx.org "$HTMX_VERSION" "$HTMX_INTEGRITY"
fetch leaflet "$LEAFLET_VERSION" "$LEAFLET_INTEGRITY"

HTMX="$WORK/htmx.org/package"
LEAFLET="$WORK/leaflet/package"

rm -rf "$DEST/htmx" "$DEST/leaflet"
mkdir -p "$DEST/htmx" "$DEST/leaflet/images"
# Files are copied byte for byte, so their sha256 can be checked against the published package.
install -m 644 "$HTMX/dist/htmx.min.js" "$HTMX/LICENSE" "$DEST/htmx/"
install -m 644 "$LEAFLET/dist/leaflet.js" "$LEAFLET/dist/leaflet.css" "$LEAFLET/LICENSE" "$DEST/leaflet/"
install -m 644 "$LEAFLET"/dist/images/*.png "$DEST/leaflet/images/"

rows() {  # rows PACKAGE VERSION LICENCE FILE...: one table row per file, paths relative to $DEST
  local package=$1 version=$2 licence=$3 file
  shift 3
  for file in "$@"; do
    printf '| %s | %s | `%s` | `%s` | %s | %s |\n' "$package" "$version" "$file" \
      "$(sha256sum "$DEST/$file" | cut -d' ' -f1)" "$(stat -c %s "$DEST/$file")" "$licence"
  done
}

{
  cat <<'EOF'
# Vendored web assets

Served by Jatigi itself with its static files: no page loads anything from another host. Each
file is the package's own, byte for byte, as published on the npm registry; each package's
licence is beside its files. Written by `scripts/vendor_assets.sh`: do not edit by hand.

| package | version | file | sha256 | bytes | licence |
| --- | --- | --- | --- | --- | --- |
EOF
  rows htmx.org "$HTMX_VERSION" 0BSD htmx/htmx.min.js htmx/LICENSE
  (cd "$DEST" && rows leaflet "$LEAFLET_VERSION" BSD-2-Clause leaflet/leaflet.js leaflet/leaflet.css \
    leaflet/LICENSE leaflet/images/*.png)
  cat <<EOF

npm tarball integrity: htmx.org@$HTMX_VERSION \`$HTMX_INTEGRITY\`;
leaflet@$LEAFLET_VERSION \`$LEAFLET_INTEGRITY\`.

\`leaflet.js\` ends with a \`sourceMappingURL\` comment; the map is not vendored (a browser asks
for it only while its developer tools are open).

## How to update

1. In \`scripts/vendor_assets.sh\`, set the new version (htmx stays on 2.x, Leaflet on 1.9.x
   unless the pages are ported) and empty its integrity.
2. Run \`scripts/vendor_assets.sh\`: it prints the new tarball's integrity. Pin it, run again.
3. Read the packages' changelogs, run \`.venv/bin/pytest tests/browser\`, and commit the script,
   the files and this file together.
EOF
} > "$DEST/VERSIONS.md"

echo "vendor_assets: htmx.org@$HTMX_VERSION and leaflet@$LEAFLET_VERSION in ${DEST#"$PWD"/}"
