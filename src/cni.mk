# ovs-netpol-cni, the chained CNI plugin (deploy/cni.md).  Its CNI side
# (src/libcniconf.la: JSON, jansson) and its OVSDB side (src/libcniovs.la:
# OVS's IDL) are separate libraries, as jansson and OVS's JSON headers
# must not meet in one file (DESIGN.md §4).
noinst_LTLIBRARIES += src/libcniconf.la
src_libcniconf_la_SOURCES = src/cni-conf.c include/cni-conf.h
src_libcniconf_la_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)

# The CNI side without a switch: parsing, versions, conversion, errors.
check_PROGRAMS += tests/test-cni-conf
TESTS += tests/test-cni-conf
tests_test_cni_conf_SOURCES = tests/test-cni-conf.c
tests_test_cni_conf_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(CMOCKA_CFLAGS)
tests_test_cni_conf_LDADD = src/libcniconf.la src/libnetpol.la \
	$(JANSSON_LIBS) $(CMOCKA_LIBS)

# The plugin and the runtime's side of its tests (tests/cni/run.sh, root,
# with a sandbox switch and ovs-netpold; not part of "make check").
EXTRA_DIST += \
	tests/cni/run.sh \
	tests/cni/README.md \
	tests/cni/chain.py \
	tests/cni/clib.py \
	tests/cni/np-test-main \
	tests/cni/t-cni.py \
	tests/cni/t-cni-newpod.py \
	deploy/cni.md

if HAVE_OVS
noinst_LTLIBRARIES += src/libcniovs.la
src_libcniovs_la_SOURCES = src/cni-ovsdb.c include/cni-ovsdb.h
src_libcniovs_la_CPPFLAGS = $(AM_CPPFLAGS) $(OVS_CPPFLAGS)

# The plugin runs on the host, copied there from the image (to
# /opt/cni/bin), not in the image: it is linked statically, so that it
# needs no library of the host's (CNI_LDFLAGS = -all-static, unless
# configure found that the compiler cannot, as with ASan).  (The linker warns that getaddrinfo()
# and dlopen() in a static program need the build's glibc at run time:
# only a "tcp:" remote given as a host name, or OpenSSL engines, would
# call them; the plugin takes "unix:" and "tcp:" with an address.)
bin_PROGRAMS += ovs-netpol-cni
ovs_netpol_cni_SOURCES = src/ovs-netpol-cni.c
# np-util (allocation, reading stdin) comes from libnetpol.
ovs_netpol_cni_LDADD = src/libcniovs.la src/libcniconf.la src/libnetpol.la \
	$(OVS_LIBS) $(JANSSON_LIBS)
ovs_netpol_cni_LDFLAGS = $(CNI_LDFLAGS)
endif
