#include "source-dir.h"

#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>
#include "np-util.h"
#include "strmap.h"

/* Quiet period after the last change before a rescan. */
#define SOURCE_DIR_SETTLE 0.05

/* The objects that one file held at the last scan: delivered from it,
 * rejected in it (and so kept), or kept because it was broken. */
struct dir_file {
    struct obj_ref *refs;
    size_t n, allocated;
};

struct source_dir {
    struct ev_loop *loop;
    char *path;
    int inotify_fd;
    ev_io io;
    ev_timer settle;
    const struct source_callbacks *cbs;
    void *aux;
    struct source_dir_status status;
    struct strmap files;        /* File name -> struct dir_file. */
    /* What the receiver holds after the last scan: "kind/ns/name" ->
     * enum held. */
    struct strmap held;
};

static void
dir_file_destroy(struct dir_file *f)
{
    if (f) {
        for (size_t i = 0; i < f->n; i++) {
            free(f->refs[i].ns);
            free(f->refs[i].name);
        }
        free(f->refs);
        free(f);
    }
}

static void
files_destroy(struct strmap *files)
{
    size_t bucket;
    for (struct strmap_node *node = strmap_first(files, &bucket); node;
         node = strmap_next(files, node, &bucket)) {
        dir_file_destroy(node->value);
    }
    strmap_destroy(files);
}

/* Adds the object 'kind' 'ns'/'name' to 'f' unless 'seen' (keys of what
 * 'f' holds) has it.  Returns true if it was added. */
static bool
dir_file_add(struct dir_file *f, struct strmap *seen, enum obj_kind kind,
             const char *ns, const char *name)
{
    char *key = xasprintf("%d/%s/%s", (int) kind, ns, name);
    bool created;
    strmap_slot(seen, key, &created);
    free(key);
    if (created) {
        struct obj_ref ref = {
            .kind = kind, .ns = xstrdup(ns), .name = xstrdup(name),
        };
        APPEND(f->refs, f->n, f->allocated, ref);
    }
    return created;
}

static bool
is_manifest(const char *name)
{
    size_t len = strlen(name);
    static const char *const suffixes[] = { ".yaml", ".yml", ".json" };
    if (name[0] == '.') {
        return false;           /* Editors' temporary files. */
    }
    for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
        size_t n = strlen(suffixes[i]);
        if (len > n && !strcmp(name + len - n, suffixes[i])) {
            return true;
        }
    }
    return false;
}

static int
compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

static void
report(struct source_dir *sd, const char *message)
{
    snprintf(sd->status.last_error, sizeof sd->status.last_error, "%s",
             message);
    sd->status.errors++;
    if (sd->cbs->error) {
        sd->cbs->error(sd->aux, message);
    }
}

/* Appends 'text' to the status's list of broken files, as room allows. */
static void
note_broken(struct source_dir *sd, const char *name, size_t kept)
{
    char *text = xasprintf("%s%s (%zu object%s kept)",
                           sd->status.broken_files ? ", " : "", name, kept,
                           kept == 1 ? "" : "s");
    size_t len = strlen(sd->status.broken);
    snprintf(sd->status.broken + len, sizeof sd->status.broken - len, "%s",
             text);
    free(text);
    sd->status.broken_files++;
    sd->status.kept += kept;
}

/* What the receiver holds for an object, as far as this source knows:
 * a valid version, or a stand-in (see objects_stand_in()). */
enum held {
    HELD_NOTHING,
    HELD_VALID,
    HELD_STAND_IN,
};

static char *
held_key(enum obj_kind kind, const char *ns, const char *name)
{
    return xasprintf("%d/%s/%s", (int) kind, ns, name);
}

/* What the receiver holds for 'key': as this scan left it, or else as the
 * last one did. */
static enum held
held_get(const struct source_dir *sd, const struct strmap *now,
         const char *key)
{
    void *v = strmap_get(now, key);
    return (enum held) (uintptr_t) (v ? v : strmap_get(&sd->held, key));
}

/* Deletes, at the receiver, what it held after the last scan and no
 * longer holds after this one ('now'). */
static void
deliver_deletions(struct source_dir *sd, const struct strmap *now)
{
    size_t b;
    for (struct strmap_node *node = strmap_first(&sd->held, &b); node;
         node = strmap_next(&sd->held, node, &b)) {
        if (strmap_get(now, node->key)) {
            continue;
        }
        /* "kind/ns/name" (held_key()): neither part has a slash. */
        char *kind_end, *ns_end = strchr(strchr(node->key, '/') + 1, '/');
        long kind = strtol(node->key, &kind_end, 10);
        char *ns = xmemdup0(kind_end + 1, ns_end - (kind_end + 1));
        sd->cbs->deleted(sd->aux, (enum obj_kind) kind, ns, ns_end + 1);
        free(ns);
    }
}

static void
held_set(struct strmap *now, const char *key, enum held held)
{
    if (held != HELD_NOTHING) {
        *strmap_slot(now, key, NULL) = (void *) (uintptr_t) held;
    }
}

/* Reads the file 'name' and delivers what it holds, recording in 'now' what
 * the receiver then holds.  Returns what the file holds now, for the next
 * scan; 'prev' is what it held at the last one. */
static struct dir_file *
scan_file(struct source_dir *sd, const char *name,
          const struct dir_file *prev, struct strmap *now)
{
    char *file = xasprintf("%s/%s", sd->path, name);
    struct obj_batch batch;
    obj_batch_init(&batch);
    objects_parse_file(file, &batch);

    struct dir_file *f = xcalloc(1, sizeof *f);
    struct strmap seen;
    strmap_init(&seen);

    for (size_t j = 0; j < batch.n_objs; j++) {
        struct k8s_object *obj = xmalloc(sizeof *obj);
        *obj = batch.objs[j];
        const char *ns = k8s_object_namespace(obj);
        const char *oname = k8s_object_name(obj);
        char *key = held_key(obj->kind, ns, oname);
        held_set(now, key, HELD_VALID);
        free(key);
        dir_file_add(f, &seen, obj->kind, ns, oname);
        sd->cbs->object(sd->aux, obj);
        sd->status.objects++;
    }
    batch.n_objs = 0;

    /* A rejected object keeps its last valid version: a policy made
     * invalid by an edit must not vanish and open traffic.  A
     * NetworkPolicy that has none gets its fail-closed stand-in. */
    const char **notes = xcalloc(batch.n_errors, sizeof *notes);
    for (size_t j = 0; j < batch.n_rejected; j++) {
        struct obj_rejected *r = &batch.rejected[j];
        const struct obj_ref *ref = &r->ref;
        char *key = held_key(ref->kind, ref->ns, ref->name);
        enum held held = held_get(sd, now, key);
        sd->status.invalid_total[ref->kind]++;
        dir_file_add(f, &seen, ref->kind, ref->ns, ref->name);
        if (r->stand_in && held != HELD_VALID) {
            sd->cbs->object(sd->aux, r->stand_in);
            r->stand_in = NULL;
            held_set(now, key, HELD_STAND_IN);
            notes[r->error] = OBJECTS_STAND_IN_NOTE_OF(ref->kind);
        } else {
            held_set(now, key, held);
            notes[r->error] = (held ? "keeping its last valid version"
                               : "ignored");
        }
        free(key);
    }

    /* A file that could not be read or parsed whole (a syntax error, a
     * FIFO, a document whose objects cannot be told) keeps every object
     * it held, as a vanished directory does: the edit was more likely a
     * mistake than a wish to drop them.  Deleting the file drops them. */
    size_t kept = 0;
    if (batch.incomplete) {
        for (size_t j = 0; prev && j < prev->n; j++) {
            const struct obj_ref *r = &prev->refs[j];
            if (dir_file_add(f, &seen, r->kind, r->ns, r->name)) {
                char *key = held_key(r->kind, r->ns, r->name);
                held_set(now, key, held_get(sd, now, key));
                free(key);
                kept++;
            }
        }
        note_broken(sd, name, kept);
        sd->status.file_errors_total++;
    }

    for (size_t j = 0; j < batch.n_errors; j++) {
        char *broken = NULL;
        if (batch.incomplete && j == batch.n_errors - 1) {
            broken = (kept
                      ? xasprintf("; keeping the %zu object%s that %s held "
                                  "at %s last valid version%s until it is "
                                  "fixed", kept, kept == 1 ? "" : "s",
                                  name, kept == 1 ? "its" : "their",
                                  kept == 1 ? "" : "s")
                      : xasprintf("; %s held no objects to keep", name));
        }
        char *msg = xasprintf("%s%s%s%s", batch.errors[j],
                              notes[j] ? "; " : "", notes[j] ? notes[j] : "",
                              broken ? broken : "");
        report(sd, msg);
        free(msg);
        free(broken);
    }

    free(notes);
    strmap_destroy(&seen);
    obj_batch_destroy(&batch);
    free(file);
    return f;
}

void
source_dir_rescan(struct source_dir *sd)
{
    ev_timer_stop(sd->loop, &sd->settle);
    DIR *dir = opendir(sd->path);
    sd->status.scans++;
    sd->status.objects = 0;
    sd->status.errors = 0;
    sd->status.broken_files = 0;
    sd->status.kept = 0;
    sd->status.broken[0] = '\0';
    if (!dir) {
        sd->status.file_errors_total++;
        char *msg = xasprintf("%s: cannot read directory: %s", sd->path,
                              strerror(errno));
        report(sd, msg);
        free(msg);
        /* Keep what we have: a vanished directory is more likely a
         * mistake than a wish to drop every policy. */
        return;
    }
    char **names = NULL;
    size_t n = 0, allocated = 0;
    struct dirent *de;
    while ((de = readdir(dir))) {
        if (is_manifest(de->d_name)) {
            APPEND(names, n, allocated, xstrdup(de->d_name));
        }
    }
    closedir(dir);
    if (n) {
        np_qsort(names, n, sizeof *names, compare_names);
    }

    struct strmap files, now;
    strmap_init(&files);
    strmap_init(&now);
    for (size_t i = 0; i < n; i++) {
        *strmap_slot(&files, names[i], NULL)
            = scan_file(sd, names[i], strmap_get(&sd->files, names[i]),
                        &now);
        free(names[i]);
    }
    free(names);
    deliver_deletions(sd, &now);
    files_destroy(&sd->files);
    sd->files = files;
    strmap_destroy(&sd->held);
    sd->held = now;
    if (sd->cbs->synced) {
        sd->cbs->synced(sd->aux);
    }
}

static void
settle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct source_dir *sd = CONTAINER_OF(w, struct source_dir, settle);
    source_dir_rescan(sd);
}

static void
inotify_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct source_dir *sd = CONTAINER_OF(w, struct source_dir, io);
    char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
    bool relevant = false;
    for (;;) {
        ssize_t len = read(sd->inotify_fd, buf, sizeof buf);
        if (len <= 0) {
            break;
        }
        for (char *p = buf; p < buf + len; ) {
            const struct inotify_event *ev = (const void *) p;
            if ((ev->mask & IN_Q_OVERFLOW)
                || (ev->len && is_manifest(ev->name))) {
                relevant = true;
            }
            p += sizeof *ev + ev->len;
        }
    }
    if (relevant) {
        /* Restart the quiet period: one rescan per burst. */
        ev_timer_stop(loop, &sd->settle);
        ev_timer_set(&sd->settle, SOURCE_DIR_SETTLE, 0.);
        ev_timer_start(loop, &sd->settle);
    }
}

struct source_dir *
source_dir_create(struct ev_loop *loop, const char *path,
                  const struct source_callbacks *cbs, void *aux,
                  char **error)
{
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0) {
        *error = xasprintf("inotify: %s", strerror(errno));
        return NULL;
    }
    /* Files written in place (CLOSE_WRITE), renamed in (MOVED_TO: kubectl
     * and editors write a temporary file and rename it), or removed. */
    if (inotify_add_watch(fd, path, IN_CLOSE_WRITE | IN_MOVED_TO
                          | IN_MOVED_FROM | IN_DELETE | IN_CREATE) < 0) {
        *error = xasprintf("%s: cannot watch: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    struct source_dir *sd = xcalloc(1, sizeof *sd);
    sd->loop = loop;
    sd->path = xstrdup(path);
    sd->inotify_fd = fd;
    sd->cbs = cbs;
    sd->aux = aux;
    strmap_init(&sd->files);
    strmap_init(&sd->held);
    ev_io_init(&sd->io, inotify_cb, fd, EV_READ);
    ev_io_start(loop, &sd->io);
    ev_timer_init(&sd->settle, settle_cb, 0., 0.);
    ev_timer_start(loop, &sd->settle);          /* The first scan. */
    *error = NULL;
    return sd;
}

void
source_dir_destroy(struct source_dir *sd)
{
    if (sd) {
        ev_io_stop(sd->loop, &sd->io);
        ev_timer_stop(sd->loop, &sd->settle);
        close(sd->inotify_fd);
        files_destroy(&sd->files);
        strmap_destroy(&sd->held);
        free(sd->path);
        free(sd);
    }
}

void
source_dir_get_status(const struct source_dir *sd,
                      struct source_dir_status *status)
{
    *status = sd->status;
}
