/* Fuzz target: kubeconfig files (src/kubeconfig.c), as ovs-netpold
 * --kubeconfig reads them, then the token the client would send; and the
 * base64 decoder on its own.
 *
 * The file is "/nonexistent/fuzz/kubeconfig", so that relative file names
 * in it name nothing.
 *
 * Checks (kubeconfig.h): a config or a message, never both or neither; the
 * server is http:// or https:// without a trailing '/'; at most one of
 * ca_file and ca_data, and neither with insecure-skip-tls-verify; client
 * certificate and key come together; decoded data is null-terminated. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include "fuzz.h"
#include "kubeconfig.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return 0;
}

static void
check_config(const struct kube_config *c)
{
    assert(c->origin && c->server);
    assert(!strncmp(c->server, "https://", 8)
           || !strncmp(c->server, "http://", 7));
    size_t len = strlen(c->server);
    assert(len && c->server[len - 1] != '/');
    assert(!(c->ca_file && c->ca_data));
    assert(!c->insecure_skip_tls_verify || (!c->ca_file && !c->ca_data));
    assert(!c->ca_data || !c->ca_data[c->ca_data_size]);
    bool cert = c->client_cert_file || c->client_cert_data;
    bool key = c->client_key_file || c->client_key_data;
    assert(cert == key);
    assert(!(c->client_cert_file && c->client_cert_data));
    assert(!(c->client_key_file && c->client_key_data));
}

static void
load(const char *text, size_t size, const char *context)
{
    struct kube_config *c = NULL;
    char *error = kube_config_parse("/nonexistent/fuzz/kubeconfig", text,
                                    size, context, &c);
    assert(!c != !error);
    if (c) {
        check_config(c);
        char *token = NULL, *fallback = NULL;
        error = kube_config_get_token(c, &token, &fallback);
        assert(!(token && error));
        /* A token we would send can never add a header. */
        for (const char *p = token; p && *p; p++) {
            assert(*p > 0x20 && *p < 0x7f);
        }
        kube_config_free_token(token);
        free(fallback);
        free(error);
        kube_config_destroy(c);
    } else {
        assert(*error);
        free(error);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *) data;
    load(text, size, NULL);
    load(text, size, "fuzz");

    char *decoded;
    size_t decoded_size;
    char *error = kube_base64_decode(text, size, &decoded, &decoded_size);
    assert(!decoded != !error);
    if (decoded) {
        assert(decoded_size <= size / 4 * 3 + 3 && !decoded[decoded_size]);
    }
    free(decoded);
    free(error);
    return 0;
}
