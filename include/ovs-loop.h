/* ovs-loop: Open vSwitch's poll loop, run inside a libev loop.
 *
 * libopenvswitch's connections (rconn for OpenFlow, the OVSDB IDL) expose no
 * file descriptors: each has a *_run() function that does the work that is
 * due and a *_wait() function that tells OVS's poll loop, through
 * poll_fd_wait(), poll_timer_wait() and poll_immediate_wake(), what to wait
 * for before the next *_run().  This module turns those wait requests into
 * libev watchers, on one thread, the libev loop's (DESIGN.md §4 (a)):
 *
 *   - Programs that link this module are linked with
 *       -Wl,--wrap=poll_fd_wait_at,--wrap=poll_timer_wait_at,
 *        --wrap=poll_timer_wait_until_at,--wrap=poll_immediate_wake_at
 *     (SWITCH_WRAP in ovs/switch.mk), so that every such request inside
 *     libopenvswitch lands here.  Requests from other threads go on to OVS's
 *     own poll loop unchanged.
 *   - One ev_prepare watcher, at EV_MINPRI so that it runs after every other
 *     prepare watcher of the loop (an engine that queues flow changes in its
 *     own ev_prepare gets them sent in the same iteration), calls every
 *     registered 'run' function and then every 'wait' function, every loop
 *     iteration, and calls ovsrcu_quiesce().
 *   - The wait requests become ev_io watchers, set again (ev_io_set) every
 *     iteration because file descriptor numbers get reused, and one ev_timer.
 *     A request made outside the prepare watcher (say poll_immediate_wake()
 *     from an engine callback) takes effect at once.
 *
 * Signals: ovs_loop_init() ignores SIGPIPE (fatal_ignore_sigpipe()), or a
 * switch restart would kill the process.  OVS installs its own handlers for
 * SIGTERM, SIGINT, SIGHUP, SIGALRM and SIGSEGV where they are still SIG_DFL
 * (ovs_loop_init() makes it do so at once); the prepare watcher then runs
 * OVS's fatal-signal hooks and re-raises such a signal, so the process still
 * dies of it, as OVS daemons do (verified: SIGTERM ends a program that does
 * not handle it).  A program that wants one of them itself starts its
 * ev_signal watcher, before or after ovs_loop_init(): libev's handler
 * replaces OVS's, and OVS leaves an installed handler alone.
 *
 * Everything here runs on the libev loop's thread; nothing blocks. */
#ifndef NP_OVS_LOOP_H
#define NP_OVS_LOOP_H 1

#include <stdbool.h>

struct ev_loop;

/* A function called every loop iteration with the 'aux' it was registered
 * with. */
typedef void ovs_loop_fn(void *aux);

/* Makes 'loop' drive OVS's poll loop; the calling thread becomes the only
 * thread whose OVS wait requests go to 'loop'.  Call once, before
 * ovs_loop_register(); calling it again with the same loop does nothing.
 * Also ignores SIGPIPE and sets OVS's console logging to warnings and worse,
 * rconn's to errors (switch-of reports outages of the switch itself; see
 * ovs_loop_set_log_levels()). */
void ovs_loop_init(struct ev_loop *loop);

/* Stops the watchers and forgets every registration.  The modules that
 * registered must have been destroyed first. */
void ovs_loop_destroy(void);

/* Registers 'run' and 'wait' (either may be NULL): every loop iteration every
 * 'run' is called, in registration order, then every 'wait'.  'run' does the
 * work that is due and may invoke callbacks of the module's users; 'wait'
 * only states, with OVS's poll_*_wait() functions, when 'run' has work
 * next.  Returns a handle for ovs_loop_unregister().  May be called from a
 * run function; the new entry runs from the next iteration on. */
struct ovs_loop_client *ovs_loop_register(ovs_loop_fn *run, ovs_loop_fn *wait,
                                          void *aux);

/* Forgets 'client' (NULL is allowed).  Safe from inside a run or wait
 * function, also for its own registration. */
void ovs_loop_unregister(struct ovs_loop_client *client);

/* Makes the loop run the registered functions again soon, without waiting
 * for any event: call it after changing state that a run function acts on
 * from outside the OVS loop's own callbacks (the switch modules do this
 * themselves). */
void ovs_loop_wake(void);

/* Sets the levels of OVS's log messages (libopenvswitch and the switch
 * modules log through OVS's vlog).  'spec' uses the syntax of OVS's -v
 * option, e.g. "console:warn", "rconn:dbg", "console:info".  Returns NULL,
 * or a malloc()'d error message that the caller frees. */
char *ovs_loop_set_log_levels(const char *spec)
    __attribute__((warn_unused_result));

/* Statistics, for tests and the control socket: iterations of the prepare
 * watcher, and the number of ev_io watchers armed in the last one. */
unsigned long long ovs_loop_n_iterations(void);
unsigned int ovs_loop_n_fds(void);

#endif
