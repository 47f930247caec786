#!/bin/sh
# deploy/image/build.sh — builds the ovs-netpol container image from Debian 12
# packages, with no container registry:
#
#   1. builds the tree (deploy/build.sh) and installs it into a staging
#      directory (make install-strip, prefix /usr);
#   2. makes a minimal bookworm root filesystem with mmdebstrap: the
#      Essential packages, the Debian packages that hold the shared
#      libraries our binaries need (read from their ELF NEEDED entries, so
#      the list follows the build), and openvswitch-common for ovs-ofctl and
#      ovs-appctl inside the pod; no apt, no documentation, no locales;
#   3. copies the staged install into it and imports the tarball with
#      `podman import` as localhost/ovs-netpol:VERSION;
#   4. saves it as an OCI archive, OUT/ovs-netpol-VERSION.oci.tar, which a
#      node loads with `podman load -i`, `ctr -n k8s.io images import` or
#      `skopeo copy oci-archive:... containers-storage:...`.
#
#   deploy/image/build.sh [--out DIR] [--no-podman]
#
# As root on Debian 12.  OUT defaults to deploy/image/out.  --no-podman stops
# after the root filesystem tarball (OUT/rootfs.tar).  The last lines give
# the sizes.  Environment: MIRROR (an apt sources file or a mirror URL;
# default: this host's Debian sources, so a proxy or mirror the host uses is
# used too), SOURCE_DATE_EPOCH (default: the last commit's time, so two
# builds of one commit give the same file list and times).
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
out=$top/deploy/image/out
use_podman=1
while [ $# -gt 0 ]; do
    case $1 in
        --out) out=$2; shift 2 ;;
        --no-podman) use_podman=; shift ;;
        -h|--help) sed -n '2,/^set -eu/p' "$0" | sed 's/^# \{0,1\}//;$d'; exit 0 ;;
        *) echo "build.sh: unknown argument: $1" >&2; exit 2 ;;
    esac
done

deploy/install-deps.sh mmdebstrap podman runc
deploy/build.sh >/dev/null

version=$(sed -n 's/^PACKAGE_VERSION = //p' Makefile)
[ -n "$version" ] || { echo "build.sh: no PACKAGE_VERSION in Makefile" >&2; exit 1; }
tag=localhost/ovs-netpol:$version
mkdir -p "$out"
out=$(cd "$out" && pwd)

work=$(mktemp -d /tmp/np-image.XXXXXX)
trap 'rm -rf "$work"' EXIT
stage=$work/stage

# --- 1. our files -----------------------------------------------------------
# prefix /usr so that the binaries are on the image's PATH; nothing of ours
# reads files below the prefix at run time (the paths the daemon uses, like
# /var/run/openvswitch and /var/run/ovs-netpol, are absolute).
make -s install-strip DESTDIR="$stage" prefix=/usr >/dev/null
# The DaemonSet and the docs call the daemon by name, from /usr/bin like the
# other programs.
if [ -x "$stage/usr/sbin/ovs-netpold" ] && [ ! -e "$stage/usr/bin/ovs-netpold" ]; then
    ln -s ../sbin/ovs-netpold "$stage/usr/bin/ovs-netpold"
fi
rm -rf "$stage/usr/share/doc" "$stage/usr/share/man"

# --- 2. the Debian packages they need ---------------------------------------
# A binary's NEEDED entries name its direct libraries; the package owning
# each (dpkg -S on the file the dynamic linker would load) brings the rest
# as its own dependencies.
packages=openvswitch-common
for f in $(find "$stage" -type f -perm -u+x); do
    [ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ] || continue
    for lib in $(objdump -p "$f" | awk '$1 == "NEEDED" { print $2 }'); do
        path=$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64|x86_64/ { print $NF; exit }')
        [ -n "$path" ] || { echo "build.sh: $f needs $lib, which this host lacks" >&2; exit 1; }
        real=$(readlink -f "$path")
        pkg=$(dpkg -S "$path" 2>/dev/null || dpkg -S "$real" 2>/dev/null ||
              dpkg -S "/usr$path" 2>/dev/null || dpkg -S "/usr$real" 2>/dev/null) || {
            echo "build.sh: no Debian package owns $path ($lib, needed by $f)" >&2
            exit 1
        }
        pkg=${pkg%%:*}
        case " $packages " in *" $pkg "*) ;; *) packages="$packages $pkg" ;; esac
    done
done
# shellcheck disable=SC2086
packages=$(printf '%s\n' $packages | sort -u | paste -sd, -)
echo "build.sh: packages: $packages" >&2

if [ -n "${MIRROR:-}" ]; then
    mirror=$MIRROR
elif [ -f /etc/apt/sources.list.d/debian.sources ]; then
    mirror=/etc/apt/sources.list.d/debian.sources
elif [ -s /etc/apt/sources.list ]; then
    mirror=/etc/apt/sources.list
else
    mirror=http://deb.debian.org/debian
fi
: "${SOURCE_DATE_EPOCH:=$(git log -1 --format=%ct 2>/dev/null || date +%s)}"
export SOURCE_DATE_EPOCH

# essential: the Essential:yes set (dash, coreutils, libc, dpkg's own files)
# and what --include adds; apt and its keyrings are left out. The merged-usr
# hook makes the /bin -> usr/bin links itself: otherwise the usrmerge package
# would do it and bring perl (55 MB). The excludes drop documentation and
# translations from every package as dpkg unpacks it. openvswitch-common
# brings python3 (40 MB) for its scripts; ovs-ofctl and ovs-appctl are C.
mmdebstrap --variant=essential --include="$packages" \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/lintian/*' \
    --customize-hook="sync-in $stage /" \
    --customize-hook='mkdir -p "$1/var/run/openvswitch" "$1/var/run/ovs-netpol" "$1/etc/ovs-netpol"' \
    --customize-hook='rm -rf "$1/var/cache/"* "$1/var/lib/apt/lists/"* "$1/var/log/"*' \
    --customize-hook='printf "ovs-netpol %s\n" "'"$version"'" >"$1/etc/ovs-netpol/image-version"' \
    --quiet bookworm "$work/rootfs.tar" "$mirror"
cp "$work/rootfs.tar" "$out/rootfs.tar"

if [ -z "$use_podman" ]; then
    ls -l "$out/rootfs.tar"
    exit 0
fi

# --- 3, 4. the image and its archive ----------------------------------------
podman rmi -f "$tag" >/dev/null 2>&1 || true
podman import \
    --change 'ENTRYPOINT ["/usr/bin/ovs-netpold"]' \
    --change 'WORKDIR /' \
    --change "LABEL org.opencontainers.image.title=ovs-netpol" \
    --change "LABEL org.opencontainers.image.version=$version" \
    --message "ovs-netpol $version from Debian 12 packages (deploy/image/build.sh)" \
    "$out/rootfs.tar" "$tag" >/dev/null
archive=$out/ovs-netpol-$version.oci.tar
rm -f "$archive"
podman save --format oci-archive -o "$archive" "$tag"

echo "image: $tag"
echo "archive: $archive"
printf 'size: %s bytes uncompressed (podman: %s), archive %s bytes\n' \
    "$(podman image inspect --format '{{.Size}}' "$tag")" \
    "$(podman images --format '{{.Size}}' "$tag")" \
    "$(stat -c %s "$archive")"
