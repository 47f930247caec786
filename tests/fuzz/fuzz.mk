# The fuzz targets (tests/fuzz/README.md).  tests/fuzz/run.sh builds them
# with clang and libFuzzer (tests/fuzz/fuzz.make) and fuzzes them; here
# each is built with the ordinary compiler and a main() that runs it once
# per input (replay-main.c), and 'make check' replays the seed corpus and
# the regression inputs (tests/fuzz/replay.sh): a crash found by fuzzing
# stays fixed without clang.
FUZZ_REPLAY = tests/fuzz/replay-main.c tests/fuzz/fuzz.h

check_PROGRAMS += tests/fuzz/replay-manifest tests/fuzz/replay-trace \
	tests/fuzz/replay-kubeconfig tests/fuzz/replay-kube
tests_fuzz_replay_manifest_SOURCES = tests/fuzz/fuzz-manifest.c $(FUZZ_REPLAY)
tests_fuzz_replay_manifest_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tests_fuzz_replay_manifest_LDADD = src/libnetpol.la $(JANSSON_LIBS) \
	$(YAML_LIBS)
tests_fuzz_replay_trace_SOURCES = tests/fuzz/fuzz-trace.c $(FUZZ_REPLAY)
tests_fuzz_replay_trace_LDADD = src/libnetpol.la
tests_fuzz_replay_kubeconfig_SOURCES = tests/fuzz/fuzz-kubeconfig.c \
	$(FUZZ_REPLAY)
tests_fuzz_replay_kubeconfig_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) \
	$(YAML_CFLAGS)
tests_fuzz_replay_kubeconfig_LDADD = src/libkube.la src/libnetpol.la \
	$(JANSSON_LIBS) $(YAML_LIBS)
# fuzz-kube.c includes src/kube-client.c (its static functions are what
# it fuzzes), so it takes kubeconfig.c alone, not libkube.la.
tests_fuzz_replay_kube_SOURCES = tests/fuzz/fuzz-kube.c src/kubeconfig.c \
	$(FUZZ_REPLAY)
tests_fuzz_replay_kube_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) \
	$(YAML_CFLAGS) $(CURL_CFLAGS)
tests_fuzz_replay_kube_LDADD = src/libnetpol.la $(JANSSON_LIBS) \
	$(YAML_LIBS) $(CURL_LIBS) $(EV_LIBS)

if HAVE_OVS
# The checks that need OVS's flow parser, and the base cluster.
check_LTLIBRARIES = tests/fuzz/libfuzzcheck.la
tests_fuzz_libfuzzcheck_la_SOURCES = tests/fuzz/fuzz-ofcheck.c \
	tests/fuzz/fuzz-base.c tests/fuzz/fuzz-base.h
tests_fuzz_libfuzzcheck_la_CPPFLAGS = $(AM_CPPFLAGS) $(OVS_CPPFLAGS)

check_PROGRAMS += tests/fuzz/replay-compile tests/fuzz/replay-extids \
	tests/fuzz/replay-control
tests_fuzz_replay_compile_SOURCES = tests/fuzz/fuzz-compile.c $(FUZZ_REPLAY)
tests_fuzz_replay_compile_LDADD = tests/fuzz/libfuzzcheck.la \
	src/libnetpol.la $(OVS_LIBS) $(JANSSON_LIBS) $(YAML_LIBS)
tests_fuzz_replay_extids_SOURCES = tests/fuzz/fuzz-extids.c $(FUZZ_REPLAY)
tests_fuzz_replay_extids_LDADD = tests/fuzz/libfuzzcheck.la \
	src/libnetpol.la $(SWITCH_LIBS) $(JANSSON_LIBS) $(YAML_LIBS)
tests_fuzz_replay_extids_LDFLAGS = $(SWITCH_WRAP)
# fuzz-control.c includes src/daemon.c and stands in for src/control.c
# (libcontrol.la gives appctl.c only); libdaemon.la gives daemon-trace.c
# and the installer.
tests_fuzz_replay_control_SOURCES = tests/fuzz/fuzz-control.c \
	$(FUZZ_REPLAY)
tests_fuzz_replay_control_LDADD = tests/fuzz/libfuzzcheck.la \
	src/libdaemon.la src/libcontrol.la src/libkube.la src/libnetpol.la \
	$(SWITCH_LIBS) $(CURL_LIBS) $(JANSSON_LIBS) $(YAML_LIBS) $(EV_LIBS)
tests_fuzz_replay_control_LDFLAGS = $(SWITCH_WRAP)
endif

TESTS += tests/fuzz/replay.sh
EXTRA_DIST += tests/fuzz/replay.sh tests/fuzz/run.sh tests/fuzz/fuzz.make \
	tests/fuzz/README.md tests/fuzz/fuzz-options.c tests/ubsan.supp

# The seeds, dictionaries and regression inputs are data: ship them whole.
dist-hook: dist-fuzz
.PHONY: dist-fuzz
dist-fuzz:
	mkdir -p $(distdir)/tests/fuzz
	cp -pR $(srcdir)/tests/fuzz/corpus $(srcdir)/tests/fuzz/dict \
		$(distdir)/tests/fuzz/
	if [ -d $(srcdir)/tests/fuzz/regressions ]; then \
		cp -pR $(srcdir)/tests/fuzz/regressions $(distdir)/tests/fuzz/; \
	fi
