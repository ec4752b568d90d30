#!/bin/sh
# Re-fetch the third held-out set of PDFs from Debian (bookworm) packages and check their SHA-256.
# A third held-out set (truth files here), written by hand before the extractor saw the papers;
# fetched for the final check only.
# Usage: sh eval/papers-third/fetch.sh DEST
# Needs: apt-get (after 'apt-get update'), dpkg-deb, sha256sum. No root needed for download
# (apt-get download works as any user; as root it prints a harmless '_apt' sandbox warning).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
DEST=${1:?usage: sh eval/papers-third/fetch.sh DEST}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$DEST"

fetch() { # slug package version path-inside-deb
  slug=$1; pkg=$2; ver=$3; path=$4
  if [ ! -d "$TMP/x_$pkg" ]; then
    mkdir -p "$TMP/dl_$pkg"
    (cd "$TMP/dl_$pkg" && apt-get download -q "$pkg=$ver" >/dev/null)
    dpkg-deb -x "$TMP/dl_$pkg"/*.deb "$TMP/x_$pkg"
  fi
  cp "$TMP/x_$pkg/$path" "$DEST/$slug.pdf"
}

TL=usr/share/doc/texlive-doc/latex
RL=usr/lib/R/site-library
# ---- third held-out
fetch forecast-jss2008       r-cran-forecast        8.20-1          $RL/forecast/doc/JSS2008.pdf
fetch gstat-st-kriging       r-cran-gstat           2.1-0-1         $RL/gstat/doc/spatio-temporal-kriging.pdf
fetch fitdistrplus-jss       r-cran-fitdistrplus    1.1-8-1         $RL/fitdistrplus/doc/paper2JSS.pdf
fetch sparsem                r-cran-sparsem         1.81-1          $RL/SparseM/doc/SparseM.pdf
fetch nanotime-intro         r-cran-nanotime        0.3.7-1         $RL/nanotime/doc/nanotime-introduction.pdf
fetch jacow-template         texlive-publishers-doc 2022.20230122-4 $TL/jacow/JACoW_LaTeX_A4.pdf
fetch tugboat-authors-guide  texlive-publishers-doc 2022.20230122-4 $TL/tugboat/ltubguid.pdf
fetch ieeepes-doc            texlive-publishers-doc 2022.20230122-4 $TL/ieeepes/ieeepes_doc.pdf
fetch spie-article           texlive-publishers-doc 2022.20230122-4 $TL/spie/article.pdf
fetch aastex631-sample       texlive-publishers-doc 2022.20230122-4 $TL/aastex/sample631.pdf
cp "$HERE"/*.truth.json "$DEST"/
cd "$DEST" && sha256sum --quiet -c "$HERE/SHA256SUMS"
