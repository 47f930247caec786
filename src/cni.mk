# ovs-netpol-cni, the chained CNI plugin (deploy/cni.md).  Its CNI side
# (src/libcniconf.la: JSON, jansson) and its OVSDB side (src/libcniovs.la:
# OVS's IDL) are separate libraries, as jansson and OVS's JSON headers
# must not meet in one file (DESIGN.md §4).
#
# The plugin runs on the host, copied there from the image (to
# /opt/cni/bin), not in the image: it is linked statically, so that it
# needs no library of the host's.
if HAVE_OVS
noinst_LTLIBRARIES += src/libcniconf.la
src_libcniconf_la_SOURCES = src/cni-conf.c include/cni-conf.h
src_libcniconf_la_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)

noinst_LTLIBRARIES += src/libcniovs.la
src_libcniovs_la_SOURCES = src/cni-ovsdb.c include/cni-ovsdb.h
src_libcniovs_la_CPPFLAGS = $(AM_CPPFLAGS) $(OVS_CPPFLAGS)

bin_PROGRAMS += ovs-netpol-cni
ovs_netpol_cni_SOURCES = src/ovs-netpol-cni.c
# np-util (allocation, reading stdin) comes from libnetpol.
ovs_netpol_cni_LDADD = src/libcniovs.la src/libcniconf.la src/libnetpol.la \
	$(OVS_LIBS) $(JANSSON_LIBS)
ovs_netpol_cni_LDFLAGS = -all-static

# The CNI side without a switch: parsing, versions, errors.
check_PROGRAMS += tests/test-cni-conf
TESTS += tests/test-cni-conf
tests_test_cni_conf_SOURCES = tests/test-cni-conf.c
tests_test_cni_conf_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(CMOCKA_CFLAGS)
tests_test_cni_conf_LDADD = src/libcniconf.la src/libnetpol.la \
	$(JANSSON_LIBS) $(CMOCKA_LIBS)
endif
