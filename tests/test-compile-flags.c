/* Unit tests of compile-flags.c: the compiler's flags, which 'ovs-netpol
 * compile' and ovs-netpold both read through it (tests/daemon-cli.sh
 * checks that the two programs agree). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "addr.h"
#include "compile-flags.h"

/* Every bad value is refused with a message that names the flag and the
 * value, and leaves the flags as they were. */
static void
test_rejected(void **state)
{
    static const struct {
        const char *name, *value, *message;
    } cases[] = {
        {"table-base", "245",
         "--table-base: \"245\" is not a table number from 0 to 244"},
        {"table-base", "x", "--table-base: \"x\" is not a table number"},
        {"table-base", "-1", "--table-base: \"-1\""},
        {"table-base", "0x10", "--table-base: \"0x10\""},
        {"table-base", " 5", "--table-base: \" 5\""},
        {"table-base", "", "--table-base: \"\""},
        {"ct-zone", "65536",
         "--ct-zone: \"65536\" is not a zone from 0 to 65535"},
        {"ct-zone", "99999999999999999999", "--ct-zone: \"9999"},
        {"generation", "256",
         "--generation: \"256\" is not a number from 0 to 255"},
        {"continuation", "", "--continuation: empty action"},
        {"max-policy-flows", "0", "--max-policy-flows: \"0\" is not a "
         "whole number from 1 to 100000000"},
        {"max-policy-flows", "100000001", "--max-policy-flows: \"100000001\""},
        {"max-policy-flows", "1e3", "--max-policy-flows: \"1e3\""},
        {"max-policy-flows", "5.0", "--max-policy-flows: \"5.0\""},
        {"node-address", "10.0.0.1,nope",
         "--node-address: \"nope\" is not an IPv4 or IPv6 address"},
        {"node-address", "10.0.0.300", "--node-address: \"10.0.0.300\""},
        {"node-port", "LOCAL,a=b", "--node-port: port name \"a=b\" has '='"},
        {"node-port", "70000", "--node-port: \"70000\" is not a port number"},
        {"node-port", ",", "--node-port: \",\" names no port"},
        {"node-port", "", "--node-port: \"\" names no port"},
        {"uplink-port", "eth1,a=b", "--uplink-port: port name \"a=b\" has '='"},
        {"uplink-port", ",", "--uplink-port: \",\" names no port"},
        {"bridge", "br0", "--bridge: not an option of the compiler"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct compile_flags flags;
        compile_flags_init(&flags);
        struct compile_options before;
        memcpy(&before, &flags.opts, sizeof before);
        char *error = compile_flags_parse(&flags, cases[i].name,
                                          cases[i].value);
        if (!error) {
            fail_msg("--%s \"%s\" was accepted", cases[i].name,
                     cases[i].value);
        }
        if (strncmp(error, cases[i].message, strlen(cases[i].message))) {
            fail_msg("--%s \"%s\": \"%s\", expected \"%s...\"",
                     cases[i].name, cases[i].value, error, cases[i].message);
        }
        free(error);
        assert_memory_equal(&before, &flags.opts, sizeof before);
        compile_flags_destroy(&flags);
    }
}

static void
test_accepted(void **state)
{
    struct compile_flags flags;
    compile_flags_init(&flags);
    static const char *const good[][2] = {
        {"node", "node-1"},
        {"table-base", "244"},
        {"ct-zone", "65535"},
        {"generation", "255"},
        {"continuation", "resubmit(,60)"},
        {"max-policy-flows", "100000000"},
        {"node-address", "10.0.0.1,fd00::1"},
        {"node-port", "LOCAL,p1,7"},
        {"uplink-port", "eth1,65000"},
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        char *error = compile_flags_parse(&flags, good[i][0], good[i][1]);
        if (error) {
            fail_msg("--%s %s: %s", good[i][0], good[i][1], error);
        }
    }
    const struct compile_options *o = &flags.opts;
    assert_string_equal(o->node, "node-1");
    assert_int_equal(o->table_base, 244);
    assert_int_equal(o->ct_zone, 65535);
    assert_int_equal(o->generation, 255);
    assert_string_equal(o->continuation, "resubmit(,60)");
    assert_int_equal(o->max_policy_flows, 100000000);
    assert_int_equal(o->n_node_addrs, 2);
    assert_int_equal(o->n_node_ports, 3);
    assert_string_equal(o->node_ports[2], "7");
    assert_int_equal(o->n_uplink_ports, 2);
    assert_string_equal(o->uplink_ports[0], "eth1");
    assert_string_equal(o->uplink_ports[1], "65000");
    assert_true(flags.node_addrs_given);

    /* Decimal whatever the leading zeros: "010" is ten. */
    assert_null(compile_flags_parse(&flags, "table-base", "010"));
    assert_int_equal(o->table_base, 10);
    compile_flags_destroy(&flags);
}

/* The defaults are compile_options_init()'s; a flag given again replaces
 * what it said before; "none" means no node address. */
static void
test_defaults_and_repeats(void **state)
{
    struct compile_flags flags;
    compile_flags_init(&flags);
    const struct compile_options *o = &flags.opts;
    assert_null(o->node);
    assert_string_equal(o->continuation, "NORMAL");
    assert_int_equal(o->n_node_ports, 1);
    assert_string_equal(o->node_ports[0], "LOCAL");
    assert_int_equal(o->n_node_addrs, 0);
    assert_false(flags.node_addrs_given);
    assert_int_equal(o->n_uplink_ports, 0);     /* None by default. */
    assert_null(compile_flags_parse(&flags, "uplink-port", "u1,u2"));
    assert_null(compile_flags_parse(&flags, "uplink-port", "u3"));
    assert_int_equal(o->n_uplink_ports, 1);
    assert_string_equal(o->uplink_ports[0], "u3");

    assert_null(compile_flags_parse(&flags, "node-port", "p1,p2"));
    assert_null(compile_flags_parse(&flags, "node-port", "p3"));
    assert_int_equal(o->n_node_ports, 1);
    assert_string_equal(o->node_ports[0], "p3");

    assert_null(compile_flags_parse(&flags, "node-address", "10.0.0.1"));
    assert_null(compile_flags_parse(&flags, "node-address", "none"));
    assert_int_equal(o->n_node_addrs, 0);
    assert_true(flags.node_addrs_given);

    /* The flags own their strings: the caller's may go. */
    char *text = strdup("node-2");
    assert_null(compile_flags_parse(&flags, "node", text));
    assert_null(compile_flags_parse(&flags, "node", text));
    free(text);
    assert_string_equal(o->node, "node-2");
    compile_flags_destroy(&flags);
    compile_flags_destroy(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rejected),
        cmocka_unit_test(test_accepted),
        cmocka_unit_test(test_defaults_and_repeats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
