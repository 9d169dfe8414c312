#!/bin/sh
# Builds the policy package with the distribution's reference-policy devel
# Makefile, which insists on compiling in the directory holding the sources.
# usage: build_module.sh DEVEL_MAKEFILE OUTDIR SOURCE...
set -eu
makefile=$1 outdir=$2
shift 2
cp "$@" "$outdir/"
cd "$outdir"
make -s -f "$makefile" lockbox.pp >build.log 2>&1 || { cat build.log >&2; exit 1; }
