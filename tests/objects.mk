# Unit tests of the objects module (objects.c) and of yaml-json.c, with
# their fixtures.  The test finds the fixtures through $srcdir, which the
# test driver exports, so it also runs from a VPATH build (distcheck).
check_PROGRAMS += tests/test-objects
TESTS += tests/test-objects
tests_test_objects_SOURCES = tests/test-objects.c
tests_test_objects_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(JANSSON_CFLAGS) \
	$(YAML_CFLAGS)
tests_test_objects_LDADD = src/libnetpol.la $(CMOCKA_LIBS) $(JANSSON_LIBS) \
	$(YAML_LIBS)

EXTRA_DIST += \
	tests/data/objects/README.md \
	tests/data/objects/broken-syntax.yaml \
	tests/data/objects/broken.json \
	tests/data/objects/list.json \
	tests/data/objects/mixed.yaml \
	tests/data/objects/multi.yaml \
	tests/data/objects/podlist.json \
	tests/data/objects/stream.json \
	tests/data/objects/test-network-policy.yaml
