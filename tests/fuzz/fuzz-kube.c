/* Fuzz target: what the API server sends, read by the list/watch client
 * (src/kube-client.c): LIST pages and watch streams, cut into pieces as
 * the network cuts them, for any kind, in any order, so that the client's
 * state (the objects it delivered, a resync bracket, the resourceVersion)
 * carries from one answer to the next.
 *
 * The client's answers are static and driven by libcurl; this target
 * compiles kube-client.c into itself, makes one request at a time as
 * request_start() would, feeds the body to write_cb() (libcurl's write
 * callback) and ends it with request_done(), as a transfer of a 200 answer
 * that ends.  Nothing touches the network: the client is never started and
 * the loop never runs.
 *
 * Input: answers separated by a line "%%".  The first byte of an answer
 * says to what and how: (byte % 3) the kind (Namespace, Pod,
 * NetworkPolicy), bits 2-4 the piece size (1, 2, 7, 64, 512, 4096, 65536
 * bytes, or all at once), bit 5 a page of the metadata listing that
 * kube_client_sync() makes.  The rest is the body: of that page, or else
 * of a LIST page or of a watch stream, as the kind's state asks for (a
 * LIST until one ended, and after a 410).  A kind that failed gets its
 * next answer as if its backoff had expired.  After each answer, a
 * complete listing is compared with what was delivered, as a sync does.
 *
 * Checks: on_keep() only inside a resync bracket; brackets neither nest
 * nor end unopened; every message is a sentence; nothing leaks. */
#define _GNU_SOURCE 1            /* memmem() */
#include "../../src/kube-client.c"

#include "fuzz.h"

static struct ev_loop *loop;
static bool in_resync[OBJ_N_KINDS];

static void
on_object(void *aux, struct k8s_object *obj)
{
    assert(k8s_object_name(obj) && *k8s_object_name(obj));
    k8s_object_destroy(obj);
}

static void
on_delete(void *aux, enum obj_kind kind, const char *ns, const char *name)
{
    assert(kind < OBJ_N_KINDS && ns && name && *name);
}

static void
on_keep(void *aux, enum obj_kind kind, const char *ns, const char *name)
{
    assert(kind < OBJ_N_KINDS && in_resync[kind] && ns && name && *name);
}

static void
on_resync_begin(void *aux, enum obj_kind kind)
{
    assert(kind < OBJ_N_KINDS && !in_resync[kind]);
    in_resync[kind] = true;
}

static void
on_resync_end(void *aux, enum obj_kind kind)
{
    assert(kind < OBJ_N_KINDS && in_resync[kind]);
    in_resync[kind] = false;
}

static void
on_log(void *aux, enum kube_log_level level, const char *msg)
{
    assert(msg && *msg);
}

static const struct kube_client_callbacks callbacks = {
    .on_object = on_object,
    .on_delete = on_delete,
    .on_keep = on_keep,
    .on_resync_begin = on_resync_begin,
    .on_resync_end = on_resync_end,
    .on_log = on_log,
};

static struct kube_config config = {
    .origin = "fuzz",
    .server = "https://fuzz.invalid:6443",
};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    loop = ev_loop_new(EVFLAG_AUTO);
    return 0;
}

/* One answer of 'size' bytes at 'data' to a request of 'kk', cut into
 * pieces of 'piece' bytes. */
static void
answer(struct kc_kind *kk, bool listing, const char *data, size_t size,
       size_t piece)
{
    struct kc_request *req = xcalloc(1, sizeof *req);
    req->kc = kk->kc;
    req->kk = kk;
    req->status = 200;
    req->connected_at = ev_now(loop);
    req->next = kk->kc->requests;
    kk->kc->requests = req;
    if (listing) {
        /* As listings_run() starts a listing and its next page. */
        assert(!kk->listing_req);
        if (!kk->listing) {
            kk->listing = listing_create(++kk->listing_seq);
        }
        req->type = REQ_VERIFY;
        kk->listing_req = req;
    } else {
        assert(!kk->req);
        ev_timer_stop(loop, &kk->backoff);
        req->type = kk->need_list ? REQ_LIST : REQ_WATCH;
        kk->req = req;
    }

    CURLcode res = CURLE_OK;
    for (size_t ofs = 0; ofs < size; ofs += piece) {
        size_t n = size - ofs < piece ? size - ofs : piece;
        /* libcurl hands over a buffer of its own. */
        char *copy = xmalloc(n);
        memcpy(copy, data + ofs, n);
        size_t taken = write_cb(copy, 1, n, req);
        free(copy);
        if (taken != n) {
            res = CURLE_WRITE_ERROR;
            break;
        }
    }
    request_done(req, res);
    if (kk->verify) {
        listing_accounted(kk, kk->verify);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t pieces[8] = { 1, 2, 7, 64, 512, 4096, 65536,
                                      SIZE_MAX };
    struct kube_client *kc = kube_client_create(loop, &config, NULL,
                                                &callbacks, NULL);
    memset(in_resync, 0, sizeof in_resync);

    const char *p = (const char *) data, *end = p + size;
    while (p < end) {
        const char *sep = memmem(p, end - p, "\n%%\n", 4);
        const char *stop = sep ? sep : end;
        if (stop > p) {
            uint8_t control = *p;
            answer(&kc->kinds[control % 3], control & 32, p + 1,
                   stop - (p + 1), pieces[(control >> 2) & 7]);
        }
        p = sep ? sep + 4 : end;
    }
    kube_client_destroy(kc);
    return 0;
}
