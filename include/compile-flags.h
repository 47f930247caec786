/* compile-flags: the compiler's options as an operator writes them, read
 * by one parser for both programs.
 *
 * 'ovs-netpol compile' and ovs-netpold take the same flags for what goes
 * into struct compile_options, with the same meaning, the same limits and
 * the same messages:
 *
 *   --node NAME, --table-base N, --continuation ACTION, --ct-zone N,
 *   --node-address A,...|none, --node-port P,..., --uplink-port P,...,
 *   --max-policy-flows N, --audit none|deny|allow|all, --audit-meter N,
 *   --peer-class-min N
 *
 * and --generation N, which only 'compile' offers (the daemon's installer
 * picks the generation of what it installs).  A program lists them in its
 * getopt_long() table with COMPILE_FLAGS_OPTIONS() and hands each one it
 * gets, by name, to compile_flags_parse(); the daemon does the same with
 * the lines of its --config file.  A flag given twice: the last one wins.
 *
 * Pure: no I/O.  A bad value comes back as a message that names the flag
 * and the value, for the caller to print after its own name. */
#ifndef NP_COMPILE_FLAGS_H
#define NP_COMPILE_FLAGS_H 1

#include <stdbool.h>
#include "compile.h"

struct compile_flags {
    /* What the flags say, from compile_options_init() on.  Its strings and
     * arrays belong to the compile_flags: a copy of 'opts' is valid until
     * compile_flags_destroy(). */
    struct compile_options opts;
    /* --node-address was given, even as "none" (the daemon otherwise
     * takes the host's addresses). */
    bool node_addrs_given;

    /* Private: what 'opts' points to. */
    char *node_;
    char *continuation_;
    struct ip_addr *node_addrs_;
    char *node_ports_text_;             /* The words of --node-port... */
    const char **node_ports_;           /* ...which these point into. */
    char *uplink_ports_text_;           /* The same for --uplink-port. */
    const char **uplink_ports_;
};

void compile_flags_init(struct compile_flags *);
void compile_flags_destroy(struct compile_flags *);

/* Applies flag '--NAME VALUE' ('name' without the dashes).  Returns NULL,
 * or a malloc'd message, such as
 *     --ct-zone: "70000" is not a zone from 0 to 65535
 * and leaves 'flags' as it was.  'value' is copied. */
char *compile_flags_parse(struct compile_flags *, const char *name,
                          const char *value)
    __attribute__((warn_unused_result));

/* getopt_long() entries for the flags both programs take, each returning
 * 'VAL': the caller finds the name through getopt_long()'s 'longindex'. */
#define COMPILE_FLAGS_OPTIONS(VAL)                              \
    {"node", required_argument, NULL, (VAL)},                   \
    {"table-base", required_argument, NULL, (VAL)},             \
    {"continuation", required_argument, NULL, (VAL)},           \
    {"ct-zone", required_argument, NULL, (VAL)},                \
    {"node-address", required_argument, NULL, (VAL)},           \
    {"node-port", required_argument, NULL, (VAL)},              \
    {"uplink-port", required_argument, NULL, (VAL)},            \
    {"max-policy-flows", required_argument, NULL, (VAL)},       \
    {"audit", required_argument, NULL, (VAL)},                  \
    {"audit-meter", required_argument, NULL, (VAL)},            \
    {"peer-class-min", required_argument, NULL, (VAL)}

#endif
