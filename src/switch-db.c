/* switch-db: which switch port each local pod is on, from OVSDB.  See
 * include/switch-db.h.
 *
 * On every change of the IDL's contents we compare the whole Interface table
 * with the bindings we reported, rather than following the IDL's change
 * tracking: after a reconnection the IDL rebuilds its rows, which tracking
 * would show as every port deleted and added again.  A node has at most a
 * few hundred ports, so a pass costs microseconds. */

#include <config.h>

#include "switch-db.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "k8s-names.h"
#include "ovs-loop.h"

#include "hash.h"
#include "hmapx.h"
#include "openvswitch/hmap.h"
#include "openvswitch/vlog.h"
#include "ovsdb-idl.h"
#include "smap.h"
#include "uuid.h"
#include "vswitch-idl.h"
#include "lib/util.h"      /* OVS's; ours is include/np-util.h. */

VLOG_DEFINE_THIS_MODULE(switch_db);

struct binding {
    struct hmap_node uuid_node; /* In struct switch_db's 'by_uuid'. */
    struct hmap_node pod_node;  /* In struct switch_db's 'by_pod'. */
    struct uuid uuid;           /* Interface row. */
    char *iface_id;
    char *name;                 /* Interface name, as OVSDB has it. */
    unsigned long long bound_seq;   /* Order of the bound reports. */
    bool seen;                  /* In the current pass. */
    bool want_installed;        /* switch_db_set_installed()'s last word. */
    struct switch_db_binding pub;   /* Strings owned here. */
};

/* An Interface of our bridge that carries no pod, as reported. */
struct other {
    struct hmap_node uuid_node; /* In struct switch_db's 'others'. */
    struct uuid uuid;
    char *name;                 /* As OVSDB has it. */
    bool seen;
    struct switch_db_port pub;  /* Strings owned here. */
};

struct switch_db {
    struct ovsdb_idl *idl;
    struct ovs_loop_client *client;
    struct switch_db_callbacks cbs;
    void *aux;
    unsigned int idl_seqno;
    struct ovsdb_idl_txn *txn;  /* Marker writes in flight, or NULL. */
    unsigned int n_marker_writes;
    size_t n_waiting;           /* Bindings without 'want_installed'. */
    struct hmap by_uuid;
    struct hmap by_pod;         /* Hashed by "<ns>_<pod>" of the binding
                                 * (the iface-id, if valid); may repeat. */
    unsigned long long n_bound_reports;
    bool synced;
    char *bridge;               /* switch_db_set_bridge(), or NULL. */
    struct hmap others;         /* struct other, by Interface UUID. */
};

static void switch_db_run(void *);
static void switch_db_wait(void *);

/* Characters of an outside value (an iface-id, an Interface name) quoted
 * in a log line or kept as an invalid pod's name. */
#define MAX_QUOTED 64

/* Copies at most MAX_QUOTED characters of the 'len' bytes at 's', with
 * anything but [a-z0-9.-] replaced by '?', and "..." after a cut: a name
 * that is safe to log and that no pod can have (a cut one ends in "...",
 * which no DNS name contains; the others hold a '?' or are kept whole). */
static char *
safe_copy(const char *s, size_t len)
{
    size_t n = MIN(len, MAX_QUOTED);
    char *copy = xmalloc(n + 4);
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        copy[i] = ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                   || c == '.' || c == '-') ? c : '?';
    }
    strcpy(copy + n, len > n ? "..." : "");
    return copy;
}

/* Copies at most MAX_QUOTED characters of the 'len' bytes at 's', with
 * anything but printable ASCII (and '"') replaced by '?', and "..." after a
 * cut: safe in a log line. */
static char *
printable_copy(const char *s, size_t len)
{
    size_t n = MIN(len, MAX_QUOTED);
    char *copy = xmalloc(n + 4);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        copy[i] = c >= 0x20 && c < 0x7f && c != '"' ? c : '?';
    }
    strcpy(copy + n, len > n ? "..." : "");
    return copy;
}

/* Returns 's' (of 'len' bytes) quoted for a log line: printable_copy(),
 * and its length if it was cut. */
static char *
quote(const char *s, size_t len)
{
    char *shown = printable_copy(s, len);
    char *q = (len > MAX_QUOTED
               ? xasprintf("\"%s\" (%"PRIuSIZE" characters)", shown, len)
               : xasprintf("\"%s\"", shown));
    free(shown);
    return q;
}

char *
switch_db_parse_iface_id(const char *iface_id, char **ns, char **pod)
{
    const char *sep = strchr(iface_id, '_');
    size_t len = strlen(iface_id);

    *ns = *pod = NULL;
    if (!sep || sep == iface_id || !sep[1]) {
        char *q = quote(iface_id, len);
        char *error = xasprintf("%s is not \"<namespace>_<pod>\"", q);
        free(q);
        return error;
    }
    size_t ns_len = sep - iface_id;
    bool ns_ok = dns1123_is_label(iface_id, ns_len);
    bool pod_ok = dns1123_is_subdomain(sep + 1, strlen(sep + 1));
    if (ns_ok && pod_ok) {
        *ns = xmemdup0(iface_id, ns_len);
        *pod = xstrdup(sep + 1);
        return NULL;
    }
    *ns = ns_ok ? xmemdup0(iface_id, ns_len) : safe_copy(iface_id, ns_len);
    *pod = pod_ok ? xstrdup(sep + 1) : safe_copy(sep + 1, strlen(sep + 1));
    char *q = quote(iface_id, len);
    char *error = xasprintf("%s: %s", q,
                            !ns_ok ? "the namespace is not a DNS label (at "
                            "most 63 of a-z, 0-9 and '-')"
                            : "the pod name is not a DNS subdomain (at most "
                            "253 of a-z, 0-9, '-' and '.')");
    free(q);
    return error;
}

struct switch_db *
switch_db_create(const char *rundir, const struct switch_db_callbacks *cbs,
                 void *aux)
{
    char *remote = xasprintf("unix:%s/db.sock", rundir);
    struct switch_db *db = switch_db_create_remote(remote, cbs, aux);
    free(remote);
    return db;
}

struct switch_db *
switch_db_create_remote(const char *remote,
                        const struct switch_db_callbacks *cbs, void *aux)
{
    struct switch_db *db = xzalloc(sizeof *db);

    if (cbs) {
        db->cbs = *cbs;
    }
    db->aux = aux;
    hmap_init(&db->by_uuid);
    hmap_init(&db->by_pod);
    hmap_init(&db->others);

    /* Only what we read: Interface's name, ofport, type and external_ids,
     * and which Interfaces are our bridge's (Bridge name and ports, Port
     * interfaces). */
    db->idl = ovsdb_idl_create(remote, &ovsrec_idl_class, false, true);
    ovsdb_idl_add_table(db->idl, &ovsrec_table_interface);
    ovsdb_idl_add_column(db->idl, &ovsrec_interface_col_name);
    ovsdb_idl_add_column(db->idl, &ovsrec_interface_col_ofport);
    ovsdb_idl_add_column(db->idl, &ovsrec_interface_col_type);
    ovsdb_idl_add_column(db->idl, &ovsrec_interface_col_external_ids);
    ovsdb_idl_add_table(db->idl, &ovsrec_table_bridge);
    ovsdb_idl_add_column(db->idl, &ovsrec_bridge_col_name);
    ovsdb_idl_add_column(db->idl, &ovsrec_bridge_col_ports);
    ovsdb_idl_add_table(db->idl, &ovsrec_table_port);
    ovsdb_idl_add_column(db->idl, &ovsrec_port_col_interfaces);
    db->idl_seqno = ovsdb_idl_get_seqno(db->idl);

    db->client = ovs_loop_register(switch_db_run, switch_db_wait, db);
    return db;
}

static void
binding_free(struct binding *b)
{
    free(b->iface_id);
    free(CONST_CAST(char *, b->pub.addresses));
    free(CONST_CAST(char *, b->pub.ns));
    free(CONST_CAST(char *, b->pub.pod));
    free(CONST_CAST(char *, b->pub.port));
    free(b->name);
    free(b);
}

static void
other_free(struct other *o)
{
    free(o->name);
    free(CONST_CAST(char *, o->pub.name));
    free(CONST_CAST(char *, o->pub.type));
    free(o);
}

void
switch_db_set_bridge(struct switch_db *db, const char *bridge)
{
    free(db->bridge);
    db->bridge = xstrdup(bridge);
    db->idl_seqno--;            /* Compare again at the next run. */
}

void
switch_db_destroy(struct switch_db *db)
{
    struct binding *b;
    struct other *o;

    if (!db) {
        return;
    }
    ovs_loop_unregister(db->client);
    HMAP_FOR_EACH_POP (b, uuid_node, &db->by_uuid) {
        binding_free(b);
    }
    HMAP_FOR_EACH_POP (o, uuid_node, &db->others) {
        other_free(o);
    }
    hmap_destroy(&db->others);
    free(db->bridge);
    hmap_destroy(&db->by_uuid);
    hmap_destroy(&db->by_pod);
    if (db->txn) {
        ovsdb_idl_txn_destroy(db->txn);
    }
    ovsdb_idl_destroy(db->idl);
    free(db);
}

bool
switch_db_is_synced(const struct switch_db *db)
{
    return db->synced;
}

size_t
switch_db_count(const struct switch_db *db)
{
    return hmap_count(&db->by_uuid);
}

size_t
switch_db_count_waiting(const struct switch_db *db)
{
    return db->n_waiting;
}

const struct switch_db_binding *
switch_db_find(const struct switch_db *db, const char *ns, const char *pod,
               size_t *n)
{
    char *iface_id = xasprintf("%s_%s", ns, pod);
    const struct binding *b, *best = NULL;
    size_t count = 0;

    HMAP_FOR_EACH_WITH_HASH (b, pod_node, hash_string(iface_id, 0),
                             &db->by_pod) {
        if (!strcmp(b->pub.ns, ns) && !strcmp(b->pub.pod, pod)) {
            count++;
            if (!best || b->bound_seq > best->bound_seq) {
                best = b;
            }
        }
    }
    free(iface_id);
    if (n) {
        *n = count;
    }
    return best ? &best->pub : NULL;
}

static struct binding *
find_by_uuid(const struct switch_db *db, const struct uuid *uuid)
{
    struct binding *b;

    HMAP_FOR_EACH_WITH_HASH (b, uuid_node, uuid_hash(uuid), &db->by_uuid) {
        if (uuid_equals(&b->uuid, uuid)) {
            return b;
        }
    }
    return NULL;
}

static int
compare_ofports(const void *a_, const void *b_)
{
    const struct binding *const *a = a_;
    const struct binding *const *b = b_;
    return (*a)->pub.ofport < (*b)->pub.ofport ? -1
           : (*a)->pub.ofport > (*b)->pub.ofport;
}

const struct switch_db_port *
switch_db_find_port(const struct switch_db *db, const char *name)
{
    const struct other *o;

    HMAP_FOR_EACH (o, uuid_node, &db->others) {
        if (!strcmp(o->name, name)) {
            return &o->pub;
        }
    }
    return NULL;
}

/* Whether Interface 'row' has an iface-id that binds it to a pod (valid
 * or not: see switch_db_parse_iface_id()), without logging. */
static bool
claims_pod(const struct ovsrec_interface *row)
{
    const char *iface_id = smap_get(&row->external_ids, "iface-id");
    if (!iface_id) {
        return false;
    }
    char *ns, *pod;
    char *error = switch_db_parse_iface_id(iface_id, &ns, &pod);
    bool claims = ns != NULL;
    free(error);
    free(ns);
    free(pod);
    return claims;
}

/* Compares the Interfaces of our bridge that carry no pod with those
 * reported, and reports the differences: every one gone (or changed)
 * first, then every new one.  Called before the bindings are compared,
 * so that a port bound in this update is reported gone here before it is
 * reported bound. */
static void
sync_others(struct switch_db *db)
{
    const struct ovsrec_bridge *br;
    struct hmapx ours = HMAPX_INITIALIZER(&ours);
    struct other *o;

    if (!db->bridge) {
        return;
    }
    OVSREC_BRIDGE_FOR_EACH (br, db->idl) {
        if (strcmp(br->name, db->bridge)) {
            continue;
        }
        for (size_t i = 0; i < br->n_ports; i++) {
            const struct ovsrec_port *port = br->ports[i];
            for (size_t j = 0; j < port->n_interfaces; j++) {
                hmapx_add(&ours, CONST_CAST(struct ovsrec_interface *,
                                            port->interfaces[j]));
            }
        }
    }

    HMAP_FOR_EACH (o, uuid_node, &db->others) {
        o->seen = false;
    }
    struct other **added = NULL;
    size_t n_added = 0, allocated_added = 0;
    struct hmapx_node *node;
    HMAPX_FOR_EACH (node, &ours) {
        const struct ovsrec_interface *row = node->data;
        int64_t ofport = row->n_ofport ? row->ofport[0] : 0;
        const char *type = row->type ? row->type : "";
        /* The bridge's own port (LOCAL, 65534) and ports not usable yet
         * are not reported: LOCAL is the node's, and a port without a
         * number cannot be matched. */
        if (ofport <= 0 || ofport > 0xfeff || !row->name || claims_pod(row)) {
            continue;
        }
        o = NULL;
        struct other *old;
        HMAP_FOR_EACH_WITH_HASH (old, uuid_node, uuid_hash(&row->header_.uuid),
                                 &db->others) {
            if (uuid_equals(&old->uuid, &row->header_.uuid)) {
                o = old;
                break;
            }
        }
        if (o && o->pub.ofport == ofport && !strcmp(o->name, row->name)
            && !strcmp(o->pub.type, type)) {
            o->seen = true;
            continue;
        }
        o = xzalloc(sizeof *o);
        o->uuid = row->header_.uuid;
        o->name = xstrdup(row->name);
        o->seen = true;
        o->pub.name = printable_copy(row->name, strlen(row->name));
        o->pub.ofport = ofport;
        o->pub.type = xstrdup(type);
        if (n_added >= allocated_added) {
            added = x2nrealloc(added, &allocated_added, sizeof *added);
        }
        added[n_added++] = o;
    }
    hmapx_destroy(&ours);

    HMAP_FOR_EACH_SAFE (o, uuid_node, &db->others) {
        if (!o->seen) {
            hmap_remove(&db->others, &o->uuid_node);
            VLOG_DBG("port %s (ofport %d, type \"%s\") gone, or bound",
                     o->pub.name, o->pub.ofport, o->pub.type);
            if (db->cbs.port_gone) {
                db->cbs.port_gone(db->aux, &o->pub);
            }
            other_free(o);
        }
    }
    for (size_t i = 0; i < n_added; i++) {
        o = added[i];
        hmap_insert(&db->others, &o->uuid_node, uuid_hash(&o->uuid));
        VLOG_DBG("port %s (ofport %d, type \"%s\") carries no pod",
                 o->pub.name, o->pub.ofport, o->pub.type);
        if (db->cbs.port) {
            db->cbs.port(db->aux, &o->pub);
        }
    }
    free(added);
}

/* Compares the Interface table with the reported bindings and reports the
 * differences: every unbound first, then every bound, so that a pod that
 * moves from one port to another in one update ends up bound. */
static void
sync_bindings(struct switch_db *db)
{
    const struct ovsrec_interface *row;
    struct binding **added = NULL;
    size_t n_added = 0, allocated_added = 0;
    struct binding *b;
    size_t i;

    HMAP_FOR_EACH (b, uuid_node, &db->by_uuid) {
        b->seen = false;
    }

    OVSREC_INTERFACE_FOR_EACH (row, db->idl) {
        const char *iface_id = smap_get(&row->external_ids, "iface-id");
        const char *addresses = smap_get_def(&row->external_ids,
                                             "ip_addresses", "");
        int64_t ofport = row->n_ofport ? row->ofport[0] : 0;
        char *ns, *pod;

        if (!iface_id || ofport <= 0 || ofport > 0xfeff || !row->name) {
            continue;
        }

        b = find_by_uuid(db, &row->header_.uuid);
        if (b && b->pub.ofport == ofport && !strcmp(b->iface_id, iface_id)
            && !strcmp(b->name, row->name)
            && !strcmp(b->pub.addresses, addresses)) {
            b->seen = true;
            continue;
        }

        char *error = switch_db_parse_iface_id(iface_id, &ns, &pod);
        if (error) {
            static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(1, 5);
            char *name = quote(row->name, strlen(row->name));
            VLOG_WARN_RL(&rl, "interface %s: external_ids:iface-id %s; %s",
                         name, error,
                         ns ? "the port carries no IP"
                         : "the port carries no pod");
            free(name);
            free(error);
            if (!ns) {
                continue;
            }
        }
        b = xzalloc(sizeof *b);
        b->uuid = row->header_.uuid;
        b->iface_id = xstrdup(iface_id);
        b->seen = true;
        b->pub.ns = ns;
        b->pub.pod = pod;
        b->name = xstrdup(row->name);
        b->pub.port = printable_copy(row->name, strlen(row->name));
        b->pub.ofport = ofport;
        b->pub.addresses = xstrdup(addresses);
        if (n_added >= allocated_added) {
            added = x2nrealloc(added, &allocated_added, sizeof *added);
        }
        added[n_added++] = b;
    }

    HMAP_FOR_EACH_SAFE (b, uuid_node, &db->by_uuid) {
        if (!b->seen) {
            db->n_waiting -= !b->want_installed;
            hmap_remove(&db->by_uuid, &b->uuid_node);
            hmap_remove(&db->by_pod, &b->pod_node);
            VLOG_DBG("pod %s/%s unbound from port %s (ofport %d)",
                     b->pub.ns, b->pub.pod, b->pub.port, b->pub.ofport);
            if (db->cbs.unbound) {
                db->cbs.unbound(db->aux, &b->pub);
            }
            binding_free(b);
        }
    }

    /* Several in one pass (a restart of ours, or of ovsdb-server): the
     * highest ofport counts as the newest, as OVS numbers new ports
     * upwards. */
    if (n_added > 1) {
        qsort(added, n_added, sizeof *added, compare_ofports);
    }
    for (i = 0; i < n_added; i++) {
        b = added[i];
        b->bound_seq = ++db->n_bound_reports;
        db->n_waiting++;        /* Until the daemon says its flows are in. */
        hmap_insert(&db->by_uuid, &b->uuid_node, uuid_hash(&b->uuid));
        char *key = xasprintf("%s_%s", b->pub.ns, b->pub.pod);
        hmap_insert(&db->by_pod, &b->pod_node, hash_string(key, 0));
        free(key);
        VLOG_DBG("pod %s/%s bound to port %s (ofport %d)",
                 b->pub.ns, b->pub.pod, b->pub.port, b->pub.ofport);
        if (db->cbs.bound) {
            db->cbs.bound(db->aux, &b->pub);
        }
    }
    free(added);
}

void
switch_db_set_installed(struct switch_db *db, const char *ns,
                        const char *pod, int ofport, bool installed)
{
    char *iface_id = xasprintf("%s_%s", ns, pod);
    struct binding *b;

    HMAP_FOR_EACH_WITH_HASH (b, pod_node, hash_string(iface_id, 0),
                             &db->by_pod) {
        if (b->pub.ofport == ofport && !strcmp(b->pub.ns, ns)
            && !strcmp(b->pub.pod, pod)) {
            if (b->want_installed && !installed) {
                db->n_waiting++;
            } else if (!b->want_installed && installed) {
                db->n_waiting--;
            }
            b->want_installed = installed;
        }
    }
    free(iface_id);
}

unsigned int
switch_db_marker_writes(const struct switch_db *db)
{
    return db->n_marker_writes;
}

/* Brings every bound Interface's marker to what the daemon said, in one
 * transaction at a time.  The IDL's copy of the row is the truth of what
 * is written: a failed or lost transaction is simply tried again. */
static void
write_markers(struct switch_db *db)
{
    struct binding *b;

    if (db->txn) {
        enum ovsdb_idl_txn_status status = ovsdb_idl_txn_commit(db->txn);
        if (status == TXN_INCOMPLETE) {
            return;
        }
        if (status != TXN_SUCCESS && status != TXN_UNCHANGED) {
            static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(1, 5);
            VLOG_WARN_RL(&rl, "writing external_ids:%s failed: %s",
                         SWITCH_DB_INSTALLED_KEY,
                         ovsdb_idl_txn_status_to_string(status));
        }
        ovsdb_idl_txn_destroy(db->txn);
        db->txn = NULL;
    }
    if (!ovsdb_idl_has_ever_connected(db->idl)
        || !ovsdb_idl_is_connected(db->idl)) {
        return;
    }
    HMAP_FOR_EACH (b, uuid_node, &db->by_uuid) {
        const struct ovsrec_interface *row
            = ovsrec_interface_get_for_uuid(db->idl, &b->uuid);
        if (!row) {
            continue;
        }
        const char *have = smap_get(&row->external_ids,
                                    SWITCH_DB_INSTALLED_KEY);
        bool is_set = have && !strcmp(have, "true");
        if (is_set == b->want_installed) {
            continue;
        }
        if (!db->txn) {
            db->txn = ovsdb_idl_txn_create(db->idl);
            ovsdb_idl_txn_add_comment(db->txn, "ovs-netpold: flows of "
                                      "pods installed");
        }
        if (b->want_installed) {
            ovsrec_interface_update_external_ids_setkey(
                row, SWITCH_DB_INSTALLED_KEY, "true");
        } else {
            ovsrec_interface_update_external_ids_delkey(
                row, SWITCH_DB_INSTALLED_KEY);
        }
        db->n_marker_writes++;
    }
    if (db->txn) {
        ovsdb_idl_txn_commit(db->txn);
    }
}

static void
switch_db_run(void *db_)
{
    struct switch_db *db = db_;
    unsigned int seqno;

    ovsdb_idl_run(db->idl);
    seqno = ovsdb_idl_get_seqno(db->idl);
    if (seqno != db->idl_seqno) {
        db->idl_seqno = seqno;
        sync_others(db);
        sync_bindings(db);
    }
    write_markers(db);
    if (!db->synced && ovsdb_idl_has_ever_connected(db->idl)) {
        db->synced = true;
        if (db->cbs.synced) {
            db->cbs.synced(db->aux);
        }
    }
}

static void
switch_db_wait(void *db_)
{
    struct switch_db *db = db_;

    ovsdb_idl_wait(db->idl);
    if (db->txn) {
        ovsdb_idl_txn_wait(db->txn);
    }
}
