/* Unit tests of cni-conf.c: what ovs-netpol-cni reads from the runtime
 * (environment, configuration, prevResult) and what it answers, without
 * a switch.  tests/cni/ drives the whole plugin with a switch. */
#define _GNU_SOURCE 1    /* asprintf() */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cni-conf.h"

#define ENV_ADD(ARGS) { "CNI_COMMAND=ADD", "CNI_CONTAINERID=c0ffee",    \
                        "CNI_NETNS=/run/netns/p", "CNI_IFNAME=eth0",    \
                        "CNI_PATH=/opt/cni/bin", ARGS, NULL }
#define POD_ARGS "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=x;" \
                 "K8S_POD_NAME=web-1;K8S_POD_INFRA_CONTAINER_ID=c0ffee"

static const char prev_v1[] =
    "{\"cniVersion\":\"1.0.0\",\"name\":\"net\",\"type\":\"ovs-netpol-cni\","
    "\"prevResult\":{\"cniVersion\":\"1.0.0\","
    "\"interfaces\":[{\"name\":\"veth1\",\"mac\":\"0a:58:0a:09:01:05\"},"
    "{\"name\":\"eth0\",\"mac\":\"0a:58:0a:09:01:06\","
    "\"sandbox\":\"/run/netns/p\"}],"
    "\"ips\":[{\"address\":\"10.9.1.5/24\",\"gateway\":\"10.9.1.1\","
    "\"interface\":1},{\"address\":\"fd00:9:1::5/64\",\"interface\":1}],"
    "\"routes\":[{\"dst\":\"0.0.0.0/0\"}],\"dns\":{}}}";

static struct cni_error *
parse(char *const *env, const char *input, struct cni_request *req)
{
    return cni_request_parse(env, input, strlen(input), req);
}

/* Asserts an error 'code' whose details contain 'needle'. */
static void
expect_error(char *const *env, const char *input, int code,
             const char *needle)
{
    struct cni_request req;
    struct cni_error *e = parse(env, input, &req);
    if (!e) {
        fail_msg("no error, expected %d (%s)", code, needle);
    }
    if (e->code != code || !strstr(e->details, needle)) {
        fail_msg("error %d \"%s\", expected %d with \"%s\"", e->code,
                 e->details, code, needle);
    }
    cni_error_destroy(e);
    cni_request_destroy(&req);
}

static void
test_add_v1(void **state)
{
    char *env[] = ENV_ADD(POD_ARGS);
    struct cni_request req;
    struct cni_error *e = parse(env, prev_v1, &req);
    assert_null(e);
    assert_int_equal(req.command, CNI_CMD_ADD);
    assert_string_equal(req.iface_id, "x_web-1");
    assert_string_equal(req.owner, "c0ffee/eth0");
    assert_string_equal(req.addresses, "10.9.1.5/24 fd00:9:1::5/64");
    assert_int_equal(req.n_host_ifaces, 1);
    assert_string_equal(req.host_ifaces[0], "veth1");
    assert_string_equal(req.ovsdb, CNI_DEFAULT_OVSDB);
    assert_string_equal(req.bridge, "br-int");
    assert_true(req.timeout == 30.0);

    /* The result is prevResult. */
    json_t *in = json_loads(prev_v1, 0, NULL);
    json_t *out = json_loads(req.output, 0, NULL);
    assert_non_null(out);
    assert_true(json_equal(json_object_get(in, "prevResult"), out));
    json_decref(in);
    json_decref(out);
    cni_request_destroy(&req);
}

static void
test_convert(void **state)
{
    /* A 1.0.0 prevResult under a 0.4.0 configuration gets the IPs'
     * versions; a 0.4.0 one under 1.0.0 loses them. */
    char *env[] = ENV_ADD(POD_ARGS);
    char *conf = strdup(prev_v1);
    memcpy(strstr(conf, "1.0.0"), "0.4.0", 5);
    struct cni_request req;
    assert_null(parse(env, conf, &req));
    json_t *out = json_loads(req.output, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(out, "cniVersion")),
                        "0.4.0");
    json_t *ips = json_object_get(out, "ips");
    assert_string_equal(json_string_value(json_object_get(
        json_array_get(ips, 0), "version")), "4");
    assert_string_equal(json_string_value(json_object_get(
        json_array_get(ips, 1), "version")), "6");
    cni_request_destroy(&req);

    /* And back. */
    char *s = json_dumps(out, 0);
    char *conf2 = NULL;
    assert_true(asprintf(&conf2, "{\"cniVersion\":\"1.0.0\",\"name\":\"n\","
                         "\"type\":\"t\",\"prevResult\":%s}", s) > 0);
    assert_null(parse(env, conf2, &req));
    json_t *back = json_loads(req.output, 0, NULL);
    json_t *want = json_loads(prev_v1, 0, NULL);
    assert_true(json_equal(back, json_object_get(want, "prevResult")));
    json_decref(back);
    json_decref(want);
    json_decref(out);
    cni_request_destroy(&req);
    free(s);
    free(conf2);
    free(conf);

    /* 0.2.0 cannot be converted. */
    conf = strdup(prev_v1);
    memcpy(strstr(strstr(conf, "prevResult"), "1.0.0"), "0.2.0", 5);
    expect_error(env, conf, CNI_ERR_INCOMPATIBLE_VERSION,
                 "prevResult.cniVersion");
    free(conf);
}

static void
test_version(void **state)
{
    char *env[] = { "CNI_COMMAND=VERSION", NULL };
    struct cni_request req;
    assert_null(parse(env, "{\"cniVersion\":\"0.4.0\"}", &req));
    json_t *out = json_loads(req.output, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(out, "cniVersion")),
                        "0.4.0");
    json_t *list = json_object_get(out, "supportedVersions");
    assert_int_equal(json_array_size(list), 4);
    assert_string_equal(json_string_value(json_array_get(list, 3)), "1.0.0");
    json_decref(out);
    cni_request_destroy(&req);
}

static void
test_errors(void **state)
{
    char *env[] = ENV_ADD(POD_ARGS);
    expect_error(env, "{\"cniVersion\":", CNI_ERR_DECODE, "line 1");
    expect_error(env, "[1]", CNI_ERR_DECODE, "JSON object");
    expect_error(env, "{\"name\":\"n\",\"type\":\"t\"}",
                 CNI_ERR_INVALID_CONFIG, "cniVersion: missing");
    expect_error(env, "{\"cniVersion\":\"9.9.9\",\"name\":\"n\"}",
                 CNI_ERR_INCOMPATIBLE_VERSION, "\"9.9.9\" is not supported");
    expect_error(env, "{\"cniVersion\":\"1.0.0\",\"name\":\"n\","
                 "\"type\":\"t\"}", CNI_ERR_INVALID_CONFIG,
                 "prevResult: missing");
    expect_error(env, "{\"cniVersion\":\"1.0.0\",\"name\":\"n\","
                 "\"type\":\"t\",\"timeout\":0,\"prevResult\":{}}",
                 CNI_ERR_INVALID_CONFIG, "timeout: 0");
    expect_error(env, "{\"cniVersion\":\"1.0.0\",\"name\":\"n\","
                 "\"type\":\"t\",\"ovsdb\":\"ssl:1.2.3.4:6640\","
                 "\"prevResult\":{}}", CNI_ERR_UNSUPPORTED_FIELD,
                 "ovsdb: \"ssl:1.2.3.4:6640\"");
    expect_error(env, "{\"cniVersion\":\"1.0.0\",\"name\":\"n\","
                 "\"type\":\"t\",\"ovsdb\":\"tcp:ovs.example:6640\","
                 "\"prevResult\":{}}", CNI_ERR_UNSUPPORTED_FIELD,
                 "tcp:IP:PORT");
    {
        struct cni_request req;
        char *conf = NULL;
        assert_true(asprintf(&conf, "%.*s\"ovsdb\":\"tcp:[fd00::1]:6640\","
                             "%s", 59, prev_v1, prev_v1 + 59) > 0);
        struct cni_error *e = parse(env, conf, &req);
        assert_null(e);
        assert_string_equal(req.ovsdb, "tcp:[fd00::1]:6640");
        cni_request_destroy(&req);
        free(conf);
    }
    expect_error(env, "{\"cniVersion\":\"1.0.0\",\"name\":\"n\","
                 "\"type\":\"t\",\"prevResult\":{\"interfaces\":[],"
                 "\"ips\":[{\"address\":\"10.1.1.300/24\"}]}}",
                 CNI_ERR_INVALID_CONFIG, "prevResult.ips[0].address");
    expect_error(env, "{\"cniVersion\":\"1.0.0\",\"name\":\"n\","
                 "\"type\":\"t\",\"prevResult\":{\"interfaces\":["
                 "{\"name\":\"eth0\",\"sandbox\":\"/x\"}],"
                 "\"ips\":[{\"address\":\"10.1.1.3/24\"}]}}",
                 CNI_ERR_INVALID_CONFIG, "no host-side interface");
    expect_error(env, "{\"cniVersion\":\"1.0.0\",\"name\":\"n\","
                 "\"type\":\"t\",\"prevResult\":{\"interfaces\":["
                 "{\"name\":\"veth1\"}]}}",
                 CNI_ERR_INVALID_CONFIG, "prevResult.ips: no address");

    /* An address on a host-side interface is not the pod's. */
    {
        struct cni_request req;
        assert_null(parse(env, "{\"cniVersion\":\"1.0.0\",\"name\":\"n\","
                          "\"type\":\"t\",\"prevResult\":{\"interfaces\":["
                          "{\"name\":\"cni0\"},{\"name\":\"veth1\"},"
                          "{\"name\":\"eth0\",\"sandbox\":\"/n\"}],\"ips\":["
                          "{\"address\":\"10.1.0.1/16\",\"interface\":0},"
                          "{\"address\":\"10.1.0.5/16\",\"interface\":2}]}}",
                          &req));
        assert_string_equal(req.addresses, "10.1.0.5/16");
        assert_int_equal(req.n_host_ifaces, 2);
        cni_request_destroy(&req);
    }
    expect_error(env, "{\"cniVersion\":\"1.0.0\",\"name\":\"n\","
                 "\"type\":\"t\",\"prevResult\":{\"interfaces\":["
                 "{\"name\":\"veth1\"}],\"ips\":[{\"address\":"
                 "\"10.1.1.3/24\",\"interface\":3}]}}",
                 CNI_ERR_INVALID_CONFIG, "prevResult.ips[0].interface");

    char *bad_ns[] = ENV_ADD("CNI_ARGS=K8S_POD_NAMESPACE=X_y;K8S_POD_NAME=a");
    expect_error(bad_ns, prev_v1, CNI_ERR_INVALID_ENV,
                 "K8S_POD_NAMESPACE=\"X_y\"");
    char *bad_pod[] = ENV_ADD("CNI_ARGS=K8S_POD_NAMESPACE=x;K8S_POD_NAME=-a");
    expect_error(bad_pod, prev_v1, CNI_ERR_INVALID_ENV, "K8S_POD_NAME=\"-a\"");
    char *no_pod[] = ENV_ADD("CNI_ARGS=K8S_POD_NAMESPACE=x");
    expect_error(no_pod, prev_v1, CNI_ERR_INVALID_ENV, "K8S_POD_NAME: missing");
    char *bad_args[] = ENV_ADD("CNI_ARGS=K8S_POD_NAMESPACE=x;junk");
    expect_error(bad_args, prev_v1, CNI_ERR_INVALID_ENV,
                 "CNI_ARGS: \"junk\" is not KEY=VALUE");
    char *no_netns[] = { "CNI_COMMAND=ADD", "CNI_CONTAINERID=c",
                         "CNI_IFNAME=eth0", POD_ARGS, NULL };
    expect_error(no_netns, prev_v1, CNI_ERR_INVALID_ENV, "CNI_NETNS: missing");
    char *bad_cmd[] = { "CNI_COMMAND=GC", NULL };
    expect_error(bad_cmd, prev_v1, CNI_ERR_INVALID_ENV, "CNI_COMMAND: \"GC\"");
    char *check3[] = { "CNI_COMMAND=CHECK", "CNI_CONTAINERID=c",
                       "CNI_NETNS=/n", "CNI_IFNAME=eth0", POD_ARGS, NULL };
    expect_error(check3, "{\"cniVersion\":\"0.3.1\",\"name\":\"n\","
                 "\"type\":\"t\"}", CNI_ERR_INCOMPATIBLE_VERSION,
                 "CHECK needs version 0.4.0");
}

static void
test_del_lenient(void **state)
{
    /* DEL cleans up without prevResult, without CNI_NETNS and with
     * CNI_ARGS it cannot use. */
    char *env[] = { "CNI_COMMAND=DEL", "CNI_CONTAINERID=c0ffee",
                    "CNI_IFNAME=eth0", "CNI_ARGS=junk", NULL };
    struct cni_request req;
    struct cni_error *e = parse(env, "{\"cniVersion\":\"1.0.0\","
                                "\"name\":\"n\",\"type\":\"t\"}", &req);
    assert_null(e);
    assert_null(req.iface_id);
    assert_false(req.has_prev_result);
    assert_string_equal(req.owner, "c0ffee/eth0");
    assert_null(req.output);
    cni_request_destroy(&req);
}

static void
test_error_json(void **state)
{
    struct cni_error *e = cni_error_create(7, "bad", "field %s", "x");
    char *s = cni_error_to_json(e, "0.4.0");
    json_t *o = json_loads(s, 0, NULL);
    assert_int_equal(json_integer_value(json_object_get(o, "code")), 7);
    assert_string_equal(json_string_value(json_object_get(o, "cniVersion")),
                        "0.4.0");
    assert_string_equal(json_string_value(json_object_get(o, "msg")), "bad");
    assert_string_equal(json_string_value(json_object_get(o, "details")),
                        "field x");
    json_decref(o);
    free(s);
    cni_error_destroy(e);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_v1),
        cmocka_unit_test(test_convert),
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_del_lenient),
        cmocka_unit_test(test_error_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
