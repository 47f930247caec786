# ovs-netpold and the control socket.  The daemon needs libopenvswitch
# (configure --with-ovs, as deploy/build.sh does).
if HAVE_OVS
# The control socket speaks OVS's unixctl protocol: an OVS-side module.
noinst_LTLIBRARIES += src/libcontrol.la
src_libcontrol_la_SOURCES = src/control.c include/control.h \
	src/appctl.c include/appctl.h
src_libcontrol_la_CPPFLAGS = $(AM_CPPFLAGS) $(OVS_CPPFLAGS)

sbin_PROGRAMS = ovs-netpold
ovs_netpold_SOURCES = src/ovs-netpold.c src/daemon.c include/daemon.h \
	include/daemon-trace.h src/daemon-trace.c
ovs_netpold_LDADD = src/libcontrol.la src/libkube.la src/libnetpol.la \
	$(SWITCH_LIBS) $(CURL_LIBS) $(JANSSON_LIBS) $(YAML_LIBS) $(EV_LIBS)
ovs_netpold_LDFLAGS = $(SWITCH_WRAP)

# Options and start-up checks, without a switch.
TESTS += tests/daemon-cli.sh
endif
EXTRA_DIST += tests/daemon-cli.sh
