/* The control client of 'ovs-netpol', built only with libopenvswitch.  It
 * includes an OVS header (with <config.h> first), so no jansson here. */
#include <config.h>
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "control.h"
#include "lib/util.h"

void
cli_set_program_name(const char *argv0)
{
    set_program_name(argv0);
}

int
cli_control(const char *path, int argc, char *argv[])
{
    char *result;
    int status = control_call(path, argc, argv, &result);
    FILE *stream = status ? stderr : stdout;
    if (status) {
        fprintf(stream, "ovs-netpol: %s", result);
    } else {
        fputs(result, stream);
    }
    if (*result && result[strlen(result) - 1] != '\n') {
        putc('\n', stream);
    }
    free(result);
    return status;
}
