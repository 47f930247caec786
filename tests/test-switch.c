/* test-switch: the switch modules (ovs-loop, switch-of, switch-db, and the
 * installer on top of them) against a real Open vSwitch, the sandbox of
 * ovs/sandbox.sh, on a libev loop.
 *
 * usage: test-switch SANDBOX-DIR SANDBOX-SH [--perf N] [--flows FILE]
 *
 * tests/switch-test.sh starts the sandbox with pod default/a (ofport 1) and
 * runs this.  Each step drives the loop until its callback arrives and
 * checks the result, also with ovs-ofctl and ovs-vsctl run on the side.
 * --perf N: the size of the big bundle (default 100000; 0 skips it).
 * --flows FILE: also load FILE, "ovs-netpol compile" output, and check that
 * the switch's dump equals it, normalized.
 *
 * Uses only our headers: the switch modules expose no OVS type. */

#define _GNU_SOURCE 1      /* vasprintf() */

#include <errno.h>
#include <ev.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "compile.h"
#include "cookie.h"
#include "engine.h"
#include "flowtab.h"
#include "installer.h"
#include "ovs-loop.h"
#include "switch-db.h"
#include "switch-of.h"

static struct ev_loop *loop;
static const char *sandbox_dir;
static const char *sandbox_sh;
static struct switch_of *sw;
static struct switch_db *db;
static int n_failed;
static int n_passed;

#define CHECK(COND, ...)                                        \
    do {                                                        \
        if (COND) {                                             \
            n_passed++;                                         \
        } else {                                                \
            n_failed++;                                         \
            printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #COND); \
            printf(__VA_ARGS__);                                \
            putchar('\n');                                      \
        }                                                       \
    } while (0)

static char *
xasprintf_(const char *format, ...)
{
    va_list args;
    char *s;

    va_start(args, format);
    if (vasprintf(&s, format, args) < 0) {
        abort();
    }
    va_end(args);
    return s;
}

static double
now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Runs the loop until '*flag' or 'timeout' seconds.  A ticking timer
 * bounds every blocking iteration. */
static bool
pump(const bool *flag, double timeout)
{
    double end = now() + timeout;

    while (!*flag) {
        if (now() > end) {
            return false;
        }
        ev_run(loop, EVRUN_ONCE);
    }
    return true;
}

static void
pump_for(double seconds)
{
    bool never = false;
    pump(&never, seconds);
}

static void
tick_cb(struct ev_loop *l, ev_timer *t, int revents)
{
}

/* Runs a shell command with the sandbox's environment; returns its
 * standard output (malloc()'d) and stores its exit status. */
static char *
sh(int *status, const char *format, ...)
{
    char *cmd, *full, *out = NULL;
    size_t size = 0, len = 0;
    va_list args;
    FILE *f;
    int rc;

    va_start(args, format);
    if (vasprintf(&cmd, format, args) < 0) {
        abort();
    }
    va_end(args);
    full = xasprintf_(". '%s/env' && %s", sandbox_dir, cmd);
    f = popen(full, "r");
    if (!f) {
        abort();
    }
    for (;;) {
        if (len + 4096 + 1 > size) {
            size = size ? 2 * size : 65536;
            out = realloc(out, size);
        }
        size_t n = fread(out + len, 1, size - len - 1, f);
        if (!n) {
            break;
        }
        len += n;
    }
    out[len] = '\0';
    rc = pclose(f);
    if (status) {
        *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    }
    free(full);
    free(cmd);
    return out;
}

/* Counts the lines of 'text' that contain 'needle' (NULL: all lines). */
static int
count_lines(const char *text, const char *needle)
{
    int n = 0;
    const char *p = text;

    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t) (eol - p) : strlen(p);
        char *line = strndup(p, len);
        if (len && (!needle || strstr(line, needle))) {
            n++;
        }
        free(line);
        p += len + (eol ? 1 : 0);
    }
    return n;
}

/* ovs-ofctl dump-flows of the flows with cookie 'cookie'/'mask'. */
static char *
ofctl_dump(uint64_t cookie, uint64_t mask)
{
    return sh(NULL, "ovs-ofctl -O OpenFlow15 --no-stats dump-flows br-int "
              "cookie=%#"PRIx64"/%#"PRIx64, cookie, mask);
}

/* Cookies of the tests: generations 1 and 2 of ours. */
#define OURS NP_COOKIE_OURS
#define GEN(N) NP_COOKIE_OURS_GEN(N)
#define C1 (GEN(1) | 0x101)
#define C2 (GEN(2) | 0x202)

/* Connection. */

static bool connected;
static unsigned int conn_seqno;
static int n_conn_events;

static void
conn_cb(void *aux, bool is_connected, unsigned int seqno)
{
    connected = is_connected;
    conn_seqno = seqno;
    n_conn_events++;
}

/* Synchronous wrappers for the tests. */

struct commit_result {
    bool done;
    enum switch_of_status status;
    size_t failed_index;
    size_t n_failed;
    char *error;
    double seconds;
};

static void
commit_cb(void *aux, const struct switch_of_result *r)
{
    struct commit_result *c = aux;
    c->done = true;
    c->status = r->status;
    c->failed_index = r->failed_index;
    c->n_failed = r->n_failed;
    c->error = r->error ? strdup(r->error) : NULL;
    c->seconds = r->seconds;
}

static struct commit_result
commit(const struct flow_change *changes, size_t n)
{
    struct commit_result c = { .done = false };
    switch_of_commit(sw, changes, n, commit_cb, &c);
    if (!pump(&c.done, 120)) {
        c.status = -1;
    }
    return c;
}

static struct commit_result
replace(uint64_t cookie, uint64_t mask, const struct flow_change *flows,
        size_t n)
{
    struct commit_result c = { .done = false };
    switch_of_replace(sw, cookie, mask, flows, n, commit_cb, &c);
    if (!pump(&c.done, 120)) {
        c.status = -1;
    }
    return c;
}

struct dump_result {
    bool done;
    enum switch_of_status status;
    struct switch_of_flow *flows;
    size_t n;
};

static void
dump_cb(void *aux, struct switch_of_flows *flows)
{
    struct dump_result *d = aux;
    d->done = true;
    d->status = flows->status;
    d->flows = flows->flows;
    d->n = flows->n_flows;
    flows->flows = NULL;        /* Keep them. */
}

static struct dump_result
dump(uint64_t cookie, uint64_t mask)
{
    struct dump_result d = { .done = false };
    switch_of_dump(sw, cookie, mask, dump_cb, &d);
    if (!pump(&d.done, 60)) {
        d.status = -1;
    }
    return d;
}

struct count_result {
    bool done;
    enum switch_of_status status;
    uint64_t n;
};

static void
count_cb(void *aux, enum switch_of_status status, const char *error,
         uint64_t n)
{
    struct count_result *c = aux;
    c->done = true;
    c->status = status;
    c->n = n;
}

static long long
count(uint64_t cookie, uint64_t mask)
{
    struct count_result c = { .done = false };
    switch_of_count(sw, cookie, mask, count_cb, &c);
    if (!pump(&c.done, 60) || c.status != SWITCH_OF_OK) {
        return -1;
    }
    return c.n;
}

/* Finds the flow ('table', 'priority', normalized 'match') in a dump. */
static const struct switch_of_flow *
find_flow(const struct dump_result *d, uint8_t table, uint16_t priority,
          const char *match)
{
    size_t i;

    for (i = 0; i < d->n; i++) {
        if (d->flows[i].table == table && d->flows[i].priority == priority
            && !strcmp(d->flows[i].match, match)) {
            return &d->flows[i];
        }
    }
    return NULL;
}

/* Checks that 'd' holds exactly the 'n' changes' flows (ADD/MODIFY),
 * normalized. */
static void
check_dump_equals(const struct dump_result *d,
                  const struct flow_change *flows, size_t n,
                  const char *what)
{
    size_t i;

    CHECK(d->status == SWITCH_OF_OK, "%s: dump status %d", what, d->status);
    CHECK(d->n == n, "%s: %zu flows dumped, %zu expected", what, d->n, n);
    for (i = 0; i < n; i++) {
        const struct flow_change *c = &flows[i];
        const struct switch_of_flow *f;
        char *match, *actions, *error;

        error = switch_of_normalize(c->table, c->priority, c->match,
                                    c->actions, &match, &actions);
        CHECK(!error, "%s: normalize: %s", what, error);
        if (error) {
            free(error);
            continue;
        }
        f = find_flow(d, c->table, c->priority, match);
        CHECK(f != NULL, "%s: flow table=%d priority=%d %s missing", what,
              c->table, c->priority, match);
        if (f) {
            CHECK(!strcmp(f->actions, actions),
                  "%s: actions \"%s\", expected \"%s\"", what, f->actions,
                  actions);
            CHECK(f->cookie == c->cookie, "%s: cookie %#"PRIx64", expected "
                  "%#"PRIx64, what, f->cookie, c->cookie);
        }
        free(match);
        free(actions);
    }
}

static void
dump_free(struct dump_result *d)
{
    switch_of_flows_free(d->flows, d->n);
    d->flows = NULL;
    d->n = 0;
}

/* Port bindings. */

#define MAX_EVENTS 64
static struct binding_event {
    bool bound;
    char *ns, *pod, *port;
    int ofport;
} binding_events[MAX_EVENTS];
static size_t n_binding_events;
static bool db_synced;

static void
record_binding(const struct switch_db_binding *b, bool bound)
{
    if (n_binding_events < MAX_EVENTS) {
        struct binding_event *e = &binding_events[n_binding_events++];
        e->bound = bound;
        e->ns = strdup(b->ns);
        e->pod = strdup(b->pod);
        e->port = strdup(b->port);
        e->ofport = b->ofport;
    }
}

static void
bound_cb(void *aux, const struct switch_db_binding *b)
{
    record_binding(b, true);
}

static void
unbound_cb(void *aux, const struct switch_db_binding *b)
{
    record_binding(b, false);
}

static void
synced_cb(void *aux)
{
    db_synced = true;
}

/* Waits for a binding event of pod 'ns'/'pod' with 'bound'; returns it or
 * NULL. */
static const struct binding_event *
wait_binding(const char *ns, const char *pod, bool bound, double timeout)
{
    double end = now() + timeout;

    for (;;) {
        size_t i;
        for (i = 0; i < n_binding_events; i++) {
            const struct binding_event *e = &binding_events[i];
            if (e->bound == bound && !strcmp(e->ns, ns)
                && !strcmp(e->pod, pod)) {
                return e;
            }
        }
        if (now() > end) {
            return NULL;
        }
        pump_for(0.05);
    }
}

static void
clear_binding_events(void)
{
    size_t i;
    for (i = 0; i < n_binding_events; i++) {
        free(binding_events[i].ns);
        free(binding_events[i].pod);
        free(binding_events[i].port);
    }
    n_binding_events = 0;
}

/* Ports of br-int that carry no pod. */

static struct port_event {
    bool gone;
    char *name, *type;
    int ofport;
    unsigned int seq;           /* Order among port and binding events. */
} port_events[MAX_EVENTS];
static size_t n_port_events;

static void
record_port(const struct switch_db_port *p, bool gone)
{
    if (n_port_events < MAX_EVENTS) {
        struct port_event *e = &port_events[n_port_events++];
        e->gone = gone;
        e->name = strdup(p->name);
        e->type = strdup(p->type);
        e->ofport = p->ofport;
        e->seq = n_binding_events;  /* Binding events before it. */
    }
}

static void
port_cb(void *aux, const struct switch_db_port *p)
{
    record_port(p, false);
}

static void
port_gone_cb(void *aux, const struct switch_db_port *p)
{
    record_port(p, true);
}

static const struct port_event *
wait_port(const char *name, bool gone, double timeout)
{
    double end = now() + timeout;

    for (;;) {
        for (size_t i = 0; i < n_port_events; i++) {
            const struct port_event *e = &port_events[i];
            if (e->gone == gone && !strcmp(e->name, name)) {
                return e;
            }
        }
        if (now() > end) {
            return NULL;
        }
        pump_for(0.05);
    }
}

static void
clear_port_events(void)
{
    for (size_t i = 0; i < n_port_events; i++) {
        free(port_events[i].name);
        free(port_events[i].type);
    }
    n_port_events = 0;
}

/* Flow monitor. */

static struct monitor_event {
    enum switch_of_event event;
    uint64_t cookie;
    char *match;
} monitor_events[MAX_EVENTS];
static size_t n_monitor_events;

static size_t monitor_counts[SWITCH_OF_RESYNC + 1];

static void
monitor_cb(void *aux, enum switch_of_event event,
           const struct switch_of_flow *flow)
{
    monitor_counts[event]++;
    if (n_monitor_events < MAX_EVENTS) {
        struct monitor_event *e = &monitor_events[n_monitor_events++];
        e->event = event;
        e->cookie = flow ? flow->cookie : 0;
        e->match = strdup(flow ? flow->match : "");
    }
}

static const struct monitor_event *
wait_monitor(enum switch_of_event event, uint64_t cookie, double timeout)
{
    double end = now() + timeout;

    for (;;) {
        size_t i;
        for (i = 0; i < n_monitor_events; i++) {
            if (monitor_events[i].event == event
                && monitor_events[i].cookie == cookie) {
                return &monitor_events[i];
            }
        }
        if (now() > end) {
            return NULL;
        }
        pump_for(0.05);
    }
}

static void
clear_monitor_events(void)
{
    size_t i;
    for (i = 0; i < n_monitor_events; i++) {
        free(monitor_events[i].match);
    }
    n_monitor_events = 0;
}

/* The tests. */

/* The first generation of flows, as changes. */
static const struct flow_change base_flows[] = {
    { FLOW_ADD, 0, 100, C1, "ip,nw_src=10.0.0.1", "drop", NULL, false },
    { FLOW_ADD, 0, 90, C1, "ip,nw_dst=10.0.0.0/24", "ct(table=1,zone=5)", NULL, false },
    { FLOW_ADD, 1, 0, C1, "", "drop", NULL, false },
};

static void
test_commit(void)
{
    struct commit_result c;
    struct dump_result d;
    char *out;

    c = commit(base_flows, 3);
    CHECK(c.status == SWITCH_OF_OK, "commit: %s", c.error);
    free(c.error);

    out = ofctl_dump(GEN(1), NP_COOKIE_MASK_GEN);
    CHECK(count_lines(out, "cookie=0x4e50010000000101") == 3,
          "ovs-ofctl shows:\n%s", out);
    CHECK(count_lines(out, "priority=100,ip,nw_src=10.0.0.1 actions=drop")
          == 1, "ovs-ofctl shows:\n%s", out);
    free(out);

    d = dump(OURS, NP_COOKIE_MASK_OURS);
    check_dump_equals(&d, base_flows, 3, "after the first commit");
    /* Sorted as a compiled flowset: table, then descending priority. */
    CHECK(d.n == 3 && d.flows[0].priority == 100 && d.flows[1].priority == 90
          && d.flows[2].table == 1, "dump order");
    dump_free(&d);
    printf("ok commit: 3 adds in one bundle, seen by ovs-ofctl and the "
           "dump\n");
}

static const struct flow_change after_modify[] = {
    { FLOW_ADD, 0, 100, C1 + 1, "ip,nw_src=10.0.0.1", "output:1", NULL, false },
    { FLOW_ADD, 1, 0, C1, "", "drop", NULL, false },
    { FLOW_ADD, 1, 5, C1, "tcp,tp_dst=80", "drop", NULL, false },
};

static void
test_modify_delete(void)
{
    static const struct flow_change changes[] = {
        /* An existing flow: new actions and cookie. */
        { FLOW_MODIFY, 0, 100, C1 + 1, "ip,nw_src=10.0.0.1", "output:1", NULL, false },
        /* A missing one: added. */
        { FLOW_MODIFY, 1, 5, C1, "tcp,tp_dst=80", "drop", NULL, false },
        /* Strict delete: only priority 90, whatever the cookie. */
        { FLOW_DELETE, 0, 90, 0, "ip,nw_dst=10.0.0.0/24", NULL, NULL, false },
        /* A missing flow: not an error. */
        { FLOW_DELETE, 0, 91, 0, "ip,nw_dst=10.0.0.0/24", NULL, NULL, false },
    };
    struct commit_result c;
    struct dump_result d;

    c = commit(changes, 4);
    CHECK(c.status == SWITCH_OF_OK, "modify/delete: %s", c.error);
    free(c.error);

    d = dump(OURS, NP_COOKIE_MASK_OURS);
    check_dump_equals(&d, after_modify, 3, "after modify and delete");
    dump_free(&d);
    printf("ok modify (in place, and add when missing) and strict delete\n");
}

static void
test_atomic_failure(void)
{
    struct flow_change bad[] = {
        { FLOW_ADD, 2, 10, C1, "ip,nw_src=10.9.0.1", "drop", NULL, false },
        { FLOW_ADD, 2, 11, C1, "ip,nw_src=10.9.0.2", "drop", NULL, false },
        /* Parses, but the switch has no group 4242. */
        { FLOW_ADD, 2, 12, C1, "ip,nw_src=10.9.0.3", "group:4242", NULL, false },
        { FLOW_DELETE, 0, 100, 0, "ip,nw_src=10.0.0.1", NULL, NULL, false },
        { FLOW_ADD, 2, 13, C1, "ip,nw_src=10.9.0.4", "drop", NULL, false },
    };
    struct commit_result c;
    struct dump_result d;
    char *out;

    /* Refused by the switch. */
    c = commit(bad, 5);
    CHECK(c.status == SWITCH_OF_REJECTED, "status %d", c.status);
    CHECK(c.failed_index == 2, "failed index %zu", c.failed_index);
    CHECK(c.n_failed == 1, "n_failed %zu", c.n_failed);
    CHECK(c.error && strstr(c.error, "flow 2 (")
          && strstr(c.error, "OFPBAC_BAD_OUT_GROUP"), "error: %s", c.error);
    printf("   switch's refusal: %s\n", c.error);
    free(c.error);

    /* Does not parse. */
    bad[2].actions = "drop";
    bad[1].match = "ip,no_such_field=1";
    c = commit(bad, 5);
    CHECK(c.status == SWITCH_OF_REJECTED && c.failed_index == 1,
          "status %d index %zu", c.status, c.failed_index);
    CHECK(c.error && strstr(c.error, "is invalid"), "error: %s",
          c.error);
    printf("   parse error: %s\n", c.error);
    free(c.error);

    /* A prerequisite is missing: the switch would match all of IP. */
    bad[1].match = "nw_src=10.9.0.2";
    c = commit(bad, 5);
    CHECK(c.status == SWITCH_OF_REJECTED && c.failed_index == 1,
          "status %d index %zu", c.status, c.failed_index);
    CHECK(c.error && strstr(c.error, "prerequisite"), "error: %s", c.error);
    printf("   missing prerequisite: %s\n", c.error);
    free(c.error);

    /* Nothing of them applied. */
    d = dump(OURS, NP_COOKIE_MASK_OURS);
    check_dump_equals(&d, after_modify, 3, "after the refused bundles");
    dump_free(&d);
    out = ofctl_dump(0, 0);
    CHECK(count_lines(out, "table=2") == 0, "ovs-ofctl shows:\n%s", out);
    free(out);

    /* A big bundle whose last flow fails: none of the 10,000 applied. */
    {
        size_t n = 10001, i;
        struct flow_change *big = calloc(n, sizeof *big);
        char **matches = calloc(n, sizeof *matches);

        for (i = 0; i < n; i++) {
            matches[i] = xasprintf_("ip,nw_src=10.20.%zu.%zu", i / 256,
                                    i % 256);
            big[i] = (struct flow_change) {
                FLOW_ADD, 3, 100, C1, matches[i], "drop", NULL, false };
        }
        big[n - 1].actions = "group:4242";
        c = commit(big, n);
        CHECK(c.status == SWITCH_OF_REJECTED && c.failed_index == n - 1,
              "big: status %d index %zu", c.status, c.failed_index);
        free(c.error);
        CHECK(count(OURS, NP_COOKIE_MASK_OURS) == 3, "big: flows applied");
        for (i = 0; i < n; i++) {
            free(matches[i]);
        }
        free(matches);
        free(big);
    }
    printf("ok a refused flow aborts the whole bundle (also at 10,001 "
           "flows)\n");
}

/* A flow with 'n' conjunction() actions. */
static char *
many_conjunctions(int n)
{
    size_t size = n * 32 + 1, len = 0;
    char *s = malloc(size);
    int i;

    s[0] = '\0';
    for (i = 0; i < n; i++) {
        len += snprintf(s + len, size - len, "%sconjunction(%d,1/2)",
                        i ? "," : "", i + 1);
    }
    return s;
}

static void
test_big_flow(void)
{
    struct flow_change change = {
        FLOW_ADD, 7, 1, C1, "ip,nw_dst=10.0.0.0/8", NULL, NULL, false };
    struct commit_result c;

    /* 3,000 actions fit in one message (48 KB). */
    change.actions = many_conjunctions(3000);
    c = commit(&change, 1);
    CHECK(c.status == SWITCH_OF_OK, "3000 conjunctions: %s", c.error);
    free(c.error);
    free((char *) change.actions);
    CHECK(count(OURS, NP_COOKIE_MASK_OURS) == 4, "big flow count");

    /* 4,090 parse (OVS's parser stops at 4,096: "input too big"), but their
     * flow_mod does not fit in a message: refused before anything is
     * sent. */
    change.actions = many_conjunctions(4090);
    c = commit(&change, 1);
    CHECK(c.status == SWITCH_OF_REJECTED && c.failed_index == 0
          && c.error && strstr(c.error, "too big for one OpenFlow message"),
          "4090 conjunctions: %d %s", c.status, c.error);
    printf("   too big: %.60s...%s\n", c.error ? c.error : "",
           c.error ? strstr(c.error, "): is invalid") : "");
    free(c.error);
    free((char *) change.actions);

    /* A deletion ignores the actions, but commit() still copies them. */
    change.type = FLOW_DELETE;
    change.actions = "";        /* Ignored, but copied: not the freed one. */
    c = commit(&change, 1);
    CHECK(c.status == SWITCH_OF_OK, "delete big flow: %s", c.error);
    free(c.error);
    CHECK(count(OURS, NP_COOKIE_MASK_OURS) == 3, "big flow deleted");
    printf("ok a flow too big for one OpenFlow message is refused "
           "cleanly\n");
}

/* A flow a table holds as conjunctions is the flow their text makes; a
 * conjunction OVS's parser would refuse is refused, naming the flow, and
 * nothing is applied. */
static void
test_packed_conjunctions(void)
{
    static const uint64_t conj[] = {
        (UINT64_C(5) << 16) | (1 << 8) | 2,
        (UINT64_C(900001) << 16) | (2 << 8) | 3,
    };
    static const uint64_t bad[] = { (UINT64_C(7) << 16) | (0 << 8) | 2 };
    struct flowtab *none = flowtab_create(), *tab = flowtab_create();
    struct flow_change *changes;
    struct commit_result c;
    size_t n;
    char *out;

    flowtab_set_conj(tab, 7, 2, C1, "ip,nw_src=10.9.9.9", conj, 2);
    flowtab_diff(none, tab, &changes, &n);
    CHECK(n == 1 && !changes[0].actions, "a packed change has no text");
    c = commit(changes, n);
    CHECK(c.status == SWITCH_OF_OK, "packed conjunctions: %s", c.error);
    free(c.error);
    free(changes);
    out = ofctl_dump(GEN(1), NP_COOKIE_MASK_GEN);
    CHECK(count_lines(out, "priority=2,ip,nw_src=10.9.9.9 actions="
                      "conjunction(5,1/2),conjunction(900001,2/3)") == 1,
          "ovs-ofctl shows:\n%s", out);
    free(out);

    flowtab_clear(tab);
    flowtab_set_conj(tab, 7, 3, C1, "ip,nw_src=10.9.9.9", bad, 1);
    flowtab_diff(none, tab, &changes, &n);
    c = commit(changes, n);
    CHECK(c.status == SWITCH_OF_REJECTED && c.failed_index == 0 && c.error
          && strstr(c.error, "conjunction(7,0/2)")
          && strstr(c.error, "no such clause"),
          "a packed clause 0: %d %s", c.status, c.error);
    free(c.error);
    free(changes);
    CHECK(count(OURS, NP_COOKIE_MASK_OURS) == 4, "nothing of it applied");

    struct flow_change del = {
        FLOW_DELETE, 7, 2, 0, "ip,nw_src=10.9.9.9", NULL, NULL, false };
    c = commit(&del, 1);
    CHECK(c.status == SWITCH_OF_OK, "delete packed flow: %s", c.error);
    free(c.error);
    CHECK(count(OURS, NP_COOKIE_MASK_OURS) == 3, "packed flow deleted");
    flowtab_destroy(tab);
    flowtab_destroy(none);
    printf("ok conjunctions passed packed make the flow their text makes\n");
}

static void
test_replace(void)
{
    /* Generation 2: one flow the same as generation 1's (but new actions),
     * the others new. */
    static const struct flow_change gen2[] = {
        { FLOW_ADD, 0, 100, C2, "ip,nw_src=10.0.0.1", "drop", NULL, false },
        { FLOW_ADD, 0, 80, C2, "ipv6", "drop", NULL, false },
        { FLOW_ADD, 1, 0, C2, "", "drop", NULL, false },
        { FLOW_ADD, 4, 7, C2, "arp", "NORMAL", NULL, false },
    };
    static const struct flow_change gen2_changes[] = {
        { FLOW_ADD, 0, 100, C2, "ip,nw_src=10.0.0.1", "drop", NULL, false },
        { FLOW_ADD, 0, 80, C2, "ipv6", "drop", NULL, false },
        { FLOW_ADD, 1, 0, C2, "", "drop", NULL, false },
        { FLOW_ADD, 4, 7, C2, "arp", "NORMAL", NULL, false },
    };
    struct commit_result c;
    struct dump_result d;
    int status;
    char *out;

    /* A foreign flow, with another cookie, in one of our tables. */
    free(sh(&status, "ovs-ofctl -O OpenFlow15 add-flow br-int "
            "'table=0,priority=5,cookie=0x1234,ip,nw_src=192.168.0.1,"
            "actions=drop'"));
    CHECK(status == 0, "ovs-ofctl add-flow failed");

    c = replace(GEN(1), NP_COOKIE_MASK_GEN, gen2, 4);
    CHECK(c.status == SWITCH_OF_OK, "replace: %s", c.error);
    free(c.error);

    CHECK(count(GEN(1), NP_COOKIE_MASK_GEN) == 0, "generation 1 is left");
    CHECK(count(GEN(2), NP_COOKIE_MASK_GEN) == 4, "generation 2 count");
    CHECK(count(OURS, NP_COOKIE_MASK_OURS) == 4, "ours count");
    CHECK(count(0, 0) == 5, "every flow: 4 ours + 1 foreign");
    d = dump(OURS, NP_COOKIE_MASK_OURS);
    check_dump_equals(&d, gen2_changes, 4, "after replace");
    dump_free(&d);
    out = ofctl_dump(0x1234, UINT64_MAX);
    CHECK(count_lines(out, "nw_src=192.168.0.1") == 1,
          "the foreign flow is gone:\n%s", out);
    free(out);

    /* Replace all of ours, of any generation, with nothing. */
    c = replace(OURS, NP_COOKIE_MASK_OURS, NULL, 0);
    CHECK(c.status == SWITCH_OF_OK, "replace with nothing: %s", c.error);
    free(c.error);
    CHECK(count(OURS, NP_COOKIE_MASK_OURS) == 0, "ours left");
    CHECK(count(0, 0) == 1, "the foreign flow stays");

    /* And back to generation 2. */
    c = replace(OURS, NP_COOKIE_MASK_OURS, gen2, 4);
    CHECK(c.status == SWITCH_OF_OK, "replace: %s", c.error);
    free(c.error);
    CHECK(count(OURS, NP_COOKIE_MASK_OURS) == 4, "ours count");
    printf("ok replace by cookie swaps generations in one bundle and keeps "
           "the foreign flow\n");
}

static void
test_monitor(void)
{
    static const struct flow_change own[] = {
        { FLOW_ADD, 5, 1, C2, "udp", "drop", NULL, false },
    };
    const struct monitor_event *e;
    struct commit_result c;
    int status;
    size_t i;

    switch_of_monitor(sw, monitor_cb, NULL);
    pump_for(0.2);

    /* Our own change: not reported. */
    c = commit(own, 1);
    CHECK(c.status == SWITCH_OF_OK, "own commit: %s", c.error);
    free(c.error);
    pump_for(0.3);
    for (i = 0; i < n_monitor_events; i++) {
        CHECK(monitor_events[i].cookie != C2,
              "own change reported: event %d %s", monitor_events[i].event,
              monitor_events[i].match);
    }

    /* Someone else deletes one of ours, adds and modifies flows. */
    free(sh(&status, "ovs-ofctl -O OpenFlow15 --strict del-flows br-int "
            "'table=5,priority=1,udp'"));
    CHECK(status == 0, "ovs-ofctl del-flows failed");
    e = wait_monitor(SWITCH_OF_FLOW_REMOVED, C2, 5);
    CHECK(e && !strcmp(e->match, "udp"), "no REMOVED event for our flow");

    free(sh(&status, "ovs-ofctl -O OpenFlow15 add-flow br-int "
            "'table=6,priority=3,cookie=0x77,tcp,actions=drop'"));
    e = wait_monitor(SWITCH_OF_FLOW_ADDED, 0x77, 5);
    CHECK(e && !strcmp(e->match, "tcp"), "no ADDED event");

    free(sh(&status, "ovs-ofctl -O OpenFlow15 --strict mod-flows br-int "
            "'table=6,priority=3,tcp,actions=NORMAL'"));
    e = wait_monitor(SWITCH_OF_FLOW_MODIFIED, 0x77, 5);
    CHECK(e != NULL, "no MODIFIED event");

    free(sh(&status, "ovs-ofctl -O OpenFlow15 --strict del-flows br-int "
            "'table=6,priority=3,tcp'"));
    e = wait_monitor(SWITCH_OF_FLOW_REMOVED, 0x77, 5);
    CHECK(e != NULL, "no REMOVED event for the foreign flow");
    clear_monitor_events();

    /* Put ours back. */
    c = commit(own, 1);
    free(c.error);
    printf("ok flow monitor reports others' changes (removed, added, "
           "modified), not ours\n");
}

static bool
has_marker(const char *port)
{
    int status;
    char *out = sh(&status, "ovs-vsctl --if-exists get Interface %s "
                   "external_ids:%s", port, SWITCH_DB_INSTALLED_KEY);
    bool set = status == 0 && strstr(out, "true");
    free(out);
    return set;
}

/* Runs the loop until 'port''s marker is 'set', or 'timeout' seconds. */
static bool
wait_marker(const char *port, bool set, double timeout)
{
    double end = now() + timeout;
    while (has_marker(port) != set) {
        if (now() > end) {
            return false;
        }
        pump_for(0.05);
    }
    return true;
}

static void
test_ports(void)
{
    const struct switch_db_binding *b;
    const struct binding_event *e;
    int status;
    char *out;

    CHECK(pump(&db_synced, 10), "OVSDB never synced");
    b = switch_db_find(db, "default", "a", NULL);
    CHECK(b && b->ofport == 1 && !strcmp(b->port, "default_a"),
          "default/a: %s %d", b ? b->port : "none", b ? b->ofport : -1);
    CHECK(switch_db_count(db) == 1, "%zu bindings", switch_db_count(db));
    e = wait_binding("default", "a", true, 1);
    CHECK(e && e->ofport == 1, "no bound event for default/a");
    clear_binding_events();

    out = sh(&status, "'%s' add-pod '%s' default b 10.0.0.12 >&2",
             sandbox_sh, sandbox_dir);
    free(out);
    CHECK(status == 0, "add-pod failed");
    e = wait_binding("default", "b", true, 5);
    CHECK(e && e->ofport == 2 && !strcmp(e->port, "default_b"),
          "default/b bound: %s %d", e ? e->port : "none",
          e ? e->ofport : -1);
    b = switch_db_find(db, "default", "b", NULL);
    CHECK(b && b->ofport == 2, "find default/b");

    out = sh(&status, "'%s' del-pod '%s' default b >&2", sandbox_sh,
             sandbox_dir);
    free(out);
    CHECK(status == 0, "del-pod failed");
    e = wait_binding("default", "b", false, 5);
    CHECK(e && e->ofport == 2, "no unbound event for default/b");
    CHECK(!switch_db_find(db, "default", "b", NULL), "default/b still bound");
    clear_binding_events();

    /* A port without a valid iface-id binds nothing; adding the iface-id
     * binds it. */
    out = sh(&status, "ovs-vsctl add-port br-int odd -- set Interface odd "
             "type=internal ofport_request=40 external_ids:iface-id=nounderscore");
    free(out);
    CHECK(status == 0, "add-port odd failed");
    pump_for(0.5);
    CHECK(n_binding_events == 0, "a bad iface-id bound something");
    out = sh(&status, "ovs-vsctl set Interface odd "
             "external_ids:iface-id=kube-system_coredns-1");
    free(out);
    e = wait_binding("kube-system", "coredns-1", true, 5);
    CHECK(e && e->ofport == 40, "iface-id change not bound");

    /* An iface-id that names no possible pod (1,000 characters) binds the
     * port to a short name no pod has, so that it carries no IP. */
    {
        char x[1001], want[68];
        memset(x, 'x', 1000);
        x[1000] = '\0';
        memset(want, 'x', 64);
        strcpy(want + 64, "...");
        out = sh(&status, "ovs-vsctl set Interface odd "
                 "external_ids:iface-id=default_%s", x);
        free(out);
        e = wait_binding("default", want, true, 5);
        CHECK(e && e->ofport == 40, "long iface-id not bound to %s", want);
    }
    out = sh(&status, "ovs-vsctl del-port br-int odd");
    free(out);
    e = wait_binding("kube-system", "coredns-1", false, 5);
    CHECK(e != NULL, "odd port not unbound");
    clear_binding_events();

    /* A CNI replacing default/a's port plugs the new one (a2) before it
     * deletes the old one: two bindings, the newest found first, markers
     * per port, and deleting one leaves the other. */
    out = sh(&status, "ovs-vsctl add-port br-int a2 -- set Interface a2 "
             "type=internal ofport_request=41 "
             "external_ids:iface-id=default_a");
    free(out);
    CHECK(status == 0, "add-port a2 failed");
    e = wait_binding("default", "a", true, 5);
    CHECK(e && e->ofport == 41, "a2 not bound to default/a");
    {
        size_t n = 0;
        b = switch_db_find(db, "default", "a", &n);
        CHECK(b && b->ofport == 41 && n == 2, "find default/a: %d of %zu",
              b ? b->ofport : -1, n);
        CHECK(switch_db_count(db) == 2, "%zu bindings", switch_db_count(db));
    }
    switch_db_set_installed(db, "default", "a", 41, true);
    CHECK(wait_marker("a2", true, 5), "no marker on a2");
    CHECK(!has_marker("default_a"), "marker on default_a too");
    switch_db_set_installed(db, "default", "a", 1, true);
    CHECK(wait_marker("default_a", true, 5), "no marker on default_a");
    switch_db_set_installed(db, "default", "a", 41, false);
    CHECK(wait_marker("a2", false, 5), "marker stayed on a2");
    CHECK(has_marker("default_a"), "marker went from default_a");
    clear_binding_events();
    out = sh(&status, "ovs-vsctl del-port br-int a2");
    free(out);
    e = wait_binding("default", "a", false, 5);
    CHECK(e && e->ofport == 41, "a2 not unbound");
    {
        size_t n = 0;
        b = switch_db_find(db, "default", "a", &n);
        CHECK(b && b->ofport == 1 && n == 1, "default/a after a2 went: %d "
              "of %zu", b ? b->ofport : -1, n);
    }
    CHECK(has_marker("default_a"), "marker went from default_a with a2");
    switch_db_set_installed(db, "default", "a", 1, false);
    CHECK(wait_marker("default_a", false, 5), "marker stayed on default_a");
    clear_binding_events();
    printf("ok port bindings: pods appear with their ofport and go on "
           "del-pod; a replaced port: both bound, markers per port\n");
}

/* ---- The installer (installer.h) on top of the switch modules. ---- */

struct inst_events {
    int n_changed;
    int n_errors;
    char *last_error;
};

static void
inst_changed(void *ev_)
{
    struct inst_events *ev = ev_;
    ev->n_changed++;
}

static void
inst_error(void *ev_, const char *message)
{
    struct inst_events *ev = ev_;
    ev->n_errors++;
    free(ev->last_error);
    ev->last_error = strdup(message);
}

/* default/a on port 1, realized or not as '*realized_' says. */
static void
inst_ports(const void *realized_, installer_port_fn *cb, void *cb_aux)
{
    cb(cb_aux, "default", "a", "1", *(const bool *) realized_);
}

typedef bool inst_done_fn(const struct installer_status *, uint64_t arg);

static bool
inst_committed(const struct installer_status *st, uint64_t run)
{
    return st->runs_committed >= run && st->installed_known && !st->busy;
}

static bool
inst_failed(const struct installer_status *st, uint64_t n)
{
    return st->commit_failures >= n;
}

static bool
inst_repaired(const struct installer_status *st, uint64_t n)
{
    return st->drift_repairs >= n && st->installed_known && !st->busy;
}

/* Runs the loop with installer_run() before every iteration, as the
 * daemon's prepare watcher does, until 'done'(status, 'arg') or 'timeout'
 * seconds; leaves the status in '*st'. */
static bool
inst_pump(struct installer *in, const struct installer_table *t,
          inst_done_fn *done, uint64_t arg, double timeout,
          struct installer_status *st)
{
    double end = now() + timeout;
    for (;;) {
        installer_run(in, t);
        installer_get_status(in, st);
        if (done(st, arg)) {
            return true;
        }
        if (now() > end) {
            return false;
        }
        ev_run(loop, EVRUN_ONCE);
    }
}

static uint64_t
infra_cookie(void)
{
    struct np_cookie c = { .kind = NPC_INFRA };
    return np_cookie_encode(&c);
}

/* How many flows of ours of generation 'gen' ovs-ofctl finds. */
static int
gen_flows(uint8_t gen)
{
    char *out = ofctl_dump(NP_COOKIE_OURS_GEN(gen), NP_COOKIE_MASK_GEN);
    int n = count_lines(out, "cookie=");
    free(out);
    return n;
}

static void
test_installer(void)
{
    struct inst_events ev = { 0 };
    struct installer_callbacks cbs = {
        .changed = inst_changed,
        .error = inst_error,
    };
    char *rundir = xasprintf_("%s/run", sandbox_dir);
    struct installer_options opts = {
        .ovs_rundir = rundir,
        .bridge = "br-int",
        .drift_interval = 0.2,
    };
    struct installer_status st;
    int status;
    char *out;

    /* A flow of an earlier daemon's generation 5, and someone else's. */
    out = sh(&status, "ovs-ofctl -O OpenFlow15 del-flows br-int "
             "cookie=%#"PRIx64"/%#"PRIx64" && "
             "ovs-ofctl -O OpenFlow15 add-flow br-int 'table=3,priority=7,"
             "cookie=%#"PRIx64",ip,nw_src=10.9.9.9,actions=drop' && "
             "ovs-ofctl -O OpenFlow15 add-flow br-int 'table=3,priority=8,"
             "cookie=0x1234,ip,nw_src=10.9.9.8,actions=drop'",
             NP_COOKIE_OURS, NP_COOKIE_MASK_OURS, NP_COOKIE_OURS_GEN(5) | 1);
    free(out);
    CHECK(status == 0, "setting up the old generation failed");

    uint64_t cookie = infra_cookie();
    struct flowtab *desired = flowtab_create();
    flowtab_put(desired, 3, 100, cookie, "ip,nw_src=10.0.0.1", "drop");
    flowtab_put(desired, 3, 100, cookie, "ip,nw_src=10.0.0.2", "drop");
    flowtab_put(desired, 4, 0, cookie, "", "NORMAL");
    bool realized = true;
    struct installer_table t = {
        .desired = desired,
        .run = 1,
        .batch_start_ms = engine_now_ms(),
        .ports = inst_ports,
        .ports_aux = &realized,
    };
    struct installer *in = installer_create(loop, &opts, db, &cbs, &ev);

    /* The first table replaces every older generation of ours, as the
     * next one, and leaves others' flows alone. */
    CHECK(inst_pump(in, &t, inst_committed, 1, 10, &st),
          "first table not installed");
    CHECK(st.generation_chosen && st.generation == 6, "generation %u",
          st.generation);
    CHECK(st.replaces == 1 && st.commits == 1 && st.n_installed == 3,
          "%"PRIu64" replaces, %"PRIu64" commits, %zu installed",
          st.replaces, st.commits, st.n_installed);
    CHECK(gen_flows(6) == 3, "%d flows of generation 6", gen_flows(6));
    CHECK(count(NP_COOKIE_OURS, NP_COOKIE_MASK_OURS) == 3,
          "generation 5 left behind");
    out = ofctl_dump(0x1234, UINT64_MAX);
    CHECK(count_lines(out, "nw_src=10.9.9.8") == 1, "foreign flow gone");
    free(out);
    CHECK(wait_marker("default_a", true, 5), "no marker after the commit");
    CHECK(installer_count_cookie(in, NP_COOKIE_OURS_GEN(6)
                                 | (cookie & ~NP_COOKIE_MASK_GEN)) == 3,
          "count of this generation's cookie");
    CHECK(installer_count_cookie(in, cookie) == 0,
          "generation 0 counted as installed");

    /* A change goes as its difference: one add, one modify, one delete. */
    flowtab_put(desired, 3, 100, cookie, "ip,nw_src=10.0.0.3", "drop");
    flowtab_put(desired, 4, 0, cookie, "", "drop");
    flowtab_remove(desired, 3, 100, "ip,nw_src=10.0.0.1");
    realized = false;
    t.run = 2;
    CHECK(inst_pump(in, &t, inst_committed, 2, 10, &st),
          "second table not installed");
    CHECK(st.commits == 2 && st.replaces == 1 && st.flow_mods == 3,
          "%"PRIu64" commits, %"PRIu64" flow changes", st.commits,
          st.flow_mods);
    out = ofctl_dump(NP_COOKIE_OURS_GEN(6), NP_COOKIE_MASK_GEN);
    CHECK(count_lines(out, "cookie=") == 3
          && count_lines(out, "nw_src=10.0.0.3") == 1
          && !count_lines(out, "nw_src=10.0.0.1")
          && count_lines(out, "table=4") == 1
          && count_lines(out, "actions=drop") == 3, "after the change: %s",
          out);
    free(out);
    CHECK(wait_marker("default_a", false, 5),
          "marker stayed on a pod without flows");
    struct installer_latency l;
    installer_get_latency(in, &l);
    CHECK(l.n == 1 && l.max_ms > 0, "%zu latencies", l.n);

    /* Someone deletes one of ours: the drift check puts it back. */
    CHECK(st.drift_repairs == 0, "%"PRIu64" repairs before any drift",
          st.drift_repairs);
    out = sh(&status, "ovs-ofctl -O OpenFlow15 --strict del-flows br-int "
             "'table=3,priority=100,ip,nw_src=10.0.0.2'");
    free(out);
    CHECK(inst_pump(in, &t, inst_repaired, 1, 10, &st), "drift not repaired");
    CHECK(st.replaces == 2, "%"PRIu64" replaces", st.replaces);
    CHECK(gen_flows(6) == 3, "%d flows after the repair", gen_flows(6));
    out = ofctl_dump(0x1234, UINT64_MAX);
    CHECK(count_lines(out, "nw_src=10.9.9.8") == 1,
          "foreign flow gone in the repair");
    free(out);

    /* A table the switch refuses: reported, 'installed' unchanged, and
     * retried; once fixed it goes in. */
    flowtab_put(desired, 3, 100, cookie, "ip,nw_src=10.0.0.4", "group:4242");
    t.run = 3;
    CHECK(inst_pump(in, &t, inst_failed, 1, 10, &st), "no failure");
    CHECK(ev.n_errors == 1 && ev.last_error
          && strstr(ev.last_error, "OFPBAC_BAD_OUT_GROUP"), "error: %s",
          ev.last_error ? ev.last_error : "none");
    CHECK(st.installed_known && st.n_installed == 3 && st.runs_committed == 2,
          "after the failure: %zu installed, run %"PRIu64, st.n_installed,
          st.runs_committed);
    flowtab_remove(desired, 3, 100, "ip,nw_src=10.0.0.4");
    t.run = 4;
    CHECK(inst_pump(in, &t, inst_committed, 4, 10, &st),
          "not installed after the fix");
    CHECK(gen_flows(6) == 3 && st.commit_failures == 1,
          "%d flows, %"PRIu64" failures", gen_flows(6), st.commit_failures);

    /* No false alarm from the drift check meanwhile. */
    pump_for(0.5);
    installer_get_status(in, &st);
    CHECK(st.drift_repairs == 1 && st.drift_checks >= 2,
          "%"PRIu64" repairs, %"PRIu64" checks", st.drift_repairs,
          st.drift_checks);
    CHECK(ev.n_changed > 0, "never told of a change");

    installer_destroy(in);
    flowtab_destroy(desired);
    free(ev.last_error);
    free(rundir);
    out = sh(NULL, "ovs-ofctl -O OpenFlow15 del-flows br-int "
             "cookie=%#"PRIx64"/%#"PRIx64" && ovs-ofctl -O OpenFlow15 "
             "del-flows br-int cookie=0x1234/0xffffffffffffffff",
             NP_COOKIE_OURS, NP_COOKIE_MASK_OURS);
    free(out);
    printf("ok installer: a new generation replaces the old, differences "
           "go as bundles, markers follow commits, drift is repaired, a "
           "refused table is retried\n");
}

/* Checks switch_db_parse_iface_id() on 'iface_id': valid or not, the
 * names it gives (NULL: none), and a message of bounded length with no
 * control character. */
static void
check_iface_id(const char *iface_id, bool valid, const char *want_ns,
               const char *want_pod)
{
    char *ns, *pod;
    char *error = switch_db_parse_iface_id(iface_id, &ns, &pod);
    char shown[48];

    snprintf(shown, sizeof shown, "%s", iface_id);
    CHECK(!error == valid, "iface-id \"%s\": %s", shown,
          error ? error : "accepted");
    CHECK(want_ns ? ns && !strcmp(ns, want_ns) : !ns,
          "iface-id \"%s\": namespace %s", shown, ns ? ns : "none");
    CHECK(want_pod ? pod && !strcmp(pod, want_pod) : !pod,
          "iface-id \"%s\": pod %s", shown, pod ? pod : "none");
    if (error) {
        CHECK(strlen(error) < 256, "message of %zu bytes", strlen(error));
        for (const char *p = error; *p; p++) {
            CHECK((unsigned char) *p >= 0x20, "control character in %s",
                  error);
        }
    }
    free(error);
    free(ns);
    free(pod);
}

static void
test_iface_id(void)
{
    char label63[64], label64[65], long_pod[300], long_id[100010];
    char x64[70];

    check_iface_id("default_web-1", true, "default", "web-1");
    check_iface_id("kube-system_coredns-5d78c9869d-x2k9p", true,
                   "kube-system", "coredns-5d78c9869d-x2k9p");
    check_iface_id("default_web.v2", true, "default", "web.v2");
    /* Not a pod's port at all. */
    check_iface_id("nounderscore", false, NULL, NULL);
    check_iface_id("_pod", false, NULL, NULL);
    check_iface_id("ns_", false, NULL, NULL);
    /* A pod that cannot exist: its port is bound, to a name no pod has. */
    check_iface_id("a/b_c", false, "a?b", "c");
    check_iface_id("Default_web", false, "?efault", "web");
    check_iface_id("default_Web", false, "default", "?eb");
    check_iface_id("default_web_1", false, "default", "web?1");
    check_iface_id("default_a..b", false, "default", "a..b");
    check_iface_id("-ns_pod", false, "-ns", "pod");
    check_iface_id("default_web\n2026-01-01 WARN forged", false, "default",
                   "web?2026-01-01??????forged");

    memset(label63, 'n', 63);
    label63[63] = '\0';
    memset(label64, 'n', 64);
    label64[64] = '\0';
    snprintf(long_id, sizeof long_id, "%s_p", label63);
    check_iface_id(long_id, true, label63, "p");
    snprintf(long_id, sizeof long_id, "%s_p", label64);
    /* 64 characters: invalid, and kept whole (no cut, no "..."). */
    check_iface_id(long_id, false, label64, "p");

    /* A pod name of 253 characters is valid, 254 not. */
    memset(long_pod, 'p', 253);
    for (int i = 63; i < 253; i += 64) {
        long_pod[i] = '.';
    }
    long_pod[253] = '\0';
    snprintf(long_id, sizeof long_id, "default_%s", long_pod);
    check_iface_id(long_id, true, "default", long_pod);
    strcat(long_id, "p");
    char *ns, *pod;
    char *error = switch_db_parse_iface_id(long_id, &ns, &pod);
    CHECK(error && pod && strlen(pod) == 67
          && !strcmp(pod + 64, "..."), "254: %s", pod ? pod : "none");
    free(error);
    free(ns);
    free(pod);

    /* 100,000 characters: a short copy, a short message. */
    memset(long_id, 'x', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    memcpy(long_id, "default_", 8);
    memset(x64, 'x', 64);
    strcpy(x64 + 64, "...");
    check_iface_id(long_id, false, "default", x64);
}

static void
test_normalize(void)
{
    char *match, *actions, *error;

    error = switch_of_normalize(3, 10, "tcp,nw_dst=10.0.0.0/255.255.0.0,"
                                "tp_dst=0x50/0xfff0", "conjunction(1,1/2)",
                                &match, &actions);
    CHECK(!error, "%s", error);
    if (!error) {
        CHECK(!strcmp(match, "tcp,nw_dst=10.0.0.0/16,tp_dst=0x50/0xfff0"),
              "match %s", match);
        CHECK(!strcmp(actions, "conjunction(1,1/2)"), "actions %s", actions);
        free(match);
        free(actions);
    }
    error = switch_of_normalize(0, 1, "tp_dst=80", "drop", &match, &actions);
    CHECK(error && strstr(error, "prerequisite"), "%s", error);
    free(error);
}

static void
test_restart(void)
{
    static const struct flow_change one[] = {
        { FLOW_ADD, 0, 1, C2, "", "drop", NULL, false },
    };
    static const struct flow_change gen2[] = {
        { FLOW_ADD, 0, 100, C2, "ip,nw_src=10.0.0.1", "drop", NULL, false },
        { FLOW_ADD, 1, 0, C2, "", "drop", NULL, false },
    };
    unsigned int old_seqno = switch_of_get_seqno(sw);
    const struct switch_db_binding *b;
    struct commit_result c;
    double t0, t1;
    int status, events = n_conn_events;
    char *out;

    t0 = now();
    out = sh(&status, "'%s' restart-vswitchd '%s' >&2", sandbox_sh,
             sandbox_dir);
    free(out);
    CHECK(status == 0, "restart-vswitchd failed");

    /* The loss is seen (the callback may skip straight to the new
     * connection if both happened between two iterations). */
    {
        bool lost = false;
        double end = now() + 10;
        while (now() < end && !lost) {
            pump_for(0.01);
            lost = !connected || switch_of_get_seqno(sw) != old_seqno;
        }
        CHECK(lost, "the restart went unnoticed");
    }
    if (!connected) {
        /* A commit while disconnected fails at once, nothing applied. */
        c = commit(one, 1);
        CHECK(c.status == SWITCH_OF_DISCONNECTED,
              "commit while disconnected: %d", c.status);
        free(c.error);
    }
    CHECK(pump(&connected, 15), "no reconnection");
    t1 = now();
    CHECK(switch_of_get_seqno(sw) != old_seqno && conn_seqno != old_seqno,
          "seqno did not change");
    CHECK(n_conn_events > events, "no connection callback");
    printf("   reconnected %.2f s after the restart began (seqno %u -> %u)\n",
           t1 - t0, old_seqno, switch_of_get_seqno(sw));

    /* A restarted switch has no flows: install again. */
    CHECK(count(OURS, NP_COOKIE_MASK_OURS) == 0, "flows survived?");
    c = replace(OURS, NP_COOKIE_MASK_OURS, gen2, 2);
    CHECK(c.status == SWITCH_OF_OK, "reinstall: %s", c.error);
    free(c.error);
    CHECK(count(OURS, NP_COOKIE_MASK_OURS) == 2, "reinstalled count");

    /* The monitor was requested again on the new connection. */
    free(sh(&status, "ovs-ofctl -O OpenFlow15 add-flow br-int "
            "'table=6,priority=4,cookie=0x78,udp,actions=drop'"));
    CHECK(wait_monitor(SWITCH_OF_FLOW_ADDED, 0x78, 5) != NULL,
          "no monitor after the restart");
    clear_monitor_events();

    /* Port bindings stay (the database did not restart). */
    pump_for(0.5);
    b = switch_db_find(db, "default", "a", NULL);
    CHECK(b && b->ofport == 1, "default/a after the restart");
    printf("ok after an ovs-vswitchd restart the connection comes back with "
           "a new seqno\n");
}

/* A switch that stops answering (SIGSTOP): the request times out, fails
 * without having been committed, and the connection is reset. */
static void
test_timeout(void)
{
    static const struct flow_change one[] = {
        { FLOW_ADD, 9, 9, C2, "udp", "drop", NULL, false },
    };
    unsigned int old_seqno = switch_of_get_seqno(sw);
    struct commit_result c;
    int status;
    char *out;

    switch_of_set_timeout(sw, 1000);
    free(sh(&status, "kill -STOP $(cat '%s/run/ovs-vswitchd.pid')",
            sandbox_dir));
    CHECK(status == 0, "SIGSTOP");
    c = commit(one, 1);
    CHECK(c.status == SWITCH_OF_DISCONNECTED && c.error
          && strstr(c.error, "no answer"), "timeout: %d %s", c.status,
          c.error);
    CHECK(c.seconds >= 0.9 && c.seconds < 5, "timed out after %.2f s",
          c.seconds);
    printf("   %s (after %.2f s)\n", c.error, c.seconds);
    free(c.error);
    free(sh(&status, "kill -CONT $(cat '%s/run/ovs-vswitchd.pid')",
            sandbox_dir));
    switch_of_set_timeout(sw, 0);

    CHECK(pump(&connected, 15), "no reconnection");
    {
        double end = now() + 15;
        while (now() < end && (!connected || conn_seqno == old_seqno)) {
            pump_for(0.05);
        }
    }
    CHECK(connected && switch_of_get_seqno(sw) != old_seqno,
          "no new connection after the timeout");
    /* The bundle never committed. */
    out = ofctl_dump(C2, UINT64_MAX);
    CHECK(count_lines(out, "table=9") == 0, "ovs-ofctl shows:\n%s", out);
    free(out);
    printf("ok a switch that stops answering: the request times out, "
           "nothing applied, connection reset (seqno %u -> %u)\n",
           old_seqno, switch_of_get_seqno(sw));
}

/* Loads the compiler's output 'file' ("ovs-netpol compile" lines:
 * "table=T, priority=P, cookie=C, MATCH actions=A", '#' comments) with
 * switch_of_replace(), and checks that a dump of our cookie range is what
 * switch_of_normalize() makes of every flow: the daemon's drift check. */
static void
test_compiled(const char *file)
{
    struct flow_change *changes = NULL;
    size_t n = 0, allocated = 0, i;
    struct commit_result c;
    struct dump_result d;
    char line[65536];
    FILE *f;

    f = fopen(file, "r");
    CHECK(f != NULL, "%s: %s", file, strerror(errno));
    if (!f) {
        return;
    }
    while (fgets(line, sizeof line, f)) {
        unsigned int table, priority;
        unsigned long long cookie;
        char *rest, *actions;
        int len = 0;

        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '#' || !line[0]) {
            continue;
        }
        if (sscanf(line, "table=%u, priority=%u, cookie=%llx, %n", &table,
                   &priority, &cookie, &len) != 3 || !len) {
            CHECK(false, "%s: cannot read \"%s\"", file, line);
            continue;
        }
        rest = line + len;
        actions = strstr(rest, "actions=");
        if (!actions) {
            CHECK(false, "%s: no actions in \"%s\"", file, line);
            continue;
        }
        if (actions > rest) {
            actions[-1] = '\0';    /* The space after the match. */
        } else {
            rest = "";
        }
        if (n >= allocated) {
            allocated = allocated ? 2 * allocated : 64;
            changes = realloc(changes, allocated * sizeof *changes);
        }
        changes[n] = (struct flow_change) {
            FLOW_ADD, table, priority, cookie, strdup(rest),
            strdup(actions + strlen("actions=")), NULL, false };
        n++;
    }
    fclose(f);

    c = replace(OURS, NP_COOKIE_MASK_OURS, changes, n);
    CHECK(c.status == SWITCH_OF_OK, "loading %s: %s", file, c.error);
    free(c.error);
    d = dump(OURS, NP_COOKIE_MASK_OURS);
    check_dump_equals(&d, changes, n, file);
    dump_free(&d);
    printf("ok the compiler's %zu flows load, and the dump equals them "
           "normalized\n", n);

    for (i = 0; i < n; i++) {
        free((char *) changes[i].match);
        free((char *) changes[i].actions);
    }
    free(changes);
}

/* Lateness of a 10 ms ticker while a big bundle goes out: how responsive
 * the loop stays. */
static double max_lateness;
static double last_tick;

static void
ticker_cb(struct ev_loop *l, ev_timer *t, int revents)
{
    double t1 = now();
    if (last_tick && t1 - last_tick - 0.01 > max_lateness) {
        max_lateness = t1 - last_tick - 0.01;
    }
    last_tick = t1;
}

static void
test_perf(size_t n)
{
    ev_timer ticker;
    struct flow_change *changes = calloc(n, sizeof *changes);
    struct flow_change *flows = calloc(n, sizeof *flows);
    char **matches = calloc(n, sizeof *matches);
    struct commit_result c;
    struct dump_result d;
    double t0, t;
    long long got;
    size_t i;

    /* Clause-like flows, as the compiler writes them. */
    for (i = 0; i < n; i++) {
        matches[i] = xasprintf_("ip,nw_src=10.%zu.%zu.%zu,nw_dst=10.128.0.0/9",
                                (i >> 16) & 255, (i >> 8) & 255, i & 255);
        changes[i] = (struct flow_change) {
            FLOW_ADD, 3, 200, GEN(3) | (i & 0xffff), matches[i],
            "conjunction(1,1/2),conjunction(2,1/3)", NULL, false };
        flows[i] = (struct flow_change) {
            FLOW_ADD, 3, 200, GEN(4) | (i & 0xffff), matches[i],
            "conjunction(1,1/2)", NULL, false };
    }

    ev_timer_init(&ticker, ticker_cb, 0.01, 0.01);
    ev_timer_start(loop, &ticker);
    t0 = now();
    c = commit(changes, n);
    t = now() - t0;
    ev_timer_stop(loop, &ticker);
    CHECK(c.status == SWITCH_OF_OK, "perf commit: %s", c.error);
    free(c.error);
    printf("perf: commit of %zu adds in one bundle: %.2f s (a 10 ms timer "
           "ran at most %.0f ms late meanwhile)\n", n, t,
           max_lateness * 1000);

    t0 = now();
    got = count(GEN(3), NP_COOKIE_MASK_GEN);
    printf("perf: count of %lld flows by cookie: %.3f s\n", got,
           now() - t0);
    CHECK(got == (long long) n, "count %lld", got);

    t0 = now();
    d = dump(GEN(3), NP_COOKIE_MASK_GEN);
    printf("perf: dump of %zu flows: %.2f s\n", d.n, now() - t0);
    CHECK(d.status == SWITCH_OF_OK && d.n == n, "dump %zu", d.n);
    dump_free(&d);

    /* Replace generation 3 by 4, the same matches: one bundle of n
     * deletes and n adds. */
    t0 = now();
    c = replace(GEN(3), NP_COOKIE_MASK_GEN, flows, n);
    t = now() - t0;
    CHECK(c.status == SWITCH_OF_OK, "perf replace: %s", c.error);
    free(c.error);
    printf("perf: replace of %zu flows by %zu new ones in one bundle: "
           "%.2f s\n", n, n, t);
    CHECK(count(GEN(3), NP_COOKIE_MASK_GEN) == 0, "gen 3 left");
    CHECK(count(GEN(4), NP_COOKIE_MASK_GEN) == (long long) n, "gen 4");

    t0 = now();
    c = replace(GEN(4), NP_COOKIE_MASK_GEN, NULL, 0);
    printf("perf: delete of %zu flows by cookie: %.2f s\n", n, now() - t0);
    free(c.error);

    /* Someone else deletes many of ours at once: the monitor reports every
     * flow, or (when its backlog grows too big) pauses and asks for a
     * resync. */
    {
        size_t m = n < 20000 ? n : 20000;
        size_t removed0 = monitor_counts[SWITCH_OF_FLOW_REMOVED];
        size_t resync0 = monitor_counts[SWITCH_OF_RESYNC];
        int status;
        double end;

        for (i = 0; i < m; i++) {
            changes[i].cookie = GEN(5);
        }
        c = commit(changes, m);
        CHECK(c.status == SWITCH_OF_OK, "gen 5: %s", c.error);
        free(c.error);
        free(sh(&status, "ovs-ofctl -O OpenFlow15 del-flows br-int "
                "cookie=%#"PRIx64"/%#"PRIx64, GEN(5), NP_COOKIE_MASK_GEN));
        CHECK(status == 0, "foreign del-flows");
        end = now() + 30;
        while (now() < end
               && monitor_counts[SWITCH_OF_RESYNC] == resync0
               && monitor_counts[SWITCH_OF_FLOW_REMOVED] - removed0 < m) {
            pump_for(0.05);
        }
        CHECK(monitor_counts[SWITCH_OF_RESYNC] > resync0
              || monitor_counts[SWITCH_OF_FLOW_REMOVED] - removed0 == m,
              "mass delete: %zu removed, %zu resyncs",
              monitor_counts[SWITCH_OF_FLOW_REMOVED] - removed0,
              monitor_counts[SWITCH_OF_RESYNC] - resync0);
        printf("   a foreign delete of %zu of our flows: %zu REMOVED events, "
               "%zu RESYNC\n", m,
               monitor_counts[SWITCH_OF_FLOW_REMOVED] - removed0,
               monitor_counts[SWITCH_OF_RESYNC] - resync0);
        clear_monitor_events();
    }

    for (i = 0; i < n; i++) {
        free(matches[i]);
    }
    free(matches);
    free(changes);
    free(flows);
}

static int n_lost_events;

static void
lost_cb(void *aux, bool is_connected, unsigned int seqno)
{
    n_lost_events += !is_connected;
}

/* A switch that is not there: one callback, not connected; attempts every
 * 50 ms for 2 s, then less and less often; the outage says why. */
static void
test_unreachable(void)
{
    char *target = xasprintf_("unix:%s/run/br-nope.mgmt", sandbox_dir);
    struct switch_of *nope = switch_of_create_target(target, lost_cb, NULL);
    struct switch_of_stats st;
    struct switch_of_outage o;
    unsigned long long at[4];

    for (int i = 0; i < 4; i++) {
        pump_for(i ? 1.0 : 0.95);
        switch_of_get_stats(nope, &st);
        at[i] = st.n_connect_attempts;
    }
    switch_of_get_outage(nope, &o);
    printf("   unreachable switch: %llu, %llu, %llu, %llu attempts after 1, "
           "2, 3, 4 s; %s\n", at[0], at[1], at[2], at[3],
           o.error ? o.error : "no error");
    CHECK(!o.connected && o.seconds >= 3.9 && o.attempts == at[3],
          "outage: %d %.1f s %llu attempts", o.connected, o.seconds,
          o.attempts);
    CHECK(o.error && strstr(o.error, "No such file"), "error %s",
          o.error ? o.error : "none");
    CHECK(n_lost_events == 1, "%d callbacks", n_lost_events);
    /* Fast at first (under load, some fewer)... */
    CHECK(at[0] >= 10 && at[0] <= 21, "%llu attempts in the first second",
          at[0]);
    /* ...then backing off: 100, 200, 400, 800 ms waits, then 1.6 s. */
    CHECK(at[3] - at[1] <= 7, "%llu attempts in seconds 2 to 4",
          at[3] - at[1]);
    CHECK(at[3] - at[1] >= 2, "%llu attempts in seconds 2 to 4",
          at[3] - at[1]);
    switch_of_destroy(nope);
    free(target);
    printf("ok an unreachable switch: fast attempts, then backoff; one "
           "callback\n");
}

static void
idle_done_cb(struct ev_loop *l, ev_timer *t, int revents)
{
    *(bool *) t->data = true;
}

/* Interfaces of br-int without a pod are reported with their type, those
 * of other bridges are not; binding one reports it gone before it is
 * bound, unbinding reports it again. */
static void
test_others(void)
{
    const struct port_event *e;
    const struct switch_db_port *p;
    int status;
    char *out;

    clear_port_events();
    clear_binding_events();
    out = sh(&status, "ovs-vsctl add-port br-int plain0 -- set Interface "
             "plain0 type=internal ofport_request=50 -- add-port br-int vx0 "
             "-- set Interface vx0 type=vxlan options:remote_ip=192.0.2.99 "
             "ofport_request=51 -- add-br br-other -- set Bridge br-other "
             "datapath_type=netdev -- add-port br-other other0 -- set "
             "Interface other0 type=internal >&2");
    free(out);
    CHECK(status == 0, "add-port plain0, vx0, br-other failed");
    e = wait_port("plain0", false, 5);
    CHECK(e && e->ofport == 50 && !strcmp(e->type, "internal"),
          "plain0: %d %s", e ? e->ofport : -1, e ? e->type : "none");
    e = wait_port("vx0", false, 5);
    CHECK(e && e->ofport == 51 && !strcmp(e->type, "vxlan"),
          "vx0: %d %s", e ? e->ofport : -1, e ? e->type : "none");
    pump_for(0.5);
    CHECK(!wait_port("other0", false, 0) && !wait_port("br-other", false, 0),
          "a port of another bridge reported");
    CHECK(!wait_port("br-int", false, 0), "the bridge's own port reported");
    CHECK(!wait_port("default_a", false, 0), "a pod's port reported");
    p = switch_db_find_port(db, "vx0");
    CHECK(p && p->ofport == 51, "switch_db_find_port(vx0)");
    CHECK(!switch_db_find_port(db, "default_a"), "a pod's port found");

    /* A CNI binds plain0: gone first, then bound. */
    clear_port_events();
    out = sh(&status, "ovs-vsctl set Interface plain0 "
             "external_ids:iface-id=default_c");
    free(out);
    const struct binding_event *b = wait_binding("default", "c", true, 5);
    e = wait_port("plain0", true, 5);
    CHECK(b && b->ofport == 50, "plain0 not bound to default/c");
    CHECK(e && e->seq == 0, "plain0 not reported gone before its binding");
    CHECK(!switch_db_find_port(db, "plain0"), "bound plain0 still found");

    /* Unbound again (iface-id removed): carries no pod again. */
    clear_port_events();
    out = sh(&status, "ovs-vsctl remove Interface plain0 external_ids "
             "iface-id");
    free(out);
    e = wait_port("plain0", false, 5);
    CHECK(e && e->ofport == 50, "plain0 not reported after its unbinding");
    CHECK(wait_binding("default", "c", false, 5) != NULL,
          "default/c not unbound");

    out = sh(&status, "ovs-vsctl del-port br-int plain0 -- del-port br-int "
             "vx0 -- del-br br-other");
    free(out);
    CHECK(wait_port("plain0", true, 5) && wait_port("vx0", true, 5),
          "deleted ports not reported gone");
    CHECK(!switch_db_find_port(db, "vx0"), "deleted vx0 still found");
    clear_port_events();
    clear_binding_events();
    printf("ok ports that carry no pod: reported with their type, only "
           "br-int's, gone before bound\n");
}

static void
test_idle(void)
{
    unsigned long long before = ovs_loop_n_iterations();
    bool done = false;
    ev_timer timer;

    /* With nothing to do, the loop must sleep: count its iterations over a
     * second with no other timer running. */
    ev_timer_init(&timer, idle_done_cb, 1.0, 0.0);
    timer.data = &done;
    ev_timer_start(loop, &timer);
    pump(&done, 5);
    ev_timer_stop(loop, &timer);

    unsigned long long n = ovs_loop_n_iterations() - before;
    CHECK(n < 10, "%llu loop iterations in an idle second", n);
    printf("ok idle: %llu loop iterations in 1 s, %u fds watched\n", n,
           ovs_loop_n_fds());
}

int
main(int argc, char *argv[])
{
    struct switch_db_callbacks cbs = {
        .bound = bound_cb,
        .unbound = unbound_cb,
        .port = port_cb,
        .port_gone = port_gone_cb,
        .synced = synced_cb,
    };
    size_t perf_n = 100000;
    const char *flows_file = NULL;
    char *error, *rundir;
    ev_timer tick;

    if (argc < 3) {
        fprintf(stderr, "usage: %s SANDBOX-DIR SANDBOX-SH [--perf N] "
                "[--flows FILE]\n", argv[0]);
        return 2;
    }
    sandbox_dir = argv[1];
    sandbox_sh = argv[2];
    for (int i = 3; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--perf")) {
            perf_n = strtoul(argv[i + 1], NULL, 10);
        } else if (!strcmp(argv[i], "--flows")) {
            flows_file = argv[i + 1];
        } else {
            fprintf(stderr, "%s: unknown option %s\n", argv[0], argv[i]);
            return 2;
        }
    }
    setvbuf(stdout, NULL, _IOLBF, 0);

    loop = EV_DEFAULT;
    ovs_loop_init(loop);
    error = ovs_loop_set_log_levels(getenv("TEST_SWITCH_VLOG")
                                    ? getenv("TEST_SWITCH_VLOG")
                                    : "console:err");
    if (error) {
        fprintf(stderr, "%s\n", error);
        return 2;
    }
    ev_timer_init(&tick, tick_cb, 0.05, 0.05);
    ev_timer_start(loop, &tick);

    test_iface_id();
    test_normalize();
    test_unreachable();

    rundir = xasprintf_("%s/run", sandbox_dir);
    sw = switch_of_create(rundir, "br-int", conn_cb, NULL);
    db = switch_db_create(rundir, &cbs, NULL);
    switch_db_set_bridge(db, "br-int");
    CHECK(pump(&connected, 10), "no OpenFlow connection");
    if (!connected) {
        goto out;
    }
    printf("ok connected, seqno %u\n", switch_of_get_seqno(sw));

    test_commit();
    test_modify_delete();
    test_atomic_failure();
    test_big_flow();
    test_packed_conjunctions();
    test_replace();
    test_monitor();
    test_ports();
    test_others();
    test_installer();
    test_restart();
    test_timeout();
    if (flows_file) {
        test_compiled(flows_file);
    }
    if (perf_n) {
        test_perf(perf_n);
    }
    ev_timer_stop(loop, &tick);
    test_idle();

out:
    switch_of_destroy(sw);
    switch_db_destroy(db);
    ovs_loop_destroy();
    clear_binding_events();
    clear_port_events();
    clear_monitor_events();
    free(rundir);
    printf("%d checks passed, %d failed\n", n_passed, n_failed);
    return n_failed ? 1 : 0;
}
