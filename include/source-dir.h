/* A directory of manifests as the source of objects: the sandbox and
 * offline mode of the daemon ('--source dir:PATH').
 *
 * Every file in the directory whose name ends in .yaml, .yml or .json is
 * read as 'ovs-netpol compile' reads its inputs, in name order (a later
 * object with the same kind, namespace and name wins).  inotify reports
 * changes; after a short quiet period (so that an editor's or kubectl's
 * burst of writes costs one rescan) the whole directory is read again and
 * delivered: objects new or changed, and deleted those no file holds any
 * more (this source knows what it delivered, as the API client does from
 * its LIST: the receiver keeps no second account).
 * Rejected objects are logged with file, object and field; the receiver
 * keeps their last valid version (a policy made invalid by an edit must
 * not vanish and open traffic), or, for a NetworkPolicy that has none,
 * gets its fail-closed stand-in (objects.h), and the message says which.  A file that cannot be read or parsed
 * whole (a syntax error, a FIFO, a document whose kind or name cannot be
 * read: objects_parse_file()'s 'incomplete') rejects only itself, and
 * keeps every object it held at the scan before, until it is fixed; a file
 * that is deleted deletes its objects.  Runs on a libev loop; never blocks
 * it for longer than reading the files (each a regular file of at most
 * OBJECTS_MAX_FILE_SIZE bytes; a FIFO is not waited on). */
#ifndef NP_SOURCE_DIR_H
#define NP_SOURCE_DIR_H 1

#include <stdbool.h>
#include <stdint.h>
#include "objects.h"

struct ev_loop;

struct source_callbacks {
    void (*object)(void *aux, struct k8s_object *obj);  /* Takes ownership. */
    /* An object the last scan delivered (or kept) that no file holds now:
     * after every file of a scan was read.  An object whose new version
     * is invalid, or whose file cannot be read, is not deleted: the
     * receiver keeps the last valid one. */
    void (*deleted)(void *aux, enum obj_kind, const char *ns,
                    const char *name);
    /* Called after each complete scan. */
    void (*synced)(void *aux);
    void (*error)(void *aux, const char *message);
};

struct source_dir_status {
    uint64_t scans;
    uint64_t objects;           /* Delivered by the last scan. */
    uint64_t errors;            /* Rejected by the last scan. */
    /* Files that the last scan could not read or parse whole, and the
     * objects they held that it kept at their last valid versions; the
     * names of those files with what each kept ("a.yaml (2 objects
     * kept), ..."), cut to fit. */
    uint64_t broken_files;
    uint64_t kept;
    char broken[256];
    char last_error[256];
    /* Since start, counted at every scan that meets them: objects that
     * failed validation, by kind, and files (or the directory) that could
     * not be read or parsed whole. */
    uint64_t invalid_total[OBJ_N_KINDS];
    uint64_t file_errors_total;
};

/* Starts watching 'path' and schedules a first scan.  Returns NULL and a
 * malloc'd message in '*error' if the directory cannot be watched. */
struct source_dir *source_dir_create(struct ev_loop *, const char *path,
                                     const struct source_callbacks *,
                                     void *aux, char **error);
void source_dir_destroy(struct source_dir *);

/* Rescans now (the 'sync' command); the callbacks run before it returns. */
void source_dir_rescan(struct source_dir *);
void source_dir_get_status(const struct source_dir *,
                           struct source_dir_status *);

#endif
