/* The subcommands of 'ovs-netpol', one function each, taking the arguments
 * after the command name (argv[0] is the command) and returning the exit
 * status.  Kept out of main() so that tests can run them. */
#ifndef NP_CLI_H
#define NP_CLI_H 1

int cli_compile(int argc, char *argv[]);

/* The control client: src/cli-control.c with libopenvswitch, whose
 * unixctl client it uses, else src/cli-control-stub.c, whose commands
 * say that they cannot (src/automake.mk picks one).  Neither is in
 * libnetpol. */

/* Gives the program's name to libopenvswitch, when the program links it,
 * for the messages it prints itself (such as "virtual memory exhausted"
 * before it aborts): without it they begin "(null): ".  Call it first. */
void cli_set_program_name(const char *argv0);
/* Sends a command to the daemon's control socket 'path' and prints the
 * answer: status 0, 1 (the daemon said no) or 2 (unreachable). */
int cli_control(const char *path, int argc, char *argv[]);

/* Reads a port map: lines "namespace/pod PORT" (into 'ports': "ns/pod" ->
 * port) and "- PORT [TYPE]", a port that carries no pod, with its OVSDB
 * Interface type ("" or absent: a system device) for compile_port_role()
 * (into 'others': port -> type); '#' comments.  Values are malloc'd.
 * Returns NULL on success, else a malloc'd message. */
struct strmap;
char *cli_read_ports(const char *path, struct strmap *ports,
                     struct strmap *others)
    __attribute__((warn_unused_result));

#endif
