/* YAML to jansson, with libyaml's event parser.  See yaml-json.h. */
#include "yaml-json.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>
#include "np-util.h"

/* Deepest nesting accepted, as jansson's parser limits JSON's. */
#define YAML_JSON_MAX_DEPTH 512

/* One open mapping or sequence. */
struct frame {
    json_t *node;               /* Owned. */
    char *anchor;               /* Owned; NULL if none. */
    bool is_mapping;
    yaml_mark_t start_mark;
    size_t start_nodes;         /* builder's 'n_nodes' when it opened. */

    /* Mappings only. */
    char *key;                  /* Owned; NULL when a key is expected. */
    bool key_is_merge;          /* The pending key is '<<'. */
    yaml_mark_t key_mark;
    json_t *merged;             /* Owned; values from '<<', or NULL. */
};

struct builder {
    struct frame *frames;
    size_t n_frames, allocated_frames;
    json_t *root;               /* Owned; the finished document. */
    json_t *anchors;            /* Owned; anchor name -> value. */
    json_t *anchor_sizes;       /* Owned; anchor name -> expanded size. */

    /* Against "billion laughs": nodes of the document with aliases
     * expanded, and how many of those came through aliases. */
    size_t n_nodes;
    size_t n_aliased;
    char *error;                /* Owned; first document-level error. */
};

static void builder_fail(struct builder *, const yaml_mark_t *,
                         const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static void
builder_fail(struct builder *b, const yaml_mark_t *mark,
             const char *format, ...)
{
    if (b->error) {
        return;
    }
    va_list args;
    va_start(args, format);
    char *msg = xvasprintf(format, args);
    va_end(args);
    b->error = xasprintf("line %zu column %zu: %s",
                         mark->line + 1, mark->column + 1, msg);
    free(msg);
}

static void
builder_reset(struct builder *b)
{
    for (size_t i = 0; i < b->n_frames; i++) {
        struct frame *f = &b->frames[i];
        json_decref(f->node);
        json_decref(f->merged);
        free(f->anchor);
        free(f->key);
    }
    b->n_frames = 0;
    json_decref(b->root);
    b->root = NULL;
    json_decref(b->anchors);
    b->anchors = NULL;
    json_decref(b->anchor_sizes);
    b->anchor_sizes = NULL;
    b->n_nodes = 0;
    b->n_aliased = 0;
    free(b->error);
    b->error = NULL;
}

/* Scalar resolution, after go-yaml v2's resolve.go. */

static bool
is_one_of(const char *s, const char *const *list)
{
    for (; *list; list++) {
        if (!strcmp(s, *list)) {
            return true;
        }
    }
    return false;
}

static const char *const null_words[] = {
    "", "~", "null", "Null", "NULL", NULL
};
static const char *const true_words[] = {
    "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE",
    "on", "On", "ON", NULL
};
static const char *const false_words[] = {
    "n", "N", "no", "No", "NO", "false", "False", "FALSE",
    "off", "Off", "OFF", NULL
};
static const char *const nan_words[] = { ".nan", ".NaN", ".NAN", NULL };
static const char *const inf_words[] = {
    ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF",
    "-.inf", "-.Inf", "-.INF", NULL
};

/* Parses 's' as Go's strconv.ParseInt(s, 0, 64) would after go-yaml removed
 * the underscores: optional sign, then 0x/0o/0b prefixed, leading-zero
 * octal or decimal digits.  On success stores a jansson integer (or a real,
 * for values between 2**63 and 2**64 without a sign, as ParseUint gives
 * them) in '*out'. */
static bool
parse_go_int(const char *s, json_t **out)
{
    bool negative = false;
    bool signed_ = false;
    if (*s == '+' || *s == '-') {
        negative = *s == '-';
        signed_ = true;
        s++;
    }

    int base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    } else if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O')) {
        base = 8;
        s += 2;
    } else if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B')) {
        base = 2;
        s += 2;
    } else if (s[0] == '0' && s[1]) {
        base = 8;
        s++;
    }
    if (!*s) {
        return false;
    }

    uint64_t value = 0;
    for (; *s; s++) {
        int digit;
        if (*s >= '0' && *s <= '9') {
            digit = *s - '0';
        } else if (*s >= 'a' && *s <= 'f') {
            digit = *s - 'a' + 10;
        } else if (*s >= 'A' && *s <= 'F') {
            digit = *s - 'A' + 10;
        } else {
            return false;
        }
        if (digit >= base || value > (UINT64_MAX - digit) / base) {
            return false;
        }
        value = value * base + digit;
    }

    if (negative) {
        if (value > (uint64_t) INT64_MAX + 1) {
            return false;
        }
        *out = json_integer(value == (uint64_t) INT64_MAX + 1
                            ? INT64_MIN : -(int64_t) value);
    } else if (value <= INT64_MAX) {
        *out = json_integer(value);
    } else if (!signed_) {
        *out = json_real((double) value);
    } else {
        return false;
    }
    return true;
}

/* go-yaml's yamlStyleFloat:
 *   ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static bool
is_yaml_style_float(const char *s)
{
    if (*s == '+' || *s == '-') {
        s++;
    }
    if (*s == '.') {
        s++;
        if (*s < '0' || *s > '9') {
            return false;
        }
        while (*s >= '0' && *s <= '9') {
            s++;
        }
    } else {
        if (*s < '0' || *s > '9') {
            return false;
        }
        while (*s >= '0' && *s <= '9') {
            s++;
        }
        if (*s == '.') {
            s++;
            while (*s >= '0' && *s <= '9') {
                s++;
            }
        }
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-') {
            s++;
        }
        if (*s < '0' || *s > '9') {
            return false;
        }
        while (*s >= '0' && *s <= '9') {
            s++;
        }
    }
    return !*s;
}

/* strconv.ParseFloat, which fails on overflow. */
static json_t *
parse_float(const char *s)
{
    errno = 0;
    char *end;
    double d = strtod(s, &end);
    if (*end || (errno == ERANGE && isinf(d))) {
        return NULL;
    }
    return json_real(d);
}

enum resolved {
    R_NULL, R_BOOL, R_INT, R_FLOAT, R_STR, R_SPECIAL_FLOAT,
};

/* Resolves a plain scalar 'in'.  Stores the value in '*out' except for
 * R_SPECIAL_FLOAT (NaN and infinities, which JSON cannot hold). */
static enum resolved
resolve_plain(const char *in, json_t **out)
{
    char hint = in[0];
    if (is_one_of(in, null_words)) {
        *out = json_null();
        return R_NULL;
    } else if (is_one_of(in, true_words)) {
        *out = json_true();
        return R_BOOL;
    } else if (is_one_of(in, false_words)) {
        *out = json_false();
        return R_BOOL;
    } else if (is_one_of(in, nan_words) || is_one_of(in, inf_words)) {
        *out = NULL;
        return R_SPECIAL_FLOAT;
    } else if (hint == '.') {
        if (in[1] >= '0' && in[1] <= '9') {
            json_t *f = parse_float(in);
            if (f) {
                *out = f;
                return R_FLOAT;
            }
        }
    } else if ((hint >= '0' && hint <= '9') || hint == '+' || hint == '-') {
        /* go-yaml removes every '_' before trying numbers. */
        char *plain = xstrdup(in);
        char *dst = plain;
        for (const char *src = in; *src; src++) {
            if (*src != '_') {
                *dst++ = *src;
            }
        }
        *dst = '\0';

        json_t *v;
        enum resolved r = R_STR;
        if (parse_go_int(plain, &v)) {
            r = json_is_integer(v) ? R_INT : R_FLOAT;
        } else if (is_yaml_style_float(plain) && (v = parse_float(plain))) {
            r = R_FLOAT;
        }
        free(plain);
        if (r != R_STR) {
            *out = v;
            return r;
        }
    }
    *out = json_string(in);
    return R_STR;
}

static bool
str_eq(const yaml_char_t *a, const char *b)
{
    return a && !strcmp((const char *) a, b);
}

/* Converts a scalar event into a new json_t, or returns NULL after
 * recording an error.  '*is_merge' tells whether it was a plain '<<'. */
static json_t *
scalar_to_json(struct builder *b, const yaml_event_t *ev, bool *is_merge)
{
    const char *value = (const char *) ev->data.scalar.value;
    const yaml_char_t *tag = ev->data.scalar.tag;
    bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    json_t *out;

    *is_merge = false;
    if (strlen(value) != ev->data.scalar.length) {
        builder_fail(b, &ev->start_mark, "string contains a NUL character");
        return NULL;
    }

    if (tag && !str_eq(tag, "!")) {
        const char *want;
        if (str_eq(tag, YAML_NULL_TAG)) {
            want = "!!null";
        } else if (str_eq(tag, YAML_BOOL_TAG)) {
            want = "!!bool";
        } else if (str_eq(tag, YAML_INT_TAG)) {
            want = "!!int";
        } else if (str_eq(tag, YAML_FLOAT_TAG)) {
            want = "!!float";
        } else {
            /* !!str, !!binary, !!timestamp and local tags: the text. */
            return json_string(value);
        }

        enum resolved r = resolve_plain(value, &out);
        bool ok = ((r == R_NULL && !strcmp(want, "!!null"))
                   || (r == R_BOOL && !strcmp(want, "!!bool"))
                   || (r == R_INT && !strcmp(want, "!!int"))
                   || ((r == R_INT || r == R_FLOAT)
                       && !strcmp(want, "!!float")));
        if (ok && r == R_INT && !strcmp(want, "!!float")) {
            json_t *f = json_real(json_integer_value(out));
            json_decref(out);
            out = f;
        }
        if (!ok) {
            json_decref(out);
            char *q = np_quote(value, ev->data.scalar.length);
            builder_fail(b, &ev->start_mark, "cannot decode %s as %s", q,
                         want);
            free(q);
            return NULL;
        }
        return out;
    }

    if (!plain || tag) {
        /* Quoted, literal and folded scalars, and the non-specific tag
         * "!", are strings. */
        return json_string(value);
    }
    if (!strcmp(value, "<<")) {
        *is_merge = true;
        return json_string(value);
    }
    if (resolve_plain(value, &out) == R_SPECIAL_FLOAT) {
        builder_fail(b, &ev->start_mark,
                     "%s cannot be represented in JSON", value);
        return NULL;
    }
    return out;
}

/* Returns the text that sigs.k8s.io/yaml uses for a mapping key, malloc'd,
 * or NULL if 'key' cannot be one. */
static char *
key_text(const json_t *key, const char *raw)
{
    switch (json_typeof(key)) {
    case JSON_STRING:
        return xstrdup(json_string_value(key));
    case JSON_INTEGER:
        return xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(key));
    case JSON_REAL:
        return xstrdup(raw ? raw : "0");
    case JSON_TRUE:
        return xstrdup("true");
    case JSON_FALSE:
        return xstrdup("false");
    case JSON_NULL:
        return xstrdup("null");
    case JSON_OBJECT:
    case JSON_ARRAY:
    default:
        return NULL;
    }
}

/* Adds 'value' (stolen) to the open collection, or makes it the root.
 * 'mark' locates it; 'raw' is the scalar's text if it is a scalar. */
static void
builder_add(struct builder *b, json_t *value, const yaml_mark_t *mark,
            const char *raw, bool is_merge)
{
    if (!b->n_frames) {
        json_decref(b->root);
        b->root = value;
        return;
    }

    struct frame *f = &b->frames[b->n_frames - 1];
    if (!f->is_mapping) {
        json_array_append_new(f->node, value);
        return;
    }

    if (!f->key) {
        f->key = key_text(value, raw);
        if (!f->key) {
            builder_fail(b, mark, "a mapping key must be a scalar");
            f->key = xstrdup("");
        }
        f->key_is_merge = is_merge;
        f->key_mark = *mark;
        json_decref(value);
        return;
    }

    if (f->key_is_merge) {
        /* '<<: *a' or '<<: [*a, *b]': the first occurrence of a key wins
         * and explicit keys override all of them. */
        if (!f->merged) {
            f->merged = json_object();
        }
        if (json_is_object(value)) {
            json_object_update_missing(f->merged, value);
        } else if (json_is_array(value)) {
            size_t i;
            json_t *elem;
            json_array_foreach (value, i, elem) {
                if (!json_is_object(elem)) {
                    builder_fail(b, mark, "a merge key ('<<') needs a "
                                 "mapping or a sequence of mappings");
                    break;
                }
                json_object_update_missing(f->merged, elem);
            }
        } else {
            builder_fail(b, mark, "a merge key ('<<') needs a mapping or "
                         "a sequence of mappings");
        }
        json_decref(value);
    } else if (json_object_get(f->node, f->key)) {
        char *q = np_quote(f->key, strlen(f->key));
        builder_fail(b, &f->key_mark, "mapping key %s already defined", q);
        free(q);
        json_decref(value);
    } else {
        json_object_set_new(f->node, f->key, value);
    }
    free(f->key);
    f->key = NULL;
    f->key_is_merge = false;
}

/* Records 'value', whose expansion counts 'size' nodes, as 'anchor'. */
static void
builder_set_anchor(struct builder *b, const yaml_char_t *anchor,
                   json_t *value, size_t size)
{
    if (anchor) {
        if (!b->anchors) {
            b->anchors = json_object();
            b->anchor_sizes = json_object();
        }
        json_object_set(b->anchors, (const char *) anchor, value);
        json_object_set_new(b->anchor_sizes, (const char *) anchor,
                            json_integer(size));
    }
}

/* go-yaml v2's limit (decode.go, allowedAliasRatio): a large document may
 * not be made mostly of alias expansions. */
static bool
builder_too_aliased(const struct builder *b)
{
    double ratio;
    if (b->n_nodes <= 400000) {
        ratio = 0.99;
    } else if (b->n_nodes >= 4000000) {
        ratio = 0.10;
    } else {
        ratio = 0.99 - 0.89 * ((b->n_nodes - 400000) / 3600000.0);
    }
    return (b->n_aliased > 100 && b->n_nodes > 1000
            && (double) b->n_aliased / b->n_nodes > ratio);
}

static void
builder_push(struct builder *b, json_t *node, const yaml_char_t *anchor,
             bool is_mapping, const yaml_mark_t *start_mark)
{
    struct frame f = {
        .node = node,
        .start_mark = *start_mark,
        .start_nodes = b->n_nodes,
        .anchor = anchor ? xstrdup((const char *) anchor) : NULL,
        .is_mapping = is_mapping,
    };
    APPEND(b->frames, b->n_frames, b->allocated_frames, f);
}

static void
builder_pop(struct builder *b)
{
    if (!b->n_frames) {
        return;                 /* libyaml guarantees balance. */
    }
    struct frame f = b->frames[--b->n_frames];
    if (f.merged) {
        json_object_update_missing(f.node, f.merged);
        json_decref(f.merged);
    }
    free(f.key);
    if (f.anchor) {
        builder_set_anchor(b, (const yaml_char_t *) f.anchor, f.node,
                           b->n_nodes - f.start_nodes);
        free(f.anchor);
    }
    builder_add(b, f.node, &f.start_mark, NULL, false);
}

/* Position of byte 'offset' in 'text', for reader errors, which carry no
 * mark. */
static void
offset_to_mark(const char *text, size_t size, size_t offset,
               yaml_mark_t *mark)
{
    mark->line = 0;
    mark->column = 0;
    for (size_t i = 0; i < offset && i < size; i++) {
        if (text[i] == '\n') {
            mark->line++;
            mark->column = 0;
        } else {
            mark->column++;
        }
    }
}

static char *
parser_error(const yaml_parser_t *p, const char *text, size_t size)
{
    yaml_mark_t mark = p->problem_mark;
    if (p->error == YAML_READER_ERROR) {
        offset_to_mark(text, size, p->problem_offset, &mark);
    }
    const char *problem = p->problem ? p->problem : "invalid YAML";
    if (p->context) {
        return xasprintf("line %zu column %zu: %s (%s at line %zu "
                         "column %zu)", mark.line + 1, mark.column + 1,
                         problem, p->context, p->context_mark.line + 1,
                         p->context_mark.column + 1);
    }
    return xasprintf("line %zu column %zu: %s",
                     mark.line + 1, mark.column + 1, problem);
}

void
yaml_json_load(const char *text, size_t size, yaml_json_doc_fn *cb,
               void *aux)
{
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        abort();                /* Out of memory. */
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *) text,
                                 size);

    struct builder b = { .frames = NULL };
    int index = 0;
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            char *error = parser_error(&parser, text, size);
            cb(aux, index ? index : 1, NULL, error);
            free(error);
            break;
        }

        bool done = false;
        bool is_merge;
        json_t *v;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = true;
            break;

        case YAML_DOCUMENT_START_EVENT:
            builder_reset(&b);
            index++;
            break;

        case YAML_DOCUMENT_END_EVENT:
            if (b.error) {
                cb(aux, index, NULL, b.error);
            } else if (b.root && !json_is_null(b.root)) {
                v = b.root;
                b.root = NULL;
                cb(aux, index, v, NULL);
            }
            builder_reset(&b);
            break;

        case YAML_SCALAR_EVENT:
            v = scalar_to_json(&b, &ev, &is_merge);
            if (!v) {
                v = json_null();
            }
            b.n_nodes++;
            builder_set_anchor(&b, ev.data.scalar.anchor, v, 1);
            builder_add(&b, v, &ev.start_mark,
                        (const char *) ev.data.scalar.value, is_merge);
            break;

        case YAML_ALIAS_EVENT:
            v = (b.anchors
                 ? json_object_get(b.anchors,
                                   (const char *) ev.data.alias.anchor)
                 : NULL);
            if (!v) {
                const char *anchor = (const char *) ev.data.alias.anchor;
                char *q = np_quote(anchor, strlen(anchor));
                builder_fail(&b, &ev.start_mark, "unknown anchor %s", q);
                free(q);
                v = json_null();
            } else {
                json_incref(v);
                size_t size = json_integer_value(
                    json_object_get(b.anchor_sizes,
                                    (const char *) ev.data.alias.anchor));
                b.n_nodes += size;
                b.n_aliased += size;
                if (builder_too_aliased(&b)) {
                    /* Stop: what follows could be just as large. */
                    char *error = xasprintf("line %zu column %zu: the "
                                            "document contains excessive "
                                            "aliasing",
                                            ev.start_mark.line + 1,
                                            ev.start_mark.column + 1);
                    cb(aux, index, NULL, error);
                    free(error);
                    done = true;
                }
            }
            builder_add(&b, v, &ev.start_mark,
                        json_is_string(v) ? json_string_value(v) : NULL,
                        false);
            break;

        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            if (b.n_frames >= YAML_JSON_MAX_DEPTH) {
                /* jansson frees values recursively, and so do we walk
                 * them: refuse what could overflow the stack, and stop
                 * rather than skip the rest of the document. */
                char *error = xasprintf("line %zu column %zu: nesting "
                                        "deeper than %d levels",
                                        ev.start_mark.line + 1,
                                        ev.start_mark.column + 1,
                                        YAML_JSON_MAX_DEPTH);
                cb(aux, index, NULL, error);
                free(error);
                done = true;
            } else if (ev.type == YAML_SEQUENCE_START_EVENT) {
                b.n_nodes++;
                builder_push(&b, json_array(),
                             ev.data.sequence_start.anchor, false,
                             &ev.start_mark);
            } else {
                b.n_nodes++;
                builder_push(&b, json_object(),
                             ev.data.mapping_start.anchor, true,
                             &ev.start_mark);
            }
            break;

        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            builder_pop(&b);
            break;

        case YAML_STREAM_START_EVENT:
        case YAML_NO_EVENT:
        default:
            break;
        }
        yaml_event_delete(&ev);
        if (done) {
            break;
        }
    }

    builder_reset(&b);
    free(b.frames);
    yaml_parser_delete(&parser);
}

struct load_one {
    json_t *doc;
    char *error;
};

static void
load_one_cb(void *aux_, int index, json_t *doc, const char *error)
{
    struct load_one *aux = aux_;
    if (aux->doc || aux->error) {
        json_decref(doc);
    } else if (doc) {
        aux->doc = doc;
    } else {
        aux->error = xstrdup(error);
    }
}

json_t *
yaml_json_load_one(const char *text, size_t size, char **error)
{
    struct load_one aux = { .doc = NULL };
    yaml_json_load(text, size, load_one_cb, &aux);
    if (!aux.doc && !aux.error) {
        aux.error = xstrdup("no YAML document");
    }
    *error = aux.error;
    return aux.doc;
}
