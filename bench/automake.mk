# Benchmarks: not run by 'make check'; shipped so that a tarball can
# reproduce the figures.  See bench/README.md.

# One event through the engine, for profiles (bench/profile-event.sh).
# Built with everything else so that it follows the engine's interface.
noinst_PROGRAMS += bench/engine-event
bench_engine_event_SOURCES = bench/engine-event.c
bench_engine_event_CFLAGS = $(AM_CFLAGS)
bench_engine_event_LDADD = src/libnetpol.la

EXTRA_DIST += \
	bench/README.md \
	bench/gen_cluster.py \
	bench/gen-except.py \
	bench/compile-bench.sh \
	bench/install-bench.sh \
	bench/datapath-bench.sh \
	bench/datapath_bench.py \
	bench/daemon-bench.sh \
	bench/daemon_bench.py \
	bench/clusters.py \
	bench/profile-event.sh \
	bench/profile_event.py \
	bench/issue8-table.sh \
	bench/issue8_table.py \
	bench/metrics-scrape.sh \
	bench/metrics_scrape.py \
	bench/test-gen-cluster.sh \
	bench/cnp-bench.sh \
	bench/cnp_bench.py
