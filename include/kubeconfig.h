/* Where the Kubernetes API server is and how to talk to it: read from a
 * kubeconfig file (what kubectl reads) or from the in-cluster service
 * account, into a 'struct kube_config' that kube-client.h uses.
 *
 * A kubeconfig is YAML or JSON (read with yaml-json.h, so YAML scalars are
 * typed as kubectl types them).  Only the context in use is resolved and
 * checked: 'current-context' (or the context the caller names) selects a
 * context, which names a cluster and a user.  From them we take:
 *
 *   cluster: server, certificate-authority (a file) or
 *            certificate-authority-data (base64 of PEM),
 *            insecure-skip-tls-verify, proxy-url
 *   user:    token, tokenFile, client-certificate or client-certificate-data,
 *            client-key or client-key-data
 *
 * Relative file names are relative to the kubeconfig's directory, as in
 * kubectl.  The combinations client-go rejects are rejected here too (a file
 * and its -data both set, a certificate without a key, a CA together with
 * insecure-skip-tls-verify), and so are the credentials we do not implement
 * (exec, auth-provider, username/password, a user name or password in the
 * server URL, tls-server-name) rather than connecting without them.  Both
 * 'token' and 'tokenFile' may be set: the file wins whenever it is
 * readable, as in client-go.
 *
 * Tokens: a bearer token must be printable ASCII without spaces (bytes
 * 0x21 to 0x7e) once the white space around a token file's content is
 * removed; anything else (a CR or LF would add HTTP headers of its own) is
 * an error naming the kubeconfig user or the file, at load and at every
 * re-read, and messages never quote a token.  Tokens and private keys are
 * overwritten before their memory is freed.
 *
 * Errors are malloc'd sentences that name the file, the entry and the field:
 *
 *   /etc/kube.yaml: cluster "prod": certificate-authority-data: is not
 *   valid base64 (bad character '%' at offset 12)
 *
 * Nothing here touches the network or keeps a json_t.  Files named by the
 * configuration are read once at load time to check them (and to fail
 * early); kube-client reads them again on every connection, so that rotated
 * certificates and tokens are picked up. */
#ifndef NP_KUBECONFIG_H
#define NP_KUBECONFIG_H 1

#include <stdbool.h>
#include <stddef.h>

/* The default directory of the in-cluster service account. */
#define KUBE_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

struct kube_config {
    /* For messages: the kubeconfig's file name, or "in-cluster config
     * (DIR)". */
    char *origin;
    char *context;              /* The context used; NULL in cluster. */

    /* "https://host:port" or "http://...", without a trailing '/'.  A path
     * prefix (as behind a proxy) is kept: "https://h/prefix". */
    char *server;
    char *proxy_url;            /* NULL: none (libcurl's own environment
                                 * rules still apply). */

    /* Whom to trust.  At most one of 'ca_file' and 'ca_data' is set;
     * neither means the system's CA store.  'insecure_skip_tls_verify' is
     * only ever true because the kubeconfig said so, and then both CA
     * fields are NULL. */
    char *ca_file;
    char *ca_data;              /* PEM, decoded; null-terminated. */
    size_t ca_data_size;
    bool insecure_skip_tls_verify;

    /* Bearer token: 'token_file' (re-read on every connection) wins over
     * 'token' whenever it can be read.  Either or both may be NULL.  Both
     * were checked at load (see above). */
    char *token;
    char *token_file;

    /* Client certificate: either both of a kind or none.  The '_data'
     * members are PEM, decoded, null-terminated. */
    char *client_cert_file;
    char *client_cert_data;
    size_t client_cert_data_size;
    char *client_key_file;
    char *client_key_data;
    size_t client_key_data_size;

    /* Sentences worth a warning in the log, found at load: a token file or
     * client key file that group or others may read (kubectl does not
     * check; a leaked token or key is the account). */
    char **warnings;
    size_t n_warnings, allocated_warnings;
};

/* Reads the kubeconfig file 'path' and resolves 'context' (NULL: the
 * file's current-context).  On success stores a new config in '*configp'
 * (free it with kube_config_destroy()) and returns NULL; otherwise stores
 * NULL and returns a malloc'd message. */
char *kube_config_load(const char *path, const char *context,
                       struct kube_config **configp)
    __attribute__((warn_unused_result));

/* The same from the 'size' bytes at 'text'; 'path' names the file in
 * messages and anchors relative file names. */
char *kube_config_parse(const char *path, const char *text, size_t size,
                        const char *context, struct kube_config **configp)
    __attribute__((warn_unused_result));

/* The in-cluster configuration: server https://$KUBERNETES_SERVICE_HOST:
 * $KUBERNETES_SERVICE_PORT, CA 'sa_dir'/ca.crt, token file 'sa_dir'/token
 * (re-read on every connection, so rotated tokens are used).  'sa_dir' NULL
 * means KUBE_SA_DIR.  Returns NULL or a malloc'd message, as above. */
char *kube_config_in_cluster(const char *sa_dir,
                             struct kube_config **configp)
    __attribute__((warn_unused_result));

/* What kubectl would pick when no file is given: 'path' if nonnull; else
 * the in-cluster config when KUBERNETES_SERVICE_HOST is set; else the first
 * file of $KUBECONFIG (a ':'-separated list; we do not merge); else
 * ~/.kube/config.  'context' is as for kube_config_load() and is ignored in
 * cluster. */
char *kube_config_find(const char *path, const char *context,
                       struct kube_config **configp)
    __attribute__((warn_unused_result));

void kube_config_destroy(struct kube_config *);

/* The bearer token to send now: the content of 'token_file' with
 * surrounding white space removed, or, if the file cannot be read, the
 * static 'token' if there is one.  Stores a malloc'd token (NULL if the
 * config has none; free it with kube_config_free_token()) in '*tokenp' and
 * returns NULL, or returns a malloc'd message (and stores NULL) when
 * 'token_file' is unreadable and there is no static token to fall back on,
 * or when the file holds a token that cannot be sent (see above).
 *
 * A bad token in a file that was read fails the request: it is what the
 * operator put there, not a transient failure, and client-go's request
 * fails too (its token source caches the content and Go's net/http refuses
 * the header).  Falling back to the static token is only for a file that
 * cannot be read; then, if 'fallbackp' is nonnull, a malloc'd sentence
 * saying so is stored there for the log (NULL otherwise).  (client-go
 * re-reads the file at most once a minute and keeps the last token it read
 * while the file is unreadable; we read it for every request.) */
char *kube_config_get_token(const struct kube_config *, char **tokenp,
                            char **fallbackp)
    __attribute__((warn_unused_result));

/* Overwrites and frees a token from kube_config_get_token(); accepts
 * NULL. */
void kube_config_free_token(char *);

/* Decodes the standard base64 text 's' ('len' characters; line breaks and
 * spaces ignored, padding optional) into a malloc'd, null-terminated buffer
 * stored in '*datap' with its size in '*sizep'.  Returns NULL or a malloc'd
 * message naming the offending character. */
char *kube_base64_decode(const char *s, size_t len, char **datap,
                         size_t *sizep)
    __attribute__((warn_unused_result));

#endif
