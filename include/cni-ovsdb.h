/* cni-ovsdb: the OVSDB side of ovs-netpol-cni.
 *
 * A blocking OVSDB client (OVS's IDL on OVS's own poll loop): a CNI
 * plugin is a short-lived process that has nothing else to do while it
 * waits, unlike the daemon (switch-db.h), so the loop rules of STYLE.md
 * do not apply here.  Every operation ends by the request's deadline
 * (its 'timeout' from the start of the operation) and closes its
 * connection.
 *
 * The Interface.  The host-side interfaces of prevResult (those without
 * a sandbox) that are Interface rows of OVSDB; of those, the one on the
 * request's bridge.  None on the bridge, or several, is an error.
 *
 * What is written, in one transaction that verifies external_ids was not
 * changed since it was read (a conflict is read again and retried):
 *   ADD:   iface-id, ip_addresses and the owner mark (cni-conf.h's
 *          CNI_KEY_*) set; ovs-netpol-installed removed, since a marker
 *          already there speaks of what the port was bound to before.  An
 *          iface-id of another pod is an error: the port is someone
 *          else's.  Then it waits until the daemon sets
 *          ovs-netpol-installed=true on that row.
 *   DEL:   on every Interface whose owner mark is this attachment's, the
 *          mark, and iface-id and ip_addresses if they still hold what
 *          this attachment's ADD wrote (what DEL's CNI_ARGS and
 *          prevResult say; a value DEL cannot know, without them, is
 *          taken as the mark vouches for it), and with iface-id the
 *          marker.  No such Interface: nothing to do, success.
 *   CHECK: nothing; iface-id, ip_addresses and the owner mark must be
 *          ADD's, and the marker must be there (it may take until the
 *          deadline to come back, e.g. after a daemon restart).
 *
 * Errors are CNI errors (cni-conf.h): OVSDB not reachable, or a marker
 * that does not come by the deadline, is 11 ("try again later"): both
 * are conditions that clear up (ovsdb-server or ovs-netpold starting,
 * the daemon catching up), and the runtime's answer to a failed ADD -
 * DEL, then ADD again later - is the right one.  A failed ADD leaves the
 * port bound to the pod (iface-id set): a bound port whose pod has no
 * flows yet sends nothing (ovs/pipeline.md, table 2), and the DEL that
 * follows removes it. */
#ifndef NP_CNI_OVSDB_H
#define NP_CNI_OVSDB_H 1

#include "cni-conf.h"

/* Runs 'req''s ADD, DEL or CHECK against its OVSDB.  Returns NULL on
 * success, otherwise an error for the runtime. */
struct cni_error *cni_ovsdb_run(const struct cni_request *req)
    __attribute__((warn_unused_result));

#endif
