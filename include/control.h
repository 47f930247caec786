/* The daemon's control socket, served with Open vSwitch's unixctl protocol,
 * so that both 'ovs-netpol --control PATH CMD' and 'ovs-appctl -t PATH CMD'
 * reach it.  Runs on ovs-loop.  Handlers may answer at once or later (the
 * 'sync' command answers when the flows are committed): they get a request
 * handle that stays valid until control_reply() is called on it. */
#ifndef NP_CONTROL_H
#define NP_CONTROL_H 1

#include <stdbool.h>

struct control;
struct control_request;

typedef void control_handler(struct control_request *, int argc,
                             const char *argv[], void *aux);

/* Listens on 'path' (replacing a stale socket).  Returns NULL and a
 * malloc'd message in '*error' on failure. */
struct control *control_create(const char *path, char **error);
void control_destroy(struct control *);

/* 'argv[0]' of a handler is the command name; 'min_args' and 'max_args'
 * count the arguments after it. */
void control_register(const char *name, const char *usage, int min_args,
                      int max_args, control_handler *, void *aux);

/* Answers 'req' with 'text'; 'ok' false makes it an error (ovs-appctl then
 * exits with status 2). */
void control_reply(struct control_request *req, bool ok, const char *text);

/* Client side, for the CLI: sends 'argv' (argc >= 1) to the daemon at
 * 'path' and waits for the answer.  Returns 0 and a malloc'd answer in
 * '*result', or 1 and the daemon's error in '*result', or 2 and a message
 * when the daemon could not be reached. */
int control_call(const char *path, int argc, char *argv[], char **result);

#endif
