# The switch side of the daemon: ovs-loop (OVS's poll loop inside libev),
# switch-of (OpenFlow bundles to the bridge) and switch-db (port bindings
# from OVSDB); the installer on top of them is in src/libdaemon.la
# (src/daemon.mk).  Their headers expose no OVS type; all three include
# OVS headers.  They never include jansson: libopenvswitch-renamed.a
# has its json_* renamed, but OVS's <openvswitch/json.h> and <jansson.h>
# still clash on the JSON_* enumerators.
#
# Include from Makefile.am after ovs/automake.mk (it needs OVS_CPPFLAGS and
# OVS_LIBS):
#     include ovs/switch.mk
if HAVE_OVS
noinst_LTLIBRARIES += src/libswitch.la
src_libswitch_la_SOURCES = \
	src/ovs-loop.c \
	src/switch-db.c \
	src/switch-of.c \
	include/ovs-loop.h \
	include/switch-db.h \
	include/switch-of.h
src_libswitch_la_CPPFLAGS = $(AM_CPPFLAGS) $(OVS_CPPFLAGS)

# A program that uses the switch modules links
#     LDADD = $(SWITCH_LIBS)    LDFLAGS = $(SWITCH_WRAP)
# The --wrap options send libopenvswitch's poll-loop wait requests to
# ovs-loop.c (DESIGN.md §4 (a)); they must be on the final link of every
# such program.  libswitch.la comes before libopenvswitch, whose objects
# reference the __wrap_ functions: ovs-loop.o is always pulled in, since
# switch_of_create() and switch_db_create() call ovs_loop_register().
SWITCH_WRAP = \
	-Wl,--wrap=poll_fd_wait_at \
	-Wl,--wrap=poll_timer_wait_at \
	-Wl,--wrap=poll_timer_wait_until_at \
	-Wl,--wrap=poll_immediate_wake_at
SWITCH_LIBS = src/libswitch.la $(OVS_LIBS) -lev -lpthread

# tests/switch-test.sh starts a sandbox switch (root; skips otherwise) and
# runs tests/test-switch against it: bundles, atomic failure,
# replace-by-cookie, flow monitor, port bindings, the installer, an
# ovs-vswitchd restart, and a 100,000-flow bundle.
check_PROGRAMS += tests/test-switch
tests_test_switch_SOURCES = tests/test-switch.c
# The installer comes from libdaemon, its flow tables and clock from
# libnetpol.
tests_test_switch_LDADD = src/libdaemon.la $(SWITCH_LIBS) src/libnetpol.la \
	$(JANSSON_LIBS) $(YAML_LIBS)
tests_test_switch_LDFLAGS = $(SWITCH_WRAP)
TESTS += tests/switch-test.sh
EXTRA_DIST += tests/switch-test.sh
endif
