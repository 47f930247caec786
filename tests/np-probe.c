/* np-probe — listeners and concurrent probes across network namespaces, for the
 * real-packet end-to-end tests of ovs-netpol (tests/e2e/run-cases.py).
 *
 *   np-probe serve --spec FILE [--control-stdin]
 *       For every line "NETNS PROTO PORT [PORT...]" of FILE listen inside the
 *       network namespace NETNS (a name under /var/run/netns, or a path):
 *         tcp   accept and close at once
 *         udp   echo every datagram back to its sender
 *         sctp  the kernel has no SCTP: a raw IPPROTO_SCTP socket per netns and
 *               family answers every INIT to a listened port with an INIT-ACK
 *               (verification tag = the INIT's initiate tag, CRC32c checksum),
 *               and an INIT to any other port with an ABORT.
 *       One process serves every netns: setns() before creating each socket
 *       (a socket stays in the netns it was created in), then one poll loop.
 *       Reload (re-read FILE; listeners that stay are kept, a netns that was
 *       re-created under the same name gets new sockets): SIGHUP, or the line
 *       "reload" on stdin with --control-stdin.  Prints "ready N" (N = open
 *       listeners) on stdout after start and after each reload; with
 *       --control-stdin it exits when stdin closes, so it never outlives its
 *       parent.  A listener that cannot be opened is reported on stderr and in
 *       "ready N failed=K".
 *
 *   np-probe probe --spec FILE [--timeout-ms 1500] [--sport-base 20000]
 *                  [--burst 32] [--gap-us 200]
 *       For every line "ID NETNS PROTO DST-IP DST-PORT [SRC-PORT]" (PROTO
 *       tcp|udp|sctp, DST-IP IPv4 or IPv6; SRC-PORT 0 or absent = SPORT-BASE +
 *       line index) run a probe from NETNS, all at once, non-blocking, each with
 *       its own deadline, and print one line per probe in input order:
 *           ID RESULT MS [DETAIL]
 *       RESULT is "connected" (TCP handshake completed / UDP echo received /
 *       SCTP INIT-ACK received), "refused" (the destination host answered but
 *       nothing listened: TCP RST, ICMP port unreachable, SCTP ABORT), "timeout"
 *       or "error" (DETAIL says why; also a local failure such as a source port
 *       in use).  MS is the time from send to verdict.  Connected and refused
 *       both mean the packet reached the destination host.  Every probe binds
 *       the given source port, so a caller that never reuses one makes sure no
 *       conntrack entry of an earlier probe decides a later one.
 *       Probes are sent in bursts of BURST with GAP-US microseconds between
 *       bursts, so no CPU backlog overflows (a lost packet reads as "denied");
 *       each probe's deadline counts from its own send.  A probe sends one
 *       packet (TCP: the kernel's SYN; its first retransmission comes after
 *       1 s): no resends, so a first packet that is lost or wrongly dropped
 *       shows.
 *       Exit status 0 when every probe got a verdict (whatever it was), 2 on
 *       bad usage, 1 when setup failed.
 *
 * Plain C (no OVS headers); Linux only; needs CAP_SYS_ADMIN (setns) and
 * CAP_NET_RAW (SCTP). */

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef IPPROTO_SCTP
#define IPPROTO_SCTP 132
#endif

enum proto { P_TCP, P_UDP, P_SCTP };
static const char *proto_names[] = { "tcp", "udp", "sctp" };

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void
die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("np-probe: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void *
xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) {
        die("out of memory");
    }
    return p;
}

static void *
xrealloc(void *p, size_t size)
{
    p = realloc(p, size ? size : 1);
    if (!p) {
        die("out of memory");
    }
    return p;
}

static int
parse_proto(const char *s)
{
    for (int i = 0; i < 3; i++) {
        if (!strcasecmp(s, proto_names[i])) {
            return i;
        }
    }
    return -1;
}

static long long
now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static void
raise_nofile(void)
{
    struct rlimit rl;
    if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* ---- network namespaces ---------------------------------------------- */

static int home_netns = -1;

static void
netns_path(const char *name, char *buf, size_t size)
{
    if (strchr(name, '/')) {
        snprintf(buf, size, "%s", name);
    } else {
        snprintf(buf, size, "/var/run/netns/%s", name);
    }
}

/* Enters netns NAME (returns 0) or sets errno (returns -1).  If ID is
 * nonnull, stores the netns identity (device and inode of the nsfs file). */
static int
enter_netns(const char *name, dev_t *dev, ino_t *ino)
{
    char path[4096];
    netns_path(name, path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || setns(fd, CLONE_NEWNET) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    if (dev) {
        *dev = st.st_dev;
        *ino = st.st_ino;
    }
    close(fd);
    return 0;
}

static void
leave_netns(void)
{
    if (home_netns >= 0 && setns(home_netns, CLONE_NEWNET) < 0) {
        die("cannot return to the original netns: %s", strerror(errno));
    }
}

static void
init_netns(void)
{
    home_netns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (home_netns < 0) {
        die("/proc/self/ns/net: %s", strerror(errno));
    }
}

/* ---- SCTP packets -------------------------------------------------------- */

static uint32_t crc32c_table[256];

static void
crc32c_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) {
            c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        }
        crc32c_table[i] = c;
    }
}

static uint32_t
crc32c(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    while (n--) {
        c = crc32c_table[(c ^ *p++) & 0xFF] ^ (c >> 8);
    }
    return ~c;
}

static uint16_t get16(const uint8_t *p) { return (uint16_t) (p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}
static void put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v; }
static void put32(uint8_t *p, uint32_t v)
{
    p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}

/* The SCTP checksum (RFC 4960 appendix B): CRC32c over the packet with the
 * checksum field zeroed, stored least significant byte first. */
static void
sctp_set_checksum(uint8_t *pkt, size_t len)
{
    memset(pkt + 8, 0, 4);
    uint32_t c = crc32c(pkt, len);
    pkt[8] = c; pkt[9] = c >> 8; pkt[10] = c >> 16; pkt[11] = c >> 24;
}

static bool
sctp_checksum_ok(const uint8_t *pkt, size_t len)
{
    uint8_t buf[2048];
    if (len > sizeof buf || len < 12) {
        return false;
    }
    memcpy(buf, pkt, len);
    sctp_set_checksum(buf, len);
    return !memcmp(buf + 8, pkt + 8, 4);
}

enum { SCTP_INIT = 1, SCTP_INIT_ACK = 2, SCTP_ABORT = 6 };

static uint32_t
rand32_nonzero(void)
{
    uint32_t v;
    do {
        v = (uint32_t) random() << 16 ^ (uint32_t) random();
    } while (!v);
    return v;
}

/* Builds an INIT from SPORT to DPORT with initiate tag TAG; returns length. */
static size_t
sctp_build_init(uint8_t *pkt, uint16_t sport, uint16_t dport, uint32_t tag)
{
    memset(pkt, 0, 32);
    put16(pkt, sport);
    put16(pkt + 2, dport);
    put32(pkt + 4, 0);                  /* verification tag of an INIT is 0 */
    uint8_t *c = pkt + 12;
    c[0] = SCTP_INIT;
    put16(c + 2, 20);
    put32(c + 4, tag);                  /* initiate tag */
    put32(c + 8, 65536);                /* a_rwnd */
    put16(c + 12, 1);                   /* outbound streams */
    put16(c + 14, 1);                   /* inbound streams */
    put32(c + 16, tag ^ 0x5a5a5a5a);    /* initial TSN */
    sctp_set_checksum(pkt, 32);
    return 32;
}

/* Reply to INIT packet IN (from its source): INIT-ACK if ACCEPT, else ABORT. */
static size_t
sctp_build_reply(uint8_t *pkt, const uint8_t *in, bool accept)
{
    uint32_t peer_tag = get32(in + 12 + 4);
    put16(pkt, get16(in + 2));
    put16(pkt + 2, get16(in));
    put32(pkt + 4, peer_tag);
    uint8_t *c = pkt + 12;
    if (!accept) {
        c[0] = SCTP_ABORT;
        c[1] = 0;
        put16(c + 2, 4);
        sctp_set_checksum(pkt, 16);
        return 16;
    }
    uint32_t tag = rand32_nonzero();
    c[0] = SCTP_INIT_ACK;
    c[1] = 0;
    put16(c + 2, 20 + 12);
    put32(c + 4, tag);
    put32(c + 8, 65536);
    put16(c + 12, 1);
    put16(c + 14, 1);
    put32(c + 16, tag ^ 0xa5a5a5a5);
    uint8_t *cookie = c + 20;           /* State Cookie parameter, 8 bytes */
    put16(cookie, 7);
    put16(cookie + 2, 12);
    put32(cookie + 4, peer_tag);
    put32(cookie + 8, tag);
    sctp_set_checksum(pkt, 12 + 32);
    return 12 + 32;
}

/* Splits a raw datagram received on FAMILY's raw socket into the SCTP packet
 * and its source address.  IPv4 raw sockets deliver the IP header, IPv6 ones
 * do not.  Returns the SCTP payload length or -1. */
static ssize_t
raw_sctp_payload(int family, uint8_t *buf, ssize_t n, const uint8_t **sctp)
{
    if (family == AF_INET) {
        if (n < 20) {
            return -1;
        }
        size_t ihl = (buf[0] & 0x0f) * 4;
        if (ihl < 20 || (ssize_t) ihl + 16 > n) {
            return -1;
        }
        *sctp = buf + ihl;
        return n - ihl;
    }
    if (n < 16) {
        return -1;
    }
    *sctp = buf;
    return n;
}

/* ---- addresses -------------------------------------------------------- */

struct addr {
    int family;
    union {
        struct sockaddr sa;
        struct sockaddr_in sin;
        struct sockaddr_in6 sin6;
        struct sockaddr_storage ss;
    } u;
    socklen_t len;
};

static bool
parse_addr(const char *s, int port, struct addr *a)
{
    memset(a, 0, sizeof *a);
    if (inet_pton(AF_INET, s, &a->u.sin.sin_addr) == 1) {
        a->family = a->u.sin.sin_family = AF_INET;
        a->u.sin.sin_port = htons(port);
        a->len = sizeof a->u.sin;
        return true;
    }
    if (inet_pton(AF_INET6, s, &a->u.sin6.sin6_addr) == 1) {
        a->family = a->u.sin6.sin6_family = AF_INET6;
        a->u.sin6.sin6_port = htons(port);
        a->len = sizeof a->u.sin6;
        return true;
    }
    return false;
}

static void
any_addr(int family, int port, struct addr *a)
{
    memset(a, 0, sizeof *a);
    a->family = family;
    if (family == AF_INET) {
        a->u.sin.sin_family = AF_INET;
        a->u.sin.sin_port = htons(port);
        a->len = sizeof a->u.sin;
    } else {
        a->u.sin6.sin6_family = AF_INET6;
        a->u.sin6.sin6_port = htons(port);
        a->len = sizeof a->u.sin6;
    }
}

/* Does the source of a raw datagram (FROM, or for IPv4 the header in BUF)
 * equal A's address? */
static bool
raw_src_is(int family, const uint8_t *buf, const struct sockaddr_storage *from,
           const struct addr *a)
{
    if (family != a->family) {
        return false;
    }
    if (family == AF_INET) {
        return !memcmp(buf + 12, &a->u.sin.sin_addr, 4);
    }
    return !memcmp(&((const struct sockaddr_in6 *) from)->sin6_addr,
                   &a->u.sin6.sin6_addr, 16);
}

/* ---- spec files ------------------------------------------------------- */

/* Reads FILE into an array of lines split into words (comments '#' and
 * blank lines dropped).  Each entry is a NULL-terminated argv. */
struct line {
    char **w;
    int n;
    int lineno;
};

static struct line *
read_spec(const char *file, int *n_lines)
{
    FILE *f = !strcmp(file, "-") ? stdin : fopen(file, "r");
    if (!f) {
        die("%s: %s", file, strerror(errno));
    }
    struct line *lines = NULL;
    int n = 0, cap = 0, lineno = 0;
    char *buf = NULL;
    size_t bufsize = 0;
    while (getline(&buf, &bufsize, f) > 0) {
        lineno++;
        char *hash = strchr(buf, '#');
        if (hash) {
            *hash = '\0';
        }
        char **w = NULL;
        int nw = 0;
        for (char *save = NULL, *t = strtok_r(buf, " \t\r\n", &save); t;
             t = strtok_r(NULL, " \t\r\n", &save)) {
            w = xrealloc(w, (nw + 2) * sizeof *w);
            w[nw++] = strdup(t);
            w[nw] = NULL;
        }
        if (!nw) {
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            lines = xrealloc(lines, cap * sizeof *lines);
        }
        lines[n++] = (struct line) { w, nw, lineno };
    }
    free(buf);
    if (f != stdin) {
        fclose(f);
    }
    *n_lines = n;
    return lines;
}

static void
free_spec(struct line *lines, int n)
{
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < lines[i].n; k++) {
            free(lines[i].w[k]);
        }
        free(lines[i].w);
    }
    free(lines);
}

static int
parse_port(const char *s)
{
    char *end;
    long v = strtol(s, &end, 10);
    return *end || v < 0 || v > 65535 ? -1 : (int) v;
}

/* ---- serve ------------------------------------------------------------ */

struct nsid {
    char *name;
    dev_t dev;
    ino_t ino;
};

struct listener {
    struct nsid ns;
    int proto;          /* P_TCP, P_UDP: one socket; P_SCTP: raw socket */
    int port;           /* P_SCTP: 0 (the raw socket serves the netns) */
    int family;         /* of the socket */
    int fd;
    uint8_t *sctp_ports;        /* P_SCTP: bitmap of listened ports */
    bool keep;
};

static struct listener *lst;
static int n_lst;
static volatile sig_atomic_t got_hup, got_term;

static void on_hup(int sig) { (void) sig; got_hup = 1; }
static void on_term(int sig) { (void) sig; got_term = 1; }

static int
open_listener(int proto, int port, int *family)
{
    int type = proto == P_TCP ? SOCK_STREAM : SOCK_DGRAM;
    for (int attempt = 0; attempt < 2; attempt++) {
        int fam = attempt ? AF_INET : AF_INET6;
        int fd = socket(fam, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            continue;
        }
        int one = 1, zero = 0;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (fam == AF_INET6) {
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
        }
        struct addr a;
        any_addr(fam, port, &a);
        if (bind(fd, &a.u.sa, a.len) < 0
            || (proto == P_TCP && listen(fd, 4096) < 0)) {
            int e = errno;
            close(fd);
            errno = e;
            if (attempt) {
                return -1;
            }
            continue;
        }
        *family = fam;
        return fd;
    }
    return -1;
}

static bool
same_ns(const struct nsid *a, const char *name, dev_t dev, ino_t ino)
{
    return !strcmp(a->name, name) && a->dev == dev && a->ino == ino;
}

/* Re-reads the spec: keeps listeners that are still wanted, opens new ones,
 * closes the rest.  Returns the number of listeners that failed to open. */
static int
serve_load(const char *spec)
{
    int n_lines, failed = 0;
    struct line *lines = read_spec(spec, &n_lines);
    for (int i = 0; i < n_lst; i++) {
        lst[i].keep = false;
        if (lst[i].sctp_ports) {
            memset(lst[i].sctp_ports, 0, 8192);
        }
    }
    for (int i = 0; i < n_lines; i++) {
        struct line *l = &lines[i];
        int proto = l->n >= 3 ? parse_proto(l->w[1]) : -1;
        if (proto < 0) {
            fprintf(stderr, "np-probe: %s:%d: expected NETNS PROTO PORT...\n",
                    spec, l->lineno);
            failed++;
            continue;
        }
        dev_t dev;
        ino_t ino;
        if (enter_netns(l->w[0], &dev, &ino) < 0) {
            fprintf(stderr, "np-probe: netns %s: %s\n", l->w[0], strerror(errno));
            failed += l->n - 2;
            continue;
        }
        for (int k = 2; k < l->n; k++) {
            int port = parse_port(l->w[k]);
            if (port <= 0) {
                fprintf(stderr, "np-probe: %s:%d: bad port %s\n", spec, l->lineno, l->w[k]);
                failed++;
                continue;
            }
            if (proto == P_SCTP) {
                /* one raw socket per family and netns */
                for (int fi = 0; fi < 2; fi++) {
                    int fam = fi ? AF_INET6 : AF_INET;
                    struct listener *found = NULL;
                    for (int j = 0; j < n_lst; j++) {
                        if (lst[j].proto == P_SCTP && lst[j].family == fam
                            && same_ns(&lst[j].ns, l->w[0], dev, ino)) {
                            found = &lst[j];
                        }
                    }
                    if (!found) {
                        int fd = socket(fam, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
                                        IPPROTO_SCTP);
                        if (fd < 0) {
                            fprintf(stderr, "np-probe: netns %s: raw SCTP socket: %s\n",
                                    l->w[0], strerror(errno));
                            failed++;
                            continue;
                        }
                        lst = xrealloc(lst, (n_lst + 1) * sizeof *lst);
                        found = &lst[n_lst++];
                        *found = (struct listener) {
                            .ns = { strdup(l->w[0]), dev, ino },
                            .proto = P_SCTP, .family = fam, .fd = fd,
                            .sctp_ports = xcalloc(8192, 1),
                        };
                    }
                    found->keep = true;
                    found->sctp_ports[port / 8] |= 1 << (port % 8);
                }
                continue;
            }
            struct listener *found = NULL;
            for (int j = 0; j < n_lst; j++) {
                if (lst[j].proto == proto && lst[j].port == port
                    && same_ns(&lst[j].ns, l->w[0], dev, ino)) {
                    found = &lst[j];
                }
            }
            if (!found) {
                int fam = AF_INET6;
                int fd = open_listener(proto, port, &fam);
                if (fd < 0) {
                    fprintf(stderr, "np-probe: netns %s: %s port %d: %s\n", l->w[0],
                            proto_names[proto], port, strerror(errno));
                    failed++;
                    continue;
                }
                lst = xrealloc(lst, (n_lst + 1) * sizeof *lst);
                found = &lst[n_lst++];
                *found = (struct listener) {
                    .ns = { strdup(l->w[0]), dev, ino },
                    .proto = proto, .port = port, .family = fam, .fd = fd,
                };
            }
            found->keep = true;
        }
        leave_netns();
    }
    free_spec(lines, n_lines);

    int k = 0;
    for (int i = 0; i < n_lst; i++) {
        if (lst[i].keep) {
            lst[k++] = lst[i];
        } else {
            close(lst[i].fd);
            free(lst[i].ns.name);
            free(lst[i].sctp_ports);
        }
    }
    n_lst = k;
    return failed;
}

static void
serve_event(struct listener *l)
{
    uint8_t buf[65536];
    for (int budget = 0; budget < 256; budget++) {
        if (l->proto == P_TCP) {
            int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
            if (fd < 0) {
                return;
            }
            close(fd);
        } else if (l->proto == P_UDP) {
            struct sockaddr_storage from;
            socklen_t flen = sizeof from;
            ssize_t n = recvfrom(l->fd, buf, sizeof buf, 0, (struct sockaddr *) &from, &flen);
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK) {
                    return;
                }
                continue;       /* e.g. ECONNREFUSED from an earlier reply */
            }
            sendto(l->fd, buf, n, 0, (struct sockaddr *) &from, flen);
        } else {
            struct sockaddr_storage from;
            socklen_t flen = sizeof from;
            ssize_t n = recvfrom(l->fd, buf, sizeof buf, 0, (struct sockaddr *) &from, &flen);
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK) {
                    return;
                }
                continue;
            }
            const uint8_t *s;
            ssize_t len = raw_sctp_payload(l->family, buf, n, &s);
            if (len < 32 || s[12] != SCTP_INIT || get32(s + 4) != 0) {
                continue;       /* not an INIT (INIT-ACKs to our probes, etc.) */
            }
            if (!sctp_checksum_ok(s, len)) {
                fprintf(stderr, "np-probe: dropping SCTP INIT with a bad checksum\n");
                continue;
            }
            int dport = get16(s + 2);
            bool accept = l->sctp_ports[dport / 8] & (1 << (dport % 8));
            uint8_t out[64];
            size_t olen = sctp_build_reply(out, s, accept);
            if (l->family == AF_INET6) {
                ((struct sockaddr_in6 *) &from)->sin6_port = 0;
            } else {
                ((struct sockaddr_in *) &from)->sin_port = 0;
            }
            sendto(l->fd, out, olen, 0, (struct sockaddr *) &from, flen);
        }
    }
}

static int
cmd_serve(const char *spec, bool control_stdin)
{
    struct sigaction sa = { .sa_handler = on_hup };
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int failed = serve_load(spec);
    printf("ready %d%s", n_lst, failed ? "" : "\n");
    if (failed) {
        printf(" failed=%d\n", failed);
    }
    fflush(stdout);

    char cmdbuf[256];
    size_t cmdlen = 0;
    struct pollfd *pfd = NULL;
    while (!got_term) {
        if (got_hup) {
            got_hup = 0;
            failed = serve_load(spec);
            printf("ready %d", n_lst);
            printf(failed ? " failed=%d\n" : "\n", failed);
            fflush(stdout);
        }
        int base = control_stdin ? 1 : 0;
        pfd = xrealloc(pfd, (n_lst + 1) * sizeof *pfd);
        if (control_stdin) {
            pfd[0] = (struct pollfd) { .fd = 0, .events = POLLIN };
        }
        for (int i = 0; i < n_lst; i++) {
            pfd[base + i] = (struct pollfd) { .fd = lst[i].fd, .events = POLLIN };
        }
        int r = poll(pfd, base + n_lst, -1);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            die("poll: %s", strerror(errno));
        }
        for (int i = 0; i < n_lst; i++) {
            if (pfd[base + i].revents) {
                serve_event(&lst[i]);
            }
        }
        if (control_stdin && pfd[0].revents) {
            ssize_t n = read(0, cmdbuf + cmdlen, sizeof cmdbuf - 1 - cmdlen);
            if (n <= 0) {
                break;          /* parent gone */
            }
            cmdlen += n;
            cmdbuf[cmdlen] = '\0';
            char *nl;
            while ((nl = strchr(cmdbuf, '\n'))) {
                *nl = '\0';
                if (!strcmp(cmdbuf, "reload")) {
                    got_hup = 1;
                } else if (!strcmp(cmdbuf, "quit")) {
                    got_term = 1;
                } else if (cmdbuf[0]) {
                    fprintf(stderr, "np-probe: unknown command '%s'\n", cmdbuf);
                }
                memmove(cmdbuf, nl + 1, strlen(nl + 1) + 1);
                cmdlen = strlen(cmdbuf);
            }
            if (cmdlen == sizeof cmdbuf - 1) {
                cmdlen = 0;
            }
        }
    }
    return 0;
}

/* ---- probe ------------------------------------------------------------ */

enum result { R_PENDING, R_CONNECTED, R_REFUSED, R_TIMEOUT, R_ERROR };
static const char *result_names[] = { "pending", "connected", "refused", "timeout", "error" };

struct rawsock {
    char *ns;
    int family;
    int fd;
};

struct probe {
    char *id;
    char *ns;
    int proto;
    struct addr dst;
    int sport;
    int fd;                     /* TCP/UDP socket, or -1 */
    struct rawsock *raw;        /* SCTP */
    uint32_t tag;               /* SCTP initiate tag; UDP nonce */
    long long t_sent, t_done;
    enum result result;
    char detail[96];
};

static void
finish(struct probe *p, enum result r, const char *fmt, ...)
{
    if (p->result != R_PENDING) {
        return;
    }
    p->result = r;
    p->t_done = now_us();
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->detail, sizeof p->detail, fmt, ap);
        va_end(ap);
    }
    if (p->fd >= 0) {
        close(p->fd);
        p->fd = -1;
    }
}

static enum result
errno_result(int e)
{
    return e == ECONNREFUSED ? R_REFUSED : R_ERROR;
}

static int
cmp_probe_ns(const void *a_, const void *b_)
{
    const struct probe *const *a = a_, *const *b = b_;
    int c = strcmp((*a)->ns, (*b)->ns);
    return c ? c : (*a < *b ? -1 : *a > *b);
}

static void
probe_start(struct probe *p, struct rawsock **raws, int *n_raws)
{
    p->fd = -1;
    if (p->proto == P_SCTP) {
        struct rawsock *r = NULL;
        for (int i = 0; i < *n_raws; i++) {
            if (raws[i]->family == p->dst.family && !strcmp(raws[i]->ns, p->ns)) {
                r = raws[i];
            }
        }
        if (!r) {
            int fd = socket(p->dst.family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
                            IPPROTO_SCTP);
            if (fd < 0) {
                finish(p, R_ERROR, "raw-socket:%s", strerror(errno));
                return;
            }
            int sz = 4 << 20;
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
            r = xcalloc(1, sizeof *r);
            *r = (struct rawsock) { strdup(p->ns), p->dst.family, fd };
            raws[(*n_raws)++] = r;
        }
        p->raw = r;
        p->tag = rand32_nonzero();
        return;
    }
    int type = p->proto == P_TCP ? SOCK_STREAM : SOCK_DGRAM;
    int fd = socket(p->dst.family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        finish(p, R_ERROR, "socket:%s", strerror(errno));
        return;
    }
    p->fd = fd;
    struct addr src;
    any_addr(p->dst.family, p->sport, &src);
    if (bind(fd, &src.u.sa, src.len) < 0) {
        finish(p, R_ERROR, "bind-sport-%d:%s", p->sport, strerror(errno));
        return;
    }
    if (p->proto == P_UDP) {
        int sz = 1 << 16;
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
    }
}

static void
probe_send(struct probe *p)
{
    if (p->result != R_PENDING) {
        return;
    }
    p->t_sent = now_us();
    if (p->proto == P_TCP) {
        if (!connect(p->fd, &p->dst.u.sa, p->dst.len)) {
            finish(p, R_CONNECTED, NULL);       /* at once: loopback only */
        } else if (errno != EINPROGRESS) {
            finish(p, errno_result(errno), "connect:%s", strerror(errno));
        }
    } else if (p->proto == P_UDP) {
        char msg[64];
        p->tag = rand32_nonzero();
        /* At most 40 bytes of the id, so that the datagram fits 'msg' (the
         * tag tells probes apart; the id is for people reading captures). */
        int n = snprintf(msg, sizeof msg, "np-probe %.40s %08" PRIx32, p->id,
                         p->tag);
        if (connect(p->fd, &p->dst.u.sa, p->dst.len) < 0
            || send(p->fd, msg, n, 0) < 0) {
            finish(p, errno_result(errno), "send:%s", strerror(errno));
        }
    } else {
        uint8_t pkt[64];
        size_t len = sctp_build_init(pkt, p->sport, ntohs(p->dst.family == AF_INET
                                                          ? p->dst.u.sin.sin_port
                                                          : p->dst.u.sin6.sin6_port), p->tag);
        struct addr to = p->dst;
        if (to.family == AF_INET) {
            to.u.sin.sin_port = 0;
        } else {
            to.u.sin6.sin6_port = 0;
        }
        if (sendto(p->raw->fd, pkt, len, 0, &to.u.sa, to.len) < 0) {
            finish(p, R_ERROR, "sendto:%s", strerror(errno));
        }
    }
}

static void
probe_event(struct probe *p, short revents)
{
    if (p->proto == P_TCP) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (!err && (revents & POLLOUT)) {
            finish(p, R_CONNECTED, NULL);
        } else if (err) {
            finish(p, errno_result(err), "%s", strerror(err));
        } else if (revents & (POLLERR | POLLHUP)) {
            finish(p, R_ERROR, "hangup");
        }
    } else if (p->proto == P_UDP) {
        char buf[128], msg[64];
        ssize_t n = recv(p->fd, buf, sizeof buf - 1, 0);
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                finish(p, errno_result(errno), "recv:%s", strerror(errno));
            }
            return;
        }
        int m = snprintf(msg, sizeof msg, "np-probe %.40s %08" PRIx32, p->id,
                         p->tag);
        if (n == m && !memcmp(buf, msg, m)) {
            finish(p, R_CONNECTED, NULL);
        }
    }
}

/* Dispatches every datagram waiting on raw socket R to the SCTP probes. */
static void
raw_event(struct rawsock *r, struct probe **sctp, int n_sctp)
{
    uint8_t buf[4096];
    for (;;) {
        struct sockaddr_storage from;
        socklen_t flen = sizeof from;
        ssize_t n = recvfrom(r->fd, buf, sizeof buf, 0, (struct sockaddr *) &from, &flen);
        if (n < 0) {
            return;
        }
        const uint8_t *s;
        ssize_t len = raw_sctp_payload(r->family, buf, n, &s);
        if (len < 16 || (s[12] != SCTP_INIT_ACK && s[12] != SCTP_ABORT)) {
            continue;
        }
        int sport = get16(s), dport = get16(s + 2);
        uint32_t vtag = get32(s + 4);
        for (int i = 0; i < n_sctp; i++) {
            struct probe *p = sctp[i];
            int want = ntohs(p->dst.family == AF_INET ? p->dst.u.sin.sin_port
                             : p->dst.u.sin6.sin6_port);
            if (p->raw != r || p->result != R_PENDING || p->sport != dport
                || want != sport || p->tag != vtag
                || !raw_src_is(r->family, buf, &from, &p->dst)) {
                continue;
            }
            if (!sctp_checksum_ok(s, len)) {
                finish(p, R_ERROR, "bad-sctp-checksum");
            } else if (s[12] == SCTP_INIT_ACK) {
                finish(p, R_CONNECTED, NULL);
            } else {
                finish(p, R_REFUSED, "abort");
            }
        }
    }
}

static int
cmd_probe(const char *spec, int timeout_ms, int sport_base, int burst, int gap_us)
{
    int n_lines;
    struct line *lines = read_spec(spec, &n_lines);
    struct probe *probes = xcalloc(n_lines, sizeof *probes);
    int n = 0;
    for (int i = 0; i < n_lines; i++) {
        struct line *l = &lines[i];
        struct probe *p = &probes[n];
        int proto = l->n >= 5 ? parse_proto(l->w[2]) : -1;
        int dport = l->n >= 5 ? parse_port(l->w[4]) : -1;
        int sport = l->n >= 6 ? parse_port(l->w[5]) : 0;
        if (proto < 0 || dport <= 0 || sport < 0 || l->n > 6
            || !parse_addr(l->w[3], dport, &p->dst)) {
            fprintf(stderr, "np-probe: %s:%d: expected ID NETNS PROTO DST-IP DST-PORT "
                    "[SRC-PORT]\n", spec, l->lineno);
            return 2;
        }
        p->id = l->w[0];
        p->ns = l->w[1];
        p->proto = proto;
        p->sport = sport ? sport : sport_base + i;
        p->fd = -1;
        if (p->sport > 65535) {
            fprintf(stderr, "np-probe: %s:%d: source port %d out of range\n",
                    spec, l->lineno, p->sport);
            return 2;
        }
        n++;
    }

    /* Create every socket, one setns() per netns. */
    struct probe **order = xcalloc(n, sizeof *order);
    for (int i = 0; i < n; i++) {
        order[i] = &probes[i];
    }
    qsort(order, n, sizeof *order, cmp_probe_ns);
    struct rawsock **raws = xcalloc(2 * n, sizeof *raws);
    int n_raws = 0;
    const char *cur = NULL;
    bool cur_ok = false;
    int cur_errno = 0;
    for (int i = 0; i < n; i++) {
        struct probe *p = order[i];
        if (!cur || strcmp(cur, p->ns)) {
            cur = p->ns;
            cur_ok = enter_netns(cur, NULL, NULL) == 0;
            cur_errno = errno;
        }
        if (!cur_ok) {
            p->fd = -1;
            finish(p, R_ERROR, "netns:%s", strerror(cur_errno));
            continue;
        }
        probe_start(p, raws, &n_raws);
    }
    leave_netns();

    /* Send everything, then wait. */
    struct probe **sctp = xcalloc(n, sizeof *sctp);
    int n_sctp = 0;
    for (int i = 0; i < n; i++) {
        if (i && burst > 0 && i % burst == 0 && gap_us > 0) {
            /* pace: a burst of thousands of packets at once could overflow a
             * CPU's backlog (net.core.netdev_max_backlog) when veths hand them
             * on, and a dropped packet would read as "denied" */
            usleep(gap_us);
        }
        probe_send(&probes[i]);
        if (probes[i].proto == P_SCTP) {
            sctp[n_sctp++] = &probes[i];
        }
    }
    struct pollfd *pfd = xcalloc(n + n_raws, sizeof *pfd);
    struct probe **pmap = xcalloc(n, sizeof *pmap);
    for (;;) {
        long long now = now_us();
        long long next = -1;
        int np = 0;
        for (int i = 0; i < n; i++) {
            struct probe *p = &probes[i];
            if (p->result != R_PENDING) {
                continue;
            }
            long long deadline = p->t_sent + timeout_ms * 1000LL;
            if (now >= deadline) {
                finish(p, R_TIMEOUT, NULL);
                continue;
            }
            if (next < 0 || deadline < next) {
                next = deadline;
            }
            if (p->fd >= 0) {
                pfd[np] = (struct pollfd) {
                    .fd = p->fd, .events = p->proto == P_TCP ? POLLOUT : POLLIN };
                pmap[np++] = p;
            }
        }
        if (next < 0) {
            break;
        }
        int n_sock = np;
        for (int i = 0; i < n_raws; i++) {
            pfd[np++] = (struct pollfd) { .fd = raws[i]->fd, .events = POLLIN };
        }
        int wait_ms = (int) ((next - now + 999) / 1000);
        int r = poll(pfd, np, wait_ms);
        if (r < 0 && errno != EINTR) {
            die("poll: %s", strerror(errno));
        }
        for (int i = 0; r > 0 && i < np; i++) {
            if (!pfd[i].revents) {
                continue;
            }
            if (i < n_sock) {
                probe_event(pmap[i], pfd[i].revents);
            } else {
                raw_event(raws[i - n_sock], sctp, n_sctp);
            }
        }
    }

    for (int i = 0; i < n; i++) {
        struct probe *p = &probes[i];
        long long ms10 = p->t_sent ? (p->t_done - p->t_sent) / 100 : 0;
        printf("%s %s %lld.%lld%s%s\n", p->id, result_names[p->result], ms10 / 10,
               ms10 % 10, p->detail[0] ? " " : "", p->detail);
    }
    fflush(stdout);
    for (int i = 0; i < n_raws; i++) {
        close(raws[i]->fd);
    }
    return 0;
}

/* ---- main ------------------------------------------------------------- */

static void
usage(void)
{
    fprintf(stderr,
            "usage: np-probe serve --spec FILE [--control-stdin]\n"
            "       np-probe probe --spec FILE [--timeout-ms MS] [--sport-base N]\n"
            "                      [--burst N] [--gap-us US]\n"
            "       np-probe crc32c STRING   (self-test helper)\n"
            "serve spec lines: NETNS tcp|udp|sctp PORT [PORT...]\n"
            "probe spec lines: ID NETNS tcp|udp|sctp DST-IP DST-PORT [SRC-PORT]\n"
            "output: ID connected|refused|timeout|error MS [DETAIL]\n");
    exit(2);
}

int
main(int argc, char *argv[])
{
    if (argc < 2) {
        usage();
    }
    crc32c_init();
    srandom((unsigned) (now_us() ^ getpid() << 16));
    const char *mode = argv[1];
    if (!strcmp(mode, "crc32c") && argc == 3) {
        printf("%08" PRIx32 "\n", crc32c((const uint8_t *) argv[2], strlen(argv[2])));
        return 0;
    }
    const char *spec = NULL;
    bool control_stdin = false;
    int timeout_ms = 1500, sport_base = 20000, burst = 32, gap_us = 200;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--spec") && i + 1 < argc) {
            spec = argv[++i];
        } else if (!strcmp(argv[i], "--control-stdin")) {
            control_stdin = true;
        } else if (!strcmp(argv[i], "--timeout-ms") && i + 1 < argc) {
            timeout_ms = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--sport-base") && i + 1 < argc) {
            sport_base = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--burst") && i + 1 < argc) {
            burst = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--gap-us") && i + 1 < argc) {
            gap_us = atoi(argv[++i]);
        } else {
            usage();
        }
    }
    if (!spec || timeout_ms <= 0 || sport_base <= 0 || sport_base > 65535) {
        usage();
    }
    raise_nofile();
    init_netns();
    if (!strcmp(mode, "serve")) {
        return cmd_serve(spec, control_stdin);
    } else if (!strcmp(mode, "probe")) {
        return cmd_probe(spec, timeout_ms, sport_base, burst, gap_us);
    }
    usage();
}
