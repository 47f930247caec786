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
#include "strmap.h"

/* Deepest nesting accepted, as jansson's parser limits JSON's.  It holds
 * through aliases too: an alias of a collection nests it again. */
#define YAML_JSON_MAX_DEPTH 512

#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define MIN(a, b) ((a) < (b) ? (a) : (b))

/* What aliases may add to a stream, in nodes plus bytes of scalars (keys
 * included), over its whole length: 1 MiB plus four times the size of the
 * input, and 16 MiB at most.  jansson shares an aliased value, but what
 * reads the result walks and copies it once per alias: without a bound, a
 * 41 KB file made 627 MB of work.  Legitimate anchors (shared labels, a
 * merged mapping) stay far below. */
#define ALIAS_BUDGET_MIN (1 << 20)
#define ALIAS_BUDGET_RATIO 4
#define ALIAS_BUDGET_MAX (16 << 20)

/* An anchored value, with what it expands to. */
struct anchor {
    json_t *value;              /* Owned reference. */
    size_t nodes;               /* Nodes, aliases in it expanded. */
    size_t size;                /* Nodes plus the bytes of its scalars. */
    int height;                 /* Levels of collections; 0: a scalar. */
};

/* One open mapping or sequence. */
struct frame {
    json_t *node;               /* Owned. */
    char *anchor;               /* Owned; NULL if none. */
    bool is_mapping;
    yaml_mark_t start_mark;
    size_t start_nodes;         /* builder's 'n_nodes' when it opened. */
    size_t start_size;          /* builder's 'size' when it opened. */
    int height;                 /* 1 + the height of its tallest child. */

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
    struct strmap anchors;      /* Anchor name -> owned struct anchor. */

    /* The document with aliases expanded: its nodes, how many of those
     * came through aliases (go-yaml's "billion laughs" ratio), and its
     * size (see ALIAS_BUDGET_MIN). */
    size_t n_nodes;
    size_t n_aliased;
    size_t size;
    /* What aliases added to the whole stream so far, and its bound. */
    size_t stream_aliased;
    size_t alias_budget;
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
builder_clear_anchors(struct builder *b)
{
    size_t bucket;
    for (struct strmap_node *node = strmap_first(&b->anchors, &bucket);
         node; node = strmap_next(&b->anchors, node, &bucket)) {
        struct anchor *a = node->value;
        json_decref(a->value);
        free(a);
    }
    strmap_destroy(&b->anchors);
    strmap_init(&b->anchors);
}

/* Forgets the current document (not what the stream spent on aliases). */
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
    builder_clear_anchors(b);
    b->n_nodes = 0;
    b->n_aliased = 0;
    b->size = 0;
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

/* The scalar at 'ev' is a NaN or an infinity.  JSON has no such number,
 * so it is an error, except as a mapping key: sigs.k8s.io/yaml names the
 * key ".inf", "-.inf" or ".nan".  Returns a new string or NULL. */
static json_t *
special_float(struct builder *b, const yaml_event_t *ev)
{
    const char *value = (const char *) ev->data.scalar.value;
    const struct frame *f = b->n_frames ? &b->frames[b->n_frames - 1] : NULL;
    if (f && f->is_mapping && !f->key) {
        return json_string(strchr(value, 'i') || strchr(value, 'I')
                           ? (value[0] == '-' ? "-.inf" : ".inf")
                           : ".nan");
    }
    builder_fail(b, &ev->start_mark, "%s cannot be represented in JSON",
                 value);
    return NULL;
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
        if (r == R_SPECIAL_FLOAT && !strcmp(want, "!!float")) {
            return special_float(b, ev);
        }
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
        return special_float(b, ev);
    }
    return out;
}

/* Go's strconv.FormatFloat(d, 'g', -1, 32), which sigs.k8s.io/yaml uses
 * for a mapping key that is a number with a fraction or an exponent: the
 * shortest digits that read back as the same float32, in %e form when the
 * exponent is below -4 or at least 6.  Returns a malloc'd string. */
static char *
format_float_key(double d)
{
    float f = (float) d;
    if (isnan(f)) {
        return xstrdup(".nan");
    } else if (isinf(f)) {
        return xstrdup(f > 0 ? ".inf" : "-.inf");
    }

    char buf[64];
    int prec;
    for (prec = 1; prec < 9; prec++) {
        snprintf(buf, sizeof buf, "%.*e", prec - 1, (double) f);
        if (strtof(buf, NULL) == f) {
            break;
        }
    }
    snprintf(buf, sizeof buf, "%.*e", prec - 1, (double) f);

    /* buf is [-]D[.DDD]e(+|-)XX: take its digits and exponent apart. */
    bool negative = buf[0] == '-';
    char digits[16];
    size_t nd = 0;
    const char *p = buf + negative;
    for (; *p != 'e'; p++) {
        if (*p != '.') {
            digits[nd++] = *p;
        }
    }
    digits[nd] = '\0';
    int exp = atoi(p + 1);

    if (exp < -4 || exp >= 6) {
        return xasprintf("%s%c%s%se%c%02d", negative ? "-" : "", digits[0],
                         nd > 1 ? "." : "", digits + 1, exp < 0 ? '-' : '+',
                         exp < 0 ? -exp : exp);
    } else if (exp < 0) {
        return xasprintf("%s0.%.*s%s", negative ? "-" : "", -exp - 1,
                         "0000", digits);
    } else if ((size_t) exp + 1 >= nd) {
        return xasprintf("%s%s%.*s", negative ? "-" : "", digits,
                         (int) (exp + 1 - nd), "000000");
    } else {
        return xasprintf("%s%.*s.%s", negative ? "-" : "", exp + 1, digits,
                         digits + exp + 1);
    }
}

/* Returns the text that sigs.k8s.io/yaml uses for a mapping key, malloc'd,
 * or NULL after recording an error if 'key' cannot be one.  As there, a
 * null key is an error. */
static char *
key_text(struct builder *b, const json_t *key, const yaml_mark_t *mark)
{
    switch (json_typeof(key)) {
    case JSON_STRING:
        return xstrdup(json_string_value(key));
    case JSON_INTEGER:
        return xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(key));
    case JSON_REAL:
        return format_float_key(json_real_value(key));
    case JSON_TRUE:
        return xstrdup("true");
    case JSON_FALSE:
        return xstrdup("false");
    case JSON_NULL:
        builder_fail(b, mark, "a mapping key may not be null");
        return NULL;
    case JSON_OBJECT:
    case JSON_ARRAY:
    default:
        builder_fail(b, mark, "a mapping key must be a scalar");
        return NULL;
    }
}

/* sigs.k8s.io/yaml writes a float value with Go's encoding/json, which
 * writes an integral one below 1e21 as an integer ("80", not "80.0"), so
 * that kubectl sends 'port: 80.0' as port 80.  Returns 'v' (stolen) or its
 * integer form. */
static json_t *
as_go_json_number(json_t *v)
{
    double d = json_real_value(v);
    if (json_is_real(v) && d == floor(d) && fabs(d) < 1e21
        && d >= -9223372036854775808.0 && d < 9223372036854775808.0) {
        json_decref(v);
        return json_integer((json_int_t) d);
    }
    return v;
}

/* Adds 'value' (stolen), whose collections nest 'height' levels deep, to
 * the open collection, or makes it the root.  'mark' locates it. */
static void
builder_add(struct builder *b, json_t *value, int height,
            const yaml_mark_t *mark, bool is_merge)
{
    if (!b->n_frames) {
        json_decref(b->root);
        b->root = as_go_json_number(value);
        return;
    }

    struct frame *f = &b->frames[b->n_frames - 1];
    if (!f->is_mapping || f->key) {
        f->height = MAX(f->height, height + 1);
        value = as_go_json_number(value);
    }
    if (!f->is_mapping) {
        json_array_append_new(f->node, value);
        return;
    }

    if (!f->key) {
        f->key = key_text(b, value, mark);
        if (!f->key) {
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

/* Records 'value' as 'anchor' (replacing an earlier one of that name),
 * with what it expands to. */
static void
builder_set_anchor(struct builder *b, const char *anchor, json_t *value,
                   size_t nodes, size_t size, int height)
{
    if (anchor) {
        struct anchor *a = xmalloc(sizeof *a);
        *a = (struct anchor) {
            .value = json_incref(value),
            .nodes = nodes,
            .size = size,
            .height = height,
        };
        void **slot = strmap_slot(&b->anchors, anchor, NULL);
        if (*slot) {
            struct anchor *old = *slot;
            json_decref(old->value);
            free(old);
        }
        *slot = a;
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
        .start_size = b->size,
        .height = 1,
        .anchor = anchor ? xstrdup((const char *) anchor) : NULL,
        .is_mapping = is_mapping,
    };
    b->n_nodes++;
    b->size++;
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
    builder_set_anchor(b, f.anchor, f.node, b->n_nodes - f.start_nodes,
                       b->size - f.start_size, f.height);
    free(f.anchor);
    builder_add(b, f.node, f.height, &f.start_mark, false);
}

/* Adds the value of the alias at 'ev' to the document.  Returns false,
 * after reporting the error through 'cb', if the alias would make the
 * document too deep or the stream spend more than its alias budget: the
 * rest of the stream could do the same, so it must stop. */
static bool
builder_alias(struct builder *b, const yaml_event_t *ev, int index,
              yaml_json_doc_fn *cb, void *aux)
{
    const char *name = (const char *) ev->data.alias.anchor;
    const struct anchor *a = strmap_get(&b->anchors, name);
    if (!a) {
        char *q = np_quote(name, strlen(name));
        builder_fail(b, &ev->start_mark, "unknown anchor %s", q);
        free(q);
        builder_add(b, json_null(), 0, &ev->start_mark, false);
        return true;
    }

    char *error = NULL;
    b->n_nodes += a->nodes;
    b->n_aliased += a->nodes;
    b->size += a->size;
    b->stream_aliased += a->size;
    if (b->n_frames + a->height > YAML_JSON_MAX_DEPTH) {
        char *q = np_quote(name, strlen(name));
        error = xasprintf("nesting deeper than %d levels (alias %s nests %d "
                          "levels at level %zu)", YAML_JSON_MAX_DEPTH, q,
                          a->height, b->n_frames);
        free(q);
    } else if (b->stream_aliased > b->alias_budget) {
        error = xasprintf("aliases expand the input by more than %zu nodes "
                          "and bytes (the limit for %s input of this size)",
                          b->alias_budget,
                          b->alias_budget == ALIAS_BUDGET_MAX ? "any" : "an");
    } else if (builder_too_aliased(b)) {
        error = xstrdup("the document contains excessive aliasing");
    }
    if (error) {
        char *msg = xasprintf("line %zu column %zu: %s",
                              ev->start_mark.line + 1,
                              ev->start_mark.column + 1, error);
        cb(aux, index, NULL, msg);
        free(msg);
        free(error);
        return false;
    }
    builder_add(b, json_incref(a->value), a->height, &ev->start_mark,
                false);
    return true;
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

    struct builder b = {
        .frames = NULL,
        .alias_budget = MIN((size_t) ALIAS_BUDGET_MAX,
                            ALIAS_BUDGET_MIN
                            + (size_t) ALIAS_BUDGET_RATIO * size),
    };
    strmap_init(&b.anchors);
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
            b.size += 1 + ev.data.scalar.length;
            builder_set_anchor(&b, (const char *) ev.data.scalar.anchor, v,
                               1, 1 + ev.data.scalar.length, 0);
            builder_add(&b, v, 0, &ev.start_mark, is_merge);
            break;

        case YAML_ALIAS_EVENT:
            done = !builder_alias(&b, &ev, index, cb, aux);
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
                builder_push(&b, json_array(),
                             ev.data.sequence_start.anchor, false,
                             &ev.start_mark);
            } else {
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
    strmap_destroy(&b.anchors);
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
