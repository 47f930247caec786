/* http: a small HTTP server on the daemon's libev loop, for /healthz,
 * /readyz and /metrics (daemon-http.h says what they answer).
 *
 * The protocol is libmicrohttpd's (Debian's libmicrohttpd12), not ours:
 * it runs without a thread of its own, in its epoll mode, and this module
 * drives it from the loop with one ev_io on its epoll descriptor and one
 * ev_timer set to MHD_get_timeout() after every MHD_run().  Nothing
 * blocks: MHD reads and writes non-blocking sockets as they become ready,
 * so a slow or silent client costs a connection slot, never the loop.
 *
 * What the server takes:
 *   - GET and HEAD; any other method gets 405 Method Not Allowed with
 *     "Allow: GET, HEAD", before the handler is asked;
 *   - at most HTTP_MAX_CONNECTIONS connections at a time (more are
 *     closed at once), each closed after HTTP_IDLE_TIMEOUT seconds
 *     without progress; a request's headers are bounded by MHD's
 *     per-connection memory (32 KiB: a larger one gets 431).
 * The handler answers every GET or HEAD, with a body made in memory
 * (MHD leaves it out for HEAD).
 *
 * The listening socket is made here, so that a bad or busy address is an
 * error at start that names the address and says why ("Address already
 * in use"). */
#ifndef NP_HTTP_H
#define NP_HTTP_H 1

#include <stddef.h>
#include <sys/socket.h>

struct ev_loop;
struct http_server;

#define HTTP_MAX_CONNECTIONS 16
#define HTTP_IDLE_TIMEOUT 10            /* Seconds. */

/* Where to listen, as --http gives it. */
struct http_address {
    struct sockaddr_storage ss;
    socklen_t len;
};

/* Parses "ADDRESS:PORT": an IPv4 address ("127.0.0.1:9476"), an IPv6
 * address in brackets ("[::1]:9476"), or nothing for every address of
 * both families (":9476").  Numeric only: no host names.  PORT is a
 * decimal number from 1 to 65535.  Returns NULL, or a malloc'd message
 * that quotes 'text' and says what is wrong, for the caller to prefix
 * with the flag or the config line. */
char *http_address_parse(const char *text, struct http_address *)
    __attribute__((warn_unused_result));

/* The answer to one request.  The handler sets 'status' (an HTTP status
 * code), 'body' (malloc'd, 'size' bytes; the server frees it) and
 * 'content_type' (a static string). */
struct http_response {
    unsigned int status;
    const char *content_type;
    char *body;
    size_t size;
};

/* Called for every GET or HEAD with the request's path, without its query
 * string (e.g. "/metrics").  Runs on the loop; must not block. */
typedef void http_handler_fn(void *aux, const char *path,
                             struct http_response *);

/* Listens on 'addr' and serves requests from 'loop' through 'handler'.
 * Returns the server, or NULL and a malloc'd message in '*error' ("cannot
 * listen on 127.0.0.1:9476: Address already in use"). */
struct http_server *http_server_create(struct ev_loop *loop,
                                       const struct http_address *addr,
                                       http_handler_fn *handler, void *aux,
                                       char **error);

/* Closes every connection and the listening socket.  Accepts NULL. */
void http_server_destroy(struct http_server *);

/* The port it listens on (when 'addr' said 0: the one the kernel
 * chose). */
int http_server_port(const struct http_server *);

/* 'addr' as text: "127.0.0.1:9476", "[::1]:9476", "[::]:9476", into
 * 'buf' of at least HTTP_ADDRESS_STRLEN bytes. */
#define HTTP_ADDRESS_STRLEN 64
void http_address_format(const struct http_address *, char *buf);

#endif
