/* cni-conf: the CNI protocol side of ovs-netpol-cni.
 *
 * ovs-netpol-cni is a chained CNI plugin (CNI spec 1.0.0 and 0.4.0, also
 * 0.3.0 and 0.3.1): a main plugin (kubevirt's ovs-cni, or one of the
 * user's) has put the pod's host-side interface on the bridge, and this
 * plugin binds that Interface to the pod for ovs-netpold
 * (external_ids:iface-id="<namespace>_<pod>", external_ids:ip_addresses
 * from prevResult) and waits for the daemon's
 * external_ids:ovs-netpol-installed=true, so that the pod's containers
 * start with its policies in place (README: "A new pod never runs before
 * its policies").
 *
 * This module reads what the runtime hands over (the CNI_* environment
 * and the configuration on stdin), checks it, and writes what goes back
 * on stdout (the result: prevResult, converted to the configuration's
 * cniVersion; errors; the VERSION answer).  It is the only part that sees
 * JSON (jansson); the OVSDB part (cni-ovsdb.h) sees only the plain
 * strings below, since libopenvswitch and jansson must not meet in one
 * file (DESIGN.md §4).
 *
 * Errors are CNI errors: a well-known code (1 incompatible version, 2
 * unsupported field, 4 invalid environment, 5 I/O, 6 decode, 7 invalid
 * configuration, 11 try again later) or one of ours (CNI_ERR_*, 100 and
 * up), a short message and details that name the variable or field. */
#ifndef NP_CNI_CONF_H
#define NP_CNI_CONF_H 1

#include <stdbool.h>
#include <stddef.h>

enum cni_command {
    CNI_CMD_ADD,
    CNI_CMD_DEL,
    CNI_CMD_CHECK,
    CNI_CMD_VERSION,
};

/* Error codes: the spec's well-known ones, then ours (100+). */
enum {
    CNI_ERR_INCOMPATIBLE_VERSION = 1,
    CNI_ERR_UNSUPPORTED_FIELD = 2,
    CNI_ERR_INVALID_ENV = 4,
    CNI_ERR_IO = 5,
    CNI_ERR_DECODE = 6,
    CNI_ERR_INVALID_CONFIG = 7,
    CNI_ERR_TRY_AGAIN = 11,
    /* No host-side interface of prevResult is an Interface on the
     * bridge. */
    CNI_ERR_NO_PORT = 100,
    /* The Interface is bound to another pod (its iface-id), or was
     * changed or deleted while the plugin waited. */
    CNI_ERR_PORT_CLAIMED = 101,
    /* OVSDB refused the transaction (not a conflict, which is retried). */
    CNI_ERR_OVSDB = 102,
    /* CHECK: the Interface no longer carries what ADD set, or has no
     * marker. */
    CNI_ERR_CHECK_FAILED = 103,
};

/* A CNI error, all malloc'd. */
struct cni_error {
    int code;
    char *msg;                  /* Short: "invalid CNI_ARGS". */
    char *details;              /* Names the variable or field and says
                                 * what is wrong with it. */
};

/* Returns a new error; 'details' is a printf format. */
struct cni_error *cni_error_create(int code, const char *msg,
                                   const char *details_format, ...)
    __attribute__((format(printf, 3, 4)));
void cni_error_destroy(struct cni_error *);

/* The configuration keys of ovs-netpol-cni and their defaults. */
#define CNI_DEFAULT_OVSDB "unix:/var/run/openvswitch/db.sock"
#define CNI_DEFAULT_BRIDGE "br-int"
#define CNI_DEFAULT_TIMEOUT 30.0        /* Seconds. */
#define CNI_MAX_TIMEOUT 3600.0

/* Keys this plugin writes on the Interface's external_ids, besides the
 * daemon's marker (switch-db.h's SWITCH_DB_INSTALLED_KEY, repeated here
 * because this side includes no switch header). */
#define CNI_KEY_IFACE_ID "iface-id"
#define CNI_KEY_ADDRESSES "ip_addresses"
#define CNI_KEY_INSTALLED "ovs-netpol-installed"
/* "<CNI_CONTAINERID>/<CNI_IFNAME>": the attachment whose ADD wrote
 * iface-id and ip_addresses, so that its DEL finds them without
 * prevResult and leaves alone what a later ADD wrote. */
#define CNI_KEY_OWNER "ovs-netpol-cni"

/* One invocation, as the runtime described it.  Every string is
 * malloc'd and owned here. */
struct cni_request {
    enum cni_command command;
    char *cni_version;          /* The configuration's; NULL if unknown. */

    /* The environment. */
    char *container_id;         /* CNI_CONTAINERID. */
    char *ifname;               /* CNI_IFNAME. */
    char *netns;                /* CNI_NETNS, or NULL (DEL). */
    /* From CNI_ARGS K8S_POD_NAMESPACE and K8S_POD_NAME: NULL on DEL if
     * absent or invalid (DEL then relies on the owner mark). */
    char *pod_namespace, *pod_name;
    char *iface_id;             /* "<namespace>_<pod>", or NULL. */
    char *owner;                /* CNI_KEY_OWNER's value. */

    /* The configuration's keys. */
    char *name;                 /* The network's name. */
    char *ovsdb;                /* OVSDB remote. */
    char *bridge;
    double timeout;             /* Seconds. */
    char *log_file;             /* NULL: stderr only. */

    /* From prevResult (NULL/0 if it has none: DEL). */
    bool has_prev_result;
    char **host_ifaces;         /* Interfaces without a sandbox. */
    size_t n_host_ifaces;
    char *addresses;            /* "10.9.1.2/24 fd00::2/64", or NULL. */

    /* What to print on success: ADD's result, VERSION's answer; NULL
     * for DEL and CHECK (they print nothing). */
    char *output;
};

/* Parses the invocation: 'env' is a NULL-terminated "NAME=VALUE" array
 * (environ), 'input' the 'size' bytes read from stdin.  Returns NULL and
 * fills '*req', or an error (with '*req' filled as far as it got:
 * 'cni_version' for the error's JSON, 'log_file').  The caller must
 * cni_request_destroy() '*req' either way. */
struct cni_error *cni_request_parse(char *const *env, const char *input,
                                    size_t size, struct cni_request *req)
    __attribute__((warn_unused_result));
void cni_request_destroy(struct cni_request *);

/* The error as the JSON object the runtime reads on stdout, malloc'd,
 * for configuration version 'cni_version' (NULL: "1.0.0"). */
char *cni_error_to_json(const struct cni_error *, const char *cni_version);

/* The command's name, "ADD"... */
const char *cni_command_name(enum cni_command);

/* Logging: one line per event to stderr (runtimes keep a plugin's stderr
 * in their logs) and, once cni_log_open() has been called, to that file
 * too.  'prefix' goes after the time stamp ("ADD 4f1c... x/web-1"). */
void cni_log_set_prefix(const char *prefix);
/* Returns 0 or an errno value. */
int cni_log_open(const char *file);
void cni_log(const char *format, ...) __attribute__((format(printf, 1, 2)));

#endif
