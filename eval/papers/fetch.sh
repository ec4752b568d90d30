#!/bin/sh
# Re-fetch the test-collection PDFs from Debian (bookworm) packages and check their SHA-256.
# The held-out papers of eval/papers (truth files here), fetched for the final check only.
# Usage: sh eval/papers/fetch.sh DEST
# Needs: apt-get (after 'apt-get update'), dpkg-deb, sha256sum. No root needed for download
# (apt-get download works as any user; as root it prints a harmless '_apt' sandbox warning).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
DEST=${1:?usage: sh eval/papers/fetch.sh DEST}
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
# ---- heldout
fetch zoo                    r-cran-zoo             1.8-11-1        usr/lib/R/site-library/zoo/doc/zoo.pdf
fetch sandwich               r-cran-sandwich        3.0-2-1         usr/lib/R/site-library/sandwich/doc/sandwich.pdf
fetch strucchange-intro      r-cran-strucchange     1.5-3-1         usr/lib/R/site-library/strucchange/doc/strucchange-intro.pdf
fetch vcd-residual-shadings  r-cran-vcd             1:1.4-11-1      usr/lib/R/site-library/vcd/doc/residual-shadings.pdf
fetch lme4-lmer              r-cran-lme4            1.1-31-1        usr/lib/R/site-library/lme4/doc/lmer.pdf
fetch mvtnorm-rnews          r-cran-mvtnorm         1.1-3-1+b1      usr/lib/R/site-library/mvtnorm/doc/MVT_Rnews.pdf
fetch rcpp-introduction      r-cran-rcpp            1.0.10-1        usr/lib/R/site-library/Rcpp/doc/Rcpp-introduction.pdf
fetch lmtest-intro           r-cran-lmtest          0.9.40-1        usr/lib/R/site-library/lmtest/doc/lmtest-intro.pdf
fetch oup-authoring-template texlive-publishers-doc 2022.20230122-4 $TL/oup-authoring-template/oup-authoring-template.pdf
fetch quantum-template       texlive-publishers-doc 2022.20230122-4 $TL/quantumarticle/quantum-template.pdf
cp "$HERE"/*.truth.json "$DEST"/
cd "$DEST" && sha256sum --quiet -c "$HERE/SHA256SUMS"
