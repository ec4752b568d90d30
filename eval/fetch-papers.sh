#!/bin/sh
# Fetch a held-out set of article PDFs from Debian (bookworm) packages, with its truth files,
# and check their SHA-256. The set's papers.txt lists, one a line: slug, package, version, and
# the PDF's path inside the package.
# Usage: sh eval/fetch-papers.sh SET DEST   (SET: eval/papers, eval/papers-fresh, ...)
# Needs: apt-get (after 'apt-get update'), dpkg-deb, sha256sum. No root needed for download
# (apt-get download works as any user; as root it prints a harmless '_apt' sandbox warning).
set -eu
SET=$(cd "${1:?usage: sh eval/fetch-papers.sh SET DEST}" && pwd)
DEST=${2:?usage: sh eval/fetch-papers.sh SET DEST}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$DEST"

grep -v '^#' "$SET/papers.txt" | while read -r slug pkg ver path; do
  [ -n "$slug" ] || continue
  if [ ! -d "$TMP/x_$pkg" ]; then
    mkdir -p "$TMP/dl_$pkg"
    (cd "$TMP/dl_$pkg" && apt-get download -q "$pkg=$ver" >/dev/null)
    dpkg-deb -x "$TMP/dl_$pkg"/*.deb "$TMP/x_$pkg"
  fi
  cp "$TMP/x_$pkg/$path" "$DEST/$slug.pdf"
done
cp "$SET"/*.truth.json "$DEST"/
cd "$DEST" && sha256sum --quiet -c "$SET/SHA256SUMS"
