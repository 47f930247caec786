/* Unit tests of the daemon's HTTP parts without a daemon: --http's
 * address (http.c), the Prometheus text (metrics.c), and the server on a
 * libev loop answering real requests over TCP. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "http.h"
#include "metrics.h"
#include "np-util.h"

/* ---- --http ---- */

static void
assert_address(const char *text, const char *formatted)
{
    struct http_address a;
    char *error = http_address_parse(text, &a);
    if (error) {
        fail_msg("%s: %s", text, error);
    }
    char buf[HTTP_ADDRESS_STRLEN];
    http_address_format(&a, buf);
    assert_string_equal(buf, formatted);
}

static void
assert_address_error(const char *text, const char *expected)
{
    struct http_address a;
    char *error = http_address_parse(text, &a);
    assert_non_null(error);
    if (!strstr(error, expected)) {
        fail_msg("%s: got \"%s\", expected it to contain \"%s\"", text,
                 error, expected);
    }
    free(error);
}

static void
test_address(void **state)
{
    assert_address("127.0.0.1:9476", "127.0.0.1:9476");
    assert_address("0.0.0.0:1", "0.0.0.0:1");
    assert_address("[::1]:9476", "[::1]:9476");
    assert_address("[fd00::5]:65535", "[fd00::5]:65535");
    /* Every address: IPv6's, which takes IPv4 too. */
    assert_address(":9476", "[::]:9476");

    assert_address_error("9476", "\"9476\" is not ADDRESS:PORT (such as "
                         "127.0.0.1:9476, [::1]:9476, or :9476 for every "
                         "address)");
    assert_address_error("", "\"\" is not ADDRESS:PORT");
    assert_address_error("127.0.0.1:", "\"127.0.0.1:\": \"\" is not a port "
                         "from 1 to 65535");
    assert_address_error("127.0.0.1:0", "\"0\" is not a port from 1 to "
                         "65535");
    assert_address_error("127.0.0.1:65536", "\"65536\" is not a port");
    assert_address_error("127.0.0.1:+80", "\"+80\" is not a port");
    assert_address_error("127.0.0.1:80x", "\"80x\" is not a port");
    assert_address_error("127.0.0.1:000080", "is not a port");
    assert_address_error("localhost:80", "\"localhost\" is not an IPv4 "
                         "address (an IPv6 address goes in brackets; host "
                         "names are not taken)");
    assert_address_error("1.2.3:80", "\"1.2.3\" is not an IPv4 address");
    assert_address_error("::1:80", "an IPv6 address goes in brackets");
    assert_address_error("[::1]", "must be followed by :PORT");
    assert_address_error("[::1]80", "must be followed by :PORT");
    assert_address_error("[1.2.3.4]:80", "\"1.2.3.4\" is not an IPv6 "
                         "address");
    /* Outside text is quoted, escaped and cut. */
    assert_address_error("\n:80", "\"\\n\" is not an IPv4 address");
    char *long_text = xmalloc(1001);
    memset(long_text, 'a', 1000);
    long_text[1000] = '\0';
    struct http_address a;
    char *error = http_address_parse(long_text, &a);
    assert_non_null(error);
    assert_true(strlen(error) < 300);
    free(error);
    free(long_text);
}

/* ---- The text format. ---- */

static void
test_values(void **state)
{
    static const struct {
        double v;
        const char *text;
    } cases[] = {
        { 0, "0" }, { 42, "42" }, { -3, "-3" }, { 1e15, "1000000000000000" },
        { 0.0025, "0.0025" }, { 0.1, "0.1" }, { 1.5, "1.5" },
        { 1e300, "1e+300" }, { 0.3, "0.3" }, { INFINITY, "+Inf" },
        { -INFINITY, "-Inf" }, { NAN, "NaN" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char buf[32];
        metrics_format_value(cases[i].v, buf);
        assert_string_equal(buf, cases[i].text);
        if (isfinite(cases[i].v)) {
            assert_true(strtod(buf, NULL) == cases[i].v);
        }
    }
}

static void
test_samples(void **state)
{
    struct strbuf b;
    strbuf_init(&b);
    metrics_family(&b, "ovs_netpol_x_total", "counter",
                   "Things, with a \\ and\na newline.");
    metrics_sample(&b, "ovs_netpol_x_total", 7, NULL);
    metrics_sample(&b, "ovs_netpol_x_total", 8, "kind", "pods", NULL);
    metrics_sample(&b, "ovs_netpol_x_total", 9, "a", "q\"uote",
                   "b", "back\\slash\nnl", NULL);
    char *s = strbuf_steal(&b);
    assert_string_equal(s,
        "# HELP ovs_netpol_x_total Things, with a \\\\ and\\na newline.\n"
        "# TYPE ovs_netpol_x_total counter\n"
        "ovs_netpol_x_total 7\n"
        "ovs_netpol_x_total{kind=\"pods\"} 8\n"
        "ovs_netpol_x_total{a=\"q\\\"uote\",b=\"back\\\\slash\\nnl\"} 9\n");
    free(s);
}

static void
test_histogram(void **state)
{
    static const double bounds[] = { 0.1, 1, 10 };
    struct metrics_histogram h;
    metrics_histogram_init(&h, bounds, ARRAY_SIZE(bounds));
    /* A value equal to a bound falls in that bucket (le: less or equal). */
    const double values[] = { 0.05, 0.1, 0.5, 1, 3, 100, 1000 };
    for (size_t i = 0; i < ARRAY_SIZE(values); i++) {
        metrics_histogram_observe(&h, values[i]);
    }
    struct strbuf b;
    strbuf_init(&b);
    metrics_histogram_write(&b, "ovs_netpol_d_seconds", "Durations.", &h);
    char *s = strbuf_steal(&b);
    assert_string_equal(s,
        "# HELP ovs_netpol_d_seconds Durations.\n"
        "# TYPE ovs_netpol_d_seconds histogram\n"
        "ovs_netpol_d_seconds_bucket{le=\"0.1\"} 2\n"
        "ovs_netpol_d_seconds_bucket{le=\"1\"} 4\n"
        "ovs_netpol_d_seconds_bucket{le=\"10\"} 5\n"
        "ovs_netpol_d_seconds_bucket{le=\"+Inf\"} 7\n"
        "ovs_netpol_d_seconds_sum 1104.65\n"
        "ovs_netpol_d_seconds_count 7\n");
    free(s);

    /* The daemon's buckets: ascending, within the limit, 1 ms to 10 s. */
    assert_true(metrics_n_seconds_buckets <= METRICS_MAX_BUCKETS);
    assert_true(metrics_seconds_buckets[0] == 0.001);
    assert_true(metrics_seconds_buckets[metrics_n_seconds_buckets - 1]
                == 10);
    metrics_histogram_init(&h, metrics_seconds_buckets,
                           metrics_n_seconds_buckets);
    assert_int_equal(h.count, 0);
}

/* ---- The server, over TCP. ---- */

struct served {
    int n;
    char last_path[256];
};

static void
handler(void *s_, const char *path, struct http_response *r)
{
    struct served *s = s_;
    s->n++;
    snprintf(s->last_path, sizeof s->last_path, "%s", path);
    if (!strcmp(path, "/hello")) {
        r->status = 200;
        r->content_type = "text/plain; version=0.0.4";
        r->body = xstrdup("hello\n");
    } else {
        r->status = 404;
        r->body = xstrdup("nope\n");
    }
    r->size = strlen(r->body);
}

static int
connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sin = {
        .sin_family = AF_INET,
        .sin_port = htons(port),
        .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
    };
    assert_int_equal(connect(fd, (struct sockaddr *) &sin, sizeof sin), 0);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

/* Sends 'request' on a new connection and turns the loop until the
 * server closes it (each answer closes: HTTP/1.0); returns what came
 * back, malloc'd. */
static char *
exchange(struct ev_loop *loop, int port, const char *request)
{
    int fd = connect_to(port);
    assert_int_equal(write(fd, request, strlen(request)), strlen(request));
    struct strbuf b;
    strbuf_init(&b);
    for (int i = 0; i < 5000; i++) {
        ev_run(loop, EVRUN_NOWAIT);
        char buf[4096];
        ssize_t n = read(fd, buf, sizeof buf - 1);
        if (n > 0) {
            buf[n] = '\0';
            strbuf_put(&b, buf);
        } else if (n == 0) {
            break;
        } else {
            assert_true(errno == EAGAIN);
            usleep(1000);
        }
    }
    close(fd);
    return strbuf_steal(&b);
}

static void
test_server(void **state)
{
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct http_address a;
    assert_null(http_address_parse("127.0.0.1:1", &a));
    ((struct sockaddr_in *) &a.ss)->sin_port = 0;   /* Any free port. */
    struct served s = { 0 };
    char *error = NULL;
    struct http_server *h = http_server_create(loop, &a, handler, &s,
                                               &error);
    assert_non_null(h);
    int port = http_server_port(h);
    assert_true(port > 0);

    /* A client that connects and says nothing holds a connection, not
     * the loop: others are served meanwhile. */
    int silent = connect_to(port);

    char *r = exchange(loop, port, "GET /hello?x=1 HTTP/1.0\r\n\r\n");
    if (!strstr(r, " 200 OK\r\n")) {
        fail_msg("%s", r);
    }
    assert_non_null(strstr(r, "Content-Type: text/plain; version=0.0.4"));
    assert_non_null(strstr(r, "\r\n\r\nhello\n"));
    assert_string_equal(s.last_path, "/hello");
    free(r);

    r = exchange(loop, port, "GET /other HTTP/1.0\r\n\r\n");
    assert_non_null(strstr(r, " 404 "));
    assert_non_null(strstr(r, "\r\n\r\nnope\n"));
    free(r);

    /* HEAD: the headers, no body. */
    r = exchange(loop, port, "HEAD /hello HTTP/1.0\r\n\r\n");
    assert_non_null(strstr(r, " 200 OK"));
    assert_non_null(strstr(r, "Content-Length: 6"));
    assert_null(strstr(r, "hello\n"));
    free(r);

    /* Other methods never reach the handler. */
    int before = s.n;
    const char *methods[] = { "POST", "PUT", "DELETE", "OPTIONS" };
    for (size_t i = 0; i < ARRAY_SIZE(methods); i++) {
        char *req = xasprintf("%s /hello HTTP/1.0\r\nContent-Length: 3"
                              "\r\n\r\nabc", methods[i]);
        r = exchange(loop, port, req);
        assert_non_null(strstr(r, " 405 "));
        assert_non_null(strstr(r, "Allow: GET, HEAD\r\n"));
        free(r);
        free(req);
    }
    assert_int_equal(s.n, before);

    /* Garbage is the library's to refuse. */
    r = exchange(loop, port, "\x01\x02 nonsense\r\n\r\n");
    assert_null(strstr(r, " 200 "));
    free(r);
    assert_int_equal(s.n, before);

    /* The port is taken: a clear error. */
    struct http_address same = a;
    ((struct sockaddr_in *) &same.ss)->sin_port = htons(port);
    struct http_server *h2 = http_server_create(loop, &same, handler, &s,
                                                &error);
    assert_null(h2);
    char *expected = xasprintf("cannot listen on 127.0.0.1:%d: Address "
                               "already in use", port);
    assert_string_equal(error, expected);
    free(expected);
    free(error);

    close(silent);
    http_server_destroy(h);
    http_server_destroy(NULL);

    /* Destroyed: the port is free again. */
    h = http_server_create(loop, &same, handler, &s, &error);
    assert_non_null(h);
    http_server_destroy(h);
    ev_loop_destroy(loop);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_address),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_samples),
        cmocka_unit_test(test_histogram),
        cmocka_unit_test(test_server),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
