/* Control socket: the unixctl protocol of Open vSwitch (JSON-RPC over a
 * unix socket, what ovs-appctl speaks), served on ovs-loop.  See
 * include/control.h.
 *
 * Our own server on OVS's stream and jsonrpc modules rather than OVS's
 * unixctl_server, which can do neither of two things we need: bound what
 * one request may make us hold (its JSON parser takes any length), and
 * notice that the client of a pending request went away (it stops reading
 * a connection until the reply is sent, so an abandoned 'sync' kept its
 * descriptor and waiter until the sync completed, possibly never).  Nor
 * does it own its socket carefully: it unlinked whatever the path named.
 *
 * This file includes OVS headers (with <config.h> first), so no jansson
 * here; and since libopenvswitch-renamed.a renames json_array() and
 * json_string(), JSON values are read through their struct members. */
#include <config.h>
#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "jsonrpc.h"
#include "lib/unixctl.h"
#include "lib/util.h"
#include "openvswitch/dynamic-string.h"
#include "openvswitch/json.h"
#include "openvswitch/poll-loop.h"
#include "openvswitch/vlog.h"
#include "ovs-loop.h"
#include "stream.h"
#include "stream-fd.h"

VLOG_DEFINE_THIS_MODULE(control);

/* Messages about clients: they are outside input, so rate-limited. */
static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(5, 20);

struct control_conn {
    struct control *c;
    struct control_conn *next;
    struct jsonrpc *rpc;
    int fd;                     /* The stream's, to tell a client that went
                                 * away from one that only stopped
                                 * sending. */
    bool read_eof;              /* The client shut down its sending side
                                 * and waits for the answer. */
    unsigned int msg_start;     /* Bytes received when the request being
                                 * read started (wraps, like the count). */
    struct control_request *pending;    /* At most one at a time. */
    bool closing;               /* Close once the queued reply is sent. */
};

struct control_request {
    struct control_conn *conn;  /* NULL once the client went away. */
    struct json *id;
    control_cancel_fn *cancel;
    void *cancel_aux;
};

struct control {
    char *path;                 /* The socket, absolute. */
    char *lock_path;            /* PATH.pid: our pid, flock()ed. */
    int lock_fd;
    int listen_fd;
    dev_t dev;                  /* The socket we created: removed at exit */
    ino_t ino;                  /* only if the path still names it. */
    struct control_conn *conns;
    unsigned int n_conns;
    struct ovs_loop_client *client;
};

/* Commands.  Registered once per process, like OVS's. */
struct command {
    char *name;
    char *usage;
    int min_args, max_args;
    control_handler *fn;
    void *aux;
};
static struct command *commands;
static size_t n_commands, allocated_commands;

static const struct command *
command_find(const char *name)
{
    for (size_t i = 0; i < n_commands; i++) {
        if (!strcmp(commands[i].name, name)) {
            return &commands[i];
        }
    }
    return NULL;
}

void
control_register(const char *name, const char *usage, int min_args,
                 int max_args, control_handler *fn, void *aux)
{
    if (command_find(name)) {
        return;
    }
    if (n_commands >= allocated_commands) {
        commands = x2nrealloc(commands, &allocated_commands,
                              sizeof *commands);
    }
    struct command *cmd = &commands[n_commands++];
    cmd->name = xstrdup(name);
    cmd->usage = xstrdup(usage);
    cmd->min_args = min_args;
    cmd->max_args = max_args;
    cmd->fn = fn;
    cmd->aux = aux;
}

static int
compare_commands(const void *a_, const void *b_)
{
    const struct command *const *a = a_, *const *b = b_;
    return strcmp((*a)->name, (*b)->name);
}

/* What OVS's unixctl server answers to "list-commands". */
static void
cmd_list_commands(struct control_request *req, int argc, const char *argv[],
                  void *aux)
{
    const struct command **sorted = xmalloc(n_commands * sizeof *sorted);
    for (size_t i = 0; i < n_commands; i++) {
        sorted[i] = &commands[i];
    }
    qsort(sorted, n_commands, sizeof *sorted, compare_commands);
    struct ds ds = DS_EMPTY_INITIALIZER;
    ds_put_cstr(&ds, "The available commands are:\n");
    for (size_t i = 0; i < n_commands; i++) {
        ds_put_format(&ds, "  %-23s %s\n", sorted[i]->name, sorted[i]->usage);
    }
    free(sorted);
    control_reply(req, true, ds_cstr(&ds));
    ds_destroy(&ds);
}

/* The levels of libopenvswitch's log messages (rconn, the IDL, ...), as
 * OVS daemons offer them. */
static void
cmd_vlog_set(struct control_request *req, int argc, const char *argv[],
             void *aux)
{
    for (int i = 1; i < argc; i++) {
        char *error = vlog_set_levels_from_string(argv[i]);
        if (error) {
            control_reply(req, false, error);
            free(error);
            return;
        }
    }
    control_reply(req, true, "");
}

static void
cmd_vlog_list(struct control_request *req, int argc, const char *argv[],
              void *aux)
{
    char *levels = vlog_get_levels();
    control_reply(req, true, levels);
    free(levels);
}

/* Requests and connections. */

static void
send_reply(struct control_conn *conn, const struct json *id, bool ok,
           const char *text)
{
    /* As OVS's server: the text ends with a newline. */
    size_t len = strlen(text);
    struct json *body = (len && text[len - 1] != '\n'
                         ? json_string_create_nocopy(xasprintf("%s\n", text))
                         : json_string_create(text));
    struct jsonrpc_msg *msg = (ok ? jsonrpc_create_reply(body, id)
                               : jsonrpc_create_error(body, id));
    /* An error shows in jsonrpc_get_status() at the next run. */
    jsonrpc_send(conn->rpc, msg);
}

static void
request_free(struct control_request *req)
{
    json_destroy(req->id);
    free(req);
}

void
control_set_cancel(struct control_request *req, control_cancel_fn *cancel,
                   void *aux)
{
    req->cancel = cancel;
    req->cancel_aux = aux;
}

void
control_reply(struct control_request *req, bool ok, const char *text)
{
    struct control_conn *conn = req->conn;
    if (conn) {
        send_reply(conn, req->id, ok, text);
        conn->pending = NULL;
        ovs_loop_wake();
    }
    request_free(req);
}

static void
conn_close(struct control_conn *conn)
{
    struct control *c = conn->c;
    for (struct control_conn **p = &c->conns; *p; p = &(*p)->next) {
        if (*p == conn) {
            *p = conn->next;
            break;
        }
    }
    c->n_conns--;
    struct control_request *req = conn->pending;
    if (req) {
        /* The client is gone: its handler drops the request now, or, if
         * it set no cancel function, its reply goes nowhere. */
        req->conn = NULL;
        if (req->cancel) {
            req->cancel(req, req->cancel_aux);
            request_free(req);
        }
    }
    jsonrpc_close(conn->rpc);
    free(conn);
}

static void
conn_process(struct control_conn *conn, struct jsonrpc_msg *msg)
{
    struct control *c = conn->c;
    if (msg->type != JSONRPC_REQUEST) {
        VLOG_WARN_RL(&rl, "%s: a client sent a JSON-RPC %s instead of a "
                   "request: closing its connection", c->path,
                   jsonrpc_msg_type_to_string(msg->type));
        conn->closing = true;
        return;
    }
    if (conn->pending) {
        send_reply(conn, msg->id, false, "a request is already in progress "
                   "on this connection: send one at a time");
        return;
    }

    const struct command *cmd = command_find(msg->method);
    const struct json_array *params = &msg->params->array;
    char *error = NULL;
    if (!cmd) {
        error = xasprintf("\"%s\" is not a valid command (use "
                          "\"list-commands\" to see a list of valid "
                          "commands)", msg->method);
    } else if (params->n < cmd->min_args) {
        error = xasprintf("\"%s\" command requires at least %d arguments",
                          msg->method, cmd->min_args);
    } else if (params->n > cmd->max_args) {
        error = xasprintf("\"%s\" command takes at most %d arguments",
                          msg->method, cmd->max_args);
    } else {
        for (size_t i = 0; i < params->n; i++) {
            if (params->elems[i]->type != JSON_STRING) {
                error = xasprintf("\"%s\" command has non-string argument",
                                  msg->method);
                break;
            }
        }
    }
    if (error) {
        send_reply(conn, msg->id, false, error);
        free(error);
        return;
    }

    const char **argv = xmalloc((params->n + 2) * sizeof *argv);
    argv[0] = msg->method;
    for (size_t i = 0; i < params->n; i++) {
        argv[i + 1] = params->elems[i]->string;
    }
    argv[params->n + 1] = NULL;
    struct control_request *req = xzalloc(sizeof *req);
    req->conn = conn;
    req->id = json_clone(msg->id);
    conn->pending = req;
    cmd->fn(req, params->n + 1, argv, cmd->aux);
    free(argv);
}

/* Has the client of 'fd' closed its end (not only shut down sending)? */
static bool
peer_gone(int fd)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    return poll(&pfd, 1, 0) > 0 && pfd.revents & (POLLHUP | POLLERR);
}

/* Reads and handles what 'conn' sent.  May close 'conn'. */
static void
conn_run(struct control_conn *conn)
{
    struct control *c = conn->c;
    jsonrpc_run(conn->rpc);
    if (jsonrpc_get_status(conn->rpc)) {
        conn_close(conn);
        return;
    }
    if (jsonrpc_get_backlog(conn->rpc)) {
        /* A client that does not read its replies gets no more. */
        return;
    }
    if (conn->closing) {
        conn_close(conn);
        return;
    }
    if (conn->read_eof) {
        if (!conn->pending || peer_gone(conn->fd)) {
            conn_close(conn);   /* Answered, or nobody to answer. */
        }
        return;
    }
    if (conn->pending) {
        /* Read even while a request is pending: that is how we learn that
         * its client went away.  The end of its input alone (a client that
         * shut down sending, as 'nc -N' does) is not that: jsonrpc would
         * take it as the end of the connection, answer included. */
        char byte;
        ssize_t n = recv(conn->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0) {
            if (peer_gone(conn->fd)) {
                conn_close(conn);
            } else {
                conn->read_eof = true;
            }
            return;
        }
    }
    for (int i = 0; i < 10 && !conn->closing; i++) {
        struct jsonrpc_msg *msg;
        int error = jsonrpc_recv(conn->rpc, &msg);
        if (error == EAGAIN) {
            unsigned int size = (jsonrpc_get_received_bytes(conn->rpc)
                                 - conn->msg_start);
            if (size > CONTROL_MAX_REQUEST) {
                VLOG_WARN_RL(&rl, "%s: a request larger than %d bytes: "
                           "closing its connection", c->path,
                           CONTROL_MAX_REQUEST);
                struct json *null_id = json_null_create();
                char *text = xasprintf("request larger than %d bytes",
                                       CONTROL_MAX_REQUEST);
                send_reply(conn, null_id, false, text);
                free(text);
                json_destroy(null_id);
                conn->closing = true;
                ovs_loop_wake();
            }
            return;
        } else if (error) {
            conn_close(conn);
            return;
        }
        bool was_pending = conn->pending != NULL;
        conn->msg_start = jsonrpc_get_received_bytes(conn->rpc);
        conn_process(conn, msg);
        jsonrpc_msg_destroy(msg);
        if (conn->pending && !was_pending) {
            break;              /* Read on as above, next iteration. */
        }
    }
    /* Ten requests in a row, or closing: come back next iteration. */
    ovs_loop_wake();
}

static void
control_accept(struct control *c)
{
    for (int i = 0; i < 10; i++) {
        if (i == 9) {
            ovs_loop_wake();    /* There may be more. */
        }
        int fd = accept4(c->listen_fd, NULL, NULL,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EINTR) {
                VLOG_WARN_RL(&rl, "%s: accept: %s", c->path,
                           ovs_strerror(errno));
            }
            return;
        }
        if (c->n_conns >= CONTROL_MAX_CONNS) {
            VLOG_WARN_RL(&rl, "%s: %d connections are open: closing a "
                       "new one", c->path, CONTROL_MAX_CONNS);
            close(fd);
            continue;
        }
        struct stream *stream;
        new_fd_stream(xasprintf("unix:%s", c->path), fd, 0, AF_UNIX,
                      &stream);
        struct control_conn *conn = xzalloc(sizeof *conn);
        conn->c = c;
        conn->fd = fd;
        conn->rpc = jsonrpc_open(stream);
        conn->next = c->conns;
        c->conns = conn;
        c->n_conns++;
    }
}

static void
control_run(void *c_)
{
    struct control *c = c_;
    control_accept(c);
    struct control_conn *next;
    for (struct control_conn *conn = c->conns; conn; conn = next) {
        next = conn->next;
        conn_run(conn);
    }
}

static void
control_wait(void *c_)
{
    struct control *c = c_;
    poll_fd_wait(c->listen_fd, POLLIN);
    for (struct control_conn *conn = c->conns; conn; conn = conn->next) {
        jsonrpc_wait(conn->rpc);
        if (conn->read_eof) {
            /* Its socket stays readable (at its end): look for the client
             * closing it now and then instead. */
            poll_timer_wait(1000);
        } else if (!conn->closing && !jsonrpc_get_backlog(conn->rpc)) {
            jsonrpc_recv_wait(conn->rpc);
        }
    }
}

/* The socket and its lock. */

/* 'path' as an absolute name: relative to the working directory, not to
 * OVS's run directory as OVS resolves them. */
static char *
absolute_path(const char *path)
{
    if (path[0] == '/') {
        return xstrdup(path);
    }
    char *cwd = get_cwd();
    char *abs = cwd ? xasprintf("%s/%s", cwd, path) : xstrdup(path);
    free(cwd);
    return abs;
}

/* Fills '*sun' with 'path'.  A path too long for sun_path is reached
 * through its directory's descriptor, stored in '*dirfdp' (close it after
 * use; -1 if none).  Returns 0 or an errno value. */
static int
make_sockaddr(const char *path, struct sockaddr_un *sun, int *dirfdp)
{
    memset(sun, 0, sizeof *sun);
    sun->sun_family = AF_UNIX;
    *dirfdp = -1;
    if (strlen(path) < sizeof sun->sun_path) {
        strcpy(sun->sun_path, path);
        return 0;
    }
    char *dir = dir_name(path);
    char *base = base_name(path);
    int dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    int error = dirfd < 0 ? errno : 0;
    if (!error) {
        int n = snprintf(sun->sun_path, sizeof sun->sun_path,
                         "/proc/self/fd/%d/%s", dirfd, base);
        if (n < 0 || n >= (int) sizeof sun->sun_path) {
            close(dirfd);
            error = ENAMETOOLONG;
        } else {
            *dirfdp = dirfd;
        }
    }
    free(dir);
    free(base);
    return error;
}

static const char *
file_type(mode_t mode)
{
    return (S_ISREG(mode) ? "a regular file"
            : S_ISDIR(mode) ? "a directory"
            : S_ISLNK(mode) ? "a symbolic link"
            : S_ISFIFO(mode) ? "a FIFO"
            : S_ISCHR(mode) || S_ISBLK(mode) ? "a device"
            : "not a socket");
}

/* Creates the socket's directory if it is missing. */
static char *
make_dir(const struct control *c)
{
    char *dir = dir_name(c->path);
    char *error = NULL;
    struct stat st;
    if (stat(dir, &st)) {
        if (errno != ENOENT) {
            error = xasprintf("%s: %s", dir, ovs_strerror(errno));
        } else if (mkdir(dir, 0750) && errno != EEXIST) {
            error = xasprintf("cannot create the directory %s: %s", dir,
                              ovs_strerror(errno));
        }
    } else if (!S_ISDIR(st.st_mode)) {
        error = xasprintf("%s is not a directory", dir);
    }
    free(dir);
    return error;
}

/* Takes the lock that makes us the only daemon on this socket: an
 * flock()ed file PATH.pid that holds our pid. */
static char *
take_lock(struct control *c)
{
    for (int attempt = 0; attempt < 10; attempt++) {
        int fd = open(c->lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
                      0640);
        if (fd < 0) {
            return xasprintf("cannot open the lock file %s: %s",
                             c->lock_path, ovs_strerror(errno));
        }
        struct stat st;
        if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
            close(fd);
            return xasprintf("the lock file %s is not a regular file",
                             c->lock_path);
        }
        if (flock(fd, LOCK_EX | LOCK_NB)) {
            int error = errno;
            char buf[32] = "";
            ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
            close(fd);
            long pid = n > 0 ? strtol(buf, NULL, 10) : 0;
            if (error != EWOULDBLOCK) {
                return xasprintf("cannot lock %s: %s", c->lock_path,
                                 ovs_strerror(error));
            } else if (pid > 0) {
                return xasprintf("another ovs-netpold (pid %ld) is using the "
                                 "control socket %s (it holds the lock %s)",
                                 pid, c->path, c->lock_path);
            }
            return xasprintf("another process holds the lock %s of the "
                             "control socket %s", c->lock_path, c->path);
        }
        /* Its owner may have removed the file between our open() and
         * flock(): a lock on that one protects nothing. */
        struct stat now;
        if (stat(c->lock_path, &now)
            || now.st_dev != st.st_dev || now.st_ino != st.st_ino) {
            close(fd);
            continue;
        }
        char pid[32];
        int len = snprintf(pid, sizeof pid, "%ld\n", (long) getpid());
        if (ftruncate(fd, 0) || pwrite(fd, pid, len, 0) != len) {
            int error = errno;
            close(fd);
            return xasprintf("cannot write %s: %s", c->lock_path,
                             ovs_strerror(error));
        }
        c->lock_fd = fd;
        return NULL;
    }
    return xasprintf("cannot lock %s: it keeps being replaced",
                     c->lock_path);
}

/* Makes room for our socket: nothing there, or a socket nobody answers
 * on (left by a daemon that died; we hold the lock, so no daemon of ours
 * serves it).  Anything else stays. */
static char *
clear_path(const struct control *c)
{
    struct stat st;
    if (lstat(c->path, &st)) {
        return (errno == ENOENT ? NULL
                : xasprintf("%s: %s", c->path, ovs_strerror(errno)));
    }
    if (!S_ISSOCK(st.st_mode)) {
        return xasprintf("%s exists and is %s: refusing to replace it "
                         "(remove it, or choose another --control)", c->path,
                         file_type(st.st_mode));
    }

    /* A daemon of an older version takes no lock: make sure nothing
     * answers before taking the path over. */
    struct sockaddr_un sun;
    int dirfd;
    int error = make_sockaddr(c->path, &sun, &dirfd);
    if (!error) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                        0);
        if (fd < 0) {
            error = errno;
        } else {
            error = (connect(fd, (struct sockaddr *) &sun, sizeof sun)
                     ? errno : 0);
            close(fd);
        }
        if (dirfd >= 0) {
            close(dirfd);
        }
    }
    if (!error || error == EAGAIN) {
        return xasprintf("%s: a process is listening on it (an ovs-netpold "
                         "that takes no lock?): refusing to take it over",
                         c->path);
    } else if (error != ECONNREFUSED) {
        return xasprintf("%s: cannot tell whether it is in use: %s", c->path,
                         ovs_strerror(error));
    }
    if (unlink(c->path) && errno != ENOENT) {
        return xasprintf("cannot remove the stale socket %s: %s", c->path,
                         ovs_strerror(errno));
    }
    return NULL;
}

static char *
listen_on(struct control *c)
{
    struct sockaddr_un sun;
    int dirfd;
    int error = make_sockaddr(c->path, &sun, &dirfd);
    if (error) {
        return xasprintf("%s: %s", c->path, ovs_strerror(error));
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error = errno;
    } else {
        /* bind() creates the socket file with the umask applied: a strict
         * one until the chmod() below, whatever we inherited. */
        mode_t old = umask(0077);
        error = bind(fd, (struct sockaddr *) &sun, sizeof sun) ? errno : 0;
        umask(old);
    }
    if (dirfd >= 0) {
        close(dirfd);
    }
    if (error) {
        if (fd >= 0) {
            close(fd);
        }
        return xasprintf("%s: cannot listen: %s", c->path,
                         ovs_strerror(error));
    }

    struct stat st;
    if (chmod(c->path, CONTROL_SOCKET_MODE) || lstat(c->path, &st)
        || listen(fd, 64)) {
        error = errno;
        close(fd);
        unlink(c->path);
        return xasprintf("%s: cannot listen: %s", c->path,
                         ovs_strerror(error));
    }
    c->dev = st.st_dev;
    c->ino = st.st_ino;
    c->listen_fd = fd;
    return NULL;
}

/* Removes the socket and the lock file, each only if it is still ours. */
static void
remove_files(struct control *c)
{
    struct stat st;
    if (c->listen_fd >= 0) {
        if (!lstat(c->path, &st) && S_ISSOCK(st.st_mode)
            && st.st_dev == c->dev && st.st_ino == c->ino) {
            unlink(c->path);
        }
        close(c->listen_fd);
        c->listen_fd = -1;
    }
    if (c->lock_fd >= 0) {
        struct stat ours;
        if (!fstat(c->lock_fd, &ours) && !lstat(c->lock_path, &st)
            && st.st_dev == ours.st_dev && st.st_ino == ours.st_ino) {
            unlink(c->lock_path);
        }
        close(c->lock_fd);      /* Releases the lock. */
        c->lock_fd = -1;
    }
}

struct control *
control_create(const char *path, char **error)
{
    control_register("list-commands", "", 0, 0, cmd_list_commands, NULL);
    control_register("vlog/set", "{spec | PATTERN:destination:pattern}", 1,
                     INT_MAX, cmd_vlog_set, NULL);
    control_register("vlog/list", "", 0, 0, cmd_vlog_list, NULL);

    struct control *c = xzalloc(sizeof *c);
    c->path = absolute_path(path);
    c->lock_path = xasprintf("%s.pid", c->path);
    c->lock_fd = -1;
    c->listen_fd = -1;
    *error = make_dir(c);
    if (!*error) {
        *error = take_lock(c);
    }
    if (!*error) {
        *error = clear_path(c);
    }
    if (!*error) {
        *error = listen_on(c);
    }
    if (*error) {
        control_destroy(c);
        return NULL;
    }
    c->client = ovs_loop_register(control_run, control_wait, c);
    return c;
}

void
control_destroy(struct control *c)
{
    if (!c) {
        return;
    }
    ovs_loop_unregister(c->client);
    while (c->conns) {
        struct control_request *req = c->conns->pending;
        if (req) {
            /* Unanswered at the end: dropped (see control.h). */
            c->conns->pending = NULL;
            request_free(req);
        }
        conn_close(c->conns);
    }
    remove_files(c);
    free(c->path);
    free(c->lock_path);
    free(c);
}

int
control_call(const char *path, int argc, char *argv[], char **result)
{
    /* unixctl_client_create() takes a relative name as relative to OVS's
     * run directory; the daemon, to its working directory.  Agree with
     * the daemon. */
    size_t size = 0;
    for (int i = 0; i < argc; i++) {
        size += strlen(argv[i]) + 8;
    }
    if (size > CONTROL_MAX_REQUEST - 1024) {
        *result = xasprintf("the request is larger than the daemon accepts "
                            "(%d bytes)", CONTROL_MAX_REQUEST);
        return 2;
    }
    char *abs = absolute_path(path);
    struct jsonrpc *client;
    int err = unixctl_client_create(abs, &client);
    free(abs);
    if (err) {
        *result = xasprintf("cannot connect to %s: %s", path,
                            ovs_strerror(err));
        return 2;
    }
    char *cmd_result = NULL, *cmd_error = NULL;
    err = unixctl_client_transact(client, argv[0], argc - 1, argv + 1,
                                  &cmd_result, &cmd_error);
    jsonrpc_close(client);
    if (err) {
        *result = xasprintf("%s: transaction failed: %s", path,
                            ovs_strerror(err));
        free(cmd_result);
        free(cmd_error);
        return 2;
    }
    if (cmd_error) {
        *result = cmd_error;
        free(cmd_result);
        return 1;
    }
    *result = cmd_result ? cmd_result : xstrdup("");
    return 0;
}
