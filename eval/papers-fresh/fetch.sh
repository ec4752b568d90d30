#!/bin/sh
# Re-fetch the fresh held-out PDFs from Debian (bookworm) packages and check their SHA-256.
# A second held-out set (truth files here), written by hand before the extractor saw the papers;
# fetched for the final check only.
# Usage: sh eval/papers-fresh/fetch.sh DEST
# Needs: apt-get (after 'apt-get update'), dpkg-deb, sha256sum. No root needed for download
# (apt-get download works as any user; as root it prints a harmless '_apt' sandbox warning).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
DEST=${1:?usage: sh eval/papers-fresh/fetch.sh DEST}
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
# ---- fresh held-out
fetch pscl-countreg          r-cran-pscl            1.5.5-1+b1      $RL/pscl/doc/countreg.pdf
fetch kernlab                r-cran-kernlab         0.9-32-1        $RL/kernlab/doc/kernlab.pdf
fetch multcomp-generalsiminf r-cran-multcomp        1.4-22-1        $RL/multcomp/doc/generalsiminf.pdf
fetch quantreg-crq           r-cran-quantreg        5.94-1          $RL/quantreg/doc/crq.pdf
fetch rcpparmadillo-intro    r-cran-rcpparmadillo   0.12.0.1.0-1    $RL/RcppArmadillo/doc/RcppArmadillo-intro.pdf
fetch rcppgsl-intro          r-cran-rcppgsl         0.3.13-1        $RL/RcppGSL/doc/RcppGSL-intro.pdf
fetch vegan-decision         r-cran-vegan           2.6-4+dfsg-1    $RL/vegan/doc/decision-vegan.pdf
fetch asmeconf-template      texlive-publishers-doc 2022.20230122-4 $TL/asmeconf/asmeconf-template.pdf
fetch cmpj-template          texlive-publishers-doc 2022.20230122-4 $TL/cmpj/template.pdf
fetch dafx-two-authors       texlive-publishers-doc 2022.20230122-4 $TL/confproc/example/papers/p_005.pdf
cp "$HERE"/*.truth.json "$DEST"/
cd "$DEST" && sha256sum --quiet -c "$HERE/SHA256SUMS"
