#!/usr/bin/env bash
# Builds the C API (release) and installs the header, the static and shared libraries and a
# pkg-config file under PREFIX (default /usr/local), so a C or C++ project links it with
#   cc app.c $(pkg-config --cflags --libs edge_kernels)            # shared
#   cc app.c $(pkg-config --cflags --libs --static edge_kernels)   # static (with -static or the .a)
# CMake: find_package(PkgConfig) + pkg_check_modules(EK REQUIRED IMPORTED_TARGET edge_kernels)
# then target_link_libraries(app PRIVATE PkgConfig::EK).
#
#   scripts/install-capi.sh [PREFIX]
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${1:-/usr/local}
profile=${CAPI_PROFILE:-release}
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
cargo build -q --profile "$profile" -p edge-kernels-capi
install -d "$prefix/include" "$prefix/lib/pkgconfig"
install -m 644 crates/capi/include/edge_kernels.h "$prefix/include/"
install -m 644 "target/$profile/libedge_kernels.a" "$prefix/lib/"
install -m 755 "target/$profile/libedge_kernels.so" "$prefix/lib/"
sed -e "s|@PREFIX@|$prefix|" -e "s|@VERSION@|$version|" crates/capi/edge_kernels.pc.in \
  > "$prefix/lib/pkgconfig/edge_kernels.pc"
echo "install-capi.sh: installed into $prefix (PKG_CONFIG_PATH=$prefix/lib/pkgconfig)"
