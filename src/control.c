/* Control socket: OVS unixctl on ovs-loop.  This file includes OVS
 * headers (with <config.h> first), so no jansson here. */
#include <config.h>
#include "control.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "lib/unixctl.h"
#include "lib/util.h"
#include "openvswitch/json.h"
#include "jsonrpc.h"
#include "ovs-loop.h"

struct control {
    struct unixctl_server *server;
    struct ovs_loop_client *client;
};

static void
control_run(void *aux)
{
    struct control *c = aux;
    unixctl_server_run(c->server);
}

static void
control_wait(void *aux)
{
    struct control *c = aux;
    unixctl_server_wait(c->server);
}

struct control *
control_create(const char *path, char **error)
{
    /* A socket left by a daemon that died would make bind() fail. */
    unlink(path);
    struct unixctl_server *server;
    int err = unixctl_server_create(path, &server);
    if (err) {
        *error = xasprintf("%s: cannot listen: %s", path, ovs_strerror(err));
        return NULL;
    }
    struct control *c = xzalloc(sizeof *c);
    c->server = server;
    c->client = ovs_loop_register(control_run, control_wait, c);
    *error = NULL;
    return c;
}

void
control_destroy(struct control *c)
{
    if (c) {
        ovs_loop_unregister(c->client);
        unixctl_server_destroy(c->server);
        free(c);
    }
}

struct handler {
    control_handler *fn;
    void *aux;
};

static void
dispatch(struct unixctl_conn *conn, int argc, const char *argv[], void *aux)
{
    struct handler *h = aux;
    h->fn((struct control_request *) conn, argc, argv, h->aux);
}

void
control_register(const char *name, const char *usage, int min_args,
                 int max_args, control_handler *fn, void *aux)
{
    /* Registered once per daemon: the handler lives as long as it. */
    struct handler *h = xmalloc(sizeof *h);
    h->fn = fn;
    h->aux = aux;
    unixctl_command_register(name, usage, min_args, max_args, dispatch, h);
}

void
control_reply(struct control_request *req, bool ok, const char *text)
{
    struct unixctl_conn *conn = (struct unixctl_conn *) req;
    if (ok) {
        unixctl_command_reply(conn, text);
    } else {
        unixctl_command_reply_error(conn, text);
    }
}

int
control_call(const char *path, int argc, char *argv[], char **result)
{
    struct jsonrpc *client;
    int err = unixctl_client_create(path, &client);
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
