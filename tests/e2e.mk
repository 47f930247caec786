# Real-packet end-to-end tests: pods as network namespaces on a userspace
# Open vSwitch (ovs/sandbox.sh), listeners and probes from tests/np-probe,
# cases driven by tests/e2e/run-cases.py.  They need root and are not part of
# 'make check':
#     make check-e2e          (= tests/run-e2e.sh from the build directory)
# See tests/e2e/README.md.
check_PROGRAMS += tests/np-probe
tests_np_probe_SOURCES = tests/np-probe.c

EXTRA_DIST += \
	tests/e2e/conj-limit.sh \
	tests/e2e/established.sh \
	tests/e2e/gen-many-rules.py \
	tests/e2e/long-lived.py \
	ovs/sandbox.sh \
	tests/run-e2e.sh \
	tests/e2e/README.md \
	tests/e2e/run-cases.py \
	tests/e2e/selftest/ct-table.flows \
	tests/e2e/selftest/ct-table.json \
	tests/e2e/selftest/gen-ct-table.py

.PHONY: check-e2e
check-e2e: ovs-netpol$(EXEEXT) tests/np-probe$(EXEEXT)
	$(srcdir)/tests/run-e2e.sh $(E2EFLAGS)

# The corpus and its oracle are data: ship them whole.
dist-hook: dist-corpus
.PHONY: dist-corpus
dist-corpus:
	mkdir -p $(distdir)/tests
	cp -pR $(srcdir)/tests/cases $(srcdir)/tests/oracle $(srcdir)/tests/daemon $(distdir)/tests/
	rm -rf $(distdir)/tests/oracle/__pycache__

# Several nodes: tests/multinode/run.sh (see tests/multinode/README.md).
EXTRA_DIST += \
	tests/multinode/README.md \
	tests/multinode/run.sh \
	tests/multinode/mnlib.py \
	tests/multinode/corpus.py \
	tests/multinode/t-restart.py
