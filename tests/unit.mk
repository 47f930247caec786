# Unit tests of the engine-side modules (cmocka).
UNIT_LDADD = src/libnetpol.la $(CMOCKA_LIBS) $(JANSSON_LIBS) $(YAML_LIBS)
UNIT_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)

check_PROGRAMS += tests/test-addr tests/test-labels tests/test-compile tests/test-engine tests/test-churn tests/test-source-dir tests/test-trace tests/test-np-log tests/test-compile-flags tests/test-np-util tests/test-http tests/test-rule-stats tests/test-audit-log tests/test-cnp
TESTS += tests/test-addr tests/test-labels tests/test-compile tests/test-engine tests/test-churn tests/test-source-dir tests/test-trace tests/test-np-log tests/test-compile-flags tests/test-np-util tests/test-http tests/test-rule-stats tests/test-audit-log tests/test-cnp

tests_test_addr_SOURCES = tests/test-addr.c
tests_test_addr_CFLAGS = $(UNIT_CFLAGS)
tests_test_addr_LDADD = $(UNIT_LDADD)

# --http's address, the Prometheus text, and the HTTP server on a loop,
# over TCP (the daemon's endpoint without a daemon).
tests_test_http_SOURCES = tests/test-http.c src/http.c include/http.h
tests_test_http_CFLAGS = $(UNIT_CFLAGS) $(MHD_CFLAGS)
tests_test_http_LDADD = $(UNIT_LDADD) $(MHD_LIBS) $(EV_LIBS) -lm

# Counters per rule and per default deny, across flow replacements.
tests_test_rule_stats_SOURCES = tests/test-rule-stats.c
tests_test_rule_stats_CFLAGS = $(UNIT_CFLAGS) $(JANSSON_CFLAGS)
tests_test_rule_stats_LDADD = $(UNIT_LDADD)

# The audit log's lines, folding, rotation and write errors.
tests_test_audit_log_SOURCES = tests/test-audit-log.c
tests_test_audit_log_CFLAGS = $(UNIT_CFLAGS) $(JANSSON_CFLAGS)
tests_test_audit_log_LDADD = $(UNIT_LDADD)

# ClusterNetworkPolicy objects: every CRD and CEL check, fail-closed peers.
tests_test_cnp_SOURCES = tests/test-cnp.c
tests_test_cnp_CFLAGS = $(UNIT_CFLAGS) $(JANSSON_CFLAGS)
tests_test_cnp_LDADD = $(UNIT_LDADD)

tests_test_np_util_SOURCES = tests/test-np-util.c
tests_test_np_util_CFLAGS = $(UNIT_CFLAGS)
tests_test_np_util_LDADD = $(UNIT_LDADD)

# Log lines stay one line each, whatever a message carries.
tests_test_np_log_SOURCES = tests/test-np-log.c
tests_test_np_log_CFLAGS = $(UNIT_CFLAGS) $(JANSSON_CFLAGS)
tests_test_np_log_LDADD = $(UNIT_LDADD)

tests_test_labels_SOURCES = tests/test-labels.c
tests_test_labels_CFLAGS = $(UNIT_CFLAGS)
tests_test_labels_LDADD = $(UNIT_LDADD)

tests_test_compile_SOURCES = tests/test-compile.c
tests_test_compile_CFLAGS = $(UNIT_CFLAGS)
tests_test_compile_LDADD = $(UNIT_LDADD)

# The compiler's flags, as both programs read them.
tests_test_compile_flags_SOURCES = tests/test-compile-flags.c
tests_test_compile_flags_CFLAGS = $(UNIT_CFLAGS)
tests_test_compile_flags_LDADD = $(UNIT_LDADD)

tests_test_engine_SOURCES = tests/test-engine.c
tests_test_engine_CFLAGS = $(UNIT_CFLAGS) $(JANSSON_CFLAGS)
tests_test_engine_LDADD = $(UNIT_LDADD)

# Randomized churn, incremental against full (CHURN_SEED, CHURN_EVENTS).
tests_test_churn_SOURCES = tests/test-churn.c
tests_test_churn_CFLAGS = $(UNIT_CFLAGS) $(JANSSON_CFLAGS)
tests_test_churn_LDADD = $(UNIT_LDADD)

tests_test_source_dir_SOURCES = tests/test-source-dir.c
tests_test_source_dir_CFLAGS = $(UNIT_CFLAGS)
tests_test_source_dir_LDADD = $(UNIT_LDADD) $(EV_LIBS)

# ofproto/trace outputs captured from a sandbox switch (see the test).
tests_test_trace_SOURCES = tests/test-trace.c
tests_test_trace_CFLAGS = $(UNIT_CFLAGS)
tests_test_trace_LDADD = $(UNIT_LDADD)
EXTRA_DIST += \
	tests/data/trace/allowed-ingress-rule.txt \
	tests/data/trace/allowed-none-isolated-udp.txt \
	tests/data/trace/denied-egress-default.txt \
	tests/data/trace/denied-egress-rule-ingress-default.txt \
	tests/data/trace/denied-from-local-nonnode.txt \
	tests/data/trace/denied-ingress-default.txt \
	tests/data/trace/denied-sctp-egress.txt \
	tests/data/trace/denied-spoof.txt \
	tests/data/trace/denied-unbound-port.txt \
	tests/data/trace/denied-port-no-flows.txt \
	tests/data/trace/foreign-no-match.txt

# The CLI as users see it: errors on bad input, flows for the rest.
TESTS += tests/cli-errors.sh
EXTRA_DIST += tests/cli-errors.sh tests/data/cli/mixed.yaml \
	tests/data/cli/ports-unbound.txt tests/data/cli/cnp-rule-name.yaml
