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
          "  [--control PATH] status | recompute | sync [--timeout S]\n"
          "      Ask a running ovs-netpold (default control socket\n"
          "      /var/run/ovs-netpol/ovs-netpold.ctl): its state; a full\n"
          "      recompute; or wait until the flows for the source's current\n"
          "      state are committed.\n"
          "  [--control PATH] trace SRC DST [tcp|udp|sctp/]PORT [--raw]\n"
          "                   [--in-port PORT]\n"
          "      What happens to a new connection from SRC to DST:PORT on\n"
          "      this node (SRC, DST: namespace/pod or an IP address): the\n"
          "      switch's own ofproto/trace, read back as ALLOWED or DENIED\n"
          "      and the policies and rules on the path; --raw appends the\n"
          "      switch's output; --in-port: the packet enters on PORT (a\n"
          "      number, LOCAL, or the name of a port that carries no pod).\n"
          "  [--control PATH] explain COOKIE|FLOW|NS/POD\n"
          "      Which policy and rule a flow's cookie stands for (a cookie,\n"
          "      or a line of 'ovs-ofctl dump-flows'); or, for a pod, the\n"
          "      ClusterNetworkPolicies and NetworkPolicies that decide its\n"
          "      connections, per direction in evaluation order.\n"
          "  [--control PATH] stats [--policy NS/NAME|ClusterNetworkPolicy/NAME]\n"
          "        [--pod NS/NAME] [--json]\n"
          "      Packets and bytes per NetworkPolicy rule, per pod's default\n"
          "      deny and per ClusterNetworkPolicy rule on this node, since\n"
          "      the daemon started (--policy, --pod: only those counters).\n"
          "  help\n"
          "      Print this message.\n", stream);
}

int
main(int argc, char *argv[])
{
    const char *control = "/var/run/ovs-netpol/ovs-netpold.ctl";
    cli_set_program_name(argv[0]);
    if (argc >= 3 && !strcmp(argv[1], "--control")) {
        control = argv[2];
        argv[2] = argv[0];
        argv += 2;
        argc -= 2;
    } else if (argc >= 2 && !strncmp(argv[1], "--control=", 10)) {
        control = argv[1] + 10;
        argv[1] = argv[0];
        argv++;
        argc--;
    }
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "status") || !strcmp(cmd, "recompute")
        || !strcmp(cmd, "sync") || !strcmp(cmd, "trace")
        || !strcmp(cmd, "explain") || !strcmp(cmd, "stats")) {
        return cli_control(control, argc - 1, argv + 1);
    } else if (!strcmp(cmd, "compile")) {
        return cli_compile(argc - 1, argv + 1);
    } else if (!strcmp(cmd, "help") || !strcmp(cmd, "--help")
               || !strcmp(cmd, "-h")) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "ovs-netpol: unknown command \"%s\" (try \"ovs-netpol help\")\n", cmd);
    return 2;
}
