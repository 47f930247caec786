/* The objects module (include/objects.h) is four files:
 *
 *   objects.c        the structs' lifecycle, names and keys; the batch
 *   objects-names.c  names and label values, checked as the API server
 *                    checks them
 *   objects-json.c   one JSON value to one validated object, and the
 *                    fail-closed stand-ins
 *   objects-read.c   files, streams and buffers: YAML documents, JSON
 *                    values, and Lists item by item, so that one bad item
 *                    loses only itself
 *
 * This header is what they share.  Not an interface: only those files
 * include it. */
#ifndef NP_OBJECTS_INT_H
#define NP_OBJECTS_INT_H 1

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include "objects.h"

/* objects.c. */

/* Frees a selector made with xmalloc(), and its contents. */
void selector_free(struct selector *);
/* Frees the 'n' rules 'rules' and their array. */
void np_rules_free(struct np_rule *rules, size_t n);

/* objects-names.c: after apimachinery's util/validation.  Each returns
 * NULL if 's' is valid, otherwise the reason, a static string.  Names of
 * namespaces and pods: k8s-names.h. */

/* Label keys and selector keys. */
const char *qualified_name_error(const char *s);
const char *label_value_error(const char *s);
/* IANA_SVC_NAME (RFC 6335). */
const char *port_name_error(const char *s);

/* objects-json.c. */

/* Where a value is in its input, for messages: "document 2" or "object 1"
 * at the root, then "[3]" for an element of a top-level array and
 * ", items[4]" for an item of a List.  Built on the stack as the reader
 * descends and formatted only for a message, so that no work is spent on
 * it for the objects that are valid. */
struct locator {
    const struct locator *parent;
    const char *root;           /* "document" or "object"; NULL below. */
    size_t index;               /* The document or object number, or the
                                 * index in the array or List. */
    bool is_item;               /* "items[N]", rather than "[N]". */
};

/* Returns 'loc' as text, malloc'd, or NULL if 'loc' is NULL. */
char *locator_format(const struct locator *);

/* Validates the object 'v'.  A missing 'kind' or 'apiVersion' is taken
 * from 'default_kind' and 'default_api_version' when these are nonnull (the
 * items of a PodList come without them).  Returns the object; or NULL with
 * '*error' NULL if the object is of a kind that we ignore and 'skip_other'
 * is true; or NULL with a malloc'd message in '*error'. */
struct k8s_object *object_from_json(const char *origin,
                                    const struct locator *, const json_t *v,
                                    const char *default_kind,
                                    const char *default_api_version,
                                    bool skip_other, char **error)
    __attribute__((warn_unused_result));

/* How deep Lists may nest: a List in a List in a List (or in a top-level
 * JSON array).  Deeper ones are refused rather than walked, so that a
 * document's cost stays linear in its size. */
#define MAX_LIST_DEPTH 3

/* Checks a List at 'loc', with 'depth' Lists and arrays around it, before
 * its 'items' (NULL if it has none) are read.  Returns NULL, or a malloc'd
 * message if it is nested too deep or 'items' is not an array. */
char *list_check(const char *origin, const struct locator *,
                 const json_t *items, int depth)
    __attribute__((warn_unused_result));

#endif
