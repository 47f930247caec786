/* The daemon's control socket, speaking Open vSwitch's unixctl protocol, so
 * that both 'ovs-netpol --control PATH CMD' and 'ovs-appctl -t PATH CMD'
 * reach it.  Runs on ovs-loop.  Handlers may answer at once or later (the
 * 'sync' command answers when the flows are committed): they get a request
 * handle that stays valid until control_reply() is called on it, or until
 * its cancel function (control_set_cancel()) is called.
 *
 * The socket
 * ----------
 * One daemon per socket: control_create() takes an flock() on PATH.pid
 * (which holds the daemon's pid) and fails, naming that pid, while another
 * process holds it.  It creates PATH's directory (mode 0750) if it is
 * missing, replaces only a socket that nothing answers on (left by a
 * daemon that died), and refuses anything else at PATH: a regular file, a
 * directory, a symbolic link, a socket someone listens on.  The socket is
 * made CONTROL_SOCKET_MODE whatever the umask: only its owner (root) may
 * connect.  control_destroy() removes the socket and PATH.pid, each only if
 * it is still the one we created.  A relative PATH is relative to the
 * working directory (OVS would take it as relative to its run directory).
 *
 * Bounds
 * ------
 * A request larger than CONTROL_MAX_REQUEST bytes gets an error and its
 * connection is closed; at most CONTROL_MAX_CONNS connections are open at
 * once (more are closed as they come).  A client that goes away while its
 * request is pending (an abandoned 'sync') is noticed at once: the
 * request's cancel function runs, so its owner can release what it holds.
 * One request at a time per connection, as ovs-appctl sends them.
 *
 * Besides the registered commands the socket answers 'list-commands',
 * 'vlog/set' and 'vlog/list' (the levels of libopenvswitch's own log), as
 * OVS daemons do. */
#ifndef NP_CONTROL_H
#define NP_CONTROL_H 1

#include <stdbool.h>

/* The largest request read: ovs-appctl sends a few hundred bytes, 'explain'
 * of a whole dump-flows line a few kilobytes. */
#define CONTROL_MAX_REQUEST (1024 * 1024)
/* Connections open at once.  More than the daemon's limits on waiting
 * 'sync' and 'trace' requests together, so that those limits answer with
 * their own errors. */
#define CONTROL_MAX_CONNS 128
#define CONTROL_SOCKET_MODE 0750

struct control;
struct control_request;

typedef void control_handler(struct control_request *, int argc,
                             const char *argv[], void *aux);

/* Listens on 'path' (see above).  Returns NULL and a malloc'd message in
 * '*error' on failure, e.g. "another ovs-netpold (pid 4242) is using the
 * control socket /run/x.ctl (it holds the lock /run/x.ctl.pid)". */
struct control *control_create(const char *path, char **error);
/* Closes every connection and removes our files.  Requests not answered by
 * then are dropped: do not reply to them afterwards.  Accepts NULL. */
void control_destroy(struct control *);

/* 'argv[0]' of a handler is the command name; 'min_args' and 'max_args'
 * count the arguments after it.  Commands are registered once per process;
 * a name registered again keeps its first handler. */
void control_register(const char *name, const char *usage, int min_args,
                      int max_args, control_handler *, void *aux);

/* Answers 'req' with 'text' and frees 'req'; 'ok' false makes it an error
 * (ovs-appctl then exits with status 2).  Once the client has gone, the
 * answer goes nowhere. */
void control_reply(struct control_request *req, bool ok, const char *text);

/* Called when the client of 'req' goes away before control_reply(): the
 * owner must drop 'req' (it is freed after the call, and must not be
 * answered) and release what it held for it.  Without one, the owner
 * answers as usual and the answer goes nowhere. */
typedef void control_cancel_fn(struct control_request *req, void *aux);
void control_set_cancel(struct control_request *, control_cancel_fn *,
                        void *aux);

/* Client side, for the CLI: sends 'argv' (argc >= 1) to the daemon at
 * 'path' and waits for the answer.  Returns 0 and a malloc'd answer in
 * '*result', or 1 and the daemon's error in '*result', or 2 and a message
 * when the daemon could not be reached. */
int control_call(const char *path, int argc, char *argv[], char **result);

#endif
