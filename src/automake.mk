# libnetpol: everything but main(), so that the tests link the same code.
noinst_LTLIBRARIES += src/libnetpol.la
src_libnetpol_la_SOURCES = \
	src/addr.c \
	src/audit-log.c \
	src/cli.c \
	src/cluster.c \
	src/cnp.c \
	src/compile.c \
	src/compile-ctx.h \
	src/compile-flows.c \
	src/compile-pipeline.c \
	src/compile-rules.c \
	src/compile-cnp.c \
	src/cnp-class.c \
	src/cnp-class.h \
	src/compile-select.c \
	src/compile-flags.c \
	src/compile-gen.h \
	src/incr.c \
	src/incr.h \
	src/engine.c \
	src/flowtab.c \
	src/labels.c \
	src/metrics.c \
	src/objects.c \
	src/objects-int.h \
	src/objects-json.c \
	src/objects-names.c \
	src/objects-read.c \
	src/rule-stats.c \
	src/strmap.c \
	src/np-log.c \
	src/np-util.c \
	src/source-dir.c \
	src/trace.c \
	src/yaml-json.c \
	include/addr.h \
	include/audit-log.h \
	include/cli.h \
	include/cluster.h \
	include/cnp.h \
	include/compile.h \
	include/compile-flags.h \
	include/cookie.h \
	include/engine.h \
	include/flowtab.h \
	include/k8s-names.h \
	include/labels.h \
	include/metrics.h \
	include/objects.h \
	include/pipeline.h \
	include/rule-stats.h \
	include/strmap.h \
	include/np-log.h \
	include/np-util.h \
	include/source-dir.h \
	include/trace.h \
	include/yaml-json.h
src_libnetpol_la_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(YAML_CFLAGS)
src_libnetpol_la_LIBADD = $(JANSSON_LIBS) $(YAML_LIBS) $(EV_LIBS) -lm

# The Kubernetes client: the API's list and watch over libcurl on libev,
# and kubeconfig.  No OVS, so built with or without it.
noinst_LTLIBRARIES += src/libkube.la
src_libkube_la_SOURCES = \
	src/kube-client.c \
	src/events.c \
	include/events.h \
	src/kubeconfig.c \
	include/kube-client.h \
	include/kubeconfig.h
src_libkube_la_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(CURL_CFLAGS)
src_libkube_la_LIBADD = $(CURL_LIBS)

bin_PROGRAMS += ovs-netpol
ovs_netpol_SOURCES = src/ovs-netpol.c
ovs_netpol_LDADD = src/libnetpol.la
if HAVE_OVS
# Talking to the daemon needs OVS's unixctl client.
ovs_netpol_SOURCES += src/cli-control.c
ovs_netpol_CPPFLAGS = $(AM_CPPFLAGS) $(OVS_CPPFLAGS)
ovs_netpol_LDADD += src/libcontrol.la $(SWITCH_LIBS)
ovs_netpol_LDFLAGS = $(SWITCH_WRAP)
else
# Without it, 'compile' only; the control commands say why not.
ovs_netpol_SOURCES += src/cli-control-stub.c
endif
