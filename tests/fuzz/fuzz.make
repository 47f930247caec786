# Builds the libFuzzer targets with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer, against the same libopenvswitch as the
# project (deploy/build.sh writes its path to .ovs-build).  Run by
# tests/fuzz/run.sh, which sets TOP (the source tree, configured) and B
# (the build directory):
#     make -f tests/fuzz/fuzz.make TOP=$PWD B=tests/fuzz/build -j2
# The project's own objects are built again here with coverage
# instrumentation (-fsanitize=fuzzer-no-link); only the targets are linked
# with libFuzzer's main.

TOP ?= .
B ?= $(TOP)/tests/fuzz/build
OVS ?= $(shell cat $(TOP)/.ovs-build)

CC = clang
# UBSan's checks stay recoverable so that tests/ubsan.supp can suppress a
# known report; UBSAN_OPTIONS=halt_on_error=1 (fuzz-options.c) makes every
# other one fatal.
SAN = -fsanitize=address,undefined
CFLAGS = -std=gnu11 -g -O1 -fno-omit-frame-pointer $(SAN) \
	-fsanitize=fuzzer-no-link -Wall -Wno-unused-parameter \
	-Wno-sign-compare -Werror=implicit-function-declaration
CPPFLAGS = -I$(TOP)/include -I$(TOP)/tests/fuzz \
	$(shell pkg-config --cflags jansson yaml-0.1 libcurl)
# As ovs/automake.mk: only the files that include OVS headers get them.
OVS_CPPFLAGS = -I$(OVS) -I$(OVS)/include -I$(OVS)/lib
LDFLAGS = $(SAN) -fsanitize=fuzzer
LIBS = $(shell pkg-config --libs jansson yaml-0.1) -lev
# As OVS_LIBS in ovs/automake.mk and SWITCH_WRAP in ovs/switch.mk.
OVS_LIBS = $(OVS)/lib/.libs/libopenvswitch-renamed.a \
	$(shell pkg-config --libs openssl) -lcap-ng -latomic -lm -lpthread
SWITCH_WRAP = -Wl,--wrap=poll_fd_wait_at -Wl,--wrap=poll_timer_wait_at \
	-Wl,--wrap=poll_timer_wait_until_at -Wl,--wrap=poll_immediate_wake_at
CURL_LIBS = $(shell pkg-config --libs libcurl)
MHD_LIBS = $(shell pkg-config --libs libmicrohttpd)

# src/automake.mk's libnetpol, without the CLI.
NETPOL = addr cluster compile compile-cnp cnp-class compile-flows compile-pipeline compile-rules \
	compile-select engine flowtab incr labels objects objects-json \
	objects-names objects-read metrics rule-stats strmap np-log np-util \
	source-dir trace yaml-json audit-log cnp
SWITCH = installer ovs-loop switch-db switch-of
OVS_SIDE = $(SWITCH) appctl fuzz-ofcheck

TARGETS = manifest compile kube kubeconfig extids control trace
all: $(TARGETS:%=$(B)/fuzz-%)

# Flags live here: a change of this file rebuilds everything.
$(B)/obj/%.o: $(TOP)/src/%.c $(TOP)/tests/fuzz/fuzz.make
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(if $(filter $*,$(OVS_SIDE)),$(OVS_CPPFLAGS)) \
		$(CFLAGS) -MMD -MP -c $< -o $@
$(B)/obj/%.o: $(TOP)/tests/fuzz/%.c $(TOP)/tests/fuzz/fuzz.make
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(if $(filter $*,$(OVS_SIDE)),$(OVS_CPPFLAGS)) \
		$(CFLAGS) -MMD -MP -c $< -o $@

# Archives, so that the linker takes what it needs, as from the .la files
# (np-util.c's weak x*alloc() give way to libopenvswitch's).
$(B)/libnetpol.a: $(NETPOL:%=$(B)/obj/%.o)
	rm -f $@ && ar rcs $@ $^
$(B)/libswitch.a: $(SWITCH:%=$(B)/obj/%.o)
	rm -f $@ && ar rcs $@ $^
$(B)/libkube.a: $(B)/obj/kube-client.o $(B)/obj/kubeconfig.o $(B)/obj/events.o
	rm -f $@ && ar rcs $@ $^
$(B)/libappctl.a: $(B)/obj/appctl.o
	rm -f $@ && ar rcs $@ $^
$(TARGETS:%=$(B)/fuzz-%): $(B)/obj/fuzz-options.o

$(B)/fuzz-manifest: $(B)/obj/fuzz-manifest.o $(B)/libnetpol.a
	$(CC) $(LDFLAGS) $^ $(LIBS) -o $@
$(B)/fuzz-trace: $(B)/obj/fuzz-trace.o $(B)/libnetpol.a
	$(CC) $(LDFLAGS) $^ $(LIBS) -o $@
$(B)/fuzz-kubeconfig: $(B)/obj/fuzz-kubeconfig.o $(B)/obj/kubeconfig.o \
		$(B)/libnetpol.a
	$(CC) $(LDFLAGS) $^ $(LIBS) -o $@
# fuzz-kube.c includes src/kube-client.c.
$(B)/fuzz-kube: $(B)/obj/fuzz-kube.o $(B)/obj/kubeconfig.o $(B)/libnetpol.a
	$(CC) $(LDFLAGS) $^ $(LIBS) $(CURL_LIBS) -o $@
$(B)/fuzz-compile: $(B)/obj/fuzz-compile.o $(B)/obj/fuzz-base.o \
		$(B)/obj/fuzz-ofcheck.o $(B)/libnetpol.a
	$(CC) $(LDFLAGS) $^ $(OVS_LIBS) $(LIBS) -o $@
$(B)/fuzz-extids: $(B)/obj/fuzz-extids.o $(B)/obj/fuzz-base.o \
		$(B)/obj/fuzz-ofcheck.o $(B)/libswitch.a $(B)/libnetpol.a
	$(CC) $(LDFLAGS) $(SWITCH_WRAP) $^ $(OVS_LIBS) $(LIBS) -o $@
# fuzz-control.c includes src/daemon.c and stands in for src/control.c;
# daemon.c starts the HTTP endpoint (daemon-http.c, http.c) with --http,
# serves `stats` (daemon-stats.c), sends Events (events.c, in libkube) and
# writes the audit log (daemon-audit.c).
$(B)/fuzz-control: $(B)/obj/fuzz-control.o $(B)/obj/daemon-trace.o \
		$(B)/obj/daemon-stats.o $(B)/obj/daemon-audit.o \
		$(B)/obj/daemon-http.o $(B)/obj/http.o \
		$(B)/obj/fuzz-base.o $(B)/obj/fuzz-ofcheck.o $(B)/libkube.a \
		$(B)/libappctl.a $(B)/libswitch.a $(B)/libnetpol.a
	$(CC) $(LDFLAGS) $(SWITCH_WRAP) $^ $(OVS_LIBS) $(LIBS) $(CURL_LIBS) \
		$(MHD_LIBS) -o $@

-include $(wildcard $(B)/obj/*.d)
.PHONY: all
