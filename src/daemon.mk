# ovs-netpold and the control socket.  The daemon needs libopenvswitch
# (configure --with-ovs, as deploy/build.sh does).
if HAVE_OVS
# The control socket speaks OVS's unixctl protocol: an OVS-side module.
noinst_LTLIBRARIES += src/libcontrol.la
src_libcontrol_la_SOURCES = src/control.c include/control.h \
	src/appctl.c include/appctl.h
src_libcontrol_la_CPPFLAGS = $(AM_CPPFLAGS) $(OVS_CPPFLAGS)

# The daemon's core: the glue (daemon.c), its trace command
# (daemon-trace.c), its stats command (daemon-stats.c) and the installer, which keeps the bridge's flows equal
# to the engine's table.  No OVS header, but it runs on the switch
# modules: a program that links it links, after it, libcontrol.la,
# libkube.la, libnetpol.la and $(SWITCH_LIBS) with $(SWITCH_WRAP).
noinst_LTLIBRARIES += src/libdaemon.la
src_libdaemon_la_SOURCES = \
	src/daemon.c \
	src/daemon-audit.c \
	src/daemon-http.c \
	src/daemon-stats.c \
	src/daemon-trace.c \
	src/http.c \
	src/installer.c \
	include/daemon.h \
	include/daemon-audit.h \
	include/daemon-http.h \
	include/daemon-stats.h \
	include/daemon-trace.h \
	include/http.h \
	include/installer.h
# The HTTP endpoint (http.c) is libmicrohttpd's server on our loop.
src_libdaemon_la_CFLAGS = $(AM_CFLAGS) $(MHD_CFLAGS)
src_libdaemon_la_LIBADD = $(MHD_LIBS)

sbin_PROGRAMS = ovs-netpold
ovs_netpold_SOURCES = src/ovs-netpold.c
ovs_netpold_LDADD = src/libdaemon.la src/libcontrol.la src/libkube.la \
	src/libnetpol.la $(SWITCH_LIBS) $(CURL_LIBS) $(JANSSON_LIBS) \
	$(YAML_LIBS) $(EV_LIBS) $(MHD_LIBS)
ovs_netpold_LDFLAGS = $(SWITCH_WRAP)

# Options and start-up checks, without a switch.
TESTS += tests/daemon-cli.sh
endif
EXTRA_DIST += tests/daemon-cli.sh
