/* One unixctl command to an OVS daemon, on ovs-loop.  See include/appctl.h.
 * This file includes OVS headers (with <config.h> first), so no jansson
 * here; and since libopenvswitch-renamed.a renames json_string() and
 * json_array() (jansson has functions of those names), the JSON values are
 * read through their struct members. */
#include <config.h>
#include "appctl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "jsonrpc.h"
#include "lib/util.h"
#include "openvswitch/json.h"
#include "openvswitch/poll-loop.h"
#include "ovs-loop.h"
#include "socket-util.h"
#include "stream.h"
#include "timeval.h"

/* The largest answer read.  ofproto/trace of our pipeline is a few
 * kilobytes; anything past this is not an answer we can use, and reading
 * on would let the other end fill our memory. */
#define APPCTL_MAX_ANSWER (16 * 1024 * 1024)

struct appctl_call {
    struct jsonrpc *rpc;        /* NULL if opening failed. */
    char *path;
    long long int deadline;     /* time_msec(). */
    int timeout_ms;
    char *error;                /* An error to report at the next run. */
    appctl_done_fn *done;
    void *aux;
    struct ovs_loop_client *client;
};

static void
call_free(struct appctl_call *c)
{
    ovs_loop_unregister(c->client);
    jsonrpc_close(c->rpc);
    free(c->error);
    free(c->path);
    free(c);
}

static void
finish(struct appctl_call *c, enum appctl_status status, const char *text)
{
    appctl_done_fn *done = c->done;
    void *aux = c->aux;
    char *copy = xstrdup(text);
    call_free(c);
    done(aux, status, copy);
    free(copy);
}

static void
call_run(void *c_)
{
    struct appctl_call *c = c_;
    if (c->error) {
        char *msg = xasprintf("%s: %s", c->path, c->error);
        finish(c, APPCTL_UNREACHABLE, msg);
        free(msg);
        return;
    }
    jsonrpc_run(c->rpc);
    struct jsonrpc_msg *msg;
    int error = jsonrpc_recv(c->rpc, &msg);
    if (!error) {
        if (msg->type == JSONRPC_REPLY || msg->type == JSONRPC_ERROR) {
            const struct json *j = msg->error ? msg->error : msg->result;
            bool failed = msg->error != NULL;
            char *text = (j && j->type == JSON_STRING ? xstrdup(j->string)
                          : xasprintf("%s: unexpected answer", c->path));
            jsonrpc_msg_destroy(msg);
            finish(c, failed ? APPCTL_FAILED : APPCTL_OK, text);
            free(text);
            return;
        }
        jsonrpc_msg_destroy(msg);       /* A notification: ignore. */
    } else if (error != EAGAIN) {
        char *text = xasprintf("%s: %s", c->path,
                               error == EOF ? "connection closed"
                               : ovs_strerror(error));
        finish(c, APPCTL_UNREACHABLE, text);
        free(text);
        return;
    } else if (jsonrpc_get_received_bytes(c->rpc) > APPCTL_MAX_ANSWER) {
        char *text = xasprintf("%s: the answer is larger than %d bytes",
                               c->path, APPCTL_MAX_ANSWER);
        finish(c, APPCTL_UNREACHABLE, text);
        free(text);
        return;
    }
    if (time_msec() >= c->deadline) {
        char *text = xasprintf("%s: no answer within %d ms", c->path,
                               c->timeout_ms);
        finish(c, APPCTL_UNREACHABLE, text);
        free(text);
    }
}

static void
call_wait(void *c_)
{
    struct appctl_call *c = c_;
    if (c->error) {
        poll_immediate_wake();
        return;
    }
    jsonrpc_wait(c->rpc);
    jsonrpc_recv_wait(c->rpc);
    poll_timer_wait_until(c->deadline);
}

struct appctl_call *
appctl_call(const char *path, const char *command, int argc,
            const char *const argv[], int timeout_ms, appctl_done_fn *done,
            void *aux)
{
    struct appctl_call *c = xzalloc(sizeof *c);
    c->path = xstrdup(path);
    c->timeout_ms = timeout_ms;
    c->deadline = time_msec() + timeout_ms;
    c->done = done;
    c->aux = aux;

    char *name = xasprintf("unix:%s", path);
    struct stream *stream;
    int error = stream_open(name, &stream, DSCP_DEFAULT);
    free(name);
    if (error) {
        c->error = xasprintf("cannot connect: %s", ovs_strerror(error));
    } else {
        c->rpc = jsonrpc_open(stream);
        struct json **args = xmalloc((argc + 1) * sizeof *args);
        for (int i = 0; i < argc; i++) {
            args[i] = json_string_create(argv[i]);
        }
        struct jsonrpc_msg *req
            = jsonrpc_create_request(command, json_array_create(args, argc),
                                     NULL);
        error = jsonrpc_send(c->rpc, req);
        if (error) {
            c->error = xasprintf("cannot send: %s", ovs_strerror(error));
        }
    }
    c->client = ovs_loop_register(call_run, call_wait, c);
    ovs_loop_wake();
    return c;
}

void
appctl_cancel(struct appctl_call *c)
{
    if (c) {
        call_free(c);
    }
}

char *
appctl_vswitchd_path(const char *rundir, char **path)
{
    char *pidfile = xasprintf("%s/ovs-vswitchd.pid", rundir);
    FILE *f = fopen(pidfile, "r");
    if (!f) {
        char *msg = xasprintf("cannot read %s: %s (is ovs-vswitchd "
                              "running?)", pidfile, ovs_strerror(errno));
        free(pidfile);
        return msg;
    }
    long pid = 0;
    int n = fscanf(f, "%ld", &pid);
    fclose(f);
    if (n != 1 || pid <= 0) {
        char *msg = xasprintf("%s holds no process id", pidfile);
        free(pidfile);
        return msg;
    }
    free(pidfile);
    *path = xasprintf("%s/ovs-vswitchd.%ld.ctl", rundir, pid);
    return NULL;
}
