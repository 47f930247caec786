/* kubeconfig files and the in-cluster service account.  See kubeconfig.h. */
#include "kubeconfig.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>
#include "np-util.h"
#include "yaml-json.h"

/* Files larger than this are not kubeconfigs, tokens or certificates. */
#define KUBE_MAX_FILE_SIZE (16 * 1024 * 1024)

/* Frees 'p', which may hold a secret (a token, a private key), after
 * overwriting its 'size' bytes, so that no copy lingers in freed memory
 * (core dumps, later allocations). */
static void
secret_free(char *p, size_t size)
{
    if (p) {
        explicit_bzero(p, size);
        free(p);
    }
}

/* strerror() that also knows np_read_file()'s NP_READ_NOT_REGULAR. */
static const char *
file_error(int error)
{
    return (error == NP_READ_NOT_REGULAR
            ? "not a regular file: a FIFO or a device could block the daemon"
            : strerror(error));
}

/* Reads the whole file 'path' into '*datap', malloc'd, null-terminated,
 * '*sizep' bytes; it may hold a secret (free it with secret_free()).
 * With 'regular_only', anything but a regular file is refused, and
 * opening it never blocks (np_read_file()).  Returns 0, an errno value
 * (EFBIG when too big) or NP_READ_NOT_REGULAR. */
static int
read_file(const char *path, bool regular_only, char **datap, size_t *sizep)
{
    return np_read_file(path, KUBE_MAX_FILE_SIZE,
                        NP_READ_SECRET | (regular_only ? NP_READ_REGULAR : 0),
                        NULL, datap, sizep);
}

static bool
is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
           || c == '\v';
}

/* Bearer tokens. */

/* Removes white space around the 'size' bytes at 'data' and returns the
 * token as a new string.  Does not free 'data'. */
static char *
trim_token(const char *data, size_t size)
{
    size_t start = 0;
    while (start < size && is_space(data[start])) {
        start++;
    }
    while (size > start && is_space(data[size - 1])) {
        size--;
    }
    return xmemdup0(data + start, size - start);
}

/* Checks that 'token' can go into an "Authorization: Bearer" header: every
 * byte printable ASCII and no space.  A CR or LF would end the header and
 * let the rest of the token add headers of its own; Go's net/http, and so
 * client-go, refuses such a value too.  Returns NULL or a malloc'd
 * message, which tells where the bad byte is but never quotes the token. */
static char *
check_token(const char *token)
{
    size_t len = strlen(token);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = token[i];
        if (c < 0x21 || c > 0x7e) {
            return xasprintf("the token holds a byte that cannot be sent in "
                             "an HTTP header (0x%02x at offset %zu of %zu; a "
                             "bearer token is printable ASCII without "
                             "spaces)", c, i, len);
        }
    }
    return NULL;
}

/* Reads the token file 'path' into '*tokenp', trimmed.  Returns 0 or an
 * errno value. */
static int
read_token_file(const char *path, char **tokenp)
{
    char *data;
    size_t size;
    /* Read again for every request, on the event loop. */
    int error = read_file(path, true, &data, &size);
    *tokenp = error ? NULL : trim_token(data, size);
    secret_free(data, size);
    return error;
}

/* Base64. */

static int
base64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    } else if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    } else if (c == '+') {
        return 62;
    } else if (c == '/') {
        return 63;
    }
    return -1;
}

char *
kube_base64_decode(const char *s, size_t len, char **datap, size_t *sizep)
{
    char *data = xmalloc(len / 4 * 3 + 4);
    size_t size = 0;
    uint32_t acc = 0;
    int n_bits = 0;
    size_t n_pad = 0;
    size_t n_chars = 0;

    *datap = NULL;
    *sizep = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = s[i];
        if (is_space(c)) {
            continue;
        }
        if (c == '=') {
            n_pad++;
            n_chars++;
            continue;
        }
        int v = base64_value(c);
        if (v < 0 || n_pad) {
            secret_free(data, len / 4 * 3 + 4);
            if (v < 0) {
                return (c >= 0x20 && c < 0x7f
                        ? xasprintf("bad character '%c' at offset %zu", c, i)
                        : xasprintf("bad byte 0x%02x at offset %zu", c, i));
            }
            return xasprintf("data after padding at offset %zu", i);
        }
        n_chars++;
        acc = (acc << 6) | v;
        n_bits += 6;
        if (n_bits >= 8) {
            n_bits -= 8;
            data[size++] = (acc >> n_bits) & 0xff;
        }
    }
    /* A final group of 1 character cannot encode a byte; padding, when
     * present, must complete the last group of 4. */
    if (n_chars % 4 == 1 || (n_pad && (n_chars % 4 || n_pad > 2))) {
        secret_free(data, len / 4 * 3 + 4);
        return xstrdup("truncated (the length is not a multiple of 4)");
    }
    data[size] = '\0';
    *datap = data;
    *sizep = size;
    return NULL;
}

/* Loading. */

struct kctx {
    const char *path;           /* The kubeconfig, for messages. */
    char *dir;                  /* Its directory, with a trailing '/'. */
    char *error;                /* The first error. */
};

static bool kfail(struct kctx *, const char *who, const char *field,
                  const char *format, ...)
    __attribute__((format(printf, 4, 5)));

/* Records "PATH: WHO: FIELD: MESSAGE" (WHO and FIELD optional) and returns
 * false. */
static bool
kfail(struct kctx *ctx, const char *who, const char *field,
      const char *format, ...)
{
    if (ctx->error) {
        return false;
    }
    va_list args;
    va_start(args, format);
    char *msg = xvasprintf(format, args);
    va_end(args);
    ctx->error = xasprintf("%s: %s%s%s%s%s", ctx->path,
                           who ? who : "", who ? ": " : "",
                           field ? field : "", field ? ": " : "", msg);
    free(msg);
    return false;
}

/* Member 'key' of 'obj'; JSON null counts as absent. */
static json_t *
member(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return v && !json_is_null(v) ? v : NULL;
}

/* Stores the string member 'key' of 'obj' in '*out' (NULL when absent or
 * empty, as Go treats ""). */
static bool
get_string(struct kctx *ctx, const char *who, const json_t *obj,
           const char *key, const char **out)
{
    const json_t *v = member(obj, key);
    *out = NULL;
    if (!v) {
        return true;
    } else if (!json_is_string(v)) {
        return kfail(ctx, who, key, "must be a string");
    }
    *out = *json_string_value(v) ? json_string_value(v) : NULL;
    return true;
}

static bool
get_bool(struct kctx *ctx, const char *who, const json_t *obj,
         const char *key, bool *out)
{
    const json_t *v = member(obj, key);
    *out = false;
    if (!v) {
        return true;
    } else if (!json_is_boolean(v)) {
        return kfail(ctx, who, key, "must be true or false");
    }
    *out = json_is_true(v);
    return true;
}

/* Finds the entry named 'name' in the list 'list_key' ("clusters", ...) of
 * 'root' and stores its 'inner_key' object ("cluster", ...) in '*out'. */
static bool
find_named(struct kctx *ctx, const json_t *root, const char *list_key,
           const char *inner_key, const char *name, const char *referrer,
           const char *ref_field, json_t **out)
{
    const json_t *list = member(root, list_key);
    *out = NULL;
    if (list && !json_is_array(list)) {
        return kfail(ctx, NULL, list_key, "must be a list");
    }

    size_t i;
    json_t *entry;
    json_array_foreach (list, i, entry) {
        char field[64];
        snprintf(field, sizeof field, "%s[%zu]", list_key, i);
        if (!json_is_object(entry)) {
            return kfail(ctx, NULL, field, "must be a mapping");
        }
        const json_t *n = member(entry, "name");
        if (!json_is_string(n)) {
            return kfail(ctx, NULL, field, "name: %s", n ? "must be a string"
                         : "is required");
        }
        if (strcmp(json_string_value(n), name)) {
            continue;
        }
        json_t *inner = member(entry, inner_key);
        if (!inner) {
            char *who = xasprintf("%s[%zu] (\"%s\")", list_key, i, name);
            kfail(ctx, who, inner_key, "is required");
            free(who);
            return false;
        } else if (!json_is_object(inner)) {
            char *who = xasprintf("%s[%zu] (\"%s\")", list_key, i, name);
            kfail(ctx, who, inner_key, "must be a mapping");
            free(who);
            return false;
        }
        *out = inner;
        return true;
    }
    if (!referrer && !ref_field) {
        return kfail(ctx, NULL, NULL, "%s \"%s\" is not in %s", inner_key,
                     name, list_key);
    }
    return kfail(ctx, referrer, ref_field, "\"%s\" is not in %s", name,
                 list_key);
}

/* Resolves 'name' (from the kubeconfig) against the kubeconfig's
 * directory. */
static char *
resolve_path(const struct kctx *ctx, const char *name)
{
    return (name[0] == '/' || !ctx->dir
            ? xstrdup(name) : xasprintf("%s%s", ctx->dir, name));
}

/* Notes a warning if the secret file 'path' (field 'field' of 'who') may be
 * read by group or others. */
static void
check_private(struct kctx *ctx, struct kube_config *c, const char *who,
              const char *field, const char *path)
{
    struct stat st;
    if (!stat(path, &st) && st.st_mode & (S_IRGRP | S_IROTH)) {
        char *w = xasprintf("%s: %s: %s: %s is readable by %s (mode %04o): "
                            "whoever reads it can act as this user",
                            ctx->path, who, field, path,
                            st.st_mode & S_IROTH ? "everyone" : "its group",
                            (unsigned int) (st.st_mode & 07777));
        APPEND(c->warnings, c->n_warnings, c->allocated_warnings, w);
    }
}

/* Checks that the file 'name' (field 'field' of 'who') is readable and
 * stores its resolved path in '*pathp'. */
static bool
check_file(struct kctx *ctx, const char *who, const char *field,
           const char *name, char **pathp)
{
    char *path = resolve_path(ctx, name);
    char *data;
    size_t size;
    int error = read_file(path, false, &data, &size);
    if (error) {
        kfail(ctx, who, field, "cannot read %s (%s)", path,
              file_error(error));
        free(path);
        return false;
    }
    secret_free(data, size);
    *pathp = path;
    return true;
}

enum pem_kind {
    PEM_CERTIFICATE,
    PEM_PRIVATE_KEY,
};

static bool
pem_holds(const char *data, enum pem_kind kind)
{
    if (kind == PEM_CERTIFICATE) {
        return strstr(data, "-----BEGIN CERTIFICATE-----") != NULL;
    }
    const char *begin = strstr(data, "-----BEGIN ");
    if (!begin) {
        return false;
    }
    const char *eol = strchr(begin, '\n');
    const char *pk = strstr(begin, "PRIVATE KEY-----");
    return pk && (!eol || pk < eol);
}

/* Decodes the base64 field 'field' of 'who', which must hold PEM of 'kind'
 * (for a useful message now rather than a TLS error later). */
static bool
decode_pem_field(struct kctx *ctx, const char *who, const char *field,
                 const char *b64, enum pem_kind kind, char **datap,
                 size_t *sizep)
{
    char *reason = kube_base64_decode(b64, strlen(b64), datap, sizep);
    if (reason) {
        kfail(ctx, who, field, "is not valid base64 (%s)", reason);
        free(reason);
        return false;
    }
    if (!pem_holds(*datap, kind)) {
        secret_free(*datap, *sizep);
        *datap = NULL;
        bool cert = kind == PEM_CERTIFICATE;
        return kfail(ctx, who, field, "does not hold a PEM %s (no "
                     "\"-----BEGIN %s-----\" line after base64 decoding)",
                     cert ? "certificate" : "private key",
                     cert ? "CERTIFICATE" : "... PRIVATE KEY");
    }
    return true;
}

static bool
parse_cluster(struct kctx *ctx, const char *who, const json_t *cluster,
              struct kube_config *c)
{
    const char *server, *ca, *ca_data, *proxy, *tls_name;
    bool insecure;
    if (!get_string(ctx, who, cluster, "server", &server)
        || !get_string(ctx, who, cluster, "certificate-authority", &ca)
        || !get_string(ctx, who, cluster, "certificate-authority-data",
                       &ca_data)
        || !get_string(ctx, who, cluster, "proxy-url", &proxy)
        || !get_string(ctx, who, cluster, "tls-server-name", &tls_name)
        || !get_bool(ctx, who, cluster, "insecure-skip-tls-verify",
                     &insecure)) {
        return false;
    }

    if (!server) {
        return kfail(ctx, who, "server", "is required");
    }
    /* Checked first, and the URL not quoted: it would show the password.
     * libcurl would send it as basic authentication, which kubectl does
     * not do either. */
    const char *authority = strstr(server, "://");
    authority = authority ? authority + 3 : server;
    const char *at = strchr(authority, '@');
    if (at && at < authority + strcspn(authority, "/?#")) {
        return kfail(ctx, who, "server", "has a user name or password "
                     "before '@' (not supported: use token, tokenFile or a "
                     "client certificate)");
    }
    if (strncmp(server, "https://", 8) && strncmp(server, "http://", 7)) {
        return kfail(ctx, who, "server", "\"%s\" is not an http:// or "
                     "https:// URL", server);
    }
    const char *host = strstr(server, "//") + 2;
    if (!*host || *host == '/') {
        return kfail(ctx, who, "server", "\"%s\" has no host", server);
    }
    if (strpbrk(server, " \t\r\n?#")) {
        return kfail(ctx, who, "server", "\"%s\" is not a valid base URL "
                     "(spaces, query or fragment)", server);
    }
    size_t len = strlen(server);
    while (len > 0 && server[len - 1] == '/') {
        len--;
    }
    c->server = xmemdup0(server, len);

    if (tls_name) {
        return kfail(ctx, who, "tls-server-name", "is not supported");
    }
    if (ca && ca_data) {
        return kfail(ctx, who, "certificate-authority-data", "and "
                     "certificate-authority are both set (use one)");
    }
    if (insecure && (ca || ca_data)) {
        return kfail(ctx, who, "insecure-skip-tls-verify", "cannot be "
                     "combined with %s (client-go rejects it too)",
                     ca ? "certificate-authority"
                     : "certificate-authority-data");
    }
    c->insecure_skip_tls_verify = insecure;
    if (ca && !check_file(ctx, who, "certificate-authority", ca,
                          &c->ca_file)) {
        return false;
    }
    if (ca_data && !decode_pem_field(ctx, who, "certificate-authority-data",
                                     ca_data, PEM_CERTIFICATE, &c->ca_data,
                                     &c->ca_data_size)) {
        return false;
    }
    if (proxy) {
        c->proxy_url = xstrdup(proxy);
    }
    return true;
}

static bool
parse_user(struct kctx *ctx, const char *who, const json_t *user,
           struct kube_config *c)
{
    const char *token, *token_file, *cert, *cert_data, *key, *key_data;
    const char *username, *password;
    if (!get_string(ctx, who, user, "token", &token)
        || !get_string(ctx, who, user, "tokenFile", &token_file)
        || !get_string(ctx, who, user, "client-certificate", &cert)
        || !get_string(ctx, who, user, "client-certificate-data",
                       &cert_data)
        || !get_string(ctx, who, user, "client-key", &key)
        || !get_string(ctx, who, user, "client-key-data", &key_data)
        || !get_string(ctx, who, user, "username", &username)
        || !get_string(ctx, who, user, "password", &password)) {
        return false;
    }

    static const char *const unsupported[] = { "exec", "auth-provider" };
    for (size_t i = 0; i < ARRAY_SIZE(unsupported); i++) {
        if (member(user, unsupported[i])) {
            return kfail(ctx, who, unsupported[i], "is not supported (use "
                         "token, tokenFile or a client certificate)");
        }
    }
    if (username || password) {
        return kfail(ctx, who, username ? "username" : "password",
                     "basic authentication is not supported (use token, "
                     "tokenFile or a client certificate)");
    }

    if (token) {
        char *reason = check_token(token);
        if (reason) {
            kfail(ctx, who, "token", "%s", reason);
            free(reason);
            return false;
        }
        c->token = xstrdup(token);
    }
    if (token_file) {
        char *path = resolve_path(ctx, token_file);
        char *file_token;
        int error = read_token_file(path, &file_token);
        char *reason = error ? NULL : check_token(file_token);
        if (error) {
            kfail(ctx, who, "tokenFile", "cannot read %s (%s)", path,
                  file_error(error));
        } else if (reason) {
            kfail(ctx, who, "tokenFile", "%s: %s", path, reason);
        }
        free(reason);
        secret_free(file_token, file_token ? strlen(file_token) : 0);
        if (ctx->error) {
            free(path);
            return false;
        }
        c->token_file = path;
        check_private(ctx, c, who, "tokenFile", path);
    }

    if (cert && cert_data) {
        return kfail(ctx, who, "client-certificate-data", "and "
                     "client-certificate are both set (use one)");
    }
    if (key && key_data) {
        return kfail(ctx, who, "client-key-data", "and client-key are both "
                     "set (use one)");
    }
    if ((cert || cert_data) && !(key || key_data)) {
        return kfail(ctx, who, "client-key", "is required with %s (set "
                     "client-key or client-key-data)",
                     cert ? "client-certificate"
                     : "client-certificate-data");
    }
    if ((key || key_data) && !(cert || cert_data)) {
        return kfail(ctx, who, "client-certificate", "is required with %s "
                     "(set client-certificate or client-certificate-data)",
                     key ? "client-key" : "client-key-data");
    }
    if (cert && !check_file(ctx, who, "client-certificate", cert,
                            &c->client_cert_file)) {
        return false;
    }
    if (key && !check_file(ctx, who, "client-key", key,
                           &c->client_key_file)) {
        return false;
    }
    if (key) {
        check_private(ctx, c, who, "client-key", c->client_key_file);
    }
    if (cert_data && !decode_pem_field(ctx, who, "client-certificate-data",
                                       cert_data, PEM_CERTIFICATE,
                                       &c->client_cert_data,
                                       &c->client_cert_data_size)) {
        return false;
    }
    if (key_data && !decode_pem_field(ctx, who, "client-key-data", key_data,
                                      PEM_PRIVATE_KEY, &c->client_key_data,
                                      &c->client_key_data_size)) {
        return false;
    }
    return true;
}

static bool
parse_root(struct kctx *ctx, const json_t *root, const char *context,
           struct kube_config *c)
{
    if (!json_is_object(root)) {
        return kfail(ctx, NULL, NULL, "is not a kubeconfig (expected a "
                     "mapping with clusters, contexts and users)");
    }
    const char *kind, *current;
    if (!get_string(ctx, NULL, root, "kind", &kind)
        || !get_string(ctx, NULL, root, "current-context", &current)) {
        return false;
    }
    if (kind && strcmp(kind, "Config")) {
        return kfail(ctx, NULL, "kind", "\"%s\" is not Config", kind);
    }

    const char *ref_field = "current-context";
    if (context) {
        current = context;
        ref_field = NULL;
    } else if (!current) {
        return kfail(ctx, NULL, "current-context", "is not set (and no "
                     "context was given)");
    }

    json_t *ctx_obj;
    if (!find_named(ctx, root, "contexts", "context", current, NULL,
                    ref_field, &ctx_obj)) {
        return false;
    }
    c->context = xstrdup(current);

    char *who = xasprintf("context \"%s\"", current);
    const char *cluster_name, *user_name;
    bool ok = (get_string(ctx, who, ctx_obj, "cluster", &cluster_name)
          && get_string(ctx, who, ctx_obj, "user", &user_name));
    if (ok && !cluster_name) {
        ok = kfail(ctx, who, "cluster", "is required");
    }

    json_t *cluster = NULL, *user = NULL;
    ok = ok && find_named(ctx, root, "clusters", "cluster", cluster_name,
                          who, "cluster", &cluster);
    if (ok && user_name) {
        ok = find_named(ctx, root, "users", "user", user_name, who, "user",
                        &user);
    }
    free(who);
    if (!ok) {
        return false;
    }

    who = xasprintf("cluster \"%s\"", cluster_name);
    ok = parse_cluster(ctx, who, cluster, c);
    free(who);
    if (ok && user) {
        /* A context without a user connects anonymously. */
        who = xasprintf("user \"%s\"", user_name);
        ok = parse_user(ctx, who, user, c);
        free(who);
    }
    return ok;
}

char *
kube_config_parse(const char *path, const char *text, size_t size,
                  const char *context, struct kube_config **configp)
{
    struct kctx ctx = { .path = path };
    const char *slash = strrchr(path, '/');
    if (slash) {
        ctx.dir = xmemdup0(path, slash - path + 1);
    }

    *configp = NULL;
    char *error;
    json_t *root = yaml_json_load_one(text, size, &error);
    if (!root) {
        kfail(&ctx, NULL, NULL, "%s", error);
        free(error);
        free(ctx.dir);
        return ctx.error;
    }

    struct kube_config *c = xcalloc(1, sizeof *c);
    c->origin = xstrdup(path);
    if (!parse_root(&ctx, root, context, c)) {
        kube_config_destroy(c);
        c = NULL;
    }
    json_decref(root);
    free(ctx.dir);
    *configp = c;
    return ctx.error;
}

char *
kube_config_load(const char *path, const char *context,
                 struct kube_config **configp)
{
    char *text;
    size_t size;
    int error = read_file(path, false, &text, &size);
    if (error) {
        *configp = NULL;
        return xasprintf("%s: cannot read kubeconfig (%s)", path,
                         file_error(error));
    }
    char *msg = kube_config_parse(path, text, size, context, configp);
    free(text);
    return msg;
}

char *
kube_config_in_cluster(const char *sa_dir, struct kube_config **configp)
{
    const char *host = getenv("KUBERNETES_SERVICE_HOST");
    const char *port = getenv("KUBERNETES_SERVICE_PORT");
    char *origin = xasprintf("in-cluster config (%s)",
                             sa_dir ? sa_dir : KUBE_SA_DIR);

    *configp = NULL;
    if (!host || !*host || !port || !*port) {
        char *msg = xasprintf("%s: KUBERNETES_SERVICE_HOST and "
                              "KUBERNETES_SERVICE_PORT must be set (not "
                              "running in a pod?)", origin);
        free(origin);
        return msg;
    }

    if (host[strcspn(host, "@/?# \t\r\n")]
        || port[strcspn(port, "@/?# \t\r\n")]) {
        char *msg = xasprintf("%s: KUBERNETES_SERVICE_HOST or "
                              "KUBERNETES_SERVICE_PORT is not a host name, "
                              "address or port", origin);
        free(origin);
        return msg;
    }

    struct kube_config *c = xcalloc(1, sizeof *c);
    c->origin = origin;
    c->server = (strchr(host, ':')
                 ? xasprintf("https://[%s]:%s", host, port)
                 : xasprintf("https://%s:%s", host, port));
    c->token_file = xasprintf("%s/token", sa_dir ? sa_dir : KUBE_SA_DIR);
    c->ca_file = xasprintf("%s/ca.crt", sa_dir ? sa_dir : KUBE_SA_DIR);

    char *token;
    int error = read_token_file(c->token_file, &token);
    char *reason = error ? NULL : check_token(token);
    secret_free(token, token ? strlen(token) : 0);
    char *msg = NULL;
    if (error) {
        msg = xasprintf("%s: cannot read %s (%s)", origin, c->token_file,
                        file_error(error));
    } else if (reason) {
        msg = xasprintf("%s: %s: %s", origin, c->token_file, reason);
        free(reason);
    } else {
        char *data;
        size_t size;
        error = read_file(c->ca_file, false, &data, &size);
        if (error) {
            msg = xasprintf("%s: cannot read %s (%s)", origin, c->ca_file,
                            file_error(error));
        }
        free(data);
    }
    if (msg) {
        kube_config_destroy(c);
        return msg;
    }
    *configp = c;
    return NULL;
}

char *
kube_config_find(const char *path, const char *context,
                 struct kube_config **configp)
{
    if (path) {
        return kube_config_load(path, context, configp);
    }
    const char *host = getenv("KUBERNETES_SERVICE_HOST");
    if (host && *host) {
        return kube_config_in_cluster(NULL, configp);
    }

    const char *env = getenv("KUBECONFIG");
    if (env && *env) {
        const char *colon = strchr(env, ':');
        char *first = colon ? xmemdup0(env, colon - env) : xstrdup(env);
        char *msg = kube_config_load(first, context, configp);
        free(first);
        return msg;
    }

    const char *home = getenv("HOME");
    if (!home || !*home) {
        *configp = NULL;
        return xstrdup("no kubeconfig: neither KUBERNETES_SERVICE_HOST, "
                       "KUBECONFIG nor HOME is set");
    }
    char *file = xasprintf("%s/.kube/config", home);
    char *msg = kube_config_load(file, context, configp);
    free(file);
    return msg;
}

void
kube_config_destroy(struct kube_config *c)
{
    if (c) {
        free(c->origin);
        free(c->context);
        free(c->server);
        free(c->proxy_url);
        free(c->ca_file);
        free(c->ca_data);
        secret_free(c->token, c->token ? strlen(c->token) : 0);
        free(c->token_file);
        free(c->client_cert_file);
        free(c->client_cert_data);
        free(c->client_key_file);
        secret_free(c->client_key_data, c->client_key_data_size);
        for (size_t i = 0; i < c->n_warnings; i++) {
            free(c->warnings[i]);
        }
        free(c->warnings);
        free(c);
    }
}

char *
kube_config_get_token(const struct kube_config *c, char **tokenp,
                      char **fallbackp)
{
    *tokenp = NULL;
    if (fallbackp) {
        *fallbackp = NULL;
    }
    if (c->token_file) {
        char *token;
        int error = read_token_file(c->token_file, &token);
        if (!error) {
            /* A bad token fails the request rather than falling back: the
             * file was read, so it is what the operator put there, and
             * client-go's request fails the same way (net/http refuses
             * the header). */
            char *reason = check_token(token);
            if (reason) {
                char *msg = xasprintf("%s: token file %s: %s", c->origin,
                                      c->token_file, reason);
                free(reason);
                secret_free(token, strlen(token));
                return msg;
            }
            *tokenp = token;
            return NULL;
        }
        if (!c->token) {
            return xasprintf("%s: cannot read token file %s (%s)",
                             c->origin, c->token_file, file_error(error));
        }
        if (fallbackp) {
            *fallbackp = xasprintf("%s: cannot read token file %s (%s): "
                                   "using the static token instead",
                                   c->origin, c->token_file,
                                   file_error(error));
        }
    }
    if (c->token) {
        *tokenp = xstrdup(c->token);
    }
    return NULL;
}

void
kube_config_free_token(char *token)
{
    secret_free(token, token ? strlen(token) : 0);
}
