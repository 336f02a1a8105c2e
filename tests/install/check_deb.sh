#!/usr/bin/env bash
# ctest's Install.DebianPackageHoldsThePackage: `cpack -G DEB` in the build directory makes a .deb whose
# files are the installed package under /usr (headers, liblagvk.so with its SONAME link, the CLI and its
# assets, the CMake package, lagvk.pc), nothing internal, and whose Depends come from its binaries.
# usage: check_deb.sh BUILD_DIR LIBDIR
set -euo pipefail
build=$1 libdir=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/lagvk-deb-XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
cpack --config "$build/CPackConfig.cmake" -G DEB -B "$work" >"$work/cpack.log" || { cat "$work/cpack.log"; fail "cpack -G DEB failed"; }
debs=("$work"/*.deb)
[ ${#debs[@]} -eq 1 ] && [ -f "${debs[0]}" ] || fail "cpack made no single .deb: $(ls "$work")"
deb=${debs[0]}
dpkg-deb -c "$deb" | awk '{print $6}' | grep -v '/$' | sed 's|^\./||' | sort >"$work/files.txt"
for f in usr/include/lagvk/lagvk.h "usr/$libdir/liblagvk.so" "usr/$libdir/liblagvk.so.0.2" usr/bin/lagvk \
         "usr/$libdir/cmake/lagvk/lagvkConfig.cmake" "usr/$libdir/cmake/lagvk/lagvkConfigVersion.cmake" \
         "usr/$libdir/pkgconfig/lagvk.pc" usr/share/lagvk/kb/demo.json; do
  grep -qx "$f" "$work/files.txt" || fail "the package lacks /$f; it holds:
$(cat "$work/files.txt")"
done
unexpected=$(grep -Ev "^usr/(include/lagvk/lagvk\.h(pp)?|$libdir/liblagvk\.(so(\.[0-9]+)*|a)|bin/lagvk|share/lagvk/.+|$libdir/cmake/lagvk/[A-Za-z-]+\.cmake|$libdir/pkgconfig/lagvk\.pc)$" "$work/files.txt" || true)
[ -z "$unexpected" ] || fail "the package holds files an app should not see:
$unexpected"
[ "$(dpkg-deb -f "$deb" Package)" = lagvk ] || fail "the package is not named lagvk"
depends=$(dpkg-deb -f "$deb" Depends)
[[ $depends == *libvulkan1* ]] || fail "the package's Depends lack the Vulkan loader: '$depends'"
echo "$(basename "$deb"): $(wc -l <"$work/files.txt") files; Depends: $depends"
