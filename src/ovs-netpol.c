/* ovs-netpol: the command-line tool.  main() only: the work is done by the
 * library modules, which the daemon and the tests share. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static void
usage(FILE *stream)
{
    fputs("usage: ovs-netpol COMMAND [OPTION...] [ARG...]\n"
          "\n"
          "Commands:\n"
          "  compile [--node NAME] [--table-base N] [--continuation ACTION]\n"
          "          [--ports FILE] [--ct-zone N] [--generation N] FILE...\n"
          "      Compile Kubernetes manifests (JSON or YAML: Namespaces, Pods,\n"
          "      NetworkPolicies) to the complete OpenFlow table, printed in\n"
          "      'ovs-ofctl -O OpenFlow15 add-flows' syntax.\n"
          "  help\n"
          "      Print this message.\n", stream);
}

int
main(int argc, char *argv[])
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "compile")) {
        return cli_compile(argc - 1, argv + 1);
    } else if (!strcmp(cmd, "help") || !strcmp(cmd, "--help")
               || !strcmp(cmd, "-h")) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "ovs-netpol: unknown command \"%s\" (try \"ovs-netpol help\")\n", cmd);
    return 2;
}
