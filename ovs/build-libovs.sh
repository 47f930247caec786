#!/bin/sh
# build-libovs.sh [CACHE_ROOT]
#
# Builds libopenvswitch from Debian's openvswitch-source tarball into a cache
# directory outside git and prints that directory as the last line of stdout.
# Pass it to configure as --with-ovs=DIR.  Progress and logs go to stderr.
#
# The build directory is CACHE_ROOT/libovs-<first 16 hex of the tarball's
# sha256>; CACHE_ROOT defaults to /var/cache/ovs-netpol.  A completed build
# is reused at once.  A stamp file, written last, marks completion: a build
# that was interrupted, or that was made by an older recipe, is thrown away
# and redone.  A lock serializes concurrent runs.
#
# The result, besides the ordinary build tree, is
# lib/.libs/libopenvswitch-renamed.a: libopenvswitch.a with the six JSON
# symbols that clash with jansson renamed to ovs_json_* (DESIGN.md §4).
#
# Environment: OVS_TARBALL overrides the tarball path; JOBS the make -j.

set -eu

tarball=${OVS_TARBALL:-/usr/src/openvswitch/openvswitch.tar.gz}
cache_root=${1:-/var/cache/ovs-netpol}
jobs=${JOBS:-2}

# Bump when the steps below change, so that old cached builds are redone.
# The configure options pin every optional library OVS would otherwise pick
# up by itself, so the link line in ovs/automake.mk stays right everywhere.
recipe="ovs-netpol libovs recipe 2"
configure_args="--enable-ssl --enable-libcapng --disable-afxdp
    --disable-dependency-tracking ac_cv_lib_unbound_ub_ctx_create=no CFLAGS=-O2"
clashing_syms="json_array json_equal json_integer json_object json_real
    json_string"

log() {
    echo "build-libovs: $*" >&2
}

die() {
    log "error: $*"
    exit 1
}

[ -r "$tarball" ] || die "$tarball not found (apt-get install openvswitch-source)"
for tool in sha256sum tar make cc objcopy nm flock; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found"
done

mkdir -p "$cache_root"
cache_root=$(cd "$cache_root" && pwd)
hash=$(sha256sum "$tarball" | cut -c1-16)
dir=$cache_root/libovs-$hash
stamp=$dir/.ovs-netpol-stamp
renamed=$dir/lib/.libs/libopenvswitch-renamed.a

is_done() {
    [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$recipe" ] && [ -f "$renamed" ]
}

# Fast path, without the lock.
if is_done; then
    log "reusing $dir"
    echo "$dir"
    exit 0
fi

exec 9>"$cache_root/.libovs-$hash.lock"
flock 9
if is_done; then
    log "reusing $dir (built by a concurrent run)"
    echo "$dir"
    exit 0
fi

start=$(date +%s)
log "building libopenvswitch from $tarball in $dir"
rm -rf "$dir" "$dir.unpack"
mkdir -p "$dir.unpack"
tar xzf "$tarball" -C "$dir.unpack"
[ -d "$dir.unpack/openvswitch" ] || die "unexpected layout in $tarball"
mv "$dir.unpack/openvswitch" "$dir"
rmdir "$dir.unpack"

cd "$dir"
log "configure $(echo $configure_args)"
# shellcheck disable=SC2086 # word splitting wanted
./configure $configure_args >configure.out 2>&1 ||
    { tail -n 30 configure.out >&2; die "configure failed (see $dir/configure.out)"; }

# The library's sources need these generated headers, which its own
# dependency list misses (OVS lists them in BUILT_SOURCES, which only
# "make all" honors): make them first.
log "make generated headers"
make include/odp-netlink.h include/odp-netlink-macros.h lib/vswitch-idl.h \
    lib/ovsdb-server-idl.h >&2 || die "make of generated headers failed"
log "make -j$jobs lib/libopenvswitch.la"
make -j"$jobs" lib/libopenvswitch.la >&2 || die "make lib/libopenvswitch.la failed"

# Rename the symbols that jansson also exports.
map=lib/.libs/ovs-netpol-json.map
: >"$map"
for sym in $clashing_syms; do
    echo "$sym ovs_$sym" >>"$map"
done
objcopy --redefine-syms="$map" lib/.libs/libopenvswitch.a "$renamed.tmp"
for sym in $clashing_syms; do
    if nm -g --defined-only "$renamed.tmp" 2>/dev/null |
            grep -q " T $sym\$"; then
        die "$sym is still defined in $renamed.tmp"
    fi
    nm -g --defined-only "$renamed.tmp" 2>/dev/null | grep -q " T ovs_$sym\$" ||
        die "ovs_$sym is not defined in $renamed.tmp"
done
mv "$renamed.tmp" "$renamed"

# What OVS's own programs link with, for reference.
sed -n 's/^LIBS = //p' Makefile >.ovs-netpol-libs
log "OVS LIBS: $(cat .ovs-netpol-libs)"

echo "$recipe" >"$stamp.tmp"
mv "$stamp.tmp" "$stamp"
log "done in $(( $(date +%s) - start )) s"
echo "$dir"
