/* Unit tests of audit-log.c: what a reader of the audit log finds in the
 * files: folded lines with their counts, the exact JSON of each kind of
 * line, names from outside that cannot break a line, rotation that keeps
 * whole lines, and write errors that cost lines but nothing else. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <jansson.h>
#include "addr.h"
#include "audit-log.h"
#include "np-util.h"

/* 2026-12-07T11:30:00.123Z */
#define T0 1796643000.123

/* Each test's directory, removed with what it holds. */
static char dir[64];

static int
setup(void **state)
{
    (void) state;
    snprintf(dir, sizeof dir, "/tmp/np-audit-log.XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static void
remove_tree(const char *path)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d))) {
            if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
                char *sub = xasprintf("%s/%s", path, de->d_name);
                remove_tree(sub);
                free(sub);
            }
        }
        closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

static int
teardown(void **state)
{
    (void) state;
    remove_tree(dir);
    return 0;
}

/* The file 'name' in the test's directory, malloc'd. */
static char *
file(const char *name)
{
    return xasprintf("%s/%s", dir, name);
}

static bool
exists(const char *name)
{
    char *path = file(name);
    struct stat st;
    bool found = !stat(path, &st);
    free(path);
    return found;
}

/* The lines of the file 'path' (which must end with a newline, or be
 * empty), malloc'd, without their newlines; their number in '*n'. */
static char **
read_lines(const char *path, size_t *n)
{
    char *data;
    size_t size;
    assert_int_equal(np_read_file(path, 1 << 24, 0, NULL, &data, &size), 0);
    assert_true(!size || data[size - 1] == '\n');
    char **lines = NULL;
    size_t allocated = 0;
    *n = 0;
    for (char *p = data; *p; ) {
        char *nl = strchr(p, '\n');
        APPEND(lines, *n, allocated, xmemdup0(p, nl - p));
        p = nl + 1;
    }
    free(data);
    return lines;
}

static void
free_lines(char **lines, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(lines[i]);
    }
    free(lines);
}

/* The lines of the test's file 'name'. */
static char **
lines_of(const char *name, size_t *n)
{
    char *path = file(name);
    char **lines = read_lines(path, n);
    free(path);
    return lines;
}

static size_t
count_lines(const char *name)
{
    size_t n;
    char **lines = lines_of(name, &n);
    free_lines(lines, n);
    return n;
}

/* 'line' parsed, which must be one JSON object. */
static json_t *
parse(const char *line)
{
    json_error_t error;
    json_t *j = json_loads(line, JSON_REJECT_DUPLICATES, &error);
    if (!j) {
        fail_msg("not JSON (%s): %s", error.text, line);
    }
    assert_true(json_is_object(j));
    return j;
}

static struct audit_log *
create(const char *name, uint64_t max_size, unsigned int max_files)
{
    struct audit_log_options o;
    audit_log_options_init(&o);
    char *path = name[0] == '/' || !strcmp(name, "-") ? xstrdup(name)
                                                      : file(name);
    o.path = path;
    o.node = "node-1";
    o.max_size = max_size;
    o.max_files = max_files;
    char *error;
    struct audit_log *log = audit_log_create(&o, &error);
    if (!log) {
        fail_msg("%s", error);
    }
    assert_null(error);
    free(path);
    return log;
}

static struct ip_addr
addr(const char *s)
{
    struct ip_addr a;
    assert_true(ip_addr_parse(s, &a));
    return a;
}

static const char *const deny_policies[] = { "y/deny-all", "y/web" };

/* A TCP connection 10.9.1.2:'src_port' -> 10.9.2.3:80 into pod y/b,
 * allowed by rule 0 of y/web (or denied by y/deny-all and y/web). */
static struct audit_event
event(double time, bool allow, uint16_t src_port)
{
    return (struct audit_event) {
        .time = time, .ingress = true, .allow = allow, .proto = 6,
        .src = addr("10.9.1.2"), .dst = addr("10.9.2.3"),
        .src_port = src_port, .dst_port = 80,
        .src_pod = "x/a", .dst_pod = "y/b",
        .policy = allow ? "y/web" : NULL, .rule = 0,
        .policies = allow ? NULL : deny_policies,
        .n_policies = allow ? 0 : 2,
    };
}

static void
record(struct audit_log *log, double time, bool allow, uint16_t src_port)
{
    struct audit_event ev = event(time, allow, src_port);
    audit_log_record(log, &ev);
}

/* Whether two times on the epoch clock are the same to a microsecond
 * (sums of them may round differently). */
static bool
same_time(double a, double b)
{
    return a - b < 1e-6 && b - a < 1e-6;
}

static struct audit_log_stats
stats(const struct audit_log *log)
{
    struct audit_log_stats s;
    audit_log_get_stats(log, &s);
    return s;
}

/* The exact lines, keys in the header's order, and when they come out. */
static void
test_lines(void **state)
{
    (void) state;
    struct audit_log *log = create("audit.log", 0, 0);
    record(log, T0, true, 40000);
    record(log, T0 + 0.1, true, 40000);
    record(log, T0 + 0.5, true, 40000);
    struct audit_event ev = event(T0 + 0.2, false, 40001);
    ev.ingress = false;
    audit_log_record(log, &ev);

    /* Nothing before the window of the first ends. */
    assert_true(same_time(audit_log_flush(log, T0 + 0.9, false), T0 + 1.0));
    assert_int_equal(count_lines("audit.log"), 0);
    /* The allow line's window ended, the deny line's not yet. */
    assert_true(same_time(audit_log_flush(log, T0 + 1.0, false), T0 + 1.2));
    assert_int_equal(count_lines("audit.log"), 1);
    assert_true(same_time(audit_log_flush(log, T0 + 1.3, false), 0));

    size_t n;
    char **lines = lines_of("audit.log", &n);
    assert_int_equal(n, 2);
    assert_string_equal(lines[0],
        "{\"time\":\"2026-12-07T11:30:00.123Z\",\"node\":\"node-1\","
        "\"direction\":\"ingress\",\"verdict\":\"allow\","
        "\"protocol\":\"tcp\",\"src\":\"10.9.1.2\",\"src_port\":40000,"
        "\"dst\":\"10.9.2.3\",\"dst_port\":80,\"src_pod\":\"x/a\","
        "\"dst_pod\":\"y/b\",\"policy\":\"y/web\",\"rule\":0,"
        "\"count\":3}");
    assert_string_equal(lines[1],
        "{\"time\":\"2026-12-07T11:30:00.323Z\",\"node\":\"node-1\","
        "\"direction\":\"egress\",\"verdict\":\"deny\","
        "\"protocol\":\"tcp\",\"src\":\"10.9.1.2\",\"src_port\":40001,"
        "\"dst\":\"10.9.2.3\",\"dst_port\":80,\"src_pod\":\"x/a\","
        "\"dst_pod\":\"y/b\",\"policies\":[\"y/deny-all\",\"y/web\"],"
        "\"count\":1}");
    for (size_t i = 0; i < n; i++) {
        json_decref(parse(lines[i]));
    }
    free_lines(lines, n);

    /* A deny with no policy left, no pods, an allow with another rule. */
    ev = event(T0 + 2, false, 1);
    ev.n_policies = 0;
    ev.src_pod = ev.dst_pod = NULL;
    audit_log_record(log, &ev);
    ev = event(T0 + 2, true, 1);
    ev.rule = 7;
    audit_log_record(log, &ev);
    assert_true(same_time(audit_log_flush(log, T0 + 5, false), 0));
    lines = lines_of("audit.log", &n);
    assert_int_equal(n, 4);
    assert_non_null(strstr(lines[2], ",\"dst_port\":80,\"policies\":[],"
                           "\"count\":1}"));
    assert_non_null(strstr(lines[3], ",\"policy\":\"y/web\",\"rule\":7,"));
    free_lines(lines, n);

    struct audit_log_stats s = stats(log);
    assert_int_equal(s.events, 6);
    assert_int_equal(s.lines, 4);
    assert_int_equal(s.write_errors, 0);
    assert_int_equal(s.rotations, 0);
    assert_int_equal(s.dropped, 0);
    audit_log_destroy(log);
    audit_log_destroy(NULL);
}

/* The "count" of the line with source port 'port' among 'lines', or -1. */
static long long
count_of(char **lines, size_t n, int port)
{
    for (size_t i = 0; i < n; i++) {
        json_t *j = parse(lines[i]);
        json_t *p = json_object_get(j, "src_port");
        if (p && json_integer_value(p) == port) {
            long long count = json_integer_value(json_object_get(j, "count"));
            json_decref(j);
            return count;
        }
        json_decref(j);
    }
    return -1;
}

static void
test_folding(void **state)
{
    (void) state;
    struct audit_log *log = create("audit.log", 0, 0);
    /* 100 of one key within the window, 2 of a second source port, and
     * one allow of the first 5-tuple (another verdict). */
    for (int i = 0; i < 100; i++) {
        record(log, T0 + i * 0.009, false, 1000);
    }
    record(log, T0 + 0.1, false, 1001);
    record(log, T0 + 0.2, false, 1001);
    record(log, T0 + 0.3, true, 1000);
    audit_log_flush(log, T0 + 10, false);
    size_t n;
    char **lines = lines_of("audit.log", &n);
    assert_int_equal(n, 3);
    assert_int_equal(count_of(lines, 1, 1000), 100);
    assert_int_equal(count_of(lines + 1, 1, 1001), 2);
    assert_non_null(strstr(lines[2], "\"verdict\":\"allow\""));
    free_lines(lines, n);

    /* The same key after its window: a line of its own.  The second
     * event's record() writes the first line itself, so that the lines
     * stay in order of time. */
    record(log, T0 + 20, false, 1000);
    record(log, T0 + 20.5, false, 1000);
    record(log, T0 + 21.0, false, 1000);
    assert_int_equal(count_lines("audit.log"), 4);
    record(log, T0 + 21.5, false, 1000);
    assert_true(same_time(audit_log_flush(log, T0 + 21.5, false),
                          T0 + 22.0));
    audit_log_destroy(log);         /* Writes what is pending. */
    lines = lines_of("audit.log", &n);
    assert_int_equal(n, 5);
    assert_non_null(strstr(lines[3], "\"time\":\"2026-12-07T11:30:20.123Z\""));
    assert_non_null(strstr(lines[3], "\"count\":2}"));
    assert_non_null(strstr(lines[4], "\"time\":\"2026-12-07T11:30:21.123Z\""));
    assert_non_null(strstr(lines[4], "\"count\":2}"));
    free_lines(lines, n);
}

/* Lines come out by the time of their first event, even when events come
 * out of order, and a clock set back does not hold them. */
static void
test_order(void **state)
{
    (void) state;
    struct audit_log *log = create("audit.log", 0, 0);
    record(log, T0 + 0.3, false, 3);
    record(log, T0 + 0.1, false, 1);
    record(log, T0 + 0.2, false, 2);
    assert_true(same_time(audit_log_flush(log, T0, false), T0 + 1.1));
    audit_log_flush(log, T0 + 1.3, false);
    size_t n;
    char **lines = lines_of("audit.log", &n);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++) {
        json_t *j = parse(lines[i]);
        assert_int_equal(json_integer_value(json_object_get(j, "src_port")),
                         i + 1);
        json_decref(j);
    }
    free_lines(lines, n);

    /* Set back by an hour: the line pending is written at once. */
    record(log, T0 + 5, false, 4);
    assert_int_equal(count_lines("audit.log"), 3);
    record(log, T0 - 3600, false, 5);
    assert_int_equal(count_lines("audit.log"), 4);
    assert_true(same_time(audit_log_flush(log, T0 - 3600, false), T0 - 3599));
    audit_log_destroy(log);
    assert_int_equal(count_lines("audit.log"), 5);
}

/* The JSON object of the one line that 'ev' makes. */
static json_t *
one_line(const struct audit_event *ev, char **text)
{
    char *path = file("one.log");
    unlink(path);
    struct audit_log *log = create("one.log", 0, 0);
    audit_log_record(log, ev);
    audit_log_destroy(log);
    size_t n;
    char **lines = read_lines(path, &n);
    free(path);
    assert_int_equal(n, 1);
    json_t *j = parse(lines[0]);
    if (text) {
        *text = xstrdup(lines[0]);
    }
    free_lines(lines, n);
    return j;
}

static void
test_protocols(void **state)
{
    (void) state;
    static const struct {
        uint8_t proto;
        const char *name;       /* NULL: the number. */
        bool ports;
    } cases[] = {
        { 6, "tcp", true }, { 17, "udp", true }, { 132, "sctp", true },
        { 1, "icmp", false }, { 58, "icmpv6", false }, { 47, NULL, false },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct audit_event ev = event(T0, true, 5000);
        ev.proto = cases[i].proto;
        ev.src = addr("fd00:10:9::1:2");
        ev.dst = addr("fd00:10:9::2:3");
        char *text;
        json_t *j = one_line(&ev, &text);
        json_t *proto = json_object_get(j, "protocol");
        if (cases[i].name) {
            assert_string_equal(json_string_value(proto), cases[i].name);
        } else {
            assert_true(json_is_integer(proto));
            assert_int_equal(json_integer_value(proto), cases[i].proto);
        }
        assert_string_equal(json_string_value(json_object_get(j, "src")),
                            "fd00:10:9::1:2");
        assert_string_equal(json_string_value(json_object_get(j, "dst")),
                            "fd00:10:9::2:3");
        if (cases[i].ports) {
            assert_int_equal(json_integer_value(json_object_get(j,
                                                                "src_port")),
                             5000);
            assert_int_equal(json_integer_value(json_object_get(j,
                                                                "dst_port")),
                             80);
        } else {
            assert_null(json_object_get(j, "src_port"));
            assert_null(json_object_get(j, "dst_port"));
        }
        json_decref(j);
        if (cases[i].proto == 132) {
            assert_non_null(strstr(text, "\"protocol\":\"sctp\","
                                   "\"src\":\"fd00:10:9::1:2\","
                                   "\"src_port\":5000,"
                                   "\"dst\":\"fd00:10:9::2:3\","
                                   "\"dst_port\":80,"));
        } else if (cases[i].proto == 47) {
            assert_non_null(strstr(text, "\"protocol\":47,"
                                   "\"src\":\"fd00:10:9::1:2\","
                                   "\"dst\":\"fd00:10:9::2:3\","
                                   "\"src_pod\""));
        }
        free(text);
    }
}

/* Names from outside cannot break a line or make it invalid JSON. */
static void
test_escaping(void **state)
{
    (void) state;
    const char *hostile = "y/a\"b\\c\nd\x01" "e\x7f" "f\xff" "g\xc3\xa9"
                          "h\xe2\x80\xa8" "i\xc2\x85";
    const char *policies[] = { hostile, "y/\"}" };
    struct audit_event ev = event(T0, false, 1);
    ev.src_pod = hostile;
    ev.policies = policies;
    ev.n_policies = 2;
    char *text;
    json_t *j = one_line(&ev, &text);
    const char *escaped = "\"y/a\\\"b\\\\c\\nd\\u0001e\\u007ff\\ufffdg\xc3\xa9"
                          "h\\u2028i\\u0085\"";
    char *expected = xasprintf("\"src_pod\":%s,\"dst_pod\":\"y/b\","
                               "\"policies\":[%s,\"y/\\\"}\"],", escaped,
                               escaped);
    assert_non_null(strstr(text, expected));
    free(expected);
    /* What a reader gets back: the name, the bad byte as U+FFFD. */
    const char *decoded = "y/a\"b\\c\nd\x01" "e\x7f" "f\xef\xbf\xbd"
                          "g\xc3\xa9" "h\xe2\x80\xa8" "i\xc2\x85";
    assert_string_equal(json_string_value(json_object_get(j, "src_pod")),
                        decoded);
    json_t *p = json_object_get(j, "policies");
    assert_int_equal(json_array_size(p), 2);
    assert_string_equal(json_string_value(json_array_get(p, 0)), decoded);
    assert_string_equal(json_string_value(json_array_get(p, 1)), "y/\"}");
    json_decref(j);
    free(text);

    /* An allow's policy and the node name the same way. */
    ev = event(T0, true, 1);
    ev.policy = hostile;
    j = one_line(&ev, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "policy")),
                        decoded);
    json_decref(j);

    struct audit_log_options o;
    audit_log_options_init(&o);
    char *path = file("node.log");
    o.path = path;
    o.node = "n\"\n";
    char *error;
    struct audit_log *log = audit_log_create(&o, &error);
    assert_non_null(log);
    audit_log_dropped(log, T0, 1);
    audit_log_destroy(log);
    size_t n;
    char **lines = read_lines(path, &n);
    free(path);
    assert_int_equal(n, 1);
    assert_string_equal(lines[0], "{\"time\":\"2026-12-07T11:30:00.123Z\","
                        "\"node\":\"n\\\"\\n\",\"event\":\"dropped\","
                        "\"count\":1}");
    free_lines(lines, n);
}

static void
test_dropped(void **state)
{
    (void) state;
    struct audit_log *log = create("audit.log", 0, 0);
    record(log, T0, false, 1);
    audit_log_dropped(log, T0 + 0.5, 1234);
    audit_log_dropped(log, T0 + 0.6, 0);
    audit_log_dropped(log, T0 + 0.7, 6);
    /* Written at once, before the folded line whose window is open. */
    size_t n;
    char **lines = lines_of("audit.log", &n);
    assert_int_equal(n, 2);
    assert_string_equal(lines[0], "{\"time\":\"2026-12-07T11:30:00.623Z\","
                        "\"node\":\"node-1\",\"event\":\"dropped\","
                        "\"count\":1234}");
    assert_string_equal(lines[1], "{\"time\":\"2026-12-07T11:30:00.823Z\","
                        "\"node\":\"node-1\",\"event\":\"dropped\","
                        "\"count\":6}");
    free_lines(lines, n);
    struct audit_log_stats s = stats(log);
    assert_int_equal(s.dropped, 1240);
    assert_int_equal(s.lines, 2);
    assert_int_equal(s.events, 1);
    audit_log_destroy(log);
    assert_int_equal(count_lines("audit.log"), 3);
}

/* Writes 'n' lines, source ports 'first'.., one flush each or (if
 * 'batch') all in one flush. */
static void
write_lines(struct audit_log *log, int first, int n, bool batch)
{
    for (int i = 0; i < n; i++) {
        record(log, T0 + first + i * 0.001, false, first + i);
        if (!batch) {
            audit_log_flush(log, T0 + 1000, true);
        }
    }
    audit_log_flush(log, T0 + 1000, true);
}

/* The source ports of the lines in 'name', appended to 'ports'. */
static void
collect_ports(const char *name, int *ports, size_t *n, size_t max_size)
{
    char *path = file(name);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    free(path);
    assert_true((size_t) st.st_size <= max_size);
    size_t n_lines;
    char **lines = lines_of(name, &n_lines);
    assert_true(n_lines > 0);
    for (size_t i = 0; i < n_lines; i++) {
        json_t *j = parse(lines[i]);
        ports[(*n)++] = json_integer_value(json_object_get(j, "src_port"));
        json_decref(j);
    }
    free_lines(lines, n_lines);
}

static void
test_rotation(void **state)
{
    (void) state;
    /* A line is 247 bytes: 4 to a file of 1000. */
    enum { MAX = 1000 };
    struct audit_log *log = create("audit.log", MAX, 2);
    write_lines(log, 1, 20, false);
    write_lines(log, 21, 20, true);
    struct audit_log_stats s = stats(log);
    assert_int_equal(s.lines, 40);
    assert_int_equal(s.rotations, 9);
    assert_int_equal(s.write_errors, 0);
    audit_log_destroy(log);

    /* The newest lines, in order, in path.2, path.1, path; whole lines
     * only (each parses); no path.3. */
    assert_true(exists("audit.log.2"));
    assert_false(exists("audit.log.3"));
    int ports[64];
    size_t n = 0;
    collect_ports("audit.log.2", ports, &n, MAX);
    collect_ports("audit.log.1", ports, &n, MAX);
    collect_ports("audit.log", ports, &n, MAX);
    assert_int_equal(n, 12);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(ports[i], 40 - n + 1 + i);
    }

    /* Files enough for everything: every line kept, once, in order; the
     * file that existed is appended to (its size counted: it is full, so
     * the first line rotates it). */
    log = create("audit.log", MAX, 20);
    write_lines(log, 41, 17, true);
    s = stats(log);
    assert_int_equal(s.rotations, 5);
    audit_log_destroy(log);
    n = 0;
    for (int i = 7; i >= 0; i--) {
        char *name = i ? xasprintf("audit.log.%d", i) : xstrdup("audit.log");
        collect_ports(name, ports, &n, MAX);
        free(name);
    }
    assert_false(exists("audit.log.8"));
    assert_int_equal(n, 12 + 17);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(ports[i], 29 + i);
    }
}

/* max_files 0: the file is cut instead, and holds the newest lines. */
static void
test_rotation_truncate(void **state)
{
    (void) state;
    struct audit_log *log = create("audit.log", 1000, 0);
    write_lines(log, 1, 10, true);
    assert_int_equal(stats(log).rotations, 2);
    audit_log_destroy(log);
    assert_false(exists("audit.log.1"));
    int ports[8];
    size_t n = 0;
    collect_ports("audit.log", ports, &n, 1000);
    assert_int_equal(n, 2);
    assert_int_equal(ports[0], 9);
    assert_int_equal(ports[1], 10);
}

/* The oldest key goes out early when max_pending are folded. */
static void
test_max_pending(void **state)
{
    (void) state;
    struct audit_log_options o;
    audit_log_options_init(&o);
    char *path = file("audit.log");
    o.path = path;
    o.max_pending = 3;
    char *error;
    struct audit_log *log = audit_log_create(&o, &error);
    assert_non_null(log);
    for (int i = 1; i <= 5; i++) {
        record(log, T0 + i * 0.1, false, i);
    }
    size_t n;
    char **lines = read_lines(path, &n);
    assert_int_equal(n, 2);
    assert_int_equal(count_of(lines, 1, 1), 1);
    assert_int_equal(count_of(lines + 1, 1, 2), 1);
    free_lines(lines, n);
    /* Still folding the newest 3. */
    record(log, T0 + 0.6, false, 3);
    record(log, T0 + 0.7, false, 5);
    assert_true(same_time(audit_log_flush(log, T0 + 1.0, false), T0 + 1.3));
    audit_log_destroy(log);
    lines = read_lines(path, &n);
    assert_int_equal(n, 5);
    assert_int_equal(count_of(lines + 2, 1, 3), 2);
    assert_int_equal(count_of(lines + 3, 1, 4), 1);
    assert_int_equal(count_of(lines + 4, 1, 5), 2);
    free_lines(lines, n);
    free(path);
}

/* A device that is always full: every write fails, counted, not fatal,
 * and it is never renamed away. */
static void
test_write_error(void **state)
{
    (void) state;
    struct audit_log *log = create("/dev/full", 10, 2);
    record(log, T0, false, 1);
    record(log, T0, false, 2);
    audit_log_flush(log, T0 + 2, false);
    audit_log_dropped(log, T0 + 2, 5);
    record(log, T0 + 3, false, 3);
    struct audit_log_stats s = stats(log);
    assert_int_equal(s.write_errors, 2);
    assert_int_equal(s.lines, 0);
    assert_int_equal(s.rotations, 0);
    assert_int_equal(s.events, 3);
    audit_log_destroy(log);
    struct stat st;
    assert_int_equal(stat("/dev/full", &st), 0);
    assert_true(S_ISCHR(st.st_mode));
    assert_int_equal(stat("/dev/full.1", &st), -1);

    /* A file that cannot be opened: an error naming it. */
    struct audit_log_options o;
    audit_log_options_init(&o);
    char *path = file("no-such-dir/audit.log");
    o.path = path;
    char *error;
    assert_null(audit_log_create(&o, &error));
    assert_non_null(strstr(error, path));
    assert_non_null(strstr(error, strerror(ENOENT)));
    free(error);
    free(path);
}

/* A rotation that fails (path.1 is a directory) costs nothing but the
 * limit: the lines stay in the file, whole. */
static void
test_rotation_error(void **state)
{
    (void) state;
    char *sub = file("audit.log.1");
    assert_int_equal(mkdir(sub, 0755), 0);
    char *inner = xasprintf("%s/x", sub);
    assert_int_equal(mkdir(inner, 0755), 0);
    free(inner);
    free(sub);
    struct audit_log *log = create("audit.log", 1000, 1);
    write_lines(log, 1, 6, false);
    write_lines(log, 7, 6, true);
    struct audit_log_stats s = stats(log);
    assert_int_equal(s.lines, 12);
    assert_int_equal(s.rotations, 0);
    assert_true(s.write_errors >= 2);
    audit_log_destroy(log);
    int ports[16];
    size_t n = 0;
    collect_ports("audit.log", ports, &n, SIZE_MAX);
    assert_int_equal(n, 12);
}

/* A write cut short (the file size limit) leaves no partial line: what
 * went out of the failed batch is taken back. */
static void
test_partial_write(void **state)
{
    (void) state;
    struct audit_log *log = create("audit.log", 0, 0);
    write_lines(log, 1, 1, true);

    struct rlimit old, small;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    small = old;
    small.rlim_cur = 600;
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    write_lines(log, 2, 3, true);       /* Goes beyond 600 bytes. */
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, old_handler);

    struct audit_log_stats s = stats(log);
    assert_int_equal(s.write_errors, 1);
    assert_int_equal(s.lines, 1);
    write_lines(log, 5, 1, true);
    audit_log_destroy(log);
    int ports[8];
    size_t n = 0;
    collect_ports("audit.log", ports, &n, SIZE_MAX);
    assert_int_equal(n, 2);
    assert_int_equal(ports[0], 1);
    assert_int_equal(ports[1], 5);
}

/* "-": standard output, and destroy writes what is pending. */
static void
test_stdout(void **state)
{
    (void) state;
    char *path = file("stdout");
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    assert_true(dup2(fd, STDOUT_FILENO) >= 0);
    close(fd);
    struct audit_log *log = create("-", 10, 2);
    write_lines(log, 1, 3, false);
    record(log, T0 + 50, true, 4);
    audit_log_destroy(log);
    assert_true(dup2(saved, STDOUT_FILENO) >= 0);
    close(saved);

    size_t n;
    char **lines = read_lines(path, &n);
    assert_int_equal(n, 4);
    assert_int_equal(count_of(lines + 3, 1, 4), 1);
    free_lines(lines, n);
    free(path);
    assert_false(exists("stdout.1"));
}

int
main(void)
{
#define T(NAME) cmocka_unit_test_setup_teardown(NAME, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_lines),
        T(test_folding),
        T(test_order),
        T(test_protocols),
        T(test_escaping),
        T(test_dropped),
        T(test_rotation),
        T(test_rotation_truncate),
        T(test_max_pending),
        T(test_write_error),
        T(test_rotation_error),
        T(test_partial_write),
        T(test_stdout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
