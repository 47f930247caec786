#include "source-dir.h"

#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>
#include "np-util.h"

/* Quiet period after the last change before a rescan. */
#define SOURCE_DIR_SETTLE 0.05

struct source_dir {
    struct ev_loop *loop;
    char *path;
    int inotify_fd;
    ev_io io;
    ev_timer settle;
    const struct source_callbacks *cbs;
    void *aux;
    struct source_dir_status status;
};

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

void
source_dir_rescan(struct source_dir *sd)
{
    ev_timer_stop(sd->loop, &sd->settle);
    DIR *dir = opendir(sd->path);
    sd->status.scans++;
    sd->status.objects = 0;
    sd->status.errors = 0;
    if (!dir) {
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
        qsort(names, n, sizeof *names, compare_names);
    }

    for (int k = 0; k < 3; k++) {
        sd->cbs->resync_begin(sd->aux, k);
    }
    for (size_t i = 0; i < n; i++) {
        char *file = xasprintf("%s/%s", sd->path, names[i]);
        struct obj_batch batch;
        obj_batch_init(&batch);
        objects_parse_file(file, &batch);
        for (size_t j = 0; j < batch.n_errors; j++) {
            report(sd, batch.errors[j]);
        }
        for (size_t j = 0; j < batch.n_rejected; j++) {
            const struct obj_ref *r = &batch.rejected[j];
            if (sd->cbs->keep) {
                sd->cbs->keep(sd->aux, r->kind, r->ns, r->name);
            }
        }
        for (size_t j = 0; j < batch.n_objs; j++) {
            struct k8s_object *obj = xmalloc(sizeof *obj);
            *obj = batch.objs[j];
            sd->cbs->object(sd->aux, obj);
            sd->status.objects++;
        }
        batch.n_objs = 0;
        obj_batch_destroy(&batch);
        free(file);
        free(names[i]);
    }
    free(names);
    for (int k = 0; k < 3; k++) {
        sd->cbs->resync_end(sd->aux, k);
    }
    if (sd->cbs->synced) {
        sd->cbs->synced(sd->aux);
    }
}

static void
settle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct source_dir *sd = (struct source_dir *)
        ((char *) w - offsetof(struct source_dir, settle));
    source_dir_rescan(sd);
}

static void
inotify_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct source_dir *sd = (struct source_dir *)
        ((char *) w - offsetof(struct source_dir, io));
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
