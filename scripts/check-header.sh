#!/usr/bin/env bash
# Regenerates the C header of crates/capi with cbindgen and fails if the committed
# crates/capi/include/edge_kernels.h differs (CI). `--write` updates the committed header.
# Installs cbindgen (pinned) with cargo if it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

version=0.29.4
if ! command -v cbindgen >/dev/null || ! cbindgen --version | grep -q " $version\$"; then
  cargo install cbindgen --locked --version "$version"
fi
header=crates/capi/include/edge_kernels.h
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
# cbindgen warns about the crate's private statics: not part of the API.
(cd crates/capi && cbindgen --quiet --config cbindgen.toml --crate edge-kernels-capi --output "$tmp")
if [ "${1:-}" = "--write" ]; then
  cp "$tmp" "$header"
  echo "check-header.sh: wrote $header"
  exit 0
fi
if ! diff -u "$header" "$tmp"; then
  echo "check-header.sh: $header is stale; run scripts/check-header.sh --write and commit it" >&2
  exit 1
fi
echo "check-header.sh: $header is current"
