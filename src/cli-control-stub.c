/* The control client of 'ovs-netpol' when it is built without
 * libopenvswitch (configure without --with-ovs): there is no daemon to
 * talk to, only the offline compiler.  src/automake.mk picks this file or
 * src/cli-control.c. */
#include "cli.h"

#include <stdio.h>

void
cli_set_program_name(const char *argv0)
{
}

int
cli_control(const char *path, int argc, char *argv[])
{
    fprintf(stderr, "ovs-netpol: built without libopenvswitch: cannot talk "
            "to the daemon at %s\n", path);
    return 2;
}
