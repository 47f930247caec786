/* ovs-loop: Open vSwitch's poll loop, run inside a libev loop.  See
 * include/ovs-loop.h. */

#include <config.h>

#include "ovs-loop.h"

#include <ev.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fatal-signal.h"
#include "openvswitch/vlog.h"
#include "ovs-rcu.h"
#include "seq.h"
#include "timeval.h"
#include "lib/util.h"      /* OVS's; ours is include/np-util.h. */

VLOG_DEFINE_THIS_MODULE(ovs_loop);

/* The originals, for requests from other threads (--wrap makes them reachable
 * under these names). */
void __real_poll_fd_wait_at(int fd, short int events, const char *where);
void __real_poll_timer_wait_at(long long int msec, const char *where);
void __real_poll_timer_wait_until_at(long long int when, const char *where);
void __real_poll_immediate_wake_at(const char *where);

/* Their replacements, called by libopenvswitch. */
void __wrap_poll_fd_wait_at(int fd, short int events, const char *where);
void __wrap_poll_timer_wait_at(long long int msec, const char *where);
void __wrap_poll_timer_wait_until_at(long long int when, const char *where);
void __wrap_poll_immediate_wake_at(const char *where);

struct ovs_loop_client {
    ovs_loop_fn *run;
    ovs_loop_fn *wait;
    void *aux;
    bool dead;                  /* Unregistered while iterating. */
};

static struct {
    bool inited;
    struct ev_loop *loop;
    pthread_t thread;

    ev_prepare prepare;
    ev_timer timer;
    long long int timeout_when; /* time_msec() of the armed timer, or
                                 * LLONG_MAX if it is not armed. */

    /* ev_io watchers, each allocated on its own because libev keeps
     * pointers to active watchers; the first 'n_active' are started. */
    ev_io **ios;
    size_t n_ios;
    size_t n_active;

    struct ovs_loop_client **clients;
    size_t n_clients;
    size_t allocated_clients;
    int iterating;              /* Nesting depth of loops over 'clients'. */

    unsigned long long n_iterations;
    unsigned int last_n_fds;
} L;

static bool
on_loop_thread(void)
{
    return L.inited && pthread_equal(pthread_self(), L.thread);
}

static void
io_cb(struct ev_loop *loop, ev_io *io, int revents)
{
    /* Nothing to do: waking up is the point.  The prepare watcher of the
     * next iteration calls the run functions. */
}

static void
timer_cb(struct ev_loop *loop, ev_timer *timer, int revents)
{
}

static void
add_fd(int fd, short int events)
{
    int ev_events = 0;
    ev_io *io;

    if (events & POLLIN) {
        ev_events |= EV_READ;
    }
    if (events & POLLOUT) {
        ev_events |= EV_WRITE;
    }
    if (!ev_events || fd < 0) {
        /* POLLPRI and the like alone: OVS never asks for them on its own
         * sockets.  Wake up at once rather than never. */
        __wrap_poll_immediate_wake_at(NULL);
        return;
    }

    if (L.n_active >= L.n_ios) {
        L.ios = xrealloc(L.ios, (L.n_ios + 1) * sizeof *L.ios);
        L.ios[L.n_ios] = xzalloc(sizeof *L.ios[L.n_ios]);
        ev_init(L.ios[L.n_ios], io_cb);
        L.n_ios++;
    }
    io = L.ios[L.n_active++];
    /* ev_io_set() every time: libev then assumes that the descriptor may be
     * a new one with a reused number and registers it again. */
    ev_io_set(io, fd, ev_events);
    ev_io_start(L.loop, io);
}

static void
add_timer(long long int when)
{
    long long int now;
    double delay;

    if (when >= L.timeout_when) {
        return;
    }
    L.timeout_when = when;

    now = time_msec();
    delay = when > now ? (when - now) / 1000.0 : 0.0;
    ev_timer_stop(L.loop, &L.timer);
    ev_timer_set(&L.timer, delay, 0.0);
    ev_timer_start(L.loop, &L.timer);
}

static void
disarm(void)
{
    size_t i;

    for (i = 0; i < L.n_active; i++) {
        ev_io_stop(L.loop, L.ios[i]);
    }
    L.n_active = 0;
    ev_timer_stop(L.loop, &L.timer);
    L.timeout_when = LLONG_MAX;
}

/* Removes the entries unregistered during an iteration. */
static void
compact_clients(void)
{
    size_t i, n = 0;

    for (i = 0; i < L.n_clients; i++) {
        if (L.clients[i]->dead) {
            free(L.clients[i]);
        } else {
            L.clients[n++] = L.clients[i];
        }
    }
    L.n_clients = n;
}

static void
prepare_cb(struct ev_loop *loop, ev_prepare *prepare, int revents)
{
    size_t i, n;

    L.n_iterations++;

    /* What poll_block() does after poll() returns: clear this thread's seq
     * latch, which seq_wait() waits on, or it stays readable forever, and
     * act on fatal signals (runs OVS's hooks and re-raises the signal). */
    seq_woke();
    fatal_signal_run();

    disarm();

    /* Entries registered from a run function start next iteration. */
    L.iterating++;
    n = L.n_clients;
    for (i = 0; i < n; i++) {
        struct ovs_loop_client *c = L.clients[i];
        if (!c->dead && c->run) {
            c->run(c->aux);
        }
    }
    /* The run functions may have taken a while: have ev_timer measure from
     * now, or it fires early and costs an iteration. */
    ev_now_update(L.loop);
    fatal_signal_wait();
    n = L.n_clients;
    for (i = 0; i < n; i++) {
        struct ovs_loop_client *c = L.clients[i];
        if (!c->dead && c->wait) {
            c->wait(c->aux);
        }
    }
    L.iterating--;
    if (!L.iterating) {
        compact_clients();
    }

    /* This thread holds no RCU-protected pointers across iterations. */
    ovsrcu_quiesce();

    L.last_n_fds = L.n_active;
}

void
ovs_loop_init(struct ev_loop *loop)
{
    if (L.inited) {
        ovs_assert(L.loop == loop);
        return;
    }

    fatal_ignore_sigpipe();
    fatal_signal_init();
    vlog_set_levels(NULL, VLF_CONSOLE, VLL_WARN);
    /* rconn warns about every failed connection attempt: 20 lines a
     * second while the switch is away.  switch-of reports an outage once,
     * with its cause, instead. */
    vlog_set_levels(vlog_module_from_name("rconn"), VLF_CONSOLE, VLL_ERR);
    /* Close to np-log's text lines: "2026-11-27T12:00:00.123Z WARN rconn:
     * ...". */
    vlog_set_pattern(VLF_CONSOLE, "%D{%Y-%m-%dT%H:%M:%S.###Z} %p %c: %m");

    L.loop = loop;
    L.thread = pthread_self();
    L.timeout_when = LLONG_MAX;
    ev_prepare_init(&L.prepare, prepare_cb);
    ev_set_priority(&L.prepare, EV_MINPRI);
    ev_prepare_start(loop, &L.prepare);
    ev_init(&L.timer, timer_cb);
    L.inited = true;
}

void
ovs_loop_destroy(void)
{
    size_t i;

    if (!L.inited) {
        return;
    }
    disarm();
    ev_prepare_stop(L.loop, &L.prepare);
    for (i = 0; i < L.n_ios; i++) {
        free(L.ios[i]);
    }
    free(L.ios);
    for (i = 0; i < L.n_clients; i++) {
        free(L.clients[i]);
    }
    free(L.clients);
    memset(&L, 0, sizeof L);
}

struct ovs_loop_client *
ovs_loop_register(ovs_loop_fn *run, ovs_loop_fn *wait, void *aux)
{
    struct ovs_loop_client *c;

    ovs_assert(L.inited);
    c = xzalloc(sizeof *c);
    c->run = run;
    c->wait = wait;
    c->aux = aux;
    if (L.n_clients >= L.allocated_clients) {
        L.clients = x2nrealloc(L.clients, &L.allocated_clients,
                               sizeof *L.clients);
    }
    L.clients[L.n_clients++] = c;
    ovs_loop_wake();
    return c;
}

void
ovs_loop_unregister(struct ovs_loop_client *c)
{
    size_t i;

    if (!c) {
        return;
    }
    if (L.iterating) {
        c->dead = true;
        return;
    }
    for (i = 0; i < L.n_clients; i++) {
        if (L.clients[i] == c) {
            memmove(&L.clients[i], &L.clients[i + 1],
                    (L.n_clients - i - 1) * sizeof *L.clients);
            L.n_clients--;
            break;
        }
    }
    free(c);
}

void
ovs_loop_wake(void)
{
    if (L.inited) {
        add_timer(LLONG_MIN);
    }
}

char *
ovs_loop_set_log_levels(const char *spec)
{
    return vlog_set_levels_from_string(spec);
}

unsigned long long
ovs_loop_n_iterations(void)
{
    return L.n_iterations;
}

unsigned int
ovs_loop_n_fds(void)
{
    return L.last_n_fds;
}

/* The wrapped functions. */

void
__wrap_poll_fd_wait_at(int fd, short int events, const char *where)
{
    if (on_loop_thread()) {
        add_fd(fd, events);
    } else {
        __real_poll_fd_wait_at(fd, events, where);
    }
}

void
__wrap_poll_timer_wait_at(long long int msec, const char *where)
{
    if (on_loop_thread()) {
        long long int now = time_msec();

        /* As OVS computes it, saturating. */
        add_timer(msec <= 0 ? LLONG_MIN
                  : (unsigned long long int) now + msec <= LLONG_MAX
                  ? now + msec : LLONG_MAX);
    } else {
        __real_poll_timer_wait_at(msec, where);
    }
}

void
__wrap_poll_timer_wait_until_at(long long int when, const char *where)
{
    if (on_loop_thread()) {
        add_timer(when);
    } else {
        __real_poll_timer_wait_until_at(when, where);
    }
}

void
__wrap_poll_immediate_wake_at(const char *where)
{
    if (on_loop_thread()) {
        add_timer(LLONG_MIN);
    } else {
        __real_poll_immediate_wake_at(where);
    }
}
