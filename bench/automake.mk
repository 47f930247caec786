# Benchmarks: not built, not run by 'make check'; shipped so that a tarball
# can reproduce the figures.  See bench/README.md.
EXTRA_DIST += \
	bench/README.md \
	bench/gen-cluster.py \
	bench/gen_cluster.py \
	bench/gen-except.py \
	bench/compile-bench.sh \
	bench/install-bench.sh \
	bench/datapath-bench.sh \
	bench/datapath_bench.py \
	bench/daemon-bench.sh \
	bench/daemon_bench.py \
	bench/test-gen-cluster.sh
