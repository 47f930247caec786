/* cni-ovsdb: the OVSDB side of ovs-netpol-cni.  See include/cni-ovsdb.h.
 *
 * One IDL, one operation, then exit.  The IDL follows the Bridge, Port
 * and Interface rows' names and the Interfaces' external_ids, which is
 * all the plugin reads.  Waiting is OVS's poll_block() with a timer at
 * the deadline: the process sleeps until the database says something or
 * the time is up. */

#include <config.h>

#include "cni-ovsdb.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "openvswitch/dynamic-string.h"
#include "openvswitch/poll-loop.h"
#include "openvswitch/vlog.h"
#include "fatal-signal.h"
#include "ovsdb-idl.h"
#include "smap.h"
#include "timeval.h"
#include "uuid.h"
#include "vswitch-idl.h"
#include "lib/util.h"      /* OVS's; ours is include/np-util.h. */

VLOG_DEFINE_THIS_MODULE(cni_ovsdb);

struct db {
    struct ovsdb_idl *idl;
    const struct cni_request *req;
    long long int deadline;     /* time_msec(). */
    long long int start;
};

static long long int
timeout_ms(const struct cni_request *req)
{
    return (long long int) (req->timeout * 1000.0 + 0.5);
}

/* Sleeps until the IDL has news or the deadline. */
static void
db_wait(struct db *db, struct ovsdb_idl_txn *txn)
{
    ovsdb_idl_wait(db->idl);
    if (txn) {
        ovsdb_idl_txn_wait(txn);
    }
    poll_timer_wait_until(db->deadline);
    poll_block();
}

static bool
db_expired(const struct db *db)
{
    return time_msec() >= db->deadline;
}

/* Connects and waits for the first copy of the tables. */
static struct cni_error *
db_open(struct db *db, const struct cni_request *req)
{
    memset(db, 0, sizeof *db);
    db->req = req;
    db->start = time_msec();
    db->deadline = db->start + timeout_ms(req);

    db->idl = ovsdb_idl_create(req->ovsdb, &ovsrec_idl_class, false, true);
    ovsdb_idl_add_table(db->idl, &ovsrec_table_bridge);
    ovsdb_idl_add_column(db->idl, &ovsrec_bridge_col_name);
    ovsdb_idl_add_column(db->idl, &ovsrec_bridge_col_ports);
    ovsdb_idl_add_table(db->idl, &ovsrec_table_port);
    ovsdb_idl_add_column(db->idl, &ovsrec_port_col_name);
    ovsdb_idl_add_column(db->idl, &ovsrec_port_col_interfaces);
    ovsdb_idl_add_table(db->idl, &ovsrec_table_interface);
    ovsdb_idl_add_column(db->idl, &ovsrec_interface_col_name);
    ovsdb_idl_add_column(db->idl, &ovsrec_interface_col_external_ids);

    for (;;) {
        ovsdb_idl_run(db->idl);
        if (ovsdb_idl_has_ever_connected(db->idl)) {
            return NULL;
        }
        if (db_expired(db)) {
            int error = ovsdb_idl_get_last_error(db->idl);
            return cni_error_create(
                CNI_ERR_TRY_AGAIN, "OVSDB not reachable",
                "cannot read the switch's database at %s within %g s%s%s "
                "(the \"ovsdb\" key of the configuration names it)",
                req->ovsdb, req->timeout, error ? ": " : "",
                error ? ovs_retval_to_string(error) : "");
        }
        db_wait(db, NULL);
    }
}

static void
db_close(struct db *db)
{
    ovsdb_idl_destroy(db->idl);
    db->idl = NULL;
}

static double
db_elapsed(const struct db *db)
{
    return (time_msec() - db->start) / 1000.0;
}

/* ---- Which Interface. ---- */

static const struct ovsrec_interface *
find_interface(const struct db *db, const char *name)
{
    const struct ovsrec_interface *row;

    OVSREC_INTERFACE_FOR_EACH (row, db->idl) {
        if (row->name && !strcmp(row->name, name)) {
            return row;
        }
    }
    return NULL;
}

/* The name of the bridge that has 'iface' on one of its ports, or NULL. */
static const char *
bridge_of(const struct db *db, const struct ovsrec_interface *iface)
{
    const struct ovsrec_bridge *br;

    OVSREC_BRIDGE_FOR_EACH (br, db->idl) {
        for (size_t i = 0; i < br->n_ports; i++) {
            const struct ovsrec_port *port = br->ports[i];
            for (size_t j = 0; j < port->n_interfaces; j++) {
                if (port->interfaces[j] == iface) {
                    return br->name;
                }
            }
        }
    }
    return NULL;
}

/* The request's Interface: among prevResult's host-side interfaces, the
 * one that is an Interface on the bridge. */
static struct cni_error *
choose_interface(const struct db *db, const struct ovsrec_interface **out)
{
    const struct cni_request *req = db->req;
    const struct ovsrec_interface *found = NULL;
    struct ds known = DS_EMPTY_INITIALIZER;
    struct ds others = DS_EMPTY_INITIALIZER;
    size_t n_on_bridge = 0;

    for (size_t i = 0; i < req->n_host_ifaces; i++) {
        const char *name = req->host_ifaces[i];
        ds_put_format(&known, "%s%s", i ? ", " : "", name);
        const struct ovsrec_interface *row = find_interface(db, name);
        if (!row) {
            continue;
        }
        const char *br = bridge_of(db, row);
        if (br && !strcmp(br, req->bridge)) {
            if (!found || row != found) {
                n_on_bridge++;
            }
            found = row;
        } else {
            ds_put_format(&others, "%s%s is %s%s", others.length ? "; " : "",
                          name, br ? "on bridge " : "on no bridge",
                          br ? br : "");
        }
    }

    struct cni_error *e = NULL;
    if (n_on_bridge == 1) {
        *out = found;
    } else if (n_on_bridge > 1) {
        e = cni_error_create(CNI_ERR_NO_PORT, "ambiguous interface",
                             "prevResult.interfaces: several host-side "
                             "interfaces (%s) are on bridge %s; ovs-netpol-cni "
                             "binds one port per attachment",
                             ds_cstr(&known), req->bridge);
    } else {
        e = cni_error_create(CNI_ERR_NO_PORT, "no port on the bridge",
                             "prevResult.interfaces: no host-side interface "
                             "(%s) is an Interface on bridge %s in %s%s%s "
                             "(the \"bridge\" key of the configuration "
                             "names the bridge)",
                             ds_cstr(&known), req->bridge, req->ovsdb,
                             others.length ? ": " : "",
                             others.length ? ds_cstr(&others) : "");
    }
    ds_destroy(&known);
    ds_destroy(&others);
    return e;
}

/* ---- Transactions. ---- */

/* Commits 'txn', waiting at most until the deadline.  On
 * TXN_INCOMPLETE at the deadline the transaction is abandoned (the
 * caller destroys it; OVSDB applies it or not, atomically). */
static enum ovsdb_idl_txn_status
commit(struct db *db, struct ovsdb_idl_txn *txn)
{
    enum ovsdb_idl_txn_status status;

    while ((status = ovsdb_idl_txn_commit(txn)) == TXN_INCOMPLETE) {
        if (db_expired(db)) {
            break;
        }
        ovsdb_idl_run(db->idl);
        db_wait(db, txn);
    }
    return status;
}

/* Writes 'ids' as 'row''s external_ids, provided they were not changed
 * since 'row' was read.  Returns NULL on success; sets '*retry' (and
 * returns NULL) if they were, in which case the caller reads them again
 * and retries.  'row' may be gone when this returns (the IDL ran). */
static struct cni_error *
write_ids(struct db *db, const struct ovsrec_interface *row,
          const struct smap *ids, const char *comment, bool *retry)
{
    struct ovsdb_idl_txn *txn = ovsdb_idl_txn_create(db->idl);
    struct cni_error *e = NULL;
    char *name = xstrdup(row->name);

    *retry = false;
    ovsdb_idl_txn_add_comment(txn, "ovs-netpol-cni: %s", comment);
    ovsrec_interface_verify_external_ids(row);
    ovsrec_interface_set_external_ids(row, ids);
    enum ovsdb_idl_txn_status status = commit(db, txn);
    switch (status) {
    case TXN_SUCCESS:
    case TXN_UNCHANGED:
        break;
    case TXN_TRY_AGAIN:
        *retry = true;
        break;
    case TXN_INCOMPLETE:
        e = cni_error_create(CNI_ERR_TRY_AGAIN, "OVSDB did not answer",
                             "writing external_ids of interface %s: no "
                             "answer from %s within %g s", name,
                             db->req->ovsdb, db->req->timeout);
        break;
    case TXN_UNCOMMITTED:
    case TXN_ABORTED:
    case TXN_NOT_LOCKED:
    case TXN_ERROR:
    default: {
        const char *why = ovsdb_idl_txn_get_error(txn);
        e = cni_error_create(CNI_ERR_OVSDB, "OVSDB transaction failed",
                             "writing external_ids of interface %s: %s%s%s",
                             name,
                             ovsdb_idl_txn_status_to_string(status),
                             why ? ": " : "", why ? why : "");
        break;
    }
    }
    ovsdb_idl_txn_destroy(txn);
    free(name);
    return e;
}

/* Waits for a change of the IDL's contents, up to the deadline; true if
 * there was one. */
static bool
wait_change(struct db *db)
{
    unsigned int seqno = ovsdb_idl_get_seqno(db->idl);
    while (!db_expired(db)) {
        db_wait(db, NULL);
        ovsdb_idl_run(db->idl);
        if (ovsdb_idl_get_seqno(db->idl) != seqno) {
            return true;
        }
    }
    return false;
}

static struct cni_error *
conflict_timeout(const struct db *db, const char *name)
{
    return cni_error_create(CNI_ERR_TRY_AGAIN, "OVSDB busy",
                            "interface %s: external_ids kept changing under "
                            "the plugin for %g s", name, db->req->timeout);
}

/* ---- ADD. ---- */

/* Binds the chosen Interface to the pod; stores its uuid in '*uuid'. */
static struct cni_error *
bind_port(struct db *db, struct uuid *uuid)
{
    const struct cni_request *req = db->req;

    for (;;) {
        const struct ovsrec_interface *row;
        struct cni_error *e = choose_interface(db, &row);
        if (e) {
            return e;
        }
        const char *have = smap_get(&row->external_ids, CNI_KEY_IFACE_ID);
        if (have && strcmp(have, req->iface_id)) {
            return cni_error_create(
                CNI_ERR_PORT_CLAIMED, "port bound to another pod",
                "interface %s already has external_ids:%s=\"%s\"; "
                "ovs-netpol-cni would set it to \"%s\" (pod %s/%s) and does "
                "not take a port that another pod, or another plugin, "
                "claims", row->name, CNI_KEY_IFACE_ID, have, req->iface_id,
                req->pod_namespace, req->pod_name);
        }

        struct smap ids;
        smap_clone(&ids, &row->external_ids);
        smap_replace(&ids, CNI_KEY_IFACE_ID, req->iface_id);
        smap_replace(&ids, CNI_KEY_ADDRESSES, req->addresses);
        smap_replace(&ids, CNI_KEY_OWNER, req->owner);
        smap_remove(&ids, CNI_KEY_INSTALLED);
        bool retry;
        char *comment = xasprintf("ADD %s pod %s/%s", req->owner,
                                  req->pod_namespace, req->pod_name);
        *uuid = row->header_.uuid;
        char *name = xstrdup(row->name);
        e = write_ids(db, row, &ids, comment, &retry);
        free(comment);
        smap_destroy(&ids);
        if (!e && !retry) {
            cni_log("bound interface %s on bridge %s: %s=%s %s=\"%s\"", name,
                    req->bridge, CNI_KEY_IFACE_ID, req->iface_id,
                    CNI_KEY_ADDRESSES, req->addresses);
        }
        if (e || !retry) {
            free(name);
            return e;
        }
        if (!wait_change(db)) {
            e = conflict_timeout(db, name);
            free(name);
            return e;
        }
        free(name);
    }
}

/* Waits for ovs-netpold's marker on the Interface 'uuid'.  'check':
 * for CHECK, whose errors are CNI_ERR_CHECK_FAILED. */
static struct cni_error *
wait_marker(struct db *db, const struct uuid *uuid, const char *name)
{
    const struct cni_request *req = db->req;
    bool check = req->command == CNI_CMD_CHECK;

    for (;;) {
        ovsdb_idl_run(db->idl);
        const struct ovsrec_interface *row
            = ovsrec_interface_get_for_uuid(db->idl, uuid);
        if (!row && ovsdb_idl_is_connected(db->idl)) {
            return cni_error_create(
                check ? CNI_ERR_CHECK_FAILED : CNI_ERR_PORT_CLAIMED,
                "port deleted",
                "interface %s was deleted while ovs-netpol-cni waited for "
                "external_ids:%s=true", name, CNI_KEY_INSTALLED);
        }
        if (row) {
            const char *id = smap_get(&row->external_ids, CNI_KEY_IFACE_ID);
            if (!id || strcmp(id, req->iface_id)) {
                return cni_error_create(
                    check ? CNI_ERR_CHECK_FAILED : CNI_ERR_PORT_CLAIMED,
                    "port changed",
                    "interface %s: external_ids:%s became %s%s%s while "
                    "ovs-netpol-cni waited for external_ids:%s=true", name,
                    CNI_KEY_IFACE_ID, id ? "\"" : "", id ? id : "absent",
                    id ? "\"" : "", CNI_KEY_INSTALLED);
            }
            const char *mark = smap_get(&row->external_ids,
                                        CNI_KEY_INSTALLED);
            if (mark && !strcmp(mark, "true")) {
                return NULL;
            }
        }
        if (db_expired(db)) {
            return cni_error_create(
                check ? CNI_ERR_CHECK_FAILED : CNI_ERR_TRY_AGAIN,
                "policies not installed in time",
                "interface %s (pod %s/%s): ovs-netpold did not set "
                "external_ids:%s=true within %g s; the pod must not run "
                "before its policies (is ovs-netpold running on this node, "
                "and does it know pod %s/%s?  The \"timeout\" key of the "
                "configuration sets the wait)", name, req->pod_namespace,
                req->pod_name, CNI_KEY_INSTALLED, req->timeout,
                req->pod_namespace, req->pod_name);
        }
        db_wait(db, NULL);
    }
}

static struct cni_error *
do_add(struct db *db)
{
    struct uuid uuid;
    struct cni_error *e = bind_port(db, &uuid);
    if (e) {
        return e;
    }
    const struct ovsrec_interface *row
        = ovsrec_interface_get_for_uuid(db->idl, &uuid);
    char *name = xstrdup(row ? row->name : "?");
    e = wait_marker(db, &uuid, name);
    if (!e) {
        cni_log("interface %s: %s=true after %.3f s: the pod's policies are "
                "installed", name, CNI_KEY_INSTALLED, db_elapsed(db));
    }
    free(name);
    return e;
}

/* ---- DEL. ---- */

static struct cni_error *
do_del(struct db *db)
{
    const struct cni_request *req = db->req;
    bool removed = false;

    for (;;) {
        const struct ovsrec_interface *row, *mine = NULL;

        OVSREC_INTERFACE_FOR_EACH (row, db->idl) {
            const char *owner = smap_get(&row->external_ids, CNI_KEY_OWNER);
            if (owner && !strcmp(owner, req->owner)) {
                mine = row;
            }
        }
        if (!mine) {
            if (!removed) {
                cni_log("no interface carries external_ids:%s=\"%s\": "
                        "nothing to remove", CNI_KEY_OWNER, req->owner);
            }
            return NULL;
        }

        /* One Interface per transaction; a retry reads all again. */
        row = mine;
        struct smap ids;
        smap_clone(&ids, &row->external_ids);
        smap_remove(&ids, CNI_KEY_OWNER);
        const char *id = smap_get(&ids, CNI_KEY_IFACE_ID);
        bool id_removed = false;
        if (id && (!req->iface_id || !strcmp(id, req->iface_id))) {
            smap_remove(&ids, CNI_KEY_IFACE_ID);
            /* The marker spoke of that binding. */
            smap_remove(&ids, CNI_KEY_INSTALLED);
            id_removed = true;
        } else if (id) {
            cni_log("interface %s: leaving external_ids:%s=\"%s\", not "
                    "\"%s\" as this attachment wrote it", row->name,
                    CNI_KEY_IFACE_ID, id, req->iface_id);
        }
        const char *addrs = smap_get(&ids, CNI_KEY_ADDRESSES);
        bool addrs_removed = false;
        if (addrs && (!req->has_prev_result
                      || !strcmp(addrs, req->addresses))) {
            smap_remove(&ids, CNI_KEY_ADDRESSES);
            addrs_removed = true;
        } else if (addrs) {
            cni_log("interface %s: leaving external_ids:%s=\"%s\", not "
                    "\"%s\" as this attachment wrote it", row->name,
                    CNI_KEY_ADDRESSES, addrs, req->addresses);
        }

        char *name = xstrdup(row->name);
        char *comment = xasprintf("DEL %s", req->owner);
        bool retry;
        struct cni_error *e = write_ids(db, row, &ids, comment, &retry);
        free(comment);
        smap_destroy(&ids);
        if (e) {
            free(name);
            return e;
        }
        if (!retry) {
            removed = true;
            cni_log("interface %s: removed %s%s%s", name, CNI_KEY_OWNER,
                    id_removed ? ", " CNI_KEY_IFACE_ID ", "
                    CNI_KEY_INSTALLED : "",
                    addrs_removed ? ", " CNI_KEY_ADDRESSES : "");
        } else if (!wait_change(db)) {
            e = conflict_timeout(db, name);
            free(name);
            return e;
        }
        free(name);
    }
}

/* ---- CHECK. ---- */

static struct cni_error *
do_check(struct db *db)
{
    const struct cni_request *req = db->req;
    const struct ovsrec_interface *row;
    struct cni_error *e = choose_interface(db, &row);
    if (e) {
        e->code = CNI_ERR_CHECK_FAILED;
        return e;
    }
    static const char *const keys[] = {
        CNI_KEY_IFACE_ID, CNI_KEY_ADDRESSES, CNI_KEY_OWNER,
    };
    const char *want[] = { req->iface_id, req->addresses, req->owner };
    for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
        const char *have = smap_get(&row->external_ids, keys[i]);
        if (!have || strcmp(have, want[i])) {
            return cni_error_create(
                CNI_ERR_CHECK_FAILED, "port not as ADD left it",
                "interface %s: external_ids:%s is %s%s%s, ADD set \"%s\"",
                row->name, keys[i], have ? "\"" : "", have ? have : "absent",
                have ? "\"" : "", want[i]);
        }
    }
    struct uuid uuid = row->header_.uuid;
    char *name = xstrdup(row->name);
    e = wait_marker(db, &uuid, name);
    free(name);
    return e;
}

struct cni_error *
cni_ovsdb_run(const struct cni_request *req)
{
    struct db db;
    struct cni_error *e;

    fatal_ignore_sigpipe();
    /* Our own messages say what failed; OVS's reconnection chatter would
     * bury them, and a CNI plugin has no business in the host's syslog. */
    vlog_set_levels(NULL, VLF_SYSLOG, VLL_OFF);
    vlog_set_levels(NULL, VLF_CONSOLE, VLL_ERR);

    e = db_open(&db, req);
    if (!e) {
        switch (req->command) {
        case CNI_CMD_ADD:
            e = do_add(&db);
            break;
        case CNI_CMD_DEL:
            e = do_del(&db);
            break;
        case CNI_CMD_CHECK:
            e = do_check(&db);
            break;
        case CNI_CMD_VERSION:
        default:
            OVS_NOT_REACHED();
        }
    }
    db_close(&db);
    return e;
}
