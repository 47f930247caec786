/* Tests of kubeconfig.c and kube-client.c.
 *
 *   test-kube-client                  kubeconfig unit tests only (make check)
 *   test-kube-client --sim KUBECONFIG the same, then the client against a
 *       --cnp-crd FILE                running API server stand-in, with the
 *                                     ClusterNetworkPolicy CRD of FILE (JSON)
 *                                     installed, and without it
 *       [--quiet-sim KUBECONFIG]      and kube_client_sync() against a
 *                                     second one that sends no bookmarks
 *
 * tests/kube-client.sh starts the stand-ins (tests/kube-apiserver-sim) and
 * runs the second form.  The client tests share the server: each one makes
 * its own namespace and client, and compares what its receiver holds with
 * what the server lists, whole.  Faults go through the stand-in's
 * POST /sim/fault. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <curl/curl.h>
#include <ev.h>
#include <jansson.h>
#include "cnp.h"
#include "kube-client.h"
#include "kubeconfig.h"
#include "np-util.h"
#include "objects.h"
#include "strmap.h"

/* ClusterNetworkPolicies, and their CRD. */
#define CNP_PATH "/apis/policy.networking.k8s.io/v1alpha2/" \
    "clusternetworkpolicies"
#define CRD_PATH "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
#define CNP_CRD_NAME "clusternetworkpolicies.policy.networking.k8s.io"

static char *tmpdir;

static char *
tmp_path(const char *name)
{
    return xasprintf("%s/%s", tmpdir, name);
}

static void
write_file(const char *path, const char *content)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(content, f);
    assert_int_equal(fclose(f), 0);
}

/* Writes 'content' to 'name' in the temporary directory; returns the
 * path. */
static char *
write_tmp(const char *name, const char *content)
{
    char *path = tmp_path(name);
    write_file(path, content);
    return path;
}

static char *
base64(const char *s)
{
    static const char digits[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t len = strlen(s);
    char *out = xmalloc(len / 3 * 4 + 5);
    char *p = out;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (unsigned char) s[i] << 16;
        if (i + 1 < len) {
            v |= (unsigned char) s[i + 1] << 8;
        }
        if (i + 2 < len) {
            v |= (unsigned char) s[i + 2];
        }
        *p++ = digits[v >> 18];
        *p++ = digits[(v >> 12) & 63];
        *p++ = i + 1 < len ? digits[(v >> 6) & 63] : '=';
        *p++ = i + 2 < len ? digits[v & 63] : '=';
    }
    *p = '\0';
    return out;
}

/* PEM-shaped text: kubeconfig.c checks the armor, libcurl the rest. */
#define CA_PEM \
    "-----BEGIN CERTIFICATE-----\nMIIBca\n-----END CERTIFICATE-----\n"
#define CERT_PEM \
    "-----BEGIN CERTIFICATE-----\nMIIBcert\n-----END CERTIFICATE-----\n"
#define KEY_PEM \
    "-----BEGIN EC PRIVATE KEY-----\nMHcCAQ\n-----END EC PRIVATE KEY-----\n"

/* Parses 'text' as the kubeconfig 'name' of the temporary directory. */
static char *
parse_config(const char *name, const char *text, const char *context,
             struct kube_config **cfg)
{
    char *path = write_tmp(name, text);
    char *error = kube_config_load(path, context, cfg);
    free(path);
    return error;
}

/* Checks that 'text' fails with "PATH: 'expected'". */
static void
assert_config_error(const char *text, const char *expected)
{
    struct kube_config *cfg;
    char *error = parse_config("bad.yaml", text, NULL, &cfg);
    assert_null(cfg);
    assert_non_null(error);
    char *path = tmp_path("bad.yaml");
    char *full = xasprintf("%s: %s", path, expected);
    if (strcmp(error, full)) {
        print_error("expected: %s\n     got: %s\n", full, error);
    }
    assert_string_equal(error, full);
    free(full);
    free(path);
    free(error);
}

/* Unit tests: kubeconfig. */

static void
test_base64(void **state)
{
    static const struct {
        const char *in, *out;
    } good[] = {
        { "", "" }, { "Zg==", "f" }, { "Zm8=", "fo" }, { "Zm9v", "foo" },
        { "Zm9vYg", "foob" }, { "Zm9v\nYmFy\r\n", "foobar" },
        { "  Zm9vYmE=  ", "fooba" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
        char *data;
        size_t size;
        char *error = kube_base64_decode(good[i].in, strlen(good[i].in),
                                         &data, &size);
        assert_null(error);
        assert_int_equal(size, strlen(good[i].out));
        assert_string_equal(data, good[i].out);
        free(data);
    }

    static const struct {
        const char *in, *error;
    } bad[] = {
        { "Zm9v%", "bad character '%' at offset 4" },
        { "Zg==Zg==", "data after padding at offset 4" },
        { "Z", "truncated (the length is not a multiple of 4)" },
        { "Zg=", "truncated (the length is not a multiple of 4)" },
        { "Zm\x01", "bad byte 0x01 at offset 2" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        char *data = (char *) "x";
        size_t size;
        char *error = kube_base64_decode(bad[i].in, strlen(bad[i].in),
                                         &data, &size);
        assert_non_null(error);
        assert_string_equal(error, bad[i].error);
        assert_null(data);
        free(error);
    }
}

/* Every field as inline data, and current-context resolution among
 * several contexts. */
static void
test_config_data(void **state)
{
    char *ca = base64(CA_PEM);
    char *cert = base64(CERT_PEM);
    char *key = base64(KEY_PEM);
    char *text = xasprintf(
        "apiVersion: v1\n"
        "kind: Config\n"
        "clusters:\n"
        "- name: other\n"
        "  cluster:\n"
        "    server: https://other.example:6443\n"
        "- name: prod\n"
        "  cluster:\n"
        "    server: https://10.1.2.3:6443/\n"
        "    certificate-authority-data: %s\n"
        "    proxy-url: http://proxy.example:3128\n"
        "users:\n"
        "- name: admin\n"
        "  user:\n"
        "    token: abc.def\n"
        "    client-certificate-data: %s\n"
        "    client-key-data: %s\n"
        "contexts:\n"
        "- name: a\n"
        "  context: {cluster: other}\n"
        "- name: b\n"
        "  context:\n"
        "    cluster: prod\n"
        "    user: admin\n"
        "    namespace: kube-system\n"
        "current-context: b\n"
        "preferences: {}\n", ca, cert, key);

    struct kube_config *cfg;
    char *error = parse_config("data.yaml", text, NULL, &cfg);
    assert_null(error);
    assert_non_null(cfg);
    char *path = tmp_path("data.yaml");
    assert_string_equal(cfg->origin, path);
    assert_string_equal(cfg->context, "b");
    assert_string_equal(cfg->server, "https://10.1.2.3:6443");
    assert_string_equal(cfg->proxy_url, "http://proxy.example:3128");
    assert_null(cfg->ca_file);
    assert_string_equal(cfg->ca_data, CA_PEM);
    assert_int_equal(cfg->ca_data_size, strlen(CA_PEM));
    assert_false(cfg->insecure_skip_tls_verify);
    assert_string_equal(cfg->token, "abc.def");
    assert_null(cfg->token_file);
    assert_null(cfg->client_cert_file);
    assert_string_equal(cfg->client_cert_data, CERT_PEM);
    assert_int_equal(cfg->client_cert_data_size, strlen(CERT_PEM));
    assert_null(cfg->client_key_file);
    assert_string_equal(cfg->client_key_data, KEY_PEM);
    assert_int_equal(cfg->client_key_data_size, strlen(KEY_PEM));

    char *token;
    assert_null(kube_config_get_token(cfg, &token, NULL));
    assert_string_equal(token, "abc.def");
    free(token);
    kube_config_destroy(cfg);

    /* An explicit context wins over current-context; no user: anonymous. */
    error = parse_config("data.yaml", text, "a", &cfg);
    assert_null(error);
    assert_string_equal(cfg->context, "a");
    assert_string_equal(cfg->server, "https://other.example:6443");
    assert_null(cfg->ca_data);
    assert_null(cfg->token);
    assert_null(kube_config_get_token(cfg, &token, NULL));
    assert_null(token);
    kube_config_destroy(cfg);

    error = parse_config("data.yaml", text, "nope", &cfg);
    assert_null(cfg);
    char *expected = xasprintf("%s: context \"nope\" is not in contexts",
                               path);
    assert_string_equal(error, expected);
    free(expected);
    free(error);

    free(path);
    free(text);
    free(ca);
    free(cert);
    free(key);
}

/* Files, relative to the kubeconfig's directory, and token rotation. */
static void
test_config_files(void **state)
{
    char *dir = tmp_path("files");
    assert_int_equal(mkdir(dir, 0700), 0);
    char *ca = xasprintf("%s/ca.crt", dir);
    char *cert = xasprintf("%s/client.crt", dir);
    char *key = xasprintf("%s/client.key", dir);
    char *token_file = xasprintf("%s/token", dir);
    write_file(ca, CA_PEM);
    write_file(cert, CERT_PEM);
    write_file(key, KEY_PEM);
    write_file(token_file, "  first-token\n\n");

    char *text = xasprintf(
        "clusters:\n"
        "- name: c\n"
        "  cluster:\n"
        "    server: https://k8s.example\n"
        "    certificate-authority: ca.crt\n"
        "users:\n"
        "- name: u\n"
        "  user:\n"
        "    tokenFile: token\n"
        "    client-certificate: %s\n"
        "    client-key: ./client.key\n"
        "contexts:\n"
        "- name: x\n"
        "  context: {cluster: c, user: u}\n"
        "current-context: x\n", cert);
    char *path = xasprintf("%s/kubeconfig", dir);
    write_file(path, text);

    /* Secrets others may read are worth a warning; private ones not. */
    struct kube_config *cfg;
    char *error;
    assert_int_equal(chmod(token_file, 0640), 0);
    assert_int_equal(chmod(key, 0644), 0);
    error = kube_config_load(path, NULL, &cfg);
    assert_null(error);
    assert_int_equal(cfg->n_warnings, 2);
    char *expected = xasprintf("%s: user \"u\": tokenFile: %s is readable by "
                               "its group (mode 0640): whoever reads it can "
                               "act as this user", path, token_file);
    assert_string_equal(cfg->warnings[0], expected);
    free(expected);
    expected = xasprintf("%s: user \"u\": client-key: %s/./client.key is "
                         "readable by everyone (mode 0644): whoever reads it "
                         "can act as this user", path, dir);
    assert_string_equal(cfg->warnings[1], expected);
    free(expected);
    kube_config_destroy(cfg);
    assert_int_equal(chmod(token_file, 0600), 0);
    assert_int_equal(chmod(key, 0400), 0);

    error = kube_config_load(path, NULL, &cfg);
    assert_null(error);
    assert_int_equal(cfg->n_warnings, 0);
    assert_string_equal(cfg->server, "https://k8s.example");
    assert_string_equal(cfg->ca_file, ca);
    assert_null(cfg->ca_data);
    assert_string_equal(cfg->token_file, token_file);
    assert_null(cfg->token);
    assert_string_equal(cfg->client_cert_file, cert);
    char *key_dot = xasprintf("%s/./client.key", dir);
    assert_string_equal(cfg->client_key_file, key_dot);
    free(key_dot);

    char *token;
    assert_null(kube_config_get_token(cfg, &token, NULL));
    assert_string_equal(token, "first-token");
    free(token);

    /* Rotation: the file is read again every time. */
    write_file(token_file, "second-token");
    assert_null(kube_config_get_token(cfg, &token, NULL));
    assert_string_equal(token, "second-token");
    free(token);

    /* Gone without a static token to fall back on: an error. */
    assert_int_equal(unlink(token_file), 0);
    error = kube_config_get_token(cfg, &token, NULL);
    assert_null(token);
    expected = xasprintf("%s: cannot read token file %s (No such file "
                               "or directory)", path, token_file);
    assert_string_equal(error, expected);
    free(expected);
    free(error);

    /* With a static token too, the file wins when readable; when it is
     * not, the fallback is reported for the log. */
    cfg->token = xstrdup("static");
    char *fallback;
    assert_null(kube_config_get_token(cfg, &token, &fallback));
    assert_string_equal(token, "static");
    expected = xasprintf("%s: cannot read token file %s (No such file or "
                         "directory): using the static token instead", path,
                         token_file);
    assert_string_equal(fallback, expected);
    free(expected);
    free(fallback);
    free(token);
    write_file(token_file, "from-file\n");
    assert_null(kube_config_get_token(cfg, &token, &fallback));
    assert_string_equal(token, "from-file");
    assert_null(fallback);
    free(token);

    /* A re-read token that would add HTTP headers fails the request,
     * naming the file, and does not fall back: the file was read.  The
     * message never quotes the token. */
    static const struct {
        const char *content;
        const char *where;
    } bad[] = {
        { "abc\r\nX-Injected: yes\n", "0x0d at offset 3 of 20" },
        { "abc\nX-Injected: yes", "0x0a at offset 3 of 19" },
        { " two words ", "0x20 at offset 3 of 9" },
        { "nul\x01" "byte", "0x01 at offset 3 of 8" },
        { "caf\xc3\xa9", "0xc3 at offset 3 of 5" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        write_file(token_file, bad[i].content);
        token = (char *) "x";
        error = kube_config_get_token(cfg, &token, &fallback);
        assert_null(token);
        assert_null(fallback);
        expected = xasprintf("%s: token file %s: the token holds a byte "
                             "that cannot be sent in an HTTP header (%s; a "
                             "bearer token is printable ASCII without "
                             "spaces)", path, token_file, bad[i].where);
        assert_string_equal(error, expected);
        free(expected);
        free(error);
    }
    /* A FIFO in place of the token file (read on the event loop, for
     * every request) is refused at once, never waited on. */
    free(cfg->token);
    cfg->token = NULL;
    assert_int_equal(unlink(token_file), 0);
    assert_int_equal(mkfifo(token_file, 0600), 0);
    error = kube_config_get_token(cfg, &token, NULL);
    assert_null(token);
    expected = xasprintf("%s: cannot read token file %s (not a regular "
                         "file: a FIFO or a device could block the daemon)",
                         path, token_file);
    assert_string_equal(error, expected);
    free(expected);
    free(error);
    assert_int_equal(unlink(token_file), 0);

    write_file(token_file, "fixed\n");
    assert_null(kube_config_get_token(cfg, &token, NULL));
    assert_string_equal(token, "fixed");
    kube_config_free_token(token);
    kube_config_destroy(cfg);

    /* At load, a token file holding such a token is an error. */
    write_file(token_file, "abc\r\nX-Injected: yes\n");
    error = kube_config_load(path, NULL, &cfg);
    assert_null(cfg);
    expected = xasprintf("%s: user \"u\": tokenFile: %s: the token holds a "
                         "byte that cannot be sent in an HTTP header (0x0d "
                         "at offset 3 of 20; a bearer token is printable "
                         "ASCII without spaces)", path, token_file);
    assert_string_equal(error, expected);
    free(expected);
    free(error);
    write_file(token_file, "second-token");

    /* The same configuration as JSON. */
    char *json = xasprintf(
        "{\"apiVersion\": \"v1\", \"kind\": \"Config\","
        " \"clusters\": [{\"name\": \"c\", \"cluster\": {\"server\":"
        " \"http://127.0.0.1:8001\", \"insecure-skip-tls-verify\": true}}],"
        " \"users\": [{\"name\": \"u\", \"user\": {\"tokenFile\": \"%s\","
        " \"token\": \"t\"}}],"
        " \"contexts\": [{\"name\": \"x\", \"context\": {\"cluster\": \"c\","
        " \"user\": \"u\"}}], \"current-context\": \"x\"}", token_file);
    char *json_path = xasprintf("%s/kubeconfig.json", dir);
    write_file(json_path, json);
    error = kube_config_load(json_path, NULL, &cfg);
    assert_null(error);
    assert_string_equal(cfg->server, "http://127.0.0.1:8001");
    assert_true(cfg->insecure_skip_tls_verify);
    assert_null(cfg->ca_file);
    assert_null(cfg->ca_data);
    assert_string_equal(cfg->token, "t");
    assert_string_equal(cfg->token_file, token_file);
    kube_config_destroy(cfg);

    /* An unreadable kubeconfig. */
    char *missing = xasprintf("%s/missing", dir);
    error = kube_config_load(missing, NULL, &cfg);
    assert_null(cfg);
    expected = xasprintf("%s: cannot read kubeconfig (No such file or "
                         "directory)", missing);
    assert_string_equal(error, expected);
    free(expected);
    free(error);

    free(missing);
    free(json_path);
    free(json);
    free(path);
    free(text);
    free(ca);
    free(cert);
    free(key);
    free(token_file);
    free(dir);
}

#define CTX "contexts:\n- name: x\n  context: {cluster: c, user: u}\n" \
            "current-context: x\n"
#define CLUSTER "clusters:\n- name: c\n  cluster:\n    server: https://h\n"
#define USER_NONE "users:\n- name: u\n  user: {}\n"

/* Every field's errors name the file, the entry and the field. */
static void
test_config_errors(void **state)
{
    char *ca = base64(CA_PEM);
    char *cert = base64(CERT_PEM);
    char *key = base64(KEY_PEM);
    char *not_pem = base64("hello");
    char *text, *expected;

    /* Structure. */
    assert_config_error("- a\n- b\n", "is not a kubeconfig (expected a "
                        "mapping with clusters, contexts and users)");
    assert_config_error("kind: Pod\n", "kind: \"Pod\" is not Config");
    assert_config_error("clusters: [\n", "line 2 column 1: did not find "
                        "expected node content (while parsing a flow node "
                        "at line 2 column 1)");
    assert_config_error(CLUSTER USER_NONE "contexts: []\n",
                        "current-context: is not set (and no context was "
                        "given)");
    assert_config_error(CLUSTER USER_NONE "contexts: []\n"
                        "current-context: x\n",
                        "current-context: \"x\" is not in contexts");
    assert_config_error("clusters: {}\n" USER_NONE CTX,
                        "clusters: must be a list");
    assert_config_error("clusters: [{cluster: {}}]\n" USER_NONE CTX,
                        "clusters[0]: name: is required");
    assert_config_error("clusters: [7]\n" USER_NONE CTX,
                        "clusters[0]: must be a mapping");
    assert_config_error("clusters: [{name: c}]\n" USER_NONE CTX,
                        "clusters[0] (\"c\"): cluster: is required");
    assert_config_error(CLUSTER USER_NONE
                        "contexts:\n- name: x\n  context: {user: u}\n"
                        "current-context: x\n",
                        "context \"x\": cluster: is required");
    assert_config_error(CLUSTER USER_NONE
                        "contexts:\n- name: x\n  context: {cluster: d}\n"
                        "current-context: x\n",
                        "context \"x\": cluster: \"d\" is not in clusters");
    assert_config_error(CLUSTER USER_NONE
                        "contexts:\n- name: x\n  context: {cluster: c, "
                        "user: v}\ncurrent-context: x\n",
                        "context \"x\": user: \"v\" is not in users");

    /* Cluster fields. */
    assert_config_error("clusters:\n- name: c\n  cluster: {}\n" USER_NONE CTX,
                        "cluster \"c\": server: is required");
    assert_config_error("clusters:\n- name: c\n  cluster: {server: 6443}\n"
                        USER_NONE CTX, "cluster \"c\": server: must be a "
                        "string");
    assert_config_error("clusters:\n- name: c\n  cluster: {server: "
                        "\"ftp://h\"}\n" USER_NONE CTX,
                        "cluster \"c\": server: \"ftp://h\" is not an "
                        "http:// or https:// URL");
    assert_config_error("clusters:\n- name: c\n  cluster: {server: "
                        "\"https://\"}\n" USER_NONE CTX,
                        "cluster \"c\": server: \"https://\" has no host");
    /* A password in the URL: rejected, and not shown. */
    static const char *const userinfo[] = {
        "https://admin:s3cret@k8s.example:6443",
        "http://admin@10.0.0.1/prefix", "ftp://u:s3cret@h",
        "https://u:s3cr et@h",
    };
    for (size_t i = 0; i < ARRAY_SIZE(userinfo); i++) {
        text = xasprintf("clusters:\n- name: c\n  cluster: {server: "
                         "\"%s\"}\n" USER_NONE CTX, userinfo[i]);
        assert_config_error(text, "cluster \"c\": server: has a user name "
                            "or password before '@' (not supported: use "
                            "token, tokenFile or a client certificate)");
        free(text);
    }
    /* An '@' in the path is not a user name. */
    struct kube_config *cfg;
    char *error = parse_config("at.yaml", "clusters:\n- name: c\n  cluster: "
                               "{server: \"https://h/p@x\"}\n" USER_NONE CTX,
                               NULL, &cfg);
    assert_null(error);
    assert_string_equal(cfg->server, "https://h/p@x");
    kube_config_destroy(cfg);
    assert_config_error(CLUSTER "    certificate-authority-data: \"Zm9v%\"\n"
                        USER_NONE CTX,
                        "cluster \"c\": certificate-authority-data: is not "
                        "valid base64 (bad character '%' at offset 4)");
    text = xasprintf(CLUSTER "    certificate-authority-data: %s\n"
                     USER_NONE CTX, not_pem);
    assert_config_error(text, "cluster \"c\": certificate-authority-data: "
                        "does not hold a PEM certificate (no \"-----BEGIN "
                        "CERTIFICATE-----\" line after base64 decoding)");
    free(text);
    text = xasprintf(CLUSTER "    certificate-authority-data: %s\n"
                     "    certificate-authority: /etc/ca.crt\n"
                     USER_NONE CTX, ca);
    assert_config_error(text, "cluster \"c\": certificate-authority-data: "
                        "and certificate-authority are both set (use one)");
    free(text);
    text = xasprintf(CLUSTER "    certificate-authority-data: %s\n"
                     "    insecure-skip-tls-verify: true\n"
                     USER_NONE CTX, ca);
    assert_config_error(text, "cluster \"c\": insecure-skip-tls-verify: "
                        "cannot be combined with certificate-authority-data "
                        "(client-go rejects it too)");
    free(text);
    assert_config_error(CLUSTER "    insecure-skip-tls-verify: \"true\"\n"
                        USER_NONE CTX,
                        "cluster \"c\": insecure-skip-tls-verify: must be "
                        "true or false");
    assert_config_error(CLUSTER "    tls-server-name: kubernetes\n"
                        USER_NONE CTX,
                        "cluster \"c\": tls-server-name: is not supported");
    char *missing = tmp_path("missing-ca.crt");
    expected = xasprintf("cluster \"c\": certificate-authority: cannot read "
                         "%s (No such file or directory)", missing);
    assert_config_error(CLUSTER "    certificate-authority: missing-ca.crt\n"
                        USER_NONE CTX, expected);
    free(expected);
    free(missing);

    /* User fields. */
    assert_config_error(CLUSTER "users:\n- name: u\n  user: {token: 7}\n" CTX,
                        "user \"u\": token: must be a string");
    /* The review's injection, and a token a YAML block scalar ends with a
     * newline: neither may reach a header.  The token is not quoted. */
    assert_config_error(CLUSTER "users:\n- name: u\n  user:\n"
                        "    token: \"abc\\r\\nX-Injected: yes\"\n" CTX,
                        "user \"u\": token: the token holds a byte that "
                        "cannot be sent in an HTTP header (0x0d at offset 3 "
                        "of 20; a bearer token is printable ASCII without "
                        "spaces)");
    assert_config_error(CLUSTER "users:\n- name: u\n  user:\n"
                        "    token: |\n      abc.def\n" CTX,
                        "user \"u\": token: the token holds a byte that "
                        "cannot be sent in an HTTP header (0x0a at offset 7 "
                        "of 8; a bearer token is printable ASCII without "
                        "spaces)");
    missing = tmp_path("missing-token");
    expected = xasprintf("user \"u\": tokenFile: cannot read %s (No such "
                         "file or directory)", missing);
    assert_config_error(CLUSTER "users:\n- name: u\n  user: {tokenFile: "
                        "missing-token}\n" CTX, expected);
    free(expected);
    free(missing);
    text = xasprintf(CLUSTER "users:\n- name: u\n  user:\n"
                     "    client-certificate-data: %s\n" CTX, cert);
    assert_config_error(text, "user \"u\": client-key: is required with "
                        "client-certificate-data (set client-key or "
                        "client-key-data)");
    free(text);
    text = xasprintf(CLUSTER "users:\n- name: u\n  user:\n"
                     "    client-key-data: %s\n" CTX, key);
    assert_config_error(text, "user \"u\": client-certificate: is required "
                        "with client-key-data (set client-certificate or "
                        "client-certificate-data)");
    free(text);
    text = xasprintf(CLUSTER "users:\n- name: u\n  user:\n"
                     "    client-certificate-data: %s\n"
                     "    client-certificate: /etc/x.crt\n"
                     "    client-key-data: %s\n" CTX, cert, key);
    assert_config_error(text, "user \"u\": client-certificate-data: and "
                        "client-certificate are both set (use one)");
    free(text);
    text = xasprintf(CLUSTER "users:\n- name: u\n  user:\n"
                     "    client-certificate-data: %s\n"
                     "    client-key-data: %s\n"
                     "    client-key: /etc/x.key\n" CTX, cert, key);
    assert_config_error(text, "user \"u\": client-key-data: and client-key "
                        "are both set (use one)");
    free(text);
    text = xasprintf(CLUSTER "users:\n- name: u\n  user:\n"
                     "    client-certificate-data: %s\n"
                     "    client-key-data: %s\n" CTX, cert, cert);
    assert_config_error(text, "user \"u\": client-key-data: does not hold a "
                        "PEM private key (no \"-----BEGIN ... PRIVATE "
                        "KEY-----\" line after base64 decoding)");
    free(text);
    text = xasprintf(CLUSTER "users:\n- name: u\n  user:\n"
                     "    client-certificate-data: \"%s!\"\n"
                     "    client-key-data: %s\n" CTX, cert, key);
    expected = xasprintf("user \"u\": client-certificate-data: is not valid "
                         "base64 (bad character '!' at offset %zu)",
                         strlen(cert));
    assert_config_error(text, expected);
    free(expected);
    free(text);
    assert_config_error(CLUSTER "users:\n- name: u\n  user:\n    exec:\n"
                        "      command: aws\n" CTX,
                        "user \"u\": exec: is not supported (use token, "
                        "tokenFile or a client certificate)");
    assert_config_error(CLUSTER "users:\n- name: u\n  user:\n"
                        "    auth-provider: {name: gcp}\n" CTX,
                        "user \"u\": auth-provider: is not supported (use "
                        "token, tokenFile or a client certificate)");
    assert_config_error(CLUSTER "users:\n- name: u\n  user: {username: a, "
                        "password: b}\n" CTX,
                        "user \"u\": username: basic authentication is not "
                        "supported (use token, tokenFile or a client "
                        "certificate)");

    free(ca);
    free(cert);
    free(key);
    free(not_pem);
}

static void
test_in_cluster(void **state)
{
    char *dir = tmp_path("sa");
    assert_int_equal(mkdir(dir, 0700), 0);
    char *token = xasprintf("%s/token", dir);
    char *ca = xasprintf("%s/ca.crt", dir);
    struct kube_config *cfg;
    char *error, *expected, *tok;

    unsetenv("KUBERNETES_SERVICE_HOST");
    unsetenv("KUBERNETES_SERVICE_PORT");
    error = kube_config_in_cluster(dir, &cfg);
    assert_null(cfg);
    expected = xasprintf("in-cluster config (%s): KUBERNETES_SERVICE_HOST "
                         "and KUBERNETES_SERVICE_PORT must be set (not "
                         "running in a pod?)", dir);
    assert_string_equal(error, expected);
    free(expected);
    free(error);

    setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "443", 1);
    error = kube_config_in_cluster(dir, &cfg);
    assert_null(cfg);
    expected = xasprintf("in-cluster config (%s): cannot read %s (No such "
                         "file or directory)", dir, token);
    assert_string_equal(error, expected);
    free(expected);
    free(error);

    write_file(token, "sa-token-1\n");
    error = kube_config_in_cluster(dir, &cfg);
    assert_null(cfg);
    expected = xasprintf("in-cluster config (%s): cannot read %s (No such "
                         "file or directory)", dir, ca);
    assert_string_equal(error, expected);
    free(expected);
    free(error);

    write_file(ca, CA_PEM);
    error = kube_config_in_cluster(dir, &cfg);
    assert_null(error);
    assert_string_equal(cfg->server, "https://10.96.0.1:443");
    assert_string_equal(cfg->ca_file, ca);
    assert_string_equal(cfg->token_file, token);
    assert_null(cfg->token);
    assert_false(cfg->insecure_skip_tls_verify);
    assert_null(kube_config_get_token(cfg, &tok, NULL));
    assert_string_equal(tok, "sa-token-1");
    free(tok);
    /* The kubelet rotates the token: the next read sees the new one. */
    write_file(token, "sa-token-2");
    assert_null(kube_config_get_token(cfg, &tok, NULL));
    assert_string_equal(tok, "sa-token-2");
    free(tok);

    /* A rotated token that would add headers fails the request. */
    write_file(token, "sa-token-3\r\nX-Injected: yes");
    error = kube_config_get_token(cfg, &tok, NULL);
    assert_null(tok);
    expected = xasprintf("in-cluster config (%s): token file %s: the token "
                         "holds a byte that cannot be sent in an HTTP header "
                         "(0x0d at offset 10 of 27; a bearer token is "
                         "printable ASCII without spaces)", dir, token);
    assert_string_equal(error, expected);
    free(expected);
    free(error);
    kube_config_destroy(cfg);

    /* And at load. */
    error = kube_config_in_cluster(dir, &cfg);
    assert_null(cfg);
    expected = xasprintf("in-cluster config (%s): %s: the token holds a "
                         "byte that cannot be sent in an HTTP header (0x0d "
                         "at offset 10 of 27; a bearer token is printable "
                         "ASCII without spaces)", dir, token);
    assert_string_equal(error, expected);
    free(expected);
    free(error);
    write_file(token, "sa-token-2");

    setenv("KUBERNETES_SERVICE_HOST", "user:pw@10.96.0.1", 1);
    error = kube_config_in_cluster(dir, &cfg);
    assert_null(cfg);
    expected = xasprintf("in-cluster config (%s): KUBERNETES_SERVICE_HOST "
                         "or KUBERNETES_SERVICE_PORT is not a host name, "
                         "address or port", dir);
    assert_string_equal(error, expected);
    free(expected);
    free(error);

    setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
    error = kube_config_in_cluster(dir, &cfg);
    assert_null(error);
    assert_string_equal(cfg->server, "https://[fd00::1]:443");
    kube_config_destroy(cfg);

    /* kube_config_find(): a path wins, then the service account. */
    char *path = write_tmp("find.yaml", CLUSTER USER_NONE CTX);
    error = kube_config_find(path, NULL, &cfg);
    assert_null(error);
    assert_string_equal(cfg->server, "https://h");
    kube_config_destroy(cfg);
    unsetenv("KUBERNETES_SERVICE_HOST");
    unsetenv("KUBERNETES_SERVICE_PORT");
    char *list = xasprintf("%s:/nonexistent", path);
    setenv("KUBECONFIG", list, 1);
    error = kube_config_find(NULL, NULL, &cfg);
    assert_null(error);
    assert_string_equal(cfg->origin, path);
    kube_config_destroy(cfg);
    unsetenv("KUBECONFIG");
    free(list);
    free(path);

    free(token);
    free(ca);
    free(dir);
}

/* The client against the API server stand-in.
 *
 * The receiver applies events to 'objs' and, independently, keeps
 * 'swept' by mark-and-sweep over the resync brackets; both must end up
 * equal to the server's lists. */

struct entry {
    char *rv;
    char *label;                /* Value of label "v", or NULL. */
    unsigned int mark;
};

struct receiver {
    struct strmap objs[KUBE_N_KINDS];
    struct strmap swept[KUBE_N_KINDS];
    unsigned int gen[KUBE_N_KINDS];
    int begins[KUBE_N_KINDS], ends[KUBE_N_KINDS];
    int keeps[KUBE_N_KINDS], deletes[KUBE_N_KINDS];
    bool in_resync[KUBE_N_KINDS];
    int synced;
    char **logs;
    size_t n_logs, allocated_logs;
    int invalids;               /* on_invalid() calls, */
    char *last_invalid;         /* the last one: "uid rv error; consequence". */
    bool verbose;
};

static struct sim {
    const char *kubeconfig;     /* NULL: no integration tests. */
    const char *quiet_kubeconfig;       /* A stand-in without bookmarks. */
    const char *client_cert;    /* A client certificate and its key, */
    const char *client_key;     /* signed by the sim's CA, or NULL. */
    const char *cnp_crd;        /* The ClusterNetworkPolicy CRD, JSON. */
    struct kube_config *cfg;
    struct ev_loop *loop;
    bool verbose;
} sim;

static void
entry_free(struct entry *e)
{
    if (e) {
        free(e->rv);
        free(e->label);
        free(e);
    }
}

static void
map_clear(struct strmap *map)
{
    size_t b;
    for (struct strmap_node *n = strmap_first(map, &b); n;
         n = strmap_next(map, n, &b)) {
        entry_free(n->value);
    }
    strmap_destroy(map);
    strmap_init(map);
}

static void
receiver_init(struct receiver *r)
{
    memset(r, 0, sizeof *r);
    for (int i = 0; i < KUBE_N_KINDS; i++) {
        strmap_init(&r->objs[i]);
        strmap_init(&r->swept[i]);
    }
    r->verbose = sim.verbose;
}

static void
receiver_destroy(struct receiver *r)
{
    for (int i = 0; i < KUBE_N_KINDS; i++) {
        map_clear(&r->objs[i]);
        map_clear(&r->swept[i]);
        strmap_destroy(&r->objs[i]);
        strmap_destroy(&r->swept[i]);
    }
    for (size_t i = 0; i < r->n_logs; i++) {
        free(r->logs[i]);
    }
    free(r->logs);
    free(r->last_invalid);
}

static char *
key_of(const char *ns, const char *name)
{
    return *ns ? xasprintf("%s/%s", ns, name) : xstrdup(name);
}

static void
map_put(struct strmap *map, const char *key, const char *rv,
        const char *label, unsigned int mark)
{
    bool created;
    void **slot = strmap_slot(map, key, &created);
    entry_free(*slot);
    struct entry *e = xcalloc(1, sizeof *e);
    e->rv = xstrdup(rv ? rv : "");
    e->label = label ? xstrdup(label) : NULL;
    e->mark = mark;
    *slot = e;
}

static const char *
object_rv(const struct k8s_object *o)
{
    switch (o->kind) {
    case OBJ_NAMESPACE:
        return o->ns->resource_version;
    case OBJ_POD:
        return o->pod->resource_version;
    case OBJ_NETPOL:
        return o->np->resource_version;
    case OBJ_CNP:
        return o->cnp->resource_version;
    case OBJ_NODE:
        break;
    }
    return NULL;
}

static const char *
object_label(const struct k8s_object *o)
{
    switch (o->kind) {
    case OBJ_NAMESPACE:
        return labels_get(&o->ns->labels, "v");
    case OBJ_POD:
        return labels_get(&o->pod->labels, "v");
    case OBJ_NETPOL:
        return o->np->invalid ? "stand-in" : NULL;
    case OBJ_CNP: {
        /* Its priority: ClusterNetworkPolicies keep no labels. */
        static char priority[16];
        snprintf(priority, sizeof priority, "%d", o->cnp->priority);
        return priority;
    }
    case OBJ_NODE:
        break;
    }
    return NULL;
}

static void
rcv_object(void *r_, struct k8s_object *o)
{
    struct receiver *r = r_;
    char *key = key_of(k8s_object_namespace(o), k8s_object_name(o));
    map_put(&r->objs[o->kind], key, object_rv(o), object_label(o), 0);
    map_put(&r->swept[o->kind], key, object_rv(o), object_label(o),
            r->gen[o->kind]);
    if (r->verbose) {
        fprintf(stderr, "  object %s %s rv %s\n", obj_kind_name(o->kind), key,
                object_rv(o));
    }
    free(key);
    k8s_object_destroy(o);
}

static void
rcv_delete(void *r_, enum obj_kind kind, const char *ns, const char *name)
{
    struct receiver *r = r_;
    char *key = key_of(ns, name);
    entry_free(strmap_remove(&r->objs[kind], key));
    if (!r->in_resync[kind]) {
        /* Inside a bracket the sweep does it. */
        entry_free(strmap_remove(&r->swept[kind], key));
    }
    r->deletes[kind]++;
    if (r->verbose) {
        fprintf(stderr, "  delete %s %s\n", obj_kind_name(kind), key);
    }
    free(key);
}

static void
rcv_keep(void *r_, enum obj_kind kind, const char *ns, const char *name)
{
    struct receiver *r = r_;
    assert_true(r->in_resync[kind]);
    char *key = key_of(ns, name);
    struct entry *e = strmap_get(&r->swept[kind], key);
    assert_non_null(e);
    e->mark = r->gen[kind];
    r->keeps[kind]++;
    free(key);
}

static void
rcv_resync_begin(void *r_, enum obj_kind kind)
{
    struct receiver *r = r_;
    assert_false(r->in_resync[kind]);
    r->in_resync[kind] = true;
    r->gen[kind]++;
    r->begins[kind]++;
}

static void
rcv_resync_end(void *r_, enum obj_kind kind)
{
    struct receiver *r = r_;
    assert_true(r->in_resync[kind]);
    r->in_resync[kind] = false;
    r->ends[kind]++;

    struct strmap *map = &r->swept[kind];
    char **stale = NULL;
    size_t n = 0, allocated = 0, b;
    for (struct strmap_node *node = strmap_first(map, &b); node;
         node = strmap_next(map, node, &b)) {
        struct entry *e = node->value;
        if (e->mark != r->gen[kind]) {
            APPEND(stale, n, allocated, xstrdup(node->key));
        }
    }
    for (size_t i = 0; i < n; i++) {
        entry_free(strmap_remove(map, stale[i]));
        free(stale[i]);
    }
    free(stale);
}

static void
rcv_synced(void *r_)
{
    struct receiver *r = r_;
    r->synced++;
}

static void
rcv_log(void *r_, enum kube_log_level level, const char *msg)
{
    struct receiver *r = r_;
    static const char *const names[] = { "error", "warn", "info" };
    APPEND(r->logs, r->n_logs, r->allocated_logs,
           xasprintf("%s: %s", names[level], msg));
    if (r->verbose) {
        fprintf(stderr, "  log %s: %s\n", names[level], msg);
    }
}

static void
rcv_invalid(void *r_, enum obj_kind kind, const char *ns, const char *name,
            const char *uid, const char *rv, const char *error,
            const char *consequence)
{
    struct receiver *r = r_;
    r->invalids++;
    free(r->last_invalid);
    r->last_invalid = xasprintf("%s %s %s; %s", uid ? "uid" : "no-uid",
                                rv ? rv : "-", error, consequence);
}

static const struct kube_client_callbacks rcv_callbacks = {
    .on_object = rcv_object,
    .on_delete = rcv_delete,
    .on_keep = rcv_keep,
    .on_resync_begin = rcv_resync_begin,
    .on_resync_end = rcv_resync_end,
    .on_synced = rcv_synced,
    .on_log = rcv_log,
    .on_invalid = rcv_invalid,
};

/* Number of log lines that contain every one of the (NULL-terminated)
 * strings. */
static size_t
count_logs(const struct receiver *r, const char *s, ...)
{
    size_t count = 0;
    for (size_t i = 0; i < r->n_logs; i++) {
        va_list args;
        va_start(args, s);
        bool all = true;
        for (const char *p = s; p; p = va_arg(args, const char *)) {
            if (!strstr(r->logs[i], p)) {
                all = false;
            }
        }
        va_end(args);
        count += all;
    }
    return count;
}

/* The admin side: blocking libcurl between loop runs. */

struct http_body {
    char *data;
    size_t size;
};

static size_t
http_write(char *p, size_t size, size_t n, void *body_)
{
    struct http_body *body = body_;
    body->data = xrealloc(body->data, body->size + size * n + 1);
    memcpy(body->data + body->size, p, size * n);
    body->size += size * n;
    body->data[body->size] = '\0';
    return size * n;
}

/* Sends 'method' 'path' with JSON 'body' (or NULL) to the stand-in and
 * returns the HTTP status; the response body goes to '*out' if nonnull. */
static long
http(const char *method, const char *path, const char *body, char **out)
{
    const struct kube_config *cfg = sim.cfg;
    CURL *e = curl_easy_init();
    char *url = xasprintf("%s%s", cfg->server, path);
    struct http_body resp = { NULL, 0 };
    struct curl_slist *h = curl_slist_append(NULL,
                                             "Content-Type: application/json");
    char *token;
    assert_null(kube_config_get_token(cfg, &token, NULL));
    char *auth = xasprintf("Authorization: Bearer %s", token ? token : "");
    h = curl_slist_append(h, auth);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, http_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(e, CURLOPT_TIMEOUT, 20L);
    if (body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    }
    if (cfg->ca_data) {
        struct curl_blob blob = { cfg->ca_data, cfg->ca_data_size,
                                  CURL_BLOB_COPY };
        curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);
    } else if (cfg->ca_file) {
        curl_easy_setopt(e, CURLOPT_CAINFO, cfg->ca_file);
    }
    if (cfg->insecure_skip_tls_verify) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    CURLcode res = curl_easy_perform(e);
    long status = 0;
    if (res == CURLE_OK) {
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    } else {
        print_error("%s %s: %s\n", method, url, curl_easy_strerror(res));
    }
    curl_easy_cleanup(e);
    curl_slist_free_all(h);
    free(auth);
    free(token);
    free(url);
    if (out) {
        *out = resp.data ? resp.data : xstrdup("");
    } else {
        free(resp.data);
    }
    return status;
}

static void
api_ok(const char *method, const char *path, const char *body)
{
    char *out;
    long status = http(method, path, body, &out);
    if (status < 200 || status > 299) {
        print_error("%s %s -> %ld: %s\n", method, path, status, out);
    }
    assert_in_range(status, 200, 299);
    free(out);
}

static void
sim_fault(const char *json)
{
    api_ok("POST", "/sim/fault", json);
}

static void
create_namespace(const char *name, const char *label)
{
    char *body = xasprintf("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\","
                           "\"metadata\":{\"name\":\"%s\",\"labels\":"
                           "{\"v\":\"%s\"}}}", name, label);
    api_ok("POST", "/api/v1/namespaces", body);
    free(body);
}

static char *
pod_json(const char *ns, const char *name, const char *label, int ip)
{
    return xasprintf("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":"
                     "{\"name\":\"%s\",\"namespace\":\"%s\",\"labels\":"
                     "{\"v\":\"%s\"}},\"spec\":{\"nodeName\":\"node-1\","
                     "\"containers\":[{\"name\":\"c\",\"image\":\"i\","
                     "\"ports\":[{\"containerPort\":80}]}]},"
                     "\"status\":{\"phase\":\"Running\",\"podIP\":"
                     "\"10.1.%d.%d\"}}", name, ns, label, ip / 250,
                     ip % 250 + 1);
}

static void
create_pod(const char *ns, const char *name, const char *label, int ip)
{
    char *body = pod_json(ns, name, label, ip);
    char *path = xasprintf("/api/v1/namespaces/%s/pods", ns);
    api_ok("POST", path, body);
    free(path);
    free(body);
}

/* A pod with an annotation of 'size' bytes. */
static void
create_big_pod(const char *ns, const char *name, size_t size)
{
    char *filler = xmalloc(size + 1);
    memset(filler, 'z', size);
    filler[size] = '\0';
    char *body = xasprintf("{\"apiVersion\":\"v1\",\"kind\":\"Pod\","
                           "\"metadata\":{\"name\":\"%s\",\"namespace\":"
                           "\"%s\",\"annotations\":{\"filler\":\"%s\"}},"
                           "\"spec\":{\"containers\":[{\"name\":\"c\","
                           "\"image\":\"i\"}]}}", name, ns, filler);
    char *path = xasprintf("/api/v1/namespaces/%s/pods", ns);
    api_ok("POST", path, body);
    free(path);
    free(body);
    free(filler);
}

static void
update_pod(const char *ns, const char *name, const char *label, int ip)
{
    char *body = pod_json(ns, name, label, ip);
    char *path = xasprintf("/api/v1/namespaces/%s/pods/%s", ns, name);
    api_ok("PUT", path, body);
    free(path);
    free(body);
}

static void
delete_object(const char *resource, const char *ns, const char *name)
{
    char *path = (!strcmp(resource, "clusternetworkpolicies")
                  ? xasprintf("%s/%s", CNP_PATH, name)
                  : !strcmp(resource, "networkpolicies")
                  ? xasprintf("/apis/networking.k8s.io/v1/namespaces/%s/%s/%s",
                              ns, resource, name)
                  : ns ? xasprintf("/api/v1/namespaces/%s/%s/%s", ns,
                                   resource, name)
                  : xasprintf("/api/v1/%s/%s", resource, name));
    api_ok("DELETE", path, NULL);
    free(path);
}

static char *
netpol_json(const char *ns, const char *name, int port)
{
    return xasprintf("{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":"
                     "\"NetworkPolicy\",\"metadata\":{\"name\":\"%s\","
                     "\"namespace\":\"%s\"},\"spec\":{\"podSelector\":{},"
                     "\"ingress\":[{\"ports\":[{\"port\":%d}]}]}}", name, ns,
                     port);
}

static void
put_netpol(const char *ns, const char *name, int port, bool create)
{
    char *body = netpol_json(ns, name, port);
    char *path = (create
                  ? xasprintf("/apis/networking.k8s.io/v1/namespaces/%s/"
                              "networkpolicies", ns)
                  : xasprintf("/apis/networking.k8s.io/v1/namespaces/%s/"
                              "networkpolicies/%s", ns, name));
    api_ok(create ? "POST" : "PUT", path, body);
    free(path);
    free(body);
}

/* ClusterNetworkPolicies: the CRD comes and goes. */

static bool
crd_installed(void)
{
    char *body;
    long status = http("GET", CRD_PATH "/" CNP_CRD_NAME, NULL, &body);
    free(body);
    assert_true(status == 200 || status == 404);
    return status == 200;
}

static void
crd_install(void)
{
    if (!crd_installed()) {
        char *crd;
        size_t size;
        assert_int_equal(np_read_file(sim.cnp_crd, 1 << 20, 0, NULL, &crd,
                                      &size), 0);
        api_ok("POST", CRD_PATH, crd);
        free(crd);
    }
}

static void
crd_remove(void)
{
    if (crd_installed()) {
        api_ok("DELETE", CRD_PATH "/" CNP_CRD_NAME, NULL);
    }
}

/* A ClusterNetworkPolicy with 'priority' that denies ingress to the
 * namespaces labelled v=x from everywhere; with 'bad_label', a selector
 * the API server's schema accepts (a map of strings) and we refuse. */
static char *
cnp_json(const char *name, int priority, bool bad_label)
{
    return xasprintf("{\"apiVersion\":\"policy.networking.k8s.io/v1alpha2\","
                     "\"kind\":\"ClusterNetworkPolicy\",\"metadata\":"
                     "{\"name\":\"%s\"},\"spec\":{\"tier\":\"Admin\","
                     "\"priority\":%d,\"subject\":{\"namespaces\":"
                     "{\"matchLabels\":{\"%s\":\"x\"}}},\"ingress\":"
                     "[{\"action\":\"Deny\",\"from\":[{\"namespaces\":"
                     "{}}]}]}}", name, priority,
                     bad_label ? "bad key!" : "v");
}

static void
put_cnp(const char *name, int priority, bool bad_label, bool create)
{
    char *body = cnp_json(name, priority, bad_label);
    char *path = (create ? xstrdup(CNP_PATH)
                  : xasprintf("%s/%s", CNP_PATH, name));
    api_ok(create ? "POST" : "PUT", path, body);
    free(path);
    free(body);
}

/* What the server lists now: key -> resourceVersion. */
static void
server_list(enum obj_kind kind, struct strmap *out)
{
    static const char *const paths[] = {
        "/api/v1/namespaces", "/api/v1/pods",
        "/apis/networking.k8s.io/v1/networkpolicies", CNP_PATH,
    };
    char *body;
    long status = http("GET", paths[kind], NULL, &body);
    if (status == 404 && kind == OBJ_CNP) {
        free(body);             /* No CRD: none. */
        return;
    }
    assert_int_equal(status, 200);
    json_t *list = json_loads(body, 0, NULL);
    assert_non_null(list);
    size_t i;
    json_t *item;
    json_array_foreach (json_object_get(list, "items"), i, item) {
        json_t *meta = json_object_get(item, "metadata");
        const char *ns = json_string_value(json_object_get(meta,
                                                           "namespace"));
        const char *name = json_string_value(json_object_get(meta, "name"));
        const char *rv = json_string_value(json_object_get(meta,
                                                           "resourceVersion"));
        char *key = key_of(ns ? ns : "", name);
        map_put(out, key, rv, NULL, 0);
        free(key);
    }
    json_decref(list);
    free(body);
}

/* Does 'have' hold exactly the keys and resourceVersions of 'want'?
 * 'skip' keys (may be NULL) are expected in 'have' with whatever
 * version. */
static bool
map_matches(const struct strmap *have, const struct strmap *want,
            const char *skip, bool report)
{
    bool ok = true;
    size_t b;
    for (struct strmap_node *n = strmap_first(want, &b); n;
         n = strmap_next(want, n, &b)) {
        const struct entry *w = n->value;
        const struct entry *h = strmap_get(have, n->key);
        if (!h) {
            ok = false;
            if (report) {
                print_error("missing %s\n", n->key);
            }
        } else if (strcmp(h->rv, w->rv) && !(skip && !strcmp(skip, n->key))) {
            ok = false;
            if (report) {
                print_error("%s: resourceVersion %s, server has %s\n", n->key,
                            h->rv, w->rv);
            }
        }
    }
    for (struct strmap_node *n = strmap_first(have, &b); n;
         n = strmap_next(have, n, &b)) {
        if (!strmap_get(want, n->key)) {
            ok = false;
            if (report) {
                print_error("extra %s\n", n->key);
            }
        }
    }
    return ok;
}

struct snapshot {
    struct strmap kinds[KUBE_N_KINDS];
};

static void
snapshot_take(struct snapshot *s)
{
    for (int i = 0; i < KUBE_N_KINDS; i++) {
        strmap_init(&s->kinds[i]);
        server_list(i, &s->kinds[i]);
    }
}

static void
snapshot_destroy(struct snapshot *s)
{
    for (int i = 0; i < KUBE_N_KINDS; i++) {
        map_clear(&s->kinds[i]);
        strmap_destroy(&s->kinds[i]);
    }
}

typedef bool predicate_fn(void *aux);

static void
tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
}

/* Runs the loop until 'pred' holds or 'timeout' seconds pass. */
static bool
run_until(predicate_fn *pred, void *aux, double timeout)
{
    ev_timer tick;
    ev_timer_init(&tick, tick_cb, 0.02, 0.02);
    ev_timer_start(sim.loop, &tick);
    ev_now_update(sim.loop);
    ev_tstamp deadline = ev_now(sim.loop) + timeout;
    bool ok;
    while (!(ok = pred(aux)) && ev_now(sim.loop) < deadline) {
        ev_run(sim.loop, EVRUN_ONCE);
    }
    ev_timer_stop(sim.loop, &tick);
    return ok;
}

static bool
never(void *aux)
{
    return false;
}

static void
run_for(double seconds)
{
    run_until(never, NULL, seconds);
}

struct match {
    struct receiver *r;
    const struct snapshot *want;
    const char *skip;
};

static bool
receiver_matches(void *m_)
{
    const struct match *m = m_;
    for (int i = 0; i < KUBE_N_KINDS; i++) {
        if (m->r->in_resync[i]
            || !map_matches(&m->r->objs[i], &m->want->kinds[i], m->skip,
                            false)
            || !map_matches(&m->r->swept[i], &m->want->kinds[i], m->skip,
                            false)) {
            return false;
        }
    }
    return true;
}

/* Waits until the receiver holds exactly what the server lists now. */
static void
assert_converges(struct receiver *r, double timeout)
{
    struct snapshot want;
    snapshot_take(&want);
    struct match m = { r, &want, NULL };
    if (!run_until(receiver_matches, &m, timeout)) {
        for (int i = 0; i < KUBE_N_KINDS; i++) {
            print_error("%s (applied):\n", kube_resource_name(i));
            map_matches(&r->objs[i], &want.kinds[i], NULL, true);
            print_error("%s (mark and sweep):\n", kube_resource_name(i));
            map_matches(&r->swept[i], &want.kinds[i], NULL, true);
        }
        fail_msg("the receiver did not converge to the server's set");
    }
    snapshot_destroy(&want);
}

struct client {
    struct kube_client *kc;
    struct receiver r;
    struct kube_client_options opts;
    struct kube_config *cfg;    /* Owned, if not sim.cfg. */
};

static void
client_options(struct kube_client_options *o)
{
    kube_client_options_init(o);
    o->page_size = 3;
    o->backoff_initial = 0.1;
    o->backoff_max = 0.8;
    o->watch_timeout_min = 20;
    o->watch_timeout_max = 30;
    o->log_burst = 1000;
}

/* Clients still running, for the teardown after a failed assertion. */
static struct client *live_clients[4];

static struct client *
client_new(void)
{
    struct client *c = xcalloc(1, sizeof *c);
    client_options(&c->opts);
    for (size_t i = 0; i < ARRAY_SIZE(live_clients); i++) {
        if (!live_clients[i]) {
            live_clients[i] = c;
            return c;
        }
    }
    abort();
}

/* Starts 'c' with 'cfg' (NULL: the stand-in's) and its options. */
static void
client_start(struct client *c, const struct kube_config *cfg)
{
    receiver_init(&c->r);
    c->kc = kube_client_create(sim.loop, cfg ? cfg : sim.cfg, &c->opts,
                               &rcv_callbacks, &c->r);
    kube_client_start(c->kc);
}

static void
client_stop(struct client *c)
{
    for (size_t i = 0; i < ARRAY_SIZE(live_clients); i++) {
        if (live_clients[i] == c) {
            live_clients[i] = NULL;
        }
    }
    if (c->kc) {
        kube_client_destroy(c->kc);
        receiver_destroy(&c->r);
    }
    kube_config_destroy(c->cfg);
    free(c);
}

static int
client_teardown(void **state)
{
    for (size_t i = 0; i < ARRAY_SIZE(live_clients); i++) {
        if (live_clients[i]) {
            client_stop(live_clients[i]);
        }
    }
    return 0;
}

static bool
is_synced(void *c_)
{
    struct client *c = c_;
    return c->r.synced > 0;
}

static struct kube_kind_status
kind_status(const struct client *c, enum obj_kind kind)
{
    struct kube_client_status st;
    kube_client_get_status(c->kc, &st);
    return st.kinds[kind];
}

/* Waits until the watch of 'kind' is open. */
struct connected_arg {
    struct client *c;
    enum obj_kind kind;
};

static bool
is_connected(void *a_)
{
    struct connected_arg *a = a_;
    return kind_status(a->c, a->kind).connected;
}

static void
wait_connected(struct client *c, enum obj_kind kind)
{
    struct connected_arg a = { c, kind };
    assert_true(run_until(is_connected, &a, 10));
}

static void
wait_all_connected(struct client *c)
{
    for (int i = 0; i < KUBE_N_KINDS; i++) {
        wait_connected(c, i);
    }
}

/* Test namespaces are unique per run. */
static char *
test_ns(const char *base)
{
    static unsigned int serial;
    return xasprintf("%s-%ld-%u", base, (long) getpid(), serial++);
}

/* Integration tests. */

static int
sim_setup(const char *kubeconfig)
{
    if (!kubeconfig) {
        return 0;
    }
    char *error = kube_config_load(kubeconfig, NULL, &sim.cfg);
    if (error) {
        print_error("%s\n", error);
        free(error);
        return -1;
    }
    sim.loop = ev_default_loop(0);
    sim_fault("{\"reset\": true}");
    /* Every kind is served, but in the tests that remove the CRD. */
    crd_install();
    return 0;
}

static int
integration_setup(void **state)
{
    return sim_setup(sim.kubeconfig);
}

static int
quiet_setup(void **state)
{
    return sim_setup(sim.quiet_kubeconfig);
}

static int
integration_teardown(void **state)
{
    kube_config_destroy(sim.cfg);
    sim.cfg = NULL;
    return 0;
}

#define NEED_SIM() do { if (!sim.kubeconfig) { skip(); } } while (0)
#define NEED_QUIET_SIM() \
    do { if (!sim.quiet_kubeconfig) { skip(); } } while (0)

/* The first LIST, in pages, delivers everything, in a bracket. */
static void
test_initial_list(void **state)
{
    NEED_SIM();
    char *ns = test_ns("list");
    create_namespace(ns, "1");
    for (int i = 0; i < 8; i++) {
        char name[16];
        snprintf(name, sizeof name, "p%d", i);
        create_pod(ns, name, "a", i);
    }
    for (int i = 0; i < 4; i++) {
        char name[16];
        snprintf(name, sizeof name, "np%d", i);
        put_netpol(ns, name, 80 + i, true);
    }

    struct client *c = client_new();
    client_start(c, NULL);
    assert_true(run_until(is_synced, c, 10));
    assert_int_equal(c->r.synced, 1);
    assert_converges(&c->r, 5);

    struct kube_client_status st;
    kube_client_get_status(c->kc, &st);
    assert_true(st.synced);
    for (int i = 0; i < KUBE_N_KINDS; i++) {
        assert_int_equal(c->r.begins[i], 1);
        assert_int_equal(c->r.ends[i], 1);
        assert_true(st.kinds[i].listed);
        assert_int_equal(st.kinds[i].lists, 1);
        assert_non_null(st.kinds[i].rv);
        /* page_size 3: each LIST took ceil(n/3) pages (at least 1). */
        size_t n = c->r.objs[i].n;
        assert_int_equal(st.kinds[i].pages, n ? (n + 2) / 3 : 1);
    }
    assert_true(st.kinds[OBJ_POD].pages >= 3);
    assert_int_equal(count_logs(&c->r, "error:", NULL), 0);
    client_stop(c);
    free(ns);
}

/* Creates, updates and deletes arrive as watch events, without resync. */
static void
test_watch_events(void **state)
{
    NEED_SIM();
    char *ns = test_ns("events");
    create_namespace(ns, "1");
    create_pod(ns, "a", "1", 1);
    create_pod(ns, "b", "1", 2);

    struct client *c = client_new();
    client_start(c, NULL);
    assert_true(run_until(is_synced, c, 10));
    wait_all_connected(c);

    struct entry *e;
    create_pod(ns, "c", "1", 3);
    update_pod(ns, "a", "2", 1);
    delete_object("pods", ns, "b");
    put_netpol(ns, "np", 80, true);
    put_netpol(ns, "np", 443, false);
    put_netpol(ns, "gone", 81, true);
    delete_object("networkpolicies", ns, "gone");
    char *ns2 = test_ns("events-new");
    create_namespace(ns2, "7");
    /* An event of 150 kB arrives in many pieces. */
    create_big_pod(ns, "big", 150000);
    char *cnp = test_ns("events-cnp");
    put_cnp(cnp, 10, false, true);
    put_cnp(cnp, 20, false, false);
    char *cnp_gone = test_ns("events-cnp-gone");
    put_cnp(cnp_gone, 5, false, true);
    delete_object("clusternetworkpolicies", NULL, cnp_gone);
    assert_converges(&c->r, 10);
    e = strmap_get(&c->r.objs[OBJ_CNP], cnp);
    assert_non_null(e);
    assert_string_equal(e->label, "20");        /* Its priority. */
    assert_int_equal(c->r.deletes[OBJ_CNP], 1);
    delete_object("clusternetworkpolicies", NULL, cnp);
    free(cnp);
    free(cnp_gone);

    char *key = xasprintf("%s/a", ns);
    e = strmap_get(&c->r.objs[OBJ_POD], key);
    assert_non_null(e);
    assert_string_equal(e->label, "2");
    free(key);
    e = strmap_get(&c->r.objs[OBJ_NAMESPACE], ns2);
    assert_non_null(e);
    assert_string_equal(e->label, "7");
    assert_int_equal(c->r.deletes[OBJ_POD], 1);
    assert_int_equal(c->r.deletes[OBJ_NETPOL], 1);

    for (int i = 0; i < KUBE_N_KINDS; i++) {
        assert_int_equal(c->r.begins[i], 1);
        assert_true(kind_status(c, i).events > 0);
    }
    assert_int_equal(count_logs(&c->r, "error:", NULL), 0);
    client_stop(c);
    free(ns);
    free(ns2);
}

struct rv_arg {
    struct client *c;
    enum obj_kind kind;
    const char *rv;
};

static bool
rv_reached(void *a_)
{
    struct rv_arg *a = a_;
    struct kube_kind_status s = kind_status(a->c, a->kind);
    return s.rv && strtoull(s.rv, NULL, 10) >= strtoull(a->rv, NULL, 10);
}

static void
sync_cb(void *aux, const char *error)
{
    char **result = aux;
    *result = xstrdup(error ? error : "ok");
}

static bool
sync_done(void *aux)
{
    return *(char **) aux != NULL;
}

/* A kind that does not change still advances, by bookmarks; and
 * kube_client_sync() waits for the changes made before it. */
static void
test_bookmarks_and_sync(void **state)
{
    NEED_SIM();
    char *ns = test_ns("bookmarks");
    create_namespace(ns, "1");

    struct client *c = client_new();
    client_start(c, NULL);
    assert_true(run_until(is_synced, c, 10));
    wait_all_connected(c);

    /* Only pods change; the namespaces' watch learns the new
     * resourceVersion from a bookmark. */
    create_pod(ns, "a", "1", 1);
    create_pod(ns, "b", "1", 2);
    char *body;
    assert_int_equal(http("GET", "/api/v1/pods?limit=1", NULL, &body), 200);
    json_t *list = json_loads(body, 0, NULL);
    char *target = xstrdup(json_string_value(
        json_object_get(json_object_get(list, "metadata"),
                        "resourceVersion")));
    json_decref(list);
    free(body);
    uint64_t bookmarks = kind_status(c, OBJ_NAMESPACE).bookmarks;
    sim_fault("{\"bookmark\": true}");
    struct rv_arg a = { c, OBJ_NAMESPACE, target };
    assert_true(run_until(rv_reached, &a, 10));
    assert_true(kind_status(c, OBJ_NAMESPACE).bookmarks > bookmarks);

    /* Sync: after the callback, the receiver has what was made before. */
    create_pod(ns, "c", "1", 3);
    char *result = NULL;
    kube_client_sync(c->kc, sync_cb, &result);
    sim_fault("{\"bookmark\": true}");
    assert_true(run_until(sync_done, &result, 10));
    assert_string_equal(result, "ok");
    free(result);
    char *key = xasprintf("%s/c", ns);
    assert_non_null(strmap_get(&c->r.objs[OBJ_POD], key));
    free(key);

    client_stop(c);
    free(target);
    free(ns);
}

/* A watch cut (a reset connection, or a clean end as at timeoutSeconds)
 * resumes from its resourceVersion: no loss, no relist. */
static void
test_cut_watch(void **state)
{
    NEED_SIM();
    char *ns = test_ns("cut");
    create_namespace(ns, "1");
    create_pod(ns, "a", "1", 1);

    struct client *c = client_new();
    client_start(c, NULL);
    assert_true(run_until(is_synced, c, 10));
    wait_all_connected(c);
    run_for(0.3);

    sim_fault("{\"cut_watches\": \"reset\"}");
    create_pod(ns, "b", "1", 2);
    delete_object("pods", ns, "a");
    update_pod(ns, "b", "2", 2);
    assert_converges(&c->r, 10);
    assert_true(count_logs(&c->r, "watch of pods: connection lost", NULL)
                >= 1);
    wait_all_connected(c);

    sim_fault("{\"cut_watches\": true}");
    create_pod(ns, "c", "1", 3);
    assert_converges(&c->r, 10);
    wait_all_connected(c);
    create_pod(ns, "d", "1", 4);
    assert_converges(&c->r, 10);

    for (int i = 0; i < KUBE_N_KINDS; i++) {
        assert_int_equal(c->r.begins[i], 1);
        assert_int_equal(kind_status(c, i).lists, 1);
        assert_int_equal(kind_status(c, i).relists, 0);
    }
    client_stop(c);
    free(ns);
}

/* The sim's counter of watch events still to drop. */
static long
sim_drops_pending(void)
{
    char *body;
    assert_int_equal(http("GET", "/sim/state", NULL, &body), 200);
    json_t *st = json_loads(body, 0, NULL);
    assert_non_null(st);
    long n = json_integer_value(json_object_get(json_object_get(st, "faults"),
                                                "drop_watch_events"));
    json_decref(st);
    free(body);
    return n;
}

static bool
drops_done(void *aux)
{
    return sim_drops_pending() == 0;
}

static char *
sim_resource_version(void)
{
    char *body;
    assert_int_equal(http("GET", "/sim/state", NULL, &body), 200);
    json_t *st = json_loads(body, 0, NULL);
    assert_non_null(st);
    char *rv = xstrdup(json_string_value(json_object_get(st,
                                                         "resourceVersion")));
    json_decref(st);
    free(body);
    return rv;
}

static bool
receiver_matches_now(struct receiver *r)
{
    struct snapshot want;
    snapshot_take(&want);
    struct match m = { r, &want, NULL };
    bool ok = receiver_matches(&m);
    snapshot_destroy(&want);
    return ok;
}

struct relist_arg {
    struct client *c;
    uint64_t total;
};

static uint64_t
total_relists(struct client *c)
{
    uint64_t total = 0;
    for (int i = 0; i < KUBE_N_KINDS; i++) {
        total += kind_status(c, i).relists;
    }
    return total;
}

static bool
relisted(void *a_)
{
    struct relist_arg *a = a_;
    if (total_relists(a->c) <= a->total) {
        return false;
    }
    for (int i = 0; i < KUBE_N_KINDS; i++) {
        struct kube_kind_status s = kind_status(a->c, i);
        if (s.resyncing || !s.connected) {
            return false;
        }
    }
    return true;
}

static bool
all_relisted(void *a_)
{
    struct relist_arg *a = a_;
    for (int i = 0; i < KUBE_N_KINDS; i++) {
        struct kube_kind_status s = kind_status(a->c, i);
        if (!s.relists || s.resyncing || !s.connected) {
            return false;
        }
    }
    return true;
}

/* Makes every kind relist: cuts the watches while the client is not
 * running, changes something (so that the resourceVersion of every kind
 * is behind) and compacts the history, so that each watch comes back to a
 * 410 Gone. */
static void
force_relists(struct client *c)
{
    wait_all_connected(c);
    sim_fault("{\"cut_watches\": \"reset\"}");
    char *bump = test_ns("bump");
    create_namespace(bump, "1");
    free(bump);
    sim_fault("{\"compact\": true}");
    struct relist_arg a = { c, 0 };
    assert_true(run_until(all_relisted, &a, 10));
}

/* 410 Gone: a fresh LIST in a resync bracket.  The client first misses
 * some events (the sim drops them), so it holds objects that are gone;
 * after the relist it holds exactly the server's set, both by applying
 * the events and by mark-and-sweep. */
static void
test_gone_relist(void **state)
{
    NEED_SIM();
    char *ns = test_ns("gone");
    create_namespace(ns, "1");
    for (int i = 0; i < 5; i++) {
        char name[16];
        snprintf(name, sizeof name, "p%d", i);
        create_pod(ns, name, "1", i);
    }
    put_netpol(ns, "np", 80, true);

    struct client *c = client_new();
    client_start(c, NULL);
    assert_true(run_until(is_synced, c, 10));
    wait_all_connected(c);
    assert_converges(&c->r, 5);

    /* Five changes the client never hears of. */
    sim_fault("{\"drop_watch_events\": 5}");
    delete_object("pods", ns, "p0");
    delete_object("pods", ns, "p1");
    update_pod(ns, "p2", "2", 2);
    create_pod(ns, "new", "1", 9);
    delete_object("networkpolicies", ns, "np");
    assert_true(run_until(drops_done, NULL, 10));
    run_for(0.5);
    char *key = xasprintf("%s/p0", ns);
    assert_non_null(strmap_get(&c->r.objs[OBJ_POD], key));
    free(key);

    /* The client's resourceVersions move past the lost events, so that
     * resuming would not replay them: only a relist can repair. */
    sim_fault("{\"bookmark\": true}");
    char *now = sim_resource_version();
    for (int i = OBJ_POD; i <= OBJ_NETPOL; i++) {
        struct rv_arg a = { c, i, now };
        assert_true(run_until(rv_reached, &a, 10));
    }
    free(now);
    assert_false(receiver_matches_now(&c->r));

    force_relists(c);
    assert_converges(&c->r, 15);
    for (int i = 0; i < KUBE_N_KINDS; i++) {
        uint64_t relists = kind_status(c, i).relists;
        assert_int_equal(c->r.begins[i], 1 + relists);
        assert_int_equal(c->r.ends[i], 1 + relists);
    }
    /* The sweep found p0 and p1 (and the policy) gone. */
    assert_int_equal(c->r.deletes[OBJ_POD], 2);
    assert_int_equal(c->r.deletes[OBJ_NETPOL], 1);
    assert_true(count_logs(&c->r, "info: watch of pods: resourceVersion",
                           "is gone (410 Expired", "relisting", NULL) >= 1);

    /* The watch from the new resourceVersion works. */
    wait_all_connected(c);
    create_pod(ns, "after", "1", 10);
    assert_converges(&c->r, 10);
    client_stop(c);
    free(ns);
}

/* 410 as the HTTP status of the watch request. */
static void
test_gone_http(void **state)
{
    NEED_SIM();
    char *ns = test_ns("gone-http");
    create_namespace(ns, "1");
    create_pod(ns, "a", "1", 1);

    struct client *c = client_new();
    client_start(c, NULL);
    assert_true(run_until(is_synced, c, 10));
    wait_all_connected(c);

    struct relist_arg a = { c, 0 };
    sim_fault("{\"gone_http\": 1, \"cut_watches\": \"reset\"}");
    assert_true(run_until(relisted, &a, 10));
    create_pod(ns, "b", "1", 2);
    assert_converges(&c->r, 10);
    for (int i = 0; i < KUBE_N_KINDS; i++) {
        uint64_t relists = kind_status(c, i).relists;
        assert_int_equal(c->r.begins[i], 1 + relists);
        assert_int_equal(c->r.ends[i], 1 + relists);
    }
    assert_true(count_logs(&c->r, "is gone (HTTP 410): relisting", NULL)
                >= 1);
    client_stop(c);
    free(ns);
}

/* The delays in the "retrying in X s" messages of 'prefix', in order. */
static size_t
logged_delays(const struct receiver *r, const char *prefix, double *delays,
              size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_logs && n < max; i++) {
        const char *p = strstr(r->logs[i], "retrying in ");
        if (!strncmp(r->logs[i], prefix, strlen(prefix)) && p) {
            delays[n++] = strtod(p + strlen("retrying in "), NULL);
        }
    }
    return n;
}

/* 5xx: errors logged, retried with delays that double (with jitter), then
 * success resets the backoff; 429 with Retry-After waits that long. */
static void
test_5xx_backoff(void **state)
{
    NEED_SIM();
    sim_fault("{\"status5xx\": 9, \"code\": 503}");

    struct client *c = client_new();
    c->opts.backoff_initial = 0.4;
    c->opts.backoff_max = 1.0;
    client_start(c, NULL);
    assert_true(run_until(is_synced, c, 20));

    uint64_t errors = 0;
    for (int i = 0; i < KUBE_N_KINDS; i++) {
        struct kube_kind_status s = kind_status(c, i);
        char *prefix = xasprintf("error: list of %s: HTTP 503", s.resource);
        double delays[16];
        size_t n = logged_delays(&c->r, prefix, delays, 16);
        errors += n;
        for (size_t j = 0; j < n; j++) {
            /* Nominal 0.4, 0.8, 1.0 (max), ...; jitter takes up to half
             * off; printed with one decimal. */
            double nominal = j == 0 ? 0.4 : j == 1 ? 0.8 : 1.0;
            if (delays[j] < nominal / 2 - 0.051
                || delays[j] > nominal + 0.051) {
                fail_msg("%s: retry %zu after %.1f s, expected %.2f to %.2f",
                         s.resource, j + 1, delays[j], nominal / 2, nominal);
            }
        }
        if (n) {
            assert_true(s.errors >= n);
            assert_non_null(s.last_error);
        }
        free(prefix);
    }
    assert_int_equal(errors, 9);
    assert_int_equal(count_logs(&c->r, "HTTP 503", "ServiceUnavailable",
                                "the server is currently unable to handle "
                                "the request", "retrying in", NULL), 9);
    for (int i = 0; i < KUBE_N_KINDS; i++) {
        assert_int_equal(kind_status(c, i).failures, 0);
    }
    assert_converges(&c->r, 5);
    client_stop(c);

    /* 429 Too Many Requests with Retry-After: 1. */
    sim_fault("{\"status429\": 1, \"retry_after\": 1}");
    c = client_new();
    client_start(c, NULL);
    assert_true(run_until(is_synced, c, 20));
    assert_int_equal(count_logs(&c->r, "HTTP 429", "TooManyRequests",
                                "retrying in 1.0 s", NULL), 1);
    client_stop(c);
    sim_fault("{\"reset\": true}");
}

/* A line that is not JSON: reported, connection dropped, resumed from the
 * last good resourceVersion; nothing lost, no relist. */
static void
test_garbage(void **state)
{
    NEED_SIM();
    char *ns = test_ns("garbage");
    create_namespace(ns, "1");

    struct client *c = client_new();
    client_start(c, NULL);
    assert_true(run_until(is_synced, c, 10));
    wait_all_connected(c);

    sim_fault("{\"garbage\": true}");
    create_pod(ns, "a", "1", 1);
    create_pod(ns, "b", "1", 2);
    assert_converges(&c->r, 10);
    for (int i = 0; i < KUBE_N_KINDS; i++) {
        char *msg = xasprintf("error: watch of %s: received garbage instead "
                              "of an event", kube_resource_name(i));
        assert_int_equal(count_logs(&c->r, msg, "reconnecting from "
                                    "resourceVersion", NULL), 1);
        free(msg);
        assert_int_equal(c->r.begins[i], 1);
    }
    wait_all_connected(c);

    /* An event of unknown type is a protocol error too. */
    sim_fault("{\"garbage\": \"{\\\"type\\\": \\\"EXPLODED\\\", "
              "\\\"object\\\": {}}\\n\"}");
    put_netpol(ns, "np", 80, true);
    assert_converges(&c->r, 10);
    assert_int_equal(count_logs(&c->r, "watch of networkpolicies: received "
                                "an event of unknown type \"EXPLODED\"",
                                NULL), 1);
    for (int i = 0; i < KUBE_N_KINDS; i++) {
        assert_int_equal(c->r.begins[i], 1);
    }
    client_stop(c);
    free(ns);
}

/* An event larger than max_event_size. */
static void
test_oversize(void **state)
{
    NEED_SIM();
    char *ns = test_ns("oversize");
    create_namespace(ns, "1");

    struct client *c = client_new();
    c->opts.max_event_size = 65536;
    client_start(c, NULL);
    assert_true(run_until(is_synced, c, 10));
    wait_all_connected(c);

    size_t size = 200000;
    char *fault = xmalloc(size + 64);
    char *p = fault + sprintf(fault, "{\"garbage\": \"");
    memset(p, 'x', size);
    strcpy(p + size, "\\n\"}");
    sim_fault(fault);
    free(fault);
    create_pod(ns, "a", "1", 1);
    assert_converges(&c->r, 10);
    assert_int_equal(count_logs(&c->r, "error: watch of pods: received an "
                                "event larger than 65536 bytes "
                                "(max_event_size)", NULL), 1);
    assert_int_equal(c->r.begins[OBJ_POD], 1);
    client_stop(c);
    free(ns);
}

struct log_arg {
    struct receiver *r;
    const char *a, *b;
    size_t n;
};

static bool
has_logs(void *a_)
{
    struct log_arg *a = a_;
    return count_logs(a->r, a->a, a->b, NULL) >= a->n;
}

/* An object whose watch event is larger than max_event_size: the server
 * replays it at every reconnection from the same resourceVersion.  The
 * kind is not synced meanwhile, and after three identical aborts it is
 * relisted, which gets past the event (the review's finding M). */
static void
test_stuck_watch(void **state)
{
    NEED_SIM();
    char *ns = test_ns("stuck");
    create_namespace(ns, "1");

    struct client *c = client_new();
    c->opts.max_event_size = 65536;
    client_start(c, NULL);
    assert_true(run_until(is_synced, c, 10));
    wait_all_connected(c);
    assert_true(kind_status(c, OBJ_POD).synced);

    create_big_pod(ns, "big", 100000);
    struct log_arg a = { &c->r, "error: watch of pods: received an event "
                         "larger than 65536 bytes (max_event_size); "
                         "reconnecting from resourceVersion", NULL, 1 };
    assert_true(run_until(has_logs, &a, 10));
    struct kube_client_status st;
    kube_client_get_status(c->kc, &st);
    assert_false(st.synced);
    assert_false(st.kinds[OBJ_POD].synced);
    assert_true(st.kinds[OBJ_POD].failures > 0);
    assert_non_null(strstr(st.kinds[OBJ_POD].last_error, "received an event "
                           "larger than 65536 bytes"));
    assert_true(st.kinds[OBJ_NAMESPACE].synced);

    assert_converges(&c->r, 15);
    assert_int_equal(count_logs(&c->r, "error: watch of pods: received an "
                                "event larger than 65536 bytes "
                                "(max_event_size), 3 times in a row at "
                                "resourceVersion", "the server sends the same "
                                "event at every reconnection from there, so "
                                "relisting", NULL), 1);
    assert_int_equal(count_logs(&c->r, "error: watch of pods: received an "
                                "event larger than", "reconnecting from "
                                "resourceVersion", NULL), 2);
    assert_int_equal(c->r.begins[OBJ_POD], 2);
    assert_int_equal(kind_status(c, OBJ_POD).relists, 1);
    wait_all_connected(c);
    kube_client_get_status(c->kc, &st);
    assert_true(st.synced);

    /* Past it, events flow again. */
    create_pod(ns, "after", "1", 1);
    assert_converges(&c->r, 10);
    client_stop(c);
    free(ns);
}

static bool
pods_listing(void *c_)
{
    struct kube_kind_status s = kind_status(c_, OBJ_POD);
    return s.pages >= 1 && !s.listed;
}

/* A LIST that trickles past request_timeout is cut and retried: it would
 * hold its kind otherwise (the review's section 2: only 1 byte/s over
 * 60 s was required). */
static void
test_list_timeout(void **state)
{
    NEED_SIM();
    struct client *c = client_new();
    c->opts.request_timeout = 0.5;
    sim_fault("{\"slow_ms\": 1500}");
    client_start(c, NULL);
    struct log_arg a = { &c->r, "error: list of ", "timed out", 3 };
    assert_true(run_until(has_logs, &a, 10));
    assert_int_equal(c->r.synced, 0);
    sim_fault("{\"slow_ms\": 0}");
    assert_true(run_until(is_synced, c, 10));
    assert_converges(&c->r, 5);
    client_stop(c);
}

/* A continue token that expires in the middle of a LIST (the history
 * was compacted): the LIST starts again, inside the same bracket; and a
 * page larger than max_list_size is an error. */
static void
test_continue_expired(void **state)
{
    NEED_SIM();
    char *ns = test_ns("continue");
    create_namespace(ns, "1");
    for (int i = 0; i < 30; i++) {
        char name[16];
        snprintf(name, sizeof name, "p%d", i);
        create_pod(ns, name, "1", i);
    }

    sim_fault("{\"slow_ms\": 100}");
    struct client *c = client_new();
    c->opts.page_size = 10;
    client_start(c, NULL);
    assert_true(run_until(pods_listing, c, 10));
    char *ns2 = test_ns("continue-bump");
    create_namespace(ns2, "1");
    free(ns2);
    sim_fault("{\"compact\": true}");
    assert_true(run_until(is_synced, c, 30));
    sim_fault("{\"slow_ms\": 0}");
    assert_int_equal(count_logs(&c->r, "info: list of pods: continue token "
                                "expired (410 Gone): listing again from the "
                                "first page", NULL), 1);
    assert_int_equal(c->r.begins[OBJ_POD], 1);
    assert_int_equal(c->r.ends[OBJ_POD], 1);
    assert_int_equal(kind_status(c, OBJ_POD).lists, 1);
    assert_converges(&c->r, 10);
    client_stop(c);

    c = client_new();
    c->opts.max_list_size = 200;
    client_start(c, NULL);
    struct log_arg a = { &c->r, "error: list of pods: the response is larger "
                         "than 200 bytes (max_list_size): retrying in", NULL,
                         2 };
    assert_true(run_until(has_logs, &a, 10));
    assert_int_equal(c->r.synced, 0);
    client_stop(c);
    free(ns);
}

static struct kube_config *
config_copy_with(const char *token, const char *token_file)
{
    struct kube_config *cfg = xcalloc(1, sizeof *cfg);
    const struct kube_config *s = sim.cfg;
    cfg->origin = xstrdup("test config");
    cfg->server = xstrdup(s->server);
    if (s->ca_data) {
        cfg->ca_data = xmemdup0(s->ca_data, s->ca_data_size);
        cfg->ca_data_size = s->ca_data_size;
    }
    cfg->ca_file = s->ca_file ? xstrdup(s->ca_file) : NULL;
    cfg->token = token ? xstrdup(token) : NULL;
    cfg->token_file = token_file ? xstrdup(token_file) : NULL;
    return cfg;
}

/* A wrong token: a clear error, retries with backoff, no sync; and a
 * token file fixed on disk is picked up at the next attempt. */
static void
test_wrong_token(void **state)
{
    NEED_SIM();
    char *token_file = tmp_path("sim-token");
    write_file(token_file, "wrong-token\n");

    struct client *c = client_new();
    c->cfg = config_copy_with("also-wrong", token_file);
    client_start(c, c->cfg);

    struct log_arg a = { &c->r, "unauthorized: check the token (test config)",
                         "HTTP 401", 2 * KUBE_N_KINDS };
    assert_true(run_until(has_logs, &a, 10));
    assert_int_equal(c->r.synced, 0);
    assert_true(kind_status(c, OBJ_POD).errors >= 2);
    assert_non_null(strstr(kind_status(c, OBJ_POD).last_error,
                           "unauthorized: check the token"));

    /* kube_client_sync() fails with the same reason. */
    char *result = NULL;
    kube_client_sync(c->kc, sync_cb, &result);
    assert_true(run_until(sync_done, &result, 10));
    assert_non_null(strstr(result, "unauthorized: check the token"));
    free(result);

    /* The token rotates to the right one. */
    char *right;
    assert_null(kube_config_get_token(sim.cfg, &right, NULL));
    write_file(token_file, right);
    free(right);
    assert_true(run_until(is_synced, c, 10));
    assert_converges(&c->r, 5);
    client_stop(c);
    free(token_file);
}

/* A token file that cannot be read while a static token stands in: said
 * once when it starts and once when it ends, not at every request. */
static void
test_token_fallback(void **state)
{
    NEED_SIM();
    char *token_file = tmp_path("fallback-token");
    char *right;
    assert_null(kube_config_get_token(sim.cfg, &right, NULL));
    write_file(token_file, right);

    struct client *c = client_new();
    c->cfg = config_copy_with(right, token_file);
    client_start(c, c->cfg);
    assert_true(run_until(is_synced, c, 10));
    wait_all_connected(c);

    assert_int_equal(unlink(token_file), 0);
    char *warning = xasprintf("warn: test config: cannot read token file %s "
                              "(No such file or directory): using the static "
                              "token instead", token_file);
    for (int i = 0; i < 3; i++) {
        sim_fault("{\"cut_watches\": true}");
        struct log_arg a = { &c->r, warning, NULL, 1 };
        assert_true(run_until(has_logs, &a, 10));
        wait_all_connected(c);
    }
    assert_int_equal(count_logs(&c->r, warning, NULL), 1);

    write_file(token_file, right);
    char *info = xasprintf("info: test config: token file %s can be read "
                           "again: using its token", token_file);
    sim_fault("{\"cut_watches\": true}");
    struct log_arg b = { &c->r, info, NULL, 1 };
    assert_true(run_until(has_logs, &b, 10));
    wait_all_connected(c);
    sim_fault("{\"cut_watches\": true}");
    wait_all_connected(c);
    run_for(0.2);
    assert_int_equal(count_logs(&c->r, info, NULL), 1);
    assert_int_equal(count_logs(&c->r, warning, NULL), 1);
    assert_converges(&c->r, 5);

    client_stop(c);
    free(info);
    free(warning);
    free(right);
    free(token_file);
}

/* A plain-HTTP server that records the head of every request it gets and
 * answers each with 503, so that the client keeps trying: what a token
 * would add to a request is visible byte for byte. */
struct fake_conn {
    struct fake_server *fs;
    struct fake_conn *next;
    int fd;
    ev_io io;
    char buf[16384];
    size_t len;
};

struct fake_server {
    int fd;
    char *url;
    ev_io io;
    struct fake_conn *conns;
    char **heads;
    size_t n_heads, allocated_heads;
};

static void
fake_conn_close(struct fake_conn *fc)
{
    struct fake_server *fs = fc->fs;
    for (struct fake_conn **p = &fs->conns; *p; p = &(*p)->next) {
        if (*p == fc) {
            *p = fc->next;
            break;
        }
    }
    ev_io_stop(sim.loop, &fc->io);
    close(fc->fd);
    free(fc);
}

static void
fake_conn_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct fake_conn *fc = CONTAINER_OF(w, struct fake_conn, io);
    ssize_t n = read(fc->fd, fc->buf + fc->len, sizeof fc->buf - 1 - fc->len);
    if (n <= 0) {
        fake_conn_close(fc);
        return;
    }
    fc->len += n;
    fc->buf[fc->len] = '\0';
    char *end = strstr(fc->buf, "\r\n\r\n");
    if (!end && fc->len < sizeof fc->buf - 1) {
        return;
    }
    struct fake_server *fs = fc->fs;
    APPEND(fs->heads, fs->n_heads, fs->allocated_heads,
           xmemdup0(fc->buf, end ? end - fc->buf : fc->len));
    static const char body[] =
        "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\","
        "\"reason\":\"ServiceUnavailable\",\"code\":503}";
    char *resp = xasprintf("HTTP/1.1 503 Service Unavailable\r\n"
                           "Content-Type: application/json\r\n"
                           "Content-Length: %zu\r\nConnection: close\r\n\r\n"
                           "%s", strlen(body), body);
    if (write(fc->fd, resp, strlen(resp)) < 0) {
        /* The client went away: nothing to answer. */
    }
    free(resp);
    fake_conn_close(fc);
}

static void
fake_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct fake_server *fs = CONTAINER_OF(w, struct fake_server, io);
    int fd = accept(fs->fd, NULL, NULL);
    if (fd < 0) {
        return;
    }
    struct fake_conn *fc = xcalloc(1, sizeof *fc);
    fc->fs = fs;
    fc->fd = fd;
    fc->next = fs->conns;
    fs->conns = fc;
    ev_io_init(&fc->io, fake_conn_cb, fd, EV_READ);
    ev_io_start(sim.loop, &fc->io);
}

static struct fake_server *
fake_server_start(void)
{
    struct fake_server *fs = xcalloc(1, sizeof *fs);
    fs->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fs->fd >= 0);
    struct sockaddr_in sin = { .sin_family = AF_INET };
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sin;
    assert_int_equal(bind(fs->fd, (struct sockaddr *) &sin, sizeof sin), 0);
    assert_int_equal(listen(fs->fd, 16), 0);
    assert_int_equal(getsockname(fs->fd, (struct sockaddr *) &sin, &len), 0);
    fs->url = xasprintf("http://127.0.0.1:%d", ntohs(sin.sin_port));
    ev_io_init(&fs->io, fake_accept_cb, fs->fd, EV_READ);
    ev_io_start(sim.loop, &fs->io);
    return fs;
}

static void
fake_server_stop(struct fake_server *fs)
{
    while (fs->conns) {
        fake_conn_close(fs->conns);
    }
    ev_io_stop(sim.loop, &fs->io);
    close(fs->fd);
    for (size_t i = 0; i < fs->n_heads; i++) {
        free(fs->heads[i]);
    }
    free(fs->heads);
    free(fs->url);
    free(fs);
}

/* Request heads received that contain 's'. */
static size_t
fake_count(const struct fake_server *fs, const char *s)
{
    size_t n = 0;
    for (size_t i = 0; i < fs->n_heads; i++) {
        n += strstr(fs->heads[i], s) != NULL;
    }
    return n;
}

struct fake_wait {
    const struct fake_server *fs;
    size_t n;
};

static bool
fake_has_requests(void *w_)
{
    struct fake_wait *w = w_;
    return w->fs->n_heads >= w->n;
}

/* A client of the fake server 'fs' with 'token' and 'token_file'. */
static struct client *
fake_client_start(const struct fake_server *fs, const char *token,
                  const char *token_file, bool allow_http_token)
{
    struct client *c = client_new();
    c->cfg = xcalloc(1, sizeof *c->cfg);
    c->cfg->origin = xstrdup("test config");
    c->cfg->server = xstrdup(fs->url);
    c->cfg->token = token ? xstrdup(token) : NULL;
    c->cfg->token_file = token_file ? xstrdup(token_file) : NULL;
    c->opts.allow_http_token = allow_http_token;
    client_start(c, c->cfg);
    return c;
}

/* Plain HTTP: a token is not sent unless allowed; a server without one
 * (kubectl proxy) is fine. */
static void
test_http_token(void **state)
{
    struct fake_server *fs = fake_server_start();

    struct client *c = fake_client_start(fs, "s3cr3t-token", NULL, false);
    struct log_arg a = { &c->r, "refusing to send the bearer token of test "
                         "config over plain HTTP to ", "(use https://, or "
                         "allow it explicitly)", 6 };
    assert_true(run_until(has_logs, &a, 10));
    client_stop(c);
    assert_int_equal(fake_count(fs, "s3cr3t-token"), 0);
    assert_int_equal(fake_count(fs, "Authorization"), 0);

    c = fake_client_start(fs, NULL, NULL, false);
    struct fake_wait w = { fs, 6 };
    assert_true(run_until(fake_has_requests, &w, 10));
    client_stop(c);
    assert_int_equal(fake_count(fs, "Authorization"), 0);
    assert_true(fake_count(fs, "GET /api/v1/namespaces?limit=3 ") >= 1);

    fake_server_stop(fs);
}

/* The review's injection, as a rotated token file: the good token is
 * sent; once the file holds CR/LF, requests fail naming the file, and no
 * injected header reaches the server. */
static void
test_token_injection(void **state)
{
    struct fake_server *fs = fake_server_start();
    char *token_file = tmp_path("inject-token");
    write_file(token_file, "good-token\n");

    struct client *c = fake_client_start(fs, "static-token", token_file,
                                         true);
    struct fake_wait w = { fs, 3 };
    assert_true(run_until(fake_has_requests, &w, 10));
    assert_int_equal(fake_count(fs, "\r\nAuthorization: Bearer good-token"),
                     fs->n_heads);

    write_file(token_file, "good-token\r\nX-Injected: yes\n");
    char *msg = xasprintf("test config: token file %s: the token holds a "
                          "byte that cannot be sent in an HTTP header (0x0d "
                          "at offset 10 of 27;", token_file);
    struct log_arg a = { &c->r, "error: list of ", msg, 6 };
    bool logged = run_until(has_logs, &a, 10);
    assert_int_equal(fake_count(fs, "X-Injected"), 0);
    assert_true(logged);
    assert_int_equal(fake_count(fs, "static-token"), 0);
    for (size_t i = 0; i < c->r.n_logs; i++) {
        assert_null(strstr(c->r.logs[i], "X-Injected"));
    }
    client_stop(c);

    free(msg);
    free(token_file);
    fake_server_stop(fs);
}

/* TLS: a CA that did not sign the server's certificate is an error that
 * says so; insecure-skip-tls-verify connects, with a warning. */
static void
test_tls(void **state)
{
    NEED_SIM();
    struct client *c = client_new();
    c->cfg = config_copy_with(NULL, NULL);
    assert_null(kube_config_get_token(sim.cfg, &c->cfg->token, NULL));
    free(c->cfg->ca_data);
    c->cfg->ca_data = NULL;
    free(c->cfg->ca_file);
    c->cfg->ca_file = xstrdup("/etc/ssl/certs/ca-certificates.crt");
    client_start(c, c->cfg);
    struct log_arg a = { &c->r, "error: list of", "TLS error with", 3 };
    assert_true(run_until(has_logs, &a, 10));
    assert_int_equal(c->r.synced, 0);
    client_stop(c);

    c = client_new();
    c->cfg = config_copy_with(NULL, NULL);
    assert_null(kube_config_get_token(sim.cfg, &c->cfg->token, NULL));
    free(c->cfg->ca_data);
    c->cfg->ca_data = NULL;
    free(c->cfg->ca_file);
    c->cfg->ca_file = NULL;
    c->cfg->insecure_skip_tls_verify = true;
    client_start(c, c->cfg);
    assert_int_equal(count_logs(&c->r, "warn: test config: "
                                "insecure-skip-tls-verify is set", NULL), 1);
    assert_true(run_until(is_synced, c, 10));
    client_stop(c);

    /* Nobody listening. */
    c = client_new();
    c->cfg = config_copy_with("t", NULL);
    free(c->cfg->server);
    c->cfg->server = xstrdup("https://127.0.0.1:1");
    client_start(c, c->cfg);
    struct log_arg b = { &c->r, "error: list of", "cannot connect to "
                         "https://127.0.0.1:1", 3 };
    assert_true(run_until(has_logs, &b, 10));
    client_stop(c);
}

static char *
read_text(const char *path, size_t *size)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *data = xmalloc(65536);
    *size = fread(data, 1, 65535, f);
    data[*size] = '\0';
    fclose(f);
    return data;
}

/* A client certificate, from files and from data, is loaded and presented
 * (the sim authenticates by token, so this shows that libcurl takes the
 * certificate and key); a certificate that is not one is a clear TLS
 * error. */
static void
test_client_cert(void **state)
{
    NEED_SIM();
    if (!sim.client_cert || !sim.client_key) {
        skip();
    }
    struct client *c = client_new();
    c->cfg = config_copy_with(NULL, NULL);
    assert_null(kube_config_get_token(sim.cfg, &c->cfg->token, NULL));
    c->cfg->client_cert_file = xstrdup(sim.client_cert);
    c->cfg->client_key_file = xstrdup(sim.client_key);
    client_start(c, c->cfg);
    assert_true(run_until(is_synced, c, 10));
    assert_int_equal(count_logs(&c->r, "error:", NULL), 0);
    client_stop(c);

    c = client_new();
    c->cfg = config_copy_with(NULL, NULL);
    assert_null(kube_config_get_token(sim.cfg, &c->cfg->token, NULL));
    c->cfg->client_cert_data = read_text(sim.client_cert,
                                         &c->cfg->client_cert_data_size);
    c->cfg->client_key_data = read_text(sim.client_key,
                                        &c->cfg->client_key_data_size);
    client_start(c, c->cfg);
    assert_true(run_until(is_synced, c, 10));
    assert_int_equal(count_logs(&c->r, "error:", NULL), 0);
    client_stop(c);

    c = client_new();
    c->cfg = config_copy_with(NULL, NULL);
    assert_null(kube_config_get_token(sim.cfg, &c->cfg->token, NULL));
    c->cfg->client_cert_data = xstrdup(CERT_PEM);
    c->cfg->client_cert_data_size = strlen(CERT_PEM);
    c->cfg->client_key_data = xstrdup(KEY_PEM);
    c->cfg->client_key_data_size = strlen(KEY_PEM);
    client_start(c, c->cfg);
    struct log_arg a = { &c->r, "error: list of", "TLS error with", 3 };
    assert_true(run_until(has_logs, &a, 10));
    assert_int_equal(c->r.synced, 0);
    client_stop(c);
}

/* An object that our validation rejects (the stand-in does not
 * validate): reported by name and field; a known object keeps its last
 * valid version, through resyncs too; its deletion is delivered. */
struct entry_wait {
    struct receiver *r;
    const char *key;            /* A NetworkPolicy. */
};

/* Is the policy 'key' held, and not as a stand-in? */
static bool
is_valid_entry(void *w_)
{
    const struct entry_wait *w = w_;
    const struct entry *e = strmap_get(&w->r->objs[OBJ_NETPOL], w->key);
    return e && !e->label;
}

static void
test_invalid_object(void **state)
{
    NEED_SIM();
    char *ns = test_ns("invalid");
    create_namespace(ns, "1");
    put_netpol(ns, "good", 80, true);

    struct client *c = client_new();
    client_start(c, NULL);
    assert_true(run_until(is_synced, c, 10));
    wait_all_connected(c);
    assert_converges(&c->r, 5);
    char *key = xasprintf("%s/good", ns);
    struct entry *e = strmap_get(&c->r.objs[OBJ_NETPOL], key);
    assert_non_null(e);
    char *good_rv = xstrdup(e->rv);

    put_netpol(ns, "bad", 70000, true);
    put_netpol(ns, "good", 70001, false);
    char *msg = xasprintf("error: watch of networkpolicies: NetworkPolicy "
                          "%s/good: spec.ingress[0].ports[0].port: 70001 is "
                          "not a valid port number (must be between 1 and "
                          "65535) (resourceVersion ", ns);
    struct log_arg a = { &c->r, msg, "keeping its last valid version", 1 };
    assert_true(run_until(has_logs, &a, 10));
    free(msg);
    /* A new invalid policy isolates its pods: its fail-closed stand-in. */
    msg = xasprintf("NetworkPolicy %s/bad: spec.ingress[0].ports[0].port: "
                    "70000 is not a valid port number", ns);
    assert_int_equal(count_logs(&c->r, msg, "isolating its pods with no "
                                "rules until it is fixed", NULL), 1);
    free(msg);
    e = strmap_get(&c->r.objs[OBJ_NETPOL], key);
    assert_non_null(e);
    assert_string_equal(e->rv, good_rv);
    assert_null(e->label);
    char *bad_key = xasprintf("%s/bad", ns);
    e = strmap_get(&c->r.objs[OBJ_NETPOL], bad_key);
    assert_non_null(e);
    assert_string_equal(e->label, "stand-in");
    assert_int_equal(kind_status(c, OBJ_NETPOL).invalid, 2);
    /* on_invalid() for each, without the request's origin, with the
     * object's uid and resourceVersion. */
    assert_int_equal(c->r.invalids, 2);
    assert_non_null(c->r.last_invalid);
    assert_null(strstr(c->r.last_invalid, "watch of"));
    assert_non_null(strstr(c->r.last_invalid, "spec.ingress[0].ports[0]"));
    assert_true(!strncmp(c->r.last_invalid, "uid ", 4));

    /* A relist keeps the valid one (on_keep) for a mark-and-sweep receiver
     * too, and delivers the stand-in again. */
    force_relists(c);
    assert_int_equal(c->r.keeps[OBJ_NETPOL],
                     kind_status(c, OBJ_NETPOL).relists);
    e = strmap_get(&c->r.swept[OBJ_NETPOL], key);
    assert_non_null(e);
    assert_string_equal(e->rv, good_rv);
    e = strmap_get(&c->r.swept[OBJ_NETPOL], bad_key);
    assert_non_null(e);
    assert_string_equal(e->label, "stand-in");
    assert_non_null(strmap_get(&c->r.objs[OBJ_NETPOL], key));
    /* Seen again by the LIST: reported again (the caller de-duplicates). */
    assert_true(c->r.invalids >= 4);
    assert_null(strstr(c->r.last_invalid, "list of"));

    /* Fixed, the stand-in gives way to the policy. */
    put_netpol(ns, "bad", 80, false);
    struct entry_wait w = { &c->r, bad_key };
    assert_true(run_until(is_valid_entry, &w, 10));

    /* Deleting both: both were delivered. */
    int deletes = c->r.deletes[OBJ_NETPOL];
    delete_object("networkpolicies", ns, "good");
    delete_object("networkpolicies", ns, "bad");
    assert_converges(&c->r, 10);
    assert_int_equal(c->r.deletes[OBJ_NETPOL], deletes + 2);

    client_stop(c);
    free(bad_key);
    free(good_rv);
    free(key);
    free(ns);
}

/* ClusterNetworkPolicies come from a CRD the cluster may lack. */

static bool
cnp_absent_and_none(void *c_)
{
    struct client *c = c_;
    return (kind_status(c, OBJ_CNP).absent && !c->r.objs[OBJ_CNP].n
            && !c->r.swept[OBJ_CNP].n && !c->r.in_resync[OBJ_CNP]);
}

static bool
cnp_held(void *c_)
{
    struct client *c = c_;
    return c->r.objs[OBJ_CNP].n > 0;
}

/* Without the CRD: synced with none, one INFO line, no error, checked
 * again every absent_recheck.  The CRD created: listed and watched (new,
 * changed, invalid: its last valid version kept, and a new invalid one
 * ignored).  The CRD removed: each one delivered is deleted, once, and the
 * kind is absent again. */
static void
test_cnp_crd(void **state)
{
    NEED_SIM();
    crd_remove();

    struct client *c = client_new();
    c->opts.absent_recheck = 0.3;
    client_start(c, NULL);
    assert_true(run_until(is_synced, c, 10));
    for (int i = 0; i < KUBE_N_KINDS; i++) {
        if (i != OBJ_CNP) {
            wait_connected(c, i);
        }
    }
    struct kube_client_status st;
    kube_client_get_status(c->kc, &st);
    assert_true(st.synced);
    const struct kube_kind_status *k = &st.kinds[OBJ_CNP];
    assert_true(k->absent && k->listed && k->synced);
    assert_false(k->resyncing || k->connected);
    assert_null(k->rv);
    assert_int_equal(k->errors, 0);
    run_for(1.5);
    /* Listed again meanwhile (a bracket each), said once. */
    assert_true(c->r.begins[OBJ_CNP] >= 3);
    assert_int_equal(c->r.begins[OBJ_CNP], c->r.ends[OBJ_CNP]);
    assert_true(kind_status(c, OBJ_CNP).synced);
    assert_int_equal(count_logs(&c->r, "info: list of clusternetworkpolicies: "
                                "the server does not serve policy.networking."
                                "k8s.io/v1alpha2 clusternetworkpolicies (the "
                                "ClusterNetworkPolicy CRD) (HTTP 404): "
                                "running with no ClusterNetworkPolicies; "
                                "listing again every 0.3 s", NULL), 1);
    assert_int_equal(count_logs(&c->r, "clusternetworkpolicies", NULL), 1);
    assert_int_equal(count_logs(&c->r, "error:", NULL), 0);
    assert_int_equal(c->r.objs[OBJ_CNP].n, 0);

    /* The CRD appears. */
    crd_install();
    char *a = test_ns("crd-a");
    put_cnp(a, 10, false, true);
    assert_converges(&c->r, 30);
    wait_connected(c, OBJ_CNP);
    assert_int_equal(count_logs(&c->r, "info: list of clusternetworkpolicies: "
                                "the server serves policy.networking.k8s.io/"
                                "v1alpha2 clusternetworkpolicies (the "
                                "ClusterNetworkPolicy CRD) now: ",
                                " listed at resourceVersion ", "; watching",
                                NULL), 1);
    kube_client_get_status(c->kc, &st);
    assert_false(k->absent);
    assert_non_null(k->rv);
    assert_true(st.synced);

    /* Watched. */
    char *b = test_ns("crd-b");
    put_cnp(b, 20, false, true);
    put_cnp(a, 11, false, false);
    assert_converges(&c->r, 30);
    struct entry *e = strmap_get(&c->r.objs[OBJ_CNP], a);
    assert_non_null(e);
    assert_string_equal(e->label, "11");

    /* Invalid (a selector the CRD's schema lets through): the last valid
     * version stays; a new invalid one is enforced through its fail-closed
     * stand-in (objects_stand_in()), and said so. */
    put_cnp(a, 12, true, false);
    char *msg = xasprintf("error: watch of clusternetworkpolicies: "
                          "ClusterNetworkPolicy %s: spec.subject.namespaces."
                          "matchLabels: \"bad key!\"", a);
    struct log_arg la = { &c->r, msg, "keeping its last valid version", 1 };
    assert_true(run_until(has_logs, &la, 10));
    free(msg);
    char *bad = test_ns("crd-bad");
    put_cnp(bad, 5, true, true);
    msg = xasprintf("ClusterNetworkPolicy %s: spec.subject", bad);
    la = (struct log_arg) { &c->r, msg, "; denying every connection of its "
                            "subject until it is fixed", 1 };
    assert_true(run_until(has_logs, &la, 10));
    free(msg);
    e = strmap_get(&c->r.objs[OBJ_CNP], a);
    assert_non_null(e);
    assert_string_equal(e->label, "11");
    assert_non_null(strmap_get(&c->r.objs[OBJ_CNP], bad));
    assert_int_equal(c->r.objs[OBJ_CNP].n, 3);
    assert_int_equal(c->r.invalids, 2);
    assert_non_null(strstr(c->r.last_invalid, "; denying every connection"));
    assert_int_equal(kind_status(c, OBJ_CNP).invalid, 2);

    /* The CRD removed: 'a' (at its last valid version), 'b' and the
     * stand-in of 'bad' deleted. */
    int deletes = c->r.deletes[OBJ_CNP];
    crd_remove();
    assert_true(run_until(cnp_absent_and_none, c, 30));
    assert_int_equal(c->r.deletes[OBJ_CNP], deletes + 3);
    kube_client_get_status(c->kc, &st);
    assert_true(st.synced);
    assert_null(k->rv);
    /* The two invalid versions were the only errors. */
    assert_int_equal(count_logs(&c->r, "error:", NULL), 2);
    assert_int_equal(count_logs(&c->r, "error:", "ClusterNetworkPolicy ",
                                NULL), 2);
    /* Said once more, in the same way; not at each later check. */
    run_for(1);
    assert_int_equal(count_logs(&c->r, "the server does not serve", NULL), 1);
    assert_int_equal(count_logs(&c->r, "info: list of clusternetworkpolicies: "
                                "the server no longer serves policy."
                                "networking.k8s.io/v1alpha2 "
                                "clusternetworkpolicies (the "
                                "ClusterNetworkPolicy CRD) (HTTP 404): "
                                "deleting the ", NULL), 1);
    assert_int_equal(count_logs(&c->r, "error:", NULL), 2);

    client_stop(c);
    crd_install();
    free(a);
    free(b);
    free(bad);
}

/* kube_client_sync() answers for the CRD as for the other kinds: absent
 * on both sides is caught up; created since, the kind is listed at once
 * (not at the next check, 300 s away here) and the sync returns with its
 * objects; removed with no object left, the watch's end, then its 404,
 * make it absent again. */
static void
test_cnp_sync(void **state)
{
    NEED_SIM();
    crd_remove();

    struct client *c = client_new();
    c->opts.absent_recheck = 300;
    /* A sync may list the metadata of the quiet kinds: the stand-in holds
     * the pods of every test by now, so in one page, not by 3. */
    c->opts.page_size = 500;
    client_start(c, NULL);
    assert_true(run_until(is_synced, c, 10));
    assert_true(kind_status(c, OBJ_CNP).absent);

    char *result = NULL;
    kube_client_sync(c->kc, sync_cb, &result);
    assert_true(run_until(sync_done, &result, 30));
    assert_string_equal(result, "ok");
    free(result);
    assert_true(kind_status(c, OBJ_CNP).absent);

    crd_install();
    char *a = test_ns("sync-cnp");
    put_cnp(a, 7, false, true);
    result = NULL;
    kube_client_sync(c->kc, sync_cb, &result);
    assert_true(run_until(sync_done, &result, 30));
    assert_string_equal(result, "ok");
    free(result);
    const struct entry *e = strmap_get(&c->r.objs[OBJ_CNP], a);
    assert_non_null(e);
    assert_string_equal(e->label, "7");
    assert_false(kind_status(c, OBJ_CNP).absent);
    wait_connected(c, OBJ_CNP);

    delete_object("clusternetworkpolicies", NULL, a);
    result = NULL;
    kube_client_sync(c->kc, sync_cb, &result);
    assert_true(run_until(sync_done, &result, 30));
    assert_string_equal(result, "ok");
    free(result);
    assert_int_equal(c->r.objs[OBJ_CNP].n, 0);

    /* No object left to delete: nothing but the watch's end tells. */
    crd_remove();
    assert_true(run_until(cnp_absent_and_none, c, 30));
    assert_int_equal(count_logs(&c->r, "error:", NULL), 0);
    result = NULL;
    kube_client_sync(c->kc, sync_cb, &result);
    assert_true(run_until(sync_done, &result, 30));
    assert_string_equal(result, "ok");
    free(result);

    /* Created again, with a policy, while a sync waits: it has it. */
    crd_install();
    put_cnp(a, 8, false, true);
    result = NULL;
    kube_client_sync(c->kc, sync_cb, &result);
    assert_true(run_until(sync_done, &result, 30));
    assert_string_equal(result, "ok");
    free(result);
    assert_true(cnp_held(c));
    assert_int_equal(count_logs(&c->r, "error:", NULL), 0);
    delete_object("clusternetworkpolicies", NULL, a);

    client_stop(c);
    free(a);
}

/* kube_client_send(): a POST and a PATCH of an Event, the answers and
 * a failure's message. */
struct send_wait {
    int calls;
    long status;
    char *error;
};

static void
send_cb(void *w_, long status, const char *error)
{
    struct send_wait *w = w_;
    w->calls++;
    w->status = status;
    free(w->error);
    w->error = error ? xstrdup(error) : NULL;
}

static bool
is_sent(void *w_)
{
    const struct send_wait *w = w_;
    return w->calls > 0;
}

static void
send_and_wait(struct client *c, const char *method, const char *path,
              const char *body, struct send_wait *w)
{
    w->calls = 0;
    char *error = NULL;
    assert_true(kube_client_send(c->kc, method, path, body, send_cb, w,
                                 &error));
    assert_null(error);
    assert_true(run_until(is_sent, w, 10));
    assert_int_equal(w->calls, 1);
}

static void
test_send(void **state)
{
    NEED_SIM();
    char *ns = test_ns("send");
    create_namespace(ns, "1");
    struct client *c = client_new();
    client_start(c, NULL);
    assert_true(run_until(is_synced, c, 10));

    char *path = xasprintf("/api/v1/namespaces/%s/events", ns);
    char *body = xasprintf(
        "{\"apiVersion\":\"v1\",\"kind\":\"Event\",\"metadata\":"
        "{\"name\":\"x.1\",\"namespace\":\"%s\"},\"involvedObject\":"
        "{\"kind\":\"NetworkPolicy\",\"namespace\":\"%s\",\"name\":"
        "\"x\"},\"reason\":\"R\",\"message\":\"m\",\"type\":"
        "\"Warning\",\"count\":1}", ns, ns);
    struct send_wait w = { 0 };
    send_and_wait(c, "POST", path, body, &w);
    assert_int_equal(w.status, 201);
    assert_null(w.error);

    char *item = xasprintf("%s/x.1", path);
    send_and_wait(c, "PATCH", item, "{\"count\":2}", &w);
    assert_int_equal(w.status, 200);
    char *out;
    assert_int_equal(http("GET", item, NULL, &out), 200);
    assert_non_null(strstr(out, "\"count\": 2") ? out
                    : strstr(out, "\"count\":2"));
    free(out);

    /* Gone: 404, and a message naming the request. */
    char *gone = xasprintf("%s/nope", path);
    send_and_wait(c, "PATCH", gone, "{\"count\":2}", &w);
    assert_int_equal(w.status, 404);
    assert_non_null(w.error);
    assert_non_null(strstr(w.error, "PATCH /api/v1/namespaces/"));
    assert_non_null(strstr(w.error, "HTTP 404"));

    client_stop(c);
    free(w.error);
    free(gone);
    free(item);
    free(body);
    free(path);
    free(ns);
}

/* kube_client_sync() without bookmarks (the second stand-in sends them
 * every 300 s): a kind whose watch has not reached the server's
 * resourceVersion is verified by a metadata LIST. */

struct sync_wait {
    struct receiver *r;
    enum obj_kind kind;
    char *key;                  /* An object to look at in the callback, */
    const char *label;          /* with this label, or NULL: absent. */
    ev_tstamp start;

    int calls;
    char *result;               /* "ok" or the error. */
    bool seen;                  /* 'key' as expected in the callback. */
    double ms;                  /* From kube_client_sync() to the callback. */
};

static void
sync_wait_cb(void *w_, const char *error)
{
    struct sync_wait *w = w_;
    w->calls++;
    if (!w->result) {
        w->result = xstrdup(error ? error : "ok");
    }
    const struct entry *e = strmap_get(&w->r->objs[w->kind], w->key);
    w->seen = (w->label ? e && e->label && !strcmp(e->label, w->label)
               : !e);
    w->ms = (ev_time() - w->start) * 1000;
}

static bool
sync_wait_done(void *w_)
{
    struct sync_wait *w = w_;
    return w->calls > 0;
}

/* Starts a sync of 'c' that looks at pod 'ns'/'name' in its callback. */
static void
sync_start(struct client *c, struct sync_wait *w, const char *ns,
           const char *name, const char *label)
{
    memset(w, 0, sizeof *w);
    w->r = &c->r;
    w->kind = OBJ_POD;
    w->key = xasprintf("%s/%s", ns, name);
    w->label = label;
    w->start = ev_time();
    kube_client_sync(c->kc, sync_wait_cb, w);
}

/* Waits up to 'timeout' seconds for the callback; then exactly one call,
 * and no second one a little later. */
static void
sync_finish_wait(struct sync_wait *w, double timeout)
{
    if (!run_until(sync_wait_done, w, timeout)) {
        fail_msg("kube_client_sync() did not call back in %.1f s", timeout);
    }
    run_for(0.05);
    assert_int_equal(w->calls, 1);
}

static void
sync_wait_destroy(struct sync_wait *w)
{
    free(w->key);
    free(w->result);
}

static long
sim_request_seq(void)
{
    char *body;
    assert_int_equal(http("GET", "/sim/state", NULL, &body), 200);
    json_t *st = json_loads(body, 0, NULL);
    assert_non_null(st);
    long seq = json_integer_value(json_object_get(st, "requests"));
    json_decref(st);
    free(body);
    return seq;
}

/* The metadata LISTs of 'resource' that the stand-in answered after
 * request 'since'; '*paged': one of them asked for a further page. */
static int
sim_metadata_lists(long since, const char *resource, bool *paged)
{
    char *path = xasprintf("/sim/requests?since=%ld", since);
    char *body;
    assert_int_equal(http("GET", path, NULL, &body), 200);
    free(path);
    json_t *doc = json_loads(body, 0, NULL);
    assert_non_null(doc);
    char *prefix = xasprintf("/%s?", resource);
    int n = 0;
    size_t i;
    json_t *req;
    json_array_foreach (json_object_get(doc, "requests"), i, req) {
        const char *accept = json_string_value(json_object_get(req,
                                                               "accept"));
        const char *p = json_string_value(json_object_get(req, "path"));
        if (accept && p && strstr(accept, "as=PartialObjectMetadataList")
            && strstr(p, prefix)) {
            n++;
            if (paged && strstr(p, "continue=")) {
                *paged = true;
            }
        }
    }
    json_decref(doc);
    free(body);
    free(prefix);
    return n;
}

/* Only the watches of one client are open on the stand-in: those of
 * stopped clients end within a second. */
static bool
sim_one_client(void *aux)
{
    char *body;
    assert_int_equal(http("GET", "/sim/state", NULL, &body), 200);
    json_t *st = json_loads(body, 0, NULL);
    assert_non_null(st);
    size_t n = json_array_size(json_object_get(st, "watches"));
    json_decref(st);
    free(body);
    return n == KUBE_N_KINDS;
}

static void
quiet_client_start(struct client *c)
{
    client_start(c, c->cfg);
    assert_true(run_until(is_synced, c, 10));
    wait_all_connected(c);
}

/* One kind changes, the others stay quiet: sync returns in well under a
 * second (not at the next bookmark) and the change has been delivered. */
static void
test_sync_quiet(void **state)
{
    NEED_QUIET_SIM();
    char *ns = test_ns("quiet");
    create_namespace(ns, "1");
    for (int i = 0; i < 5; i++) {
        char name[32];
        snprintf(name, sizeof name, "p%d", i);
        create_pod(ns, name, "a", i);
        snprintf(name, sizeof name, "%s-%d", ns, i);
        create_namespace(name, "1");
    }
    put_netpol(ns, "np", 80, true);

    struct client *c = client_new();
    quiet_client_start(c);
    long since = sim_request_seq();

    double ms[5];
    for (int i = 0; i < 5; i++) {
        char label[16];
        snprintf(label, sizeof label, "v%d", i);
        update_pod(ns, "p0", label, 0);
        struct sync_wait w;
        sync_start(c, &w, ns, "p0", label);
        sync_finish_wait(&w, 5);
        assert_string_equal(w.result, "ok");
        assert_true(w.seen);
        ms[i] = w.ms;
        sync_wait_destroy(&w);
    }
    double max = 0, sum = 0;
    for (int i = 0; i < 5; i++) {
        max = ms[i] > max ? ms[i] : max;
        sum += ms[i];
    }
    printf("# sync after a pod relabel, namespaces and policies quiet: "
           "mean %.0f ms, max %.0f ms (5 syncs)\n", sum / 5, max);
    fflush(stdout);
    assert_true(max < 800);

    /* With no change at all too. */
    struct sync_wait w;
    sync_start(c, &w, ns, "p0", "v4");
    sync_finish_wait(&w, 5);
    assert_string_equal(w.result, "ok");
    assert_true(w.ms < 800);
    sync_wait_destroy(&w);

    /* Nothing came from bookmarks: the quiet kinds were listed, in pages
     * of page_size (3).  (The stand-in logs a request after answering
     * it: those of the last sync may be missing yet.) */
    for (int i = 0; i < KUBE_N_KINDS; i++) {
        assert_int_equal(kind_status(c, i).bookmarks, 0);
    }
    bool paged = false;
    assert_true(sim_metadata_lists(since, "namespaces", &paged) >= 5);
    assert_true(sim_metadata_lists(since, "networkpolicies", NULL) >= 5);
    assert_true(paged);

    client_stop(c);
    free(ns);
}

/* An event that is on the server but held in the watch stream (the
 * stand-in sleeps before writing it): the listing shows the new version,
 * so sync waits until the event is delivered. */
static void
test_sync_held_event(void **state)
{
    NEED_QUIET_SIM();
    char *ns = test_ns("held");
    create_namespace(ns, "1");
    create_pod(ns, "a", "1", 1);
    create_pod(ns, "b", "1", 2);

    struct client *c = client_new();
    quiet_client_start(c);
    long since = sim_request_seq();

    sim_fault("{\"slow_watch_ms\": 1500}");
    update_pod(ns, "a", "held", 1);
    struct sync_wait w;
    sync_start(c, &w, ns, "a", "held");
    sync_finish_wait(&w, 10);
    sim_fault("{\"slow_watch_ms\": 0}");
    assert_string_equal(w.result, "ok");
    assert_true(w.seen);
    /* It did wait for the hold, and the pods were listed meanwhile. */
    assert_true(w.ms > 1000);
    assert_true(sim_metadata_lists(since, "pods", NULL) >= 1);
    sync_wait_destroy(&w);

    client_stop(c);
    free(ns);
}

/* The same with a deletion: the listing lacks the pod that the client
 * still holds, so sync waits for the DELETED event. */
static void
test_sync_held_delete(void **state)
{
    NEED_QUIET_SIM();
    char *ns = test_ns("held-delete");
    create_namespace(ns, "1");
    create_pod(ns, "a", "1", 1);
    create_pod(ns, "b", "1", 2);

    struct client *c = client_new();
    quiet_client_start(c);

    sim_fault("{\"slow_watch_ms\": 1500}");
    delete_object("pods", ns, "b");
    struct sync_wait w;
    sync_start(c, &w, ns, "b", NULL);
    sync_finish_wait(&w, 10);
    sim_fault("{\"slow_watch_ms\": 0}");
    assert_string_equal(w.result, "ok");
    assert_true(w.seen);
    assert_true(w.ms > 1000);
    assert_int_equal(c->r.deletes[OBJ_POD], 1);
    sync_wait_destroy(&w);

    client_stop(c);
    free(ns);
}

/* An event the client never gets (the stand-in drops it): sync waits, and
 * completes after the relist that brings the change; or, destroyed
 * meanwhile, the client calls back once with an error. */
static void
test_sync_relist(void **state)
{
    NEED_QUIET_SIM();
    char *ns = test_ns("sync-relist");
    create_namespace(ns, "1");
    create_pod(ns, "a", "1", 1);

    struct client *c = client_new();
    quiet_client_start(c);
    /* The drop must hit our watch. */
    assert_true(run_until(sim_one_client, NULL, 5));

    sim_fault("{\"drop_watch_events\": 1}");
    update_pod(ns, "a", "lost", 1);
    assert_true(run_until(drops_done, NULL, 10));
    struct sync_wait w;
    sync_start(c, &w, ns, "a", "lost");
    assert_false(run_until(sync_wait_done, &w, 1.0));

    force_relists(c);
    sync_finish_wait(&w, 10);
    assert_string_equal(w.result, "ok");
    assert_true(w.seen);
    assert_true(kind_status(c, OBJ_POD).relists >= 1);
    sync_wait_destroy(&w);

    wait_all_connected(c);
    assert_true(run_until(sim_one_client, NULL, 5));
    sim_fault("{\"drop_watch_events\": 1}");
    update_pod(ns, "a", "lost-again", 1);
    assert_true(run_until(drops_done, NULL, 10));
    sync_start(c, &w, ns, "a", "lost-again");
    assert_false(run_until(sync_wait_done, &w, 0.5));
    client_stop(c);
    assert_int_equal(w.calls, 1);
    assert_string_equal(w.result, "the Kubernetes client was destroyed");
    sync_wait_destroy(&w);
    free(ns);
}

/* A metadata LIST that fails fails the sync, once, naming the resource:
 * the token becomes wrong after the probes (which read it) started and
 * before the listings start. */
static void
test_sync_list_error(void **state)
{
    NEED_QUIET_SIM();
    char *ns = test_ns("sync-error");
    create_namespace(ns, "1");
    create_pod(ns, "a", "1", 1);

    char *token_file = tmp_path("quiet-token");
    char *right;
    assert_null(kube_config_get_token(sim.cfg, &right, NULL));
    write_file(token_file, right);

    struct client *c = client_new();
    c->cfg = config_copy_with(NULL, token_file);
    quiet_client_start(c);

    update_pod(ns, "a", "2", 1);
    struct sync_wait w;
    sync_start(c, &w, ns, "a", "2");
    ev_run(sim.loop, EVRUN_NOWAIT);     /* The probes start. */
    write_file(token_file, "wrong-token\n");
    sync_finish_wait(&w, 5);
    if (strncmp(w.result, "metadata list of ", 17)
        || !strstr(w.result, "unauthorized: check the token")) {
        fail_msg("unexpected sync result: %s", w.result);
    }
    sync_wait_destroy(&w);

    /* Fixed: the next sync succeeds. */
    write_file(token_file, right);
    sync_start(c, &w, ns, "a", "2");
    sync_finish_wait(&w, 5);
    assert_string_equal(w.result, "ok");
    assert_true(w.seen);
    sync_wait_destroy(&w);

    client_stop(c);
    free(right);
    free(token_file);
    free(ns);
}

int
main(int argc, char *argv[])
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--sim") && i + 1 < argc) {
            sim.kubeconfig = argv[++i];
        } else if (!strcmp(argv[i], "--quiet-sim") && i + 1 < argc) {
            sim.quiet_kubeconfig = argv[++i];
        } else if (!strcmp(argv[i], "--client-cert") && i + 1 < argc) {
            sim.client_cert = argv[++i];
        } else if (!strcmp(argv[i], "--client-key") && i + 1 < argc) {
            sim.client_key = argv[++i];
        } else if (!strcmp(argv[i], "--cnp-crd") && i + 1 < argc) {
            sim.cnp_crd = argv[++i];
        } else if (!strcmp(argv[i], "-v")) {
            sim.verbose = true;
        } else {
            fprintf(stderr, "usage: %s [--sim KUBECONFIG --cnp-crd FILE "
                    "[--client-cert FILE --client-key FILE] [--quiet-sim "
                    "KUBECONFIG]] [-v]\n", argv[0]);
            return 2;
        }
    }
    if (sim.kubeconfig && !sim.cnp_crd) {
        fprintf(stderr, "%s: --sim needs --cnp-crd\n", argv[0]);
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);

    char template[] = "/tmp/test-kube-client.XXXXXX";
    tmpdir = mkdtemp(template);
    if (!tmpdir) {
        perror("mkdtemp");
        return 1;
    }

    const struct CMUnitTest unit_tests[] = {
        cmocka_unit_test_teardown(test_base64, client_teardown),
        cmocka_unit_test_teardown(test_config_data, client_teardown),
        cmocka_unit_test_teardown(test_config_files, client_teardown),
        cmocka_unit_test_teardown(test_config_errors, client_teardown),
        cmocka_unit_test_teardown(test_in_cluster, client_teardown),
    };
    const struct CMUnitTest sim_tests[] = {
        cmocka_unit_test_teardown(test_initial_list, client_teardown),
        cmocka_unit_test_teardown(test_watch_events, client_teardown),
        cmocka_unit_test_teardown(test_bookmarks_and_sync, client_teardown),
        cmocka_unit_test_teardown(test_cut_watch, client_teardown),
        cmocka_unit_test_teardown(test_gone_relist, client_teardown),
        cmocka_unit_test_teardown(test_gone_http, client_teardown),
        cmocka_unit_test_teardown(test_5xx_backoff, client_teardown),
        cmocka_unit_test_teardown(test_continue_expired, client_teardown),
        cmocka_unit_test_teardown(test_list_timeout, client_teardown),
        cmocka_unit_test_teardown(test_garbage, client_teardown),
        cmocka_unit_test_teardown(test_oversize, client_teardown),
        cmocka_unit_test_teardown(test_stuck_watch, client_teardown),
        cmocka_unit_test_teardown(test_wrong_token, client_teardown),
        cmocka_unit_test_teardown(test_token_fallback, client_teardown),
        cmocka_unit_test_teardown(test_tls, client_teardown),
        cmocka_unit_test_teardown(test_client_cert, client_teardown),
        cmocka_unit_test_teardown(test_invalid_object, client_teardown),
        cmocka_unit_test_teardown(test_send, client_teardown),
        cmocka_unit_test_teardown(test_cnp_crd, client_teardown),
        cmocka_unit_test_teardown(test_cnp_sync, client_teardown),
    };
    const struct CMUnitTest fake_tests[] = {
        cmocka_unit_test_teardown(test_http_token, client_teardown),
        cmocka_unit_test_teardown(test_token_injection, client_teardown),
    };
    const struct CMUnitTest quiet_tests[] = {
        cmocka_unit_test_teardown(test_sync_quiet, client_teardown),
        cmocka_unit_test_teardown(test_sync_held_event, client_teardown),
        cmocka_unit_test_teardown(test_sync_held_delete, client_teardown),
        cmocka_unit_test_teardown(test_sync_relist, client_teardown),
        cmocka_unit_test_teardown(test_sync_list_error, client_teardown),
    };
    int failed = cmocka_run_group_tests_name("kubeconfig", unit_tests,
                                             NULL, NULL);
    sim.loop = ev_default_loop(0);
    failed += cmocka_run_group_tests_name("kube-client-fake", fake_tests,
                                          NULL, NULL);
    if (sim.kubeconfig) {
        failed += cmocka_run_group_tests_name("kube-client", sim_tests,
                                              integration_setup,
                                              integration_teardown);
    }
    if (sim.kubeconfig && sim.quiet_kubeconfig) {
        failed += cmocka_run_group_tests_name("kube-client-sync", quiet_tests,
                                              quiet_setup,
                                              integration_teardown);
    }

    char *cmd = xasprintf("rm -rf '%s'", tmpdir);
    if (system(cmd)) {
        /* Leave it. */
    }
    free(cmd);
    if (sim.loop) {
        ev_loop_destroy(sim.loop);
    }
    curl_global_cleanup();
    return failed ? 1 : 0;
}
