/* libmicrohttpd on the libev loop.  See include/http.h. */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ev.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "np-log.h"
#include "np-util.h"

/* Connections waiting to be accepted beyond those served. */
#define HTTP_BACKLOG 16

struct http_server {
    struct ev_loop *loop;
    struct MHD_Daemon *mhd;
    int port;
    http_handler_fn *handler;
    void *aux;
    ev_io io;                   /* MHD's epoll descriptor. */
    ev_timer timer;             /* MHD_get_timeout(). */
};

/* ---- Addresses. ---- */

static char *
quote(const char *s)
{
    return np_quote(s, strlen(s));
}

/* Parses the decimal port 'p': 1 to 65535, digits only. */
static char *
parse_port(const char *text, const char *p, int *port)
{
    size_t n = strspn(p, "0123456789");
    long v = n && n <= 5 && !p[n] ? strtol(p, NULL, 10) : 0;
    if (v < 1 || v > 65535) {
        char *q = quote(text), *qp = quote(p);
        char *msg = xasprintf("%s: %s is not a port from 1 to 65535", q, qp);
        free(q);
        free(qp);
        return msg;
    }
    *port = v;
    return NULL;
}

char *
http_address_parse(const char *text, struct http_address *a)
{
    memset(a, 0, sizeof *a);
    const char *colon;
    char *host;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close || close[1] != ':') {
            char *q = quote(text);
            char *msg = xasprintf("%s is not ADDRESS:PORT: an IPv6 address in "
                                  "brackets must be followed by :PORT, as "
                                  "in [::1]:9476", q);
            free(q);
            return msg;
        }
        host = xmemdup0(text + 1, close - (text + 1));
        colon = close + 1;
    } else {
        colon = strrchr(text, ':');
        if (!colon) {
            char *q = quote(text);
            char *msg = xasprintf("%s is not ADDRESS:PORT (such as "
                                  "127.0.0.1:9476, [::1]:9476, or :9476 for "
                                  "every address)", q);
            free(q);
            return msg;
        }
        host = xmemdup0(text, colon - text);
        if (strchr(host, ':')) {
            char *q = quote(text);
            char *msg = xasprintf("%s is not ADDRESS:PORT: an IPv6 address "
                                  "goes in brackets, as in [::1]:9476", q);
            free(q);
            free(host);
            return msg;
        }
    }
    int port = 0;
    char *error = parse_port(text, colon + 1, &port);
    if (error) {
        free(host);
        return error;
    }
    struct sockaddr_in *sin = (struct sockaddr_in *) &a->ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) &a->ss;
    if (text[0] == '[') {
        if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1) {
            char *q = quote(text), *qh = quote(host);
            error = xasprintf("%s: %s is not an IPv6 address", q, qh);
            free(q);
            free(qh);
        }
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        a->len = sizeof *sin6;
    } else if (!host[0]) {
        /* Every address: IPv6's, taking IPv4 too (http_server_create()
         * falls back to IPv4 alone where IPv6 is off). */
        sin6->sin6_family = AF_INET6;
        sin6->sin6_addr = in6addr_any;
        sin6->sin6_port = htons(port);
        a->len = sizeof *sin6;
    } else {
        if (inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
            char *q = quote(text), *qh = quote(host);
            error = xasprintf("%s: %s is not an IPv4 address (an IPv6 "
                              "address goes in brackets; host names are not "
                              "taken)", q, qh);
            free(q);
            free(qh);
        }
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        a->len = sizeof *sin;
    }
    free(host);
    return error;
}

void
http_address_format(const struct http_address *a, char *buf)
{
    char host[INET6_ADDRSTRLEN];
    if (a->ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const void *) &a->ss;
        inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof host);
        snprintf(buf, HTTP_ADDRESS_STRLEN, "[%s]:%d", host,
                 ntohs(sin6->sin6_port));
    } else {
        const struct sockaddr_in *sin = (const void *) &a->ss;
        inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
        snprintf(buf, HTTP_ADDRESS_STRLEN, "%s:%d", host,
                 ntohs(sin->sin_port));
    }
}

/* ---- Requests. ---- */

static enum MHD_Result
queue(struct MHD_Connection *c, unsigned int status, const char *type,
      char *body, size_t size, const char *allow)
{
    struct MHD_Response *r
        = MHD_create_response_from_buffer_with_free_callback(size, body,
                                                             free);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (allow) {
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
    }
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result
access_cb(void *h_, struct MHD_Connection *c, const char *url,
          const char *method, const char *version, const char *upload_data,
          size_t *upload_data_size, void **con_cls)
{
    struct http_server *h = h_;
    if (strcmp(method, MHD_HTTP_METHOD_GET)
        && strcmp(method, MHD_HTTP_METHOD_HEAD)) {
        char *body = xasprintf("method %s is not allowed here: only GET and "
                               "HEAD\n", strlen(method) <= 32 ? method
                               : "(too long)");
        return queue(c, MHD_HTTP_METHOD_NOT_ALLOWED,
                     "text/plain; charset=utf-8", body, strlen(body),
                     "GET, HEAD");
    }
    struct http_response r = { .status = 500 };
    h->handler(h->aux, url, &r);
    if (!r.body) {
        r.body = xstrdup("");
        r.size = 0;
    }
    return queue(c, r.status, r.content_type ? r.content_type
                 : "text/plain; charset=utf-8", r.body, r.size, NULL);
}

static void
mhd_log(void *h_, const char *format, va_list args)
{
    char *msg = xvasprintf(format, args);
    size_t len = strlen(msg);
    while (len && (msg[len - 1] == '\n' || msg[len - 1] == '\r')) {
        msg[--len] = '\0';
    }
    NP_WARN_RL("http", "%s", msg);
    free(msg);
}

/* ---- The loop. ---- */

/* Lets MHD do what its sockets and its clock allow, then arms the timer
 * for when it wants to run next: MHD asks to be run within
 * MHD_get_timeout() even without activity (to close idle connections, or
 * to go on with work it has buffered). */
static void
run(struct http_server *h)
{
    MHD_run(h->mhd);
    MHD_UNSIGNED_LONG_LONG ms;
    ev_timer_stop(h->loop, &h->timer);
    if (MHD_get_timeout(h->mhd, &ms) == MHD_YES) {
        ev_timer_set(&h->timer, ms / 1000.0, 0.);
        ev_timer_start(h->loop, &h->timer);
    }
}

static void
io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    run(CONTAINER_OF(w, struct http_server, io));
}

static void
timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    run(CONTAINER_OF(w, struct http_server, timer));
}

/* A non-blocking socket listening on 'a', or -1 and errno. */
static int
listen_on(const struct http_address *a)
{
    int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK
                    | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    int on = 1, off = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (a->ss.ss_family == AF_INET6) {
        /* [::] takes IPv4 too; a specific IPv6 address is only that. */
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
    }
    if (bind(fd, (const struct sockaddr *) &a->ss, a->len)
        || listen(fd, HTTP_BACKLOG)) {
        int error = errno;
        close(fd);
        errno = error;
        return -1;
    }
    return fd;
}

struct http_server *
http_server_create(struct ev_loop *loop, const struct http_address *addr,
                   http_handler_fn *handler, void *aux, char **error)
{
    char text[HTTP_ADDRESS_STRLEN];
    http_address_format(addr, text);
    struct http_address a = *addr;
    int fd = listen_on(&a);
    const struct sockaddr_in6 *sin6 = (const void *) &a.ss;
    if (fd < 0 && errno == EAFNOSUPPORT && a.ss.ss_family == AF_INET6
        && IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr)) {
        /* Every address, on a host without IPv6: every IPv4 address. */
        struct sockaddr_in sin = {
            .sin_family = AF_INET,
            .sin_port = sin6->sin6_port,
            .sin_addr.s_addr = htonl(INADDR_ANY),
        };
        memset(&a, 0, sizeof a);
        memcpy(&a.ss, &sin, sizeof sin);
        a.len = sizeof sin;
        fd = listen_on(&a);
    }
    if (fd < 0) {
        *error = xasprintf("cannot listen on %s: %s", text, strerror(errno));
        return NULL;
    }
    struct sockaddr_storage bound;
    socklen_t len = sizeof bound;
    getsockname(fd, (struct sockaddr *) &bound, &len);

    struct http_server *h = xcalloc(1, sizeof *h);
    h->loop = loop;
    h->port = ntohs(bound.ss_family == AF_INET6
                    ? ((struct sockaddr_in6 *) &bound)->sin6_port
                    : ((struct sockaddr_in *) &bound)->sin_port);
    h->handler = handler;
    h->aux = aux;
    h->mhd = MHD_start_daemon(
        MHD_USE_EPOLL | MHD_USE_ERROR_LOG
        | (a.ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
        0, NULL, NULL, access_cb, h,
        /* First, so that MHD logs nothing its own way. */
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
        MHD_OPTION_LISTEN_SOCKET, (MHD_socket) fd,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int) HTTP_MAX_CONNECTIONS,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) HTTP_IDLE_TIMEOUT,
        MHD_OPTION_END);
    if (!h->mhd) {
        *error = xasprintf("cannot serve HTTP on %s (libmicrohttpd did not "
                           "start; see the log)", text);
        close(fd);
        free(h);
        return NULL;
    }
    const union MHD_DaemonInfo *info
        = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    ev_io_init(&h->io, io_cb, info->epoll_fd, EV_READ);
    ev_io_start(loop, &h->io);
    ev_init(&h->timer, timer_cb);
    run(h);
    return h;
}

void
http_server_destroy(struct http_server *h)
{
    if (!h) {
        return;
    }
    ev_io_stop(h->loop, &h->io);
    ev_timer_stop(h->loop, &h->timer);
    /* Taking the listening socket back first makes closing it ours
     * whatever MHD does with sockets it was given. */
    MHD_socket fd = MHD_quiesce_daemon(h->mhd);
    MHD_stop_daemon(h->mhd);
    if (fd != MHD_INVALID_SOCKET) {
        close(fd);
    }
    free(h);
}

int
http_server_port(const struct http_server *h)
{
    return h->port;
}
