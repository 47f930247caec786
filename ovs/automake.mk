# libopenvswitch, built outside the tree by ovs/build-libovs.sh from Debian's
# openvswitch-source and found through ./configure --with-ovs=DIR.
# deploy/build.sh does both.
dist_noinst_SCRIPTS += \
	ovs/build-libovs.sh \
	deploy/install-deps.sh \
	deploy/build.sh
# tests/cli-errors.sh compiles them.
EXTRA_DIST += \
	deploy/examples/cluster.yaml \
	deploy/examples/default-deny-other.yaml \
	deploy/examples/test-network-policy.yaml

if HAVE_OVS
# OVS configures in its source tree, so the build tree holds the headers
# too: config.h at the top, the public ones in include/, the internal and
# generated ones in lib/.  A file that includes OVS headers includes
# <config.h> first, or OVS's struct layouts silently differ.
#
# Our include/ comes earlier in the search path (automake's
# DEFAULT_INCLUDES) and has its own util.h: include OVS's as "lib/util.h".
OVS_CPPFLAGS = -I$(OVS_BUILD) -I$(OVS_BUILD)/include -I$(OVS_BUILD)/lib

# The six JSON symbols that jansson also defines are renamed to ovs_json_*
# in this copy of the library (DESIGN.md §4).  The libraries after it are
# libopenvswitch.la's dependency_libs.
OVS_LIBS = $(OVS_BUILD)/lib/.libs/libopenvswitch-renamed.a \
	$(OPENSSL_LIBS) -lcap-ng -latomic -lm

# Let "make distcheck" build and run the OVS tests as well.
AM_DISTCHECK_CONFIGURE_FLAGS = --with-ovs=$(OVS_BUILD)

# np-ofparse FILE: checks flows in ovs-ofctl add-flows syntax for OpenFlow
# 1.5 without a switch.
check_PROGRAMS += tests/np-ofparse
tests_np_ofparse_SOURCES = tests/np-ofparse.c
tests_np_ofparse_CPPFLAGS = $(OVS_CPPFLAGS)
tests_np_ofparse_LDADD = $(OVS_LIBS)

# Proves that json_object() and friends are jansson's and that OVS's JSON
# still works.
check_PROGRAMS += tests/test-json-symbols
TESTS += tests/test-json-symbols
tests_test_json_symbols_SOURCES = tests/test-json-symbols.c
tests_test_json_symbols_CPPFLAGS = $(OVS_CPPFLAGS)
tests_test_json_symbols_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) \
	$(CMOCKA_CFLAGS)
tests_test_json_symbols_LDADD = $(OVS_LIBS) $(JANSSON_LIBS) $(CMOCKA_LIBS)
endif
