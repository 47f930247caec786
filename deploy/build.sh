#!/bin/sh
# build.sh: builds ovs-netpol from a clean clone on Debian 12, as root:
# installs the packages, builds libopenvswitch into its cache (reused when
# already built), configures against it and runs make.  Repeated runs are
# incremental.  The OVS build directory is written to .ovs-build.
#
# Environment: OVS_CACHE (default /var/cache/ovs-netpol) is where
# libopenvswitch is built; JOBS (default 2) the make -j.

set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=${JOBS:-2}

deploy/install-deps.sh

out=$(ovs/build-libovs.sh ${OVS_CACHE:+"$OVS_CACHE"})
ovs_build=$(printf '%s\n' "$out" | tail -n 1)
[ -f "$ovs_build/lib/.libs/libopenvswitch-renamed.a" ] || {
    echo "build: ovs/build-libovs.sh gave no usable build" >&2
    exit 1
}
echo "$ovs_build" >.ovs-build

if [ ! -x configure ] || [ configure -ot configure.ac ]; then
    autoreconf -fi
fi
# Configure again unless the last run used this OVS build and configure
# has not changed since; make itself reruns configure when its inputs
# change.
configured_with() {
    [ -f config.status ] && [ -f Makefile ] &&
        [ ! config.status -ot configure ] || return 1
    case " $(./config.status --config | tr -d "'") " in
        *" --with-ovs=$1 "*) return 0 ;;
    esac
    return 1
}
if ! configured_with "$ovs_build"; then
    ./configure --with-ovs="$ovs_build"
fi

make -j"$jobs"
