# Tests of the Kubernetes API client (src/kube-client.c, src/kubeconfig.c).
#
# tests/test-kube-client alone runs the kubeconfig unit tests (fixtures are
# written to a temporary directory); tests/kube-client.sh starts
# tests/kube-apiserver-sim and runs them again with the client tests: list,
# pagination, watch events, bookmarks, sync, cut watches, 410 relists, 5xx
# and 429 backoff, garbage and oversized events, wrong tokens, TLS errors,
# invalid objects, ClusterNetworkPolicies with their CRD installed, absent,
# created and deleted (the CRD's YAML made JSON with python3-yaml).
# VALGRIND=1 runs it under valgrind.
check_PROGRAMS += tests/test-kube-client
TESTS += tests/test-kube-client tests/kube-client.sh
tests_test_kube_client_SOURCES = tests/test-kube-client.c
tests_test_kube_client_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) \
	$(JANSSON_CFLAGS) $(YAML_CFLAGS) $(CURL_CFLAGS)
tests_test_kube_client_LDADD = src/libkube.la src/libnetpol.la \
	$(CMOCKA_LIBS) $(JANSSON_LIBS) $(YAML_LIBS) $(CURL_LIBS) $(EV_LIBS)

# The Event recorder's logic (src/events.c) on a fake clock.
check_PROGRAMS += tests/test-events
TESTS += tests/test-events
tests_test_events_SOURCES = tests/test-events.c
tests_test_events_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(JANSSON_CFLAGS)
tests_test_events_LDADD = src/libkube.la src/libnetpol.la \
	$(CMOCKA_LIBS) $(JANSSON_LIBS) $(YAML_LIBS) $(CURL_LIBS) $(EV_LIBS)

EXTRA_DIST += tests/kube-client.sh tests/kube-apiserver-sim tests/sim/test-sim.sh tests/sim/test_sim.py tests/sim/README.md
EXTRA_DIST += tests/sim/crd-clusternetworkpolicies.yaml

# The daemon under kubectl, with real packets (run by tests/run-all.sh),
# under the RBAC of deploy/kubernetes.
EXTRA_DIST += tests/kube-e2e/run.sh tests/kube-e2e/run.py tests/kube-e2e/kubebed.py
EXTRA_DIST += deploy/kubernetes/README.md deploy/kubernetes/kustomization.yaml \
	deploy/kubernetes/namespace.yaml deploy/kubernetes/serviceaccount.yaml \
	deploy/kubernetes/clusterrole.yaml deploy/kubernetes/clusterrolebinding.yaml \
	deploy/kubernetes/configmap.yaml deploy/kubernetes/daemonset.yaml
