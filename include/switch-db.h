/* switch-db: which switch port each local pod is on, from OVSDB.
 *
 * An OVSDB client (OVS's IDL) of RUNDIR/db.sock that follows the Interface
 * table's name, ofport, type and external_ids columns (and which of them
 * are the bridge's), and reports port bindings:
 * an Interface with external_ids:iface-id="<namespace>_<pod>" (the
 * OVN-Kubernetes convention; ovs/sandbox.sh sets it too) and a usable
 * OpenFlow port number binds that pod to that port.
 *
 * Splitting iface-id: at the FIRST '_'.  Kubernetes namespace names are
 * DNS-1123 labels and pod names DNS-1123 subdomains, neither of which may
 * contain '_', so "<namespace>_<pod>" is unambiguous.  An iface-id without
 * '_', or with an empty namespace or pod, binds nothing: the port is not a
 * pod's (it is reported as a port that carries no pod, see below).  One whose parts are not such names (too long, other characters)
 * binds its port to a pod that cannot exist, named by a short copy of the
 * parts, so that the port carries no IP (see compile.h's bound ports)
 * rather than nothing at all; either way a rate-limited warning names the
 * Interface and quotes at most 64 characters of the value.
 *
 * A binding exists while the Interface has such an iface-id and an ofport
 * > 0: ovs-vswitchd writes a new port's ofport in a later update than the
 * row itself, and -1 (or nothing) means the port is not (yet) usable, so a
 * pod is bound only once its port can carry traffic, and unbound when it
 * stops (port deleted, iface-id removed, ofport -1).  Any other change of a
 * binding (ofport, iface-id or name) is reported as unbound(old) followed by
 * bound(new).  Bindings are per Interface: two Interfaces that claim the same
 * pod are two bindings, each reported and unbound on its own (a CNI that
 * replaces a pod's port plugs the new one before it deletes the old one);
 * the daemon guards every one of them as the pod's.
 *
 * After a reconnection to ovsdb-server (restart), the IDL fetches the table
 * again; only real differences are reported.
 *
 * The IP addresses of the pod may come with the binding, as
 * external_ids:ip_addresses ("10.244.1.5/24 fd00::5/64", the OVN-Kubernetes
 * convention, space- or comma-separated); a change of them is a change of
 * the binding.
 *
 * Loop rules: runs on ovs-loop (ovs_loop_init() first); callbacks come from
 * the loop, never from inside a call into this module.  No OVS type appears
 * here. */
#ifndef NP_SWITCH_DB_H
#define NP_SWITCH_DB_H 1

#include <stdbool.h>
#include <stddef.h>

struct switch_db;

struct switch_db_binding {
    const char *ns;             /* Pod namespace. */
    const char *pod;            /* Pod name. */
    /* Interface name, e.g. "default_web-1", for log lines: at most 64
     * characters of it and "..." after a cut, anything but printable
     * ASCII as '?'. */
    const char *port;
    int ofport;                 /* OpenFlow port number, > 0. */
    /* external_ids:ip_addresses as the CNI wrote it ("" if absent): the
     * pod's addresses, known here before the kubelet reports them in the
     * pod's status. */
    const char *addresses;
};

/* An Interface of the bridge (switch_db_set_bridge()) with a usable
 * ofport that carries no pod: no iface-id, or one that names none (no '_',
 * an empty part).  The bridge's own port (LOCAL) is not reported.  The
 * daemon decides what it is from its name, number and type
 * (compile_port_role()). */
struct switch_db_port {
    const char *name;           /* As 'port' of struct switch_db_binding. */
    int ofport;                 /* > 0. */
    const char *type;           /* OVSDB Interface type: "" (a system
                                 * device), "internal", "vxlan", ... */
};
typedef void switch_db_port_cb(void *aux, const struct switch_db_port *);

/* The binding, and its strings, are valid only during the call. */
typedef void switch_db_binding_cb(void *aux, const struct switch_db_binding *);

struct switch_db_callbacks {
    switch_db_binding_cb *bound;        /* May be NULL. */
    switch_db_binding_cb *unbound;      /* May be NULL. */
    /* A port that carries no pod appeared, or is gone (deleted, bound to
     * a pod, ofport lost); a change of its name, ofport or type is gone,
     * then appeared.  Of one update, every such report comes before the
     * bindings', so that a port bound in it is gone before it is bound.
     * May be NULL. */
    switch_db_port_cb *port;
    switch_db_port_cb *port_gone;
    /* The first complete copy of the table has arrived and been reported
     * (NULL allowed).  Until then a missing binding means "not known yet". */
    void (*synced)(void *aux);
};

/* Connects to 'rundir'/db.sock (keeps reconnecting).  'cbs' is copied.
 * ovs_loop_init() must have been called. */
struct switch_db *switch_db_create(const char *rundir,
                                   const struct switch_db_callbacks *cbs,
                                   void *aux);

/* Like switch_db_create() with an OVSDB remote ("unix:PATH", "tcp:...").  */
struct switch_db *switch_db_create_remote(const char *remote,
                                          const struct switch_db_callbacks *,
                                          void *aux);

/* Reports the ports of bridge 'bridge' that carry no pod (callbacks
 * 'port' and 'port_gone'); none without it.  Call it once, after
 * creating. */
void switch_db_set_bridge(struct switch_db *, const char *bridge);

/* The port of the bridge named 'name' (as OVSDB has it) that carries no
 * pod, or NULL.  Valid until the loop runs again. */
const struct switch_db_port *switch_db_find_port(const struct switch_db *,
                                                 const char *name);

/* Closes the connection, without reporting anything unbound.  Accepts
 * NULL. */
void switch_db_destroy(struct switch_db *);

/* True once the first complete copy of the table has been reported. */
bool switch_db_is_synced(const struct switch_db *);

/* Returns the binding of pod 'ns'/'pod', or NULL, and stores in '*n' (if
 * 'n' is nonnull) how many Interfaces claim the pod.  If several do, the
 * newest: the last one reported bound (of several reported at once, the
 * highest ofport), i.e. while a CNI replaces a pod's port, the new port.
 * Valid until the loop runs again. */
const struct switch_db_binding *switch_db_find(const struct switch_db *,
                                               const char *ns,
                                               const char *pod, size_t *n);

/* The marker a CNI waits for before it lets the pod's containers start,
 * as OVN-Kubernetes' CNI waits for "ovn-installed": ovs-netpold sets
 * external_ids:ovs-netpol-installed=true on a pod's Interface once the
 * flows for that pod are committed to the bridge, and removes it when they
 * are not any more while the port stays. */
#define SWITCH_DB_INSTALLED_KEY "ovs-netpol-installed"

/* Says whether the Interface with 'ofport' bound to pod 'ns'/'pod' should
 * carry the marker; this module writes it (asynchronously, retrying) until
 * the database agrees.  Per port, because a pod's new port must get it only
 * once flows for that port are in, while its old port keeps it.  A port
 * not bound to the pod is ignored. */
void switch_db_set_installed(struct switch_db *, const char *ns,
                             const char *pod, int ofport, bool installed);
/* Marker writes sent so far (for status and tests). */
unsigned int switch_db_marker_writes(const struct switch_db *);

/* Number of current bindings. */
size_t switch_db_count(const struct switch_db *);
/* Of those, the ones the daemon has not (yet) said installed: ports whose
 * pod's flows are not on the bridge, for which a CNI is waiting.  Kept as
 * bindings and markers change: costs nothing to read. */
size_t switch_db_count_waiting(const struct switch_db *);

/* Splits 'iface_id' into namespace and pod at the first '_' and checks
 * them (a DNS-1123 label, a DNS-1123 subdomain).  Returns NULL and stores
 * malloc()'d copies in '*ns' and '*pod' if they are valid.  Otherwise
 * returns a malloc()'d message of bounded length saying why, and stores
 * either NULLs (no '_', or an empty part: no pod's port) or malloc()'d
 * names that no pod can have (a part that is no valid name, cut to 64
 * characters and "...", anything but a-z, 0-9, '.' and '-' as '?'). */
char *switch_db_parse_iface_id(const char *iface_id, char **ns, char **pod)
    __attribute__((warn_unused_result));

#endif
