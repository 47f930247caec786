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
 * This header is what they share, and what cnp.c (include/cnp.h) borrows
 * to validate ClusterNetworkPolicies with the same paths and messages
 * (and tests/test-cnp.c, to call cnp_parse() as those readers will).
 * Not an interface: only those files include it. */
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

/* Validating one JSON object (objects-json.c).
 *
 * A parser walks the object with a 'struct vctx', pushing each field and
 * index it descends into, so that the first error it records names the
 * object and the field: "ORIGIN: KIND NS/NAME: PATH: message".  Each
 * vctx_push*() returns a mark that vctx_pop() takes to undo it.  Getters
 * and checks return false after recording an error; the first error wins
 * and later ones are dropped.  JSON 'null' is an absent member. */

/* Validation context: where we are, for messages. */
struct vctx {
    const char *origin;
    const struct locator *locator;      /* NULL for a lone object. */
    const char *kind;           /* NULL until known. */
    const char *ns;             /* NULL for cluster-scoped or unknown. */
    const char *name;           /* NULL until known. */

    char *path;                 /* Field path, e.g. "spec.ingress[0]". */
    size_t path_len, path_allocated;

    char **quoted;              /* Strings made by vctx_quote(), to free. */
    size_t n_quoted, allocated_quoted;

    char *error;                /* The first error, malloc'd. */
};

/* 'origin' and 'locator' must outlive 'ctx'.  'ctx->kind', 'ns' and
 * 'name' are the caller's to set (borrowed), for messages. */
void vctx_init(struct vctx *ctx, const char *origin,
               const struct locator *locator);
/* Frees the path, the quoted strings and 'ctx->error' (take it first and
 * set it to NULL to keep it). */
void vctx_destroy(struct vctx *ctx);

size_t vctx_push(struct vctx *, const char *field);
size_t vctx_push_index(struct vctx *, size_t index);
/* A map key, as Kubernetes field paths write it: "metadata.labels[app]". */
size_t vctx_push_key(struct vctx *, const char *key);
void vctx_pop(struct vctx *, size_t mark);

/* Returns 's' as a JSON string literal, cut after NP_QUOTE_MAX bytes (see
 * np_quote()), valid until 'ctx' is destroyed. */
const char *vctx_quote(struct vctx *ctx, const char *s);
/* Describes 'v' for "must be a string, not ..." messages; valid until
 * 'ctx' is destroyed. */
const char *vctx_describe(struct vctx *ctx, const json_t *v);

/* Records an error at the current path (the first error wins) and returns
 * false. */
bool vctx_fail(struct vctx *, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
/* Like vctx_fail(), at the child 'field' of the current path. */
bool vctx_fail_at(struct vctx *, const char *field, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* Member 'key' of 'obj', or NULL if it is absent or null. */
const json_t *obj_member(const json_t *obj, const char *key);
/* Checks that 'v' (at the current path) is of 'type', described as
 * 'what' ("a string") in the message. */
bool vctx_check_type(struct vctx *, const json_t *v, json_type type,
                     const char *what);
/* Each stores member 'key' of 'obj' in '*out' (NULL if absent), after
 * checking its type at that member's path. */
bool vctx_get_string(struct vctx *, const json_t *obj, const char *key,
                     const char **out);
bool vctx_get_object(struct vctx *, const json_t *obj, const char *key,
                     const json_t **out);
bool vctx_get_array(struct vctx *, const json_t *obj, const char *key,
                    const json_t **out);
bool vctx_get_int(struct vctx *, const json_t *obj, const char *key,
                  const json_t **out);
/* An array element that must be an object; 'null' counts as {}, as Go
 * decodes it into a zero struct. */
bool vctx_check_element_object(struct vctx *, const json_t *elem);
/* Checks that the integer 'v' is a port number (1 to 65535), at child
 * 'field'. */
bool vctx_check_port_num(struct vctx *, const char *field, const json_t *v);

/* Validates the LabelSelector 'v' (an object, at the current path) into
 * 'sel', which the caller has initialized, as the API server validates a
 * NetworkPolicy's selectors (keys, operators, values). */
bool vctx_parse_selector(struct vctx *, const json_t *v,
                         struct selector *sel);

enum name_rule {
    NAME_DNS_LABEL,
    NAME_DNS_SUBDOMAIN,
};

struct meta {
    const char *name;
    const char *ns;             /* Defaulted to "default" when namespaced. */
    const char *resource_version;
    const char *uid;
    const json_t *labels;
};

/* Reads the identity of the object 'v' into 'm' and 'ctx' (its 'name',
 * and its 'ns' if 'namespaced'), tolerating errors: messages about other
 * fields must still name the object. */
void vctx_peek_meta(struct vctx *, const json_t *v, bool namespaced,
                    struct meta *m);
/* Validates 'metadata' of 'v': name (required, by 'rule'), namespace (a
 * DNS label, if 'namespaced'; otherwise only its type is checked),
 * resourceVersion, uid and labels (into 'labels').  Fills in the rest of
 * 'm'. */
bool vctx_parse_meta(struct vctx *, const json_t *v, bool namespaced,
                     enum name_rule rule, struct labels *labels,
                     struct meta *m);

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
