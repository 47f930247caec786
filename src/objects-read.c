/* Reading manifests: files, streams and buffers, YAML documents and JSON
 * values, each object validated by objects-json.c into the batch.  See
 * objects.h and objects-int.h.  A big List is read item by item by a
 * scanner that also keeps one bad item from losing the rest. */
#include "objects-int.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "np-util.h"
#include "yaml-json.h"

/* ---- The batch. ---- */

/* Records the identity of the object 'v', rejected with message
 * 'errors[error]', when it can be read, with its stand-in if it is a
 * NetworkPolicy; otherwise marks the batch incomplete. */
static void
note_rejected(struct obj_batch *batch, const json_t *v,
              const char *default_kind, size_t error)
{
    const char *kind = json_string_value(json_object_get(v, "kind"));
    if (!kind) {
        kind = default_kind;
    }
    const json_t *meta = json_object_get(v, "metadata");
    const char *name = json_string_value(json_object_get(meta, "name"));
    const char *ns = json_string_value(json_object_get(meta, "namespace"));
    enum obj_kind k;
    if (!kind || !name || !*name) {
        batch->incomplete = true;
        return;
    }
    for (k = 0; k < OBJ_N_KINDS; k++) {
        if (!strcmp(kind, obj_kind_name(k))) {
            break;
        }
    }
    if (k >= OBJ_N_KINDS) {
        batch->incomplete = true;
        return;
    }
    struct obj_rejected r = {
        .ref = {
            .kind = k,
            .ns = xstrdup(obj_kind_cluster_scoped(k) ? ""
                          : ns && *ns ? ns : "default"),
            .name = xstrdup(name),
        },
        .error = error,
        .stand_in = objects_stand_in(k, v, batch->errors[error]),
    };
    APPEND(batch->rejected, batch->n_rejected, batch->allocated_rejected, r);
}

static void
obj_batch_add_error(struct obj_batch *batch, char *error)
{
    APPEND(batch->errors, batch->n_errors, batch->allocated_errors, error);
}

/* ---- Values to objects. ---- */

static bool
ends_with(const char *s, const char *suffix)
{
    size_t len = strlen(s), slen = strlen(suffix);
    return len >= slen && !strcmp(s + len - slen, suffix);
}

/* If 'v' is a List, stores in '*item_kind' the kind that its items default
 * to (malloc'd, e.g. "Pod" for a PodList; NULL for a List, whose items may
 * be of any kind) and in '*api_version' their default apiVersion (borrowed
 * from 'v'; NULL if none or if '*item_kind' is NULL), and returns true.
 * Otherwise returns false and stores nothing. */
static bool
get_list_defaults(const json_t *v, char **item_kind,
                  const char **api_version)
{
    const json_t *kind = json_object_get(v, "kind");
    const json_t *items = json_object_get(v, "items");
    if (!json_is_string(kind) || !ends_with(json_string_value(kind), "List")
        || (!items && strcmp(json_string_value(kind), "List"))) {
        return false;
    }

    /* "PodList" items are Pods; a "List" holds any kinds. */
    const char *list_kind = json_string_value(kind);
    size_t len = strlen(list_kind) - 4;
    const json_t *version = json_object_get(v, "apiVersion");
    *item_kind = len ? xmemdup0(list_kind, len) : NULL;
    *api_version = (len && json_is_string(version)
                    ? json_string_value(version) : NULL);
    return true;
}

/* Adds what 'v' holds to 'batch': an object; a List of objects; or, at the
 * top level ('depth' 0), an array of those.  'loc' says where 'v' is;
 * 'depth' counts the Lists and arrays around it. */
static void
add_value(const char *origin, const struct locator *loc, const json_t *v,
          const char *default_kind, const char *default_api_version,
          int depth, struct obj_batch *batch)
{
    if (json_is_array(v) && !depth) {
        size_t i;
        const json_t *item;
        json_array_foreach (v, i, item) {
            struct locator child = { .parent = loc, .index = i };
            add_value(origin, &child, item, NULL, NULL, depth + 1, batch);
        }
        return;
    }

    char *item_kind;
    const char *api_version;
    if (get_list_defaults(v, &item_kind, &api_version)) {
        const json_t *items = json_object_get(v, "items");
        char *error = list_check(origin, loc, items, depth);
        if (error) {
            obj_batch_add_error(batch, error);
            batch->incomplete = true;
        } else if (items) {
            size_t i;
            const json_t *item;
            json_array_foreach (items, i, item) {
                struct locator child = {
                    .parent = loc, .index = i, .is_item = true,
                };
                add_value(origin, &child, item, item_kind, api_version,
                          depth + 1, batch);
            }
        }
        free(item_kind);
        return;
    }

    char *error;
    struct k8s_object *obj = object_from_json(origin, loc, v, default_kind,
                                              default_api_version, true,
                                              &error);
    if (obj) {
        APPEND(batch->objs, batch->n_objs, batch->allocated_objs, *obj);
        free(obj);
    } else if (error) {
        obj_batch_add_error(batch, error);
        note_rejected(batch, v, default_kind, batch->n_errors - 1);
    }
}

struct yaml_aux {
    const char *origin;
    struct obj_batch *batch;
};

static void
yaml_doc_cb(void *aux_, int index, json_t *doc, const char *error)
{
    struct yaml_aux *aux = aux_;
    if (doc) {
        struct locator loc = { .root = "document", .index = index };
        add_value(aux->origin, &loc, doc, NULL, NULL, 0, aux->batch);
        json_decref(doc);
    } else {
        obj_batch_add_error(aux->batch,
                            xasprintf("%s: %s", aux->origin, error));
        aux->batch->incomplete = true;
    }
}

static size_t
skip_space(const char *text, size_t size, size_t ofs)
{
    while (ofs < size && (text[ofs] == ' ' || text[ofs] == '\t'
                          || text[ofs] == '\n' || text[ofs] == '\r')) {
        ofs++;
    }
    return ofs;
}

/* A place in a JSON text, for messages: byte offset 'ofs' is at 'line' and
 * 'column' (from 1; columns count characters, as jansson's do).  It only
 * moves forward, so that counting the lines of a whole text costs one pass
 * however many messages it gives. */
struct text_pos {
    size_t ofs;
    int line;
    int column;
};

static void
text_pos_advance(struct text_pos *tp, const char *text, size_t ofs)
{
    assert(ofs >= tp->ofs);
    for (; tp->ofs < ofs; tp->ofs++) {
        if (text[tp->ofs] == '\n') {
            tp->line++;
            tp->column = 1;
        } else if ((text[tp->ofs] & 0xc0) != 0x80) {
            tp->column++;
        }
    }
}

/* Returns the message for jansson's 'err' about the value that starts at
 * 'ofs' in 'text', malloc'd.  'tp' must not be past 'ofs'. */
static char *
syntax_error(const char *origin, const struct locator *loc,
             const char *text, size_t ofs, struct text_pos *tp,
             const json_error_t *err)
{
    text_pos_advance(tp, text, ofs);
    char *locator = locator_format(loc);

    int line = tp->line + (err->line > 0 ? err->line - 1 : 0);
    /* jansson counts from the start of this value, and reports column 0 at
     * the end of the input after a newline. */
    int column = err->column > 1 ? err->column : 1;
    if (err->line <= 1) {
        column += tp->column - 1;
    }
    char *msg = xasprintf("%s: %s%sline %d column %d: %s", origin,
                          locator ? locator : "", locator ? ": " : "",
                          line, column, err->text);
    free(locator);
    return msg;
}

/* Lists, item by item.
 *
 * The List of a big cluster is tens of megabytes of JSON, and jansson's tree
 * of it several times that.  So a List that is a top-level JSON value is
 * not loaded whole: a scanner delimits its members and its items, jansson
 * loads its envelope (the List with "items": []) and then each item alone,
 * which is converted and released before the next.
 *
 * The scanner only finds where values start and end: it knows strings with
 * their escapes, the nesting of {} and [], and the commas and colons around
 * the List's own members and items, and leaves the rest to jansson.  When
 * it cannot delimit a List (a truncated text, mismatched brackets, an empty
 * item, nesting as deep as jansson's limit, two "items" or a member name
 * with an escape), or the envelope does not load, or is no List, the value
 * is loaded whole as any other, so that its errors read as they always did.
 * A syntax error in one item rejects that item alone. */

/* Moves '*pos' from the opening quote of a string past its closing quote.
 * Returns false if the string does not end. */
static bool
scan_string(const char *text, size_t size, size_t *pos)
{
    size_t start = *pos + 1;
    for (size_t i = start; i < size; ) {
        const char *quote = memchr(text + i, '"', size - i);
        if (!quote) {
            return false;
        }

        /* The quote is escaped if an odd number of backslashes precede
         * it. */
        size_t q = quote - text;
        size_t b = q;
        while (b > start && text[b - 1] == '\\') {
            b--;
        }
        if ((q - b) % 2 == 0) {
            *pos = q + 1;
            return true;
        }
        i = q + 1;
    }
    return false;
}

static bool
is_json_delimiter(char c)
{
    switch (c) {
    case ',': case ':': case '[': case ']': case '{': case '}': case '"':
    case ' ': case '\t': case '\n': case '\r':
        return true;
    default:
        return false;
    }
}

/* Moves '*pos' from the first byte of a value past its last: a string, an
 * object or array with everything in it, or another token, which ends at a
 * delimiter (jansson will say whether it is one).  Objects and arrays may
 * nest 'max_depth' deep.  Returns false if there is no value at '*pos', if
 * it does not end, nests deeper or closes a bracket that it did not open. */
static bool
scan_value(const char *text, size_t size, size_t *pos, int max_depth)
{
    char closers[JSON_PARSER_MAX_DEPTH];
    int depth = 0;
    size_t i = *pos;

    assert(max_depth <= JSON_PARSER_MAX_DEPTH);
    if (i < size && text[i] == '"') {
        return scan_string(text, size, pos);
    } else if (i < size && text[i] != '{' && text[i] != '[') {
        while (i < size && !is_json_delimiter(text[i])) {
            i++;
        }
        if (i == *pos) {
            return false;
        }
        *pos = i;
        return true;
    }

    while (i < size) {
        switch (text[i]) {
        case '"':
            if (!scan_string(text, size, &i)) {
                return false;
            }
            continue;
        case '{':
        case '[':
            if (depth >= max_depth) {
                return false;
            }
            closers[depth++] = text[i] == '{' ? '}' : ']';
            break;
        case '}':
        case ']':
            if (closers[--depth] != text[i]) {
                return false;
            }
            if (!depth) {
                *pos = i + 1;
                return true;
            }
            break;
        }
        i++;
    }
    return false;
}

/* How deep scan_value() lets a List's members and items nest, so that
 * jansson would load the whole List.  jansson counts every value, scalars
 * too, and stops beyond JSON_PARSER_MAX_DEPTH: the List is at depth 1, its
 * members at 2, its items at 3, and one more level is kept for a scalar in
 * the innermost brackets.  Deeper Lists are loaded whole, to fail there. */
#define MEMBER_MAX_DEPTH (JSON_PARSER_MAX_DEPTH - 2)
#define ITEM_MAX_DEPTH (JSON_PARSER_MAX_DEPTH - 3)

/* Returns true if the 'len' bytes at 's' are a number, true, false or null
 * as JSON writes them.  An item that is any other token goes to jansson
 * with the whole List, for jansson's message about what follows a token
 * depends on what it is loading. */
static bool
is_json_literal(const char *s, size_t len)
{
    const char *end = s + len;

    if ((len == 4 && (!memcmp(s, "true", 4) || !memcmp(s, "null", 4)))
        || (len == 5 && !memcmp(s, "false", 5))) {
        return true;
    }

    if (s < end && *s == '-') {
        s++;
    }
    if (s < end && *s == '0') {
        s++;
    } else if (s < end && *s >= '1' && *s <= '9') {
        while (s < end && *s >= '0' && *s <= '9') {
            s++;
        }
    } else {
        return false;
    }
    if (s < end && *s == '.') {
        const char *digits = ++s;
        while (s < end && *s >= '0' && *s <= '9') {
            s++;
        }
        if (s == digits) {
            return false;
        }
    }
    if (s < end && (*s == 'e' || *s == 'E')) {
        s++;
        if (s < end && (*s == '+' || *s == '-')) {
            s++;
        }
        const char *digits = s;
        while (s < end && *s >= '0' && *s <= '9') {
            s++;
        }
        if (s == digits) {
            return false;
        }
    }
    return s == end;
}

/* Steps through the items of the array whose '[' is at 'text[*pos]' (the
 * first call) or whose previous item ends just before the ',' or ']' at
 * 'text[*pos]'.  Returns 1 after storing in '*start' and '*end' the range
 * of the next item, 0 at the end of the array with '*pos' just past its
 * ']', or -1 if scan_value() cannot delimit the item or the array goes on
 * with something other than ',' or ']'. */
static int
scan_next_item(const char *text, size_t size, size_t *pos,
               size_t *start, size_t *end)
{
    size_t i = *pos;
    if (text[i] == ']') {
        *pos = i + 1;
        return 0;
    }

    bool first = text[i] == '[';
    i = skip_space(text, size, i + 1);
    if (first && i < size && text[i] == ']') {
        *pos = i + 1;
        return 0;
    }
    *start = i;
    if (!scan_value(text, size, &i, ITEM_MAX_DEPTH)
        || (text[*start] != '{' && text[*start] != '['
            && text[*start] != '"'
            && !is_json_literal(text + *start, i - *start))) {
        return -1;
    }
    *end = i;
    i = skip_space(text, size, i);
    if (i >= size || (text[i] != ',' && text[i] != ']')) {
        return -1;
    }
    *pos = i;
    return 1;
}

/* Where the parts of a List are in a text. */
struct list_scan {
    size_t items;               /* The '[' of "items". */
    size_t items_end;           /* Just past its ']'. */
    size_t end;                 /* Just past the List's '}'. */
};

/* Delimits the object whose '{' is at 'text[ofs]' and its member "items",
 * which must be an array.  Returns true with the offsets in '*scan', or
 * false if the object is not one that add_list_by_item() can take. */
static bool
scan_list(const char *text, size_t size, size_t ofs, struct list_scan *scan)
{
    bool found = false;

    assert(text[ofs] == '{');
    size_t i = skip_space(text, size, ofs + 1);
    for (;;) {
        size_t name = i;
        if (i >= size || text[i] != '"' || !scan_string(text, size, &i)
            || memchr(text + name, '\\', i - name)) {
            return false;
        }
        size_t name_size = i - name;

        i = skip_space(text, size, i);
        if (i >= size || text[i] != ':') {
            return false;
        }
        i = skip_space(text, size, i + 1);

        if (name_size == 7 && !memcmp(text + name, "\"items\"", 7)) {
            if (found || i >= size || text[i] != '[') {
                return false;
            }
            found = true;
            scan->items = i;

            size_t start, end;
            int retval;
            while ((retval = scan_next_item(text, size, &i, &start,
                                            &end)) > 0) {
                continue;
            }
            if (retval < 0) {
                return false;
            }
            scan->items_end = i;
        } else if (!scan_value(text, size, &i, MEMBER_MAX_DEPTH)) {
            return false;
        }

        i = skip_space(text, size, i);
        if (i < size && text[i] == ',') {
            i = skip_space(text, size, i + 1);
        } else if (i < size && text[i] == '}') {
            scan->end = i + 1;
            return found;
        } else {
            return false;
        }
    }
}

/* Adds the List whose '{' is at 'text[ofs]' to 'batch', loading one item at
 * a time, and stores in '*end' the offset just past it.  'locator' names the
 * List; 'tp' is for messages (see syntax_error()).  Returns false, having
 * added nothing, if the value at 'ofs' is not a List that this can take; the
 * caller then loads it whole. */
static bool
add_list_by_item(const char *origin, const struct locator *loc,
                 const char *text,
                 size_t size, size_t ofs, struct text_pos *tp,
                 struct obj_batch *batch, size_t *end)
{
    struct list_scan scan = { .items = 0 };
    if (!scan_list(text, size, ofs, &scan)) {
        return false;
    }

    /* The envelope: all but the items. */
    size_t head_size = scan.items + 1 - ofs;
    size_t tail_size = scan.end - (scan.items_end - 1);
    char *envelope = xmalloc(head_size + tail_size);
    memcpy(envelope, text + ofs, head_size);
    memcpy(envelope + head_size, text + scan.items_end - 1, tail_size);
    json_error_t err;
    json_t *list = json_loadb(envelope, head_size + tail_size, 0, &err);
    free(envelope);

    char *item_kind;
    const char *api_version;
    if (!list || !get_list_defaults(list, &item_kind, &api_version)) {
        json_decref(list);
        return false;
    }

    size_t pos = scan.items;
    size_t start, item_end;
    for (size_t i = 0; scan_next_item(text, size, &pos, &start,
                                      &item_end) > 0; i++) {
        struct locator child = { .parent = loc, .index = i, .is_item = true };
        json_t *item = json_loadb(text + start, item_end - start,
                                  JSON_DECODE_ANY, &err);
        if (item) {
            add_value(origin, &child, item, item_kind, api_version, 1,
                      batch);
            json_decref(item);
        } else {
            obj_batch_add_error(batch, syntax_error(origin, &child, text,
                                                    start, tp, &err));
            batch->incomplete = true;
        }
    }
    assert(pos == scan.items_end);

    free(item_kind);
    json_decref(list);
    *end = scan.end;
    return true;
}

/* Parses a stream of JSON values, each an object or an array. */
static void
parse_json_stream(const char *origin, const char *text, size_t size,
                  size_t ofs, struct obj_batch *batch)
{
    /* Counting from the start of the text, a byte-order mark is one
     * column. */
    struct text_pos tp = { .ofs = 0, .line = 1, .column = 1 };
    int index = 0;

    for (;;) {
        ofs = skip_space(text, size, ofs);
        if (ofs >= size) {
            break;
        }

        struct locator loc = { .root = "object", .index = index + 1 };
        size_t end;
        if (text[ofs] == '{'
            && add_list_by_item(origin, &loc, text, size, ofs, &tp,
                                batch, &end)) {
            index++;
            ofs = end;
            continue;
        }

        json_error_t err;
        json_t *v = json_loadb(text + ofs, size - ofs,
                               JSON_DISABLE_EOF_CHECK, &err);
        if (!v) {
            obj_batch_add_error(batch, syntax_error(origin, NULL, text, ofs,
                                                    &tp, &err));
            batch->incomplete = true;
            break;
        }
        index++;
        add_value(origin, &loc, v, NULL, NULL, 0, batch);
        json_decref(v);
        ofs += err.position;
    }
}

void
objects_parse_buffer(const char *origin, const char *text, size_t size,
                     struct obj_batch *batch)
{
    size_t ofs = 0;
    if (size >= 3 && !memcmp(text, "\xef\xbb\xbf", 3)) {
        ofs = 3;                /* UTF-8 byte order mark. */
    }
    size_t first = skip_space(text, size, ofs);
    if (first < size && (text[first] == '{' || text[first] == '[')) {
        parse_json_stream(origin, text, size, ofs, batch);
    } else {
        struct yaml_aux aux = { .origin = origin, .batch = batch };
        yaml_json_load(text, size, yaml_doc_cb, &aux);
    }
}

/* The name of a file type that is not a regular file, for messages. */
static const char *
file_type_name(mode_t mode)
{
    return (S_ISDIR(mode) ? "a directory"
            : S_ISFIFO(mode) ? "a FIFO"
            : S_ISCHR(mode) ? "a character device"
            : S_ISBLK(mode) ? "a block device"
            : S_ISSOCK(mode) ? "a socket"
            : "not a regular file");
}

/* The message for np_read_fd()'s or np_read_file()'s 'error' reading
 * 'path' to its end. */
static char *
read_error(const char *path, int error)
{
    return (error == EFBIG
            ? xasprintf("%s: cannot read: more than the %d MiB a manifest "
                        "may have", path, OBJECTS_MAX_FILE_SIZE >> 20)
            : xasprintf("%s: read error: %s", path, strerror(error)));
}

void
objects_parse_stream(const char *origin, int fd, struct obj_batch *batch)
{
    char *text;
    size_t size;
    int error = np_read_fd(fd, OBJECTS_MAX_FILE_SIZE, 0, 0, &text, &size);
    if (error) {
        obj_batch_add_error(batch, read_error(origin, error));
        batch->incomplete = true;
    } else {
        objects_parse_buffer(origin, text, size, batch);
    }
    free(text);
}

void
objects_parse_file(const char *path, struct obj_batch *batch)
{
    /* NP_READ_REGULAR: a FIFO must not make it wait for a writer (the
     * daemon reads its manifest directory on its event loop). */
    struct stat st = { .st_mode = 0 };
    char *text;
    size_t size;
    int error = np_read_file(path, OBJECTS_MAX_FILE_SIZE, NP_READ_REGULAR,
                             &st, &text, &size);
    if (!error) {
        objects_parse_buffer(path, text, size, batch);
        free(text);
        return;
    }

    char *msg;
    if (!st.st_mode) {
        msg = xasprintf("%s: cannot open: %s", path, strerror(error));
    } else if (error == NP_READ_NOT_REGULAR) {
        msg = xasprintf("%s: cannot read: it is %s, not a regular file",
                        path, file_type_name(st.st_mode));
    } else if (error == EFBIG && st.st_size > OBJECTS_MAX_FILE_SIZE) {
        msg = xasprintf("%s: cannot read: %jd bytes is more than the %d MiB "
                        "a manifest file may have", path,
                        (intmax_t) st.st_size, OBJECTS_MAX_FILE_SIZE >> 20);
    } else {
        msg = read_error(path, error);   /* Or it grew while we read. */
    }
    obj_batch_add_error(batch, msg);
    batch->incomplete = true;
}

