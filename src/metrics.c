/* The Prometheus text format and histograms.  See include/metrics.h. */
#include "metrics.h"

#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "np-util.h"

const double metrics_seconds_buckets[] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};
const size_t metrics_n_seconds_buckets = ARRAY_SIZE(metrics_seconds_buckets);

void
metrics_histogram_init(struct metrics_histogram *h, const double *bounds,
                       size_t n)
{
    assert(n <= METRICS_MAX_BUCKETS);
    for (size_t i = 1; i < n; i++) {
        assert(bounds[i - 1] < bounds[i]);
    }
    memset(h, 0, sizeof *h);
    h->bounds = bounds;
    h->n_bounds = n;
}

void
metrics_histogram_observe(struct metrics_histogram *h, double value)
{
    size_t i = 0;
    while (i < h->n_bounds && value > h->bounds[i]) {
        i++;
    }
    h->counts[i]++;
    h->count++;
    h->sum += value;
}

/* [a-zA-Z_:][a-zA-Z0-9_:]* for metric names; label names have no ':'. */
static bool
valid_name(const char *s, bool colon)
{
    if (!*s || (*s >= '0' && *s <= '9')) {
        return false;
    }
    for (; *s; s++) {
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')
              || (*s >= '0' && *s <= '9') || *s == '_'
              || (colon && *s == ':'))) {
            return false;
        }
    }
    return true;
}

void
metrics_format_value(double v, char buf[32])
{
    if (isnan(v)) {
        snprintf(buf, 32, "NaN");
    } else if (isinf(v)) {
        snprintf(buf, 32, "%s", v > 0 ? "+Inf" : "-Inf");
    } else if (v == floor(v) && fabs(v) < 9007199254740992.0) {
        snprintf(buf, 32, "%.0f", v);
    } else {
        /* The shortest of these that reads back as 'v': 0.0025, not
         * 0.0025000000000000001. */
        for (int precision = 15; precision <= 17; precision++) {
            snprintf(buf, 32, "%.*g", precision, v);
            if (strtod(buf, NULL) == v) {
                break;
            }
        }
    }
}

void
metrics_family(struct strbuf *b, const char *name, const char *type,
               const char *help)
{
    assert(valid_name(name, true));
    assert(!strcmp(type, "counter") || !strcmp(type, "gauge")
           || !strcmp(type, "histogram"));
    strbuf_put(b, "# HELP ");
    strbuf_put(b, name);
    strbuf_put(b, " ");
    /* HELP escapes backslash and newline only. */
    for (const char *p = help; *p; p++) {
        strbuf_put(b, *p == '\\' ? "\\\\" : *p == '\n' ? "\\n"
                   : (char[]) { *p, '\0' });
    }
    strbuf_printf(b, "\n# TYPE %s %s\n", name, type);
}

/* Appends label value 'v', escaped. */
static void
put_label_value(struct strbuf *b, const char *v)
{
    size_t start = 0, i;
    for (i = 0; v[i]; i++) {
        const char *esc = (v[i] == '\\' ? "\\\\" : v[i] == '"' ? "\\\""
                           : v[i] == '\n' ? "\\n" : NULL);
        if (esc) {
            char *piece = xmemdup0(v + start, i - start);
            strbuf_put(b, piece);
            free(piece);
            strbuf_put(b, esc);
            start = i + 1;
        }
    }
    strbuf_put(b, v + start);
}

static void
sample_va(struct strbuf *b, const char *name, double value, va_list args)
{
    assert(valid_name(name, true));
    strbuf_put(b, name);
    const char *label;
    bool first = true;
    while ((label = va_arg(args, const char *)) != NULL) {
        const char *v = va_arg(args, const char *);
        assert(valid_name(label, false) && strncmp(label, "__", 2));
        strbuf_put(b, first ? "{" : ",");
        strbuf_put(b, label);
        strbuf_put(b, "=\"");
        put_label_value(b, v);
        strbuf_put(b, "\"");
        first = false;
    }
    char text[32];
    metrics_format_value(value, text);
    strbuf_put(b, first ? " " : "} ");
    strbuf_put(b, text);
    strbuf_put(b, "\n");
}

void
metrics_sample(struct strbuf *b, const char *name, double value, ...)
{
    va_list args;
    va_start(args, value);
    sample_va(b, name, value, args);
    va_end(args);
}

void
metrics_histogram_write(struct strbuf *b, const char *name,
                        const char *help, const struct metrics_histogram *h)
{
    metrics_family(b, name, "histogram", help);
    char *bucket = xasprintf("%s_bucket", name);
    uint64_t cumulative = 0;
    for (size_t i = 0; i < h->n_bounds; i++) {
        cumulative += h->counts[i];
        char le[32];
        metrics_format_value(h->bounds[i], le);
        metrics_sample(b, bucket, cumulative, "le", le, NULL);
    }
    metrics_sample(b, bucket, h->count, "le", "+Inf", NULL);
    free(bucket);
    char *sum = xasprintf("%s_sum", name);
    metrics_sample(b, sum, h->sum, NULL);
    free(sum);
    char *count = xasprintf("%s_count", name);
    metrics_sample(b, count, h->count, NULL);
    free(count);
}
