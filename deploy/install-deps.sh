#!/bin/sh
# install-deps.sh: installs every Debian 12 package that ovs-netpol needs to
# build and test.  Run as root.  When everything is installed already it
# does nothing and needs no network, so it is cheap to run every time.
# Packages given as arguments are installed too (tests/fuzz/run.sh: clang;
# deploy/image/build.sh: mmdebstrap, podman, runc).
#
# There is no libopenvswitch -dev package in Debian: openvswitch-source
# brings the tarball that ovs/build-libovs.sh builds the library from.

set -eu

packages="
    autoconf automake libtool make gcc pkg-config binutils
    libjansson-dev libyaml-dev libev-dev libcmocka-dev libcurl4-openssl-dev
    libssl-dev libcap-ng-dev libmicrohttpd-dev openvswitch-source
    openvswitch-switch openvswitch-common
    iproute2 ethtool procps time python3 python3-yaml valgrind
    containernetworking-plugins
$*"

missing=
for pkg in $packages; do
    status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null) ||
        status=
    case $status in
        ii*) ;;
        *) missing="$missing $pkg" ;;
    esac
done

if [ -z "$missing" ]; then
    echo "install-deps: all packages are installed" >&2
    exit 0
fi

if [ "$(id -u)" != 0 ]; then
    echo "install-deps: run as root to install:$missing" >&2
    exit 1
fi

echo "install-deps: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update
# shellcheck disable=SC2086 # one word per package
apt-get install -y --no-install-recommends $missing
