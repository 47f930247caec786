/* ovs-netpol-cni: the chained CNI plugin's main().  See
 * include/cni-conf.h (the protocol) and include/cni-ovsdb.h (the port),
 * and deploy/cni.md. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cni-conf.h"
#include "cni-ovsdb.h"
#include "np-util.h"

extern char **environ;

/* Larger than any network configuration with a prevResult. */
#define MAX_INPUT (16u << 20)

static int
fail(const struct cni_error *e, const char *cni_version)
{
    char *json = cni_error_to_json(e, cni_version);
    cni_log("error %d: %s: %s", e->code, e->msg, e->details);
    fputs(json, stdout);
    free(json);
    fflush(stdout);
    return 1;
}

int
main(void)
{
    struct cni_request req;
    struct cni_error *e;
    char *input = NULL;
    size_t size = 0;
    int status = 0;

    int error = np_read_fd(STDIN_FILENO, MAX_INPUT, 4096, 0, &input, &size);
    if (error) {
        e = cni_error_create(CNI_ERR_IO, "cannot read the network "
                             "configuration", "stdin: %s",
                             error == EFBIG ? "more than 16 MiB"
                             : strerror(error));
        status = fail(e, NULL);
        cni_error_destroy(e);
        return status;
    }

    e = cni_request_parse(environ, input ? input : "", size, &req);
    free(input);
    if (req.log_file) {
        int err = cni_log_open(req.log_file);
        if (err) {
            cni_log("logFile %s: %s (logging to stderr only)", req.log_file,
                    strerror(err));
        }
    }
    if (req.container_id) {
        char *prefix = xasprintf("%s %.12s%s%s%s", cni_command_name(req.command),
                                 req.container_id,
                                 req.pod_namespace ? " " : "",
                                 req.pod_namespace ? req.pod_namespace : "",
                                 req.pod_namespace ? "/" : "");
        char *full = req.pod_name ? xasprintf("%s%s", prefix, req.pod_name)
                                  : xstrdup(prefix);
        cni_log_set_prefix(full);
        free(full);
        free(prefix);
    }

    if (!e && req.command != CNI_CMD_VERSION) {
        e = cni_ovsdb_run(&req);
    }
    if (e) {
        status = fail(e, req.cni_version);
        cni_error_destroy(e);
    } else if (req.output) {
        fputs(req.output, stdout);
    }
    if (fflush(stdout) || ferror(stdout)) {
        status = 1;
    }
    cni_request_destroy(&req);
    cni_log_set_prefix(NULL);
    return status;
}
