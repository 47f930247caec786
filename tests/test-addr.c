/* Unit tests of addr.c: address and CIDR parsing, CIDR difference (ipBlock
 * except) and port ranges as value/mask pairs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include "addr.h"
#include "np-util.h"

static struct cidr
C(const char *s)
{
    struct cidr c;
    char *error = cidr_parse(s, &c, NULL);
    if (error) {
        fail_msg("%s", error);
    }
    return c;
}

static void
test_cidr_parse(void **state)
{
    struct cidr c;
    bool host_bits;
    char buf[CIDR_STRLEN];

    assert_null(cidr_parse("10.1.2.3/8", &c, &host_bits));
    assert_true(host_bits);
    cidr_format(&c, buf);
    assert_string_equal(buf, "10.0.0.0/8");

    assert_null(cidr_parse("fd00::1/64", &c, &host_bits));
    cidr_format(&c, buf);
    assert_string_equal(buf, "fd00::/64");

    const char *bad[] = { "10.0.0.0", "10.0.0.0/33", "10.0.0/8", "x/8",
                          "10.0.0.0/-1", "10.0.0.0/", "::/129", "10.0.0.0/8a",
                          "" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *error = cidr_parse(bad[i], &c, NULL);
        if (!error) {
            fail_msg("\"%s\" was accepted", bad[i]);
        }
        assert_non_null(strstr(error, bad[i]));
        free(error);
    }
}

/* As the API server parses what it may hold (k8s.io/utils ParseIPSloppy
 * and ParseCIDRSloppy over Go's net package). */
static void
test_parse_k8s(void **state)
{
    static const struct {
        const char *in, *out;
        int written;
    } good[] = {
        { "010.0.0.0/8", "10.0.0.0/8", 8 },
        { "0010.000.01.0/24", "10.0.1.0/24", 24 },
        { "10.0.0.0/08", "10.0.0.0/8", 8 },
        { "10.0.0.0/0000000000000000000000032", "10.0.0.0/32", 32 },
        { "010.001.002.003/032", "10.1.2.3/32", 32 },
        { "10.1.2.3/8", "10.0.0.0/8", 8 },
        { "::ffff:10.0.0.0/104", "10.0.0.0/8", 104 },
        { "::ffff:010.0.0.0/104", "10.0.0.0/8", 104 },
        { "::FFFF:0:0/96", "0.0.0.0/0", 96 },
        { "::ffff:0:0/95", "::fffe:0:0/95", 95 },
        { "FD00:0:0:0:0:0:0:1/064", "fd00::/64", 64 },
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        struct cidr c;
        int written = -1;
        const char *reason = cidr_parse_k8s(good[i].in, &c, &written, NULL);
        if (reason) {
            fail_msg("\"%s\" %s", good[i].in, reason);
        }
        char buf[CIDR_STRLEN];
        cidr_format(&c, buf);
        assert_string_equal(buf, good[i].out);
        assert_int_equal(written, good[i].written);
    }

    const char *bad[] = {
        "10.0.0.0/", "10.0.0.0/8/8", "1.2.3.256/8", "1.2.3/8",
        "010.0.0.0.0/8", "fe80::1%eth0/64", "0x10.0.0.0/8", " 10.0.0.0/8",
        "10.0.0.0/ 8", "10.0.0.0/+8", "10.0.0.0/33", "::/129", "/8",
        "0256.0.0.0/8", "::ffff:1.2.3/104", "1.2.3.4.5", "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct cidr c;
        if (!cidr_parse_k8s(bad[i], &c, NULL, NULL)) {
            fail_msg("\"%s\" was accepted", bad[i]);
        }
    }

    struct ip_addr a;
    char buf[IP_ADDR_STRLEN];
    assert_true(ip_addr_parse_k8s("010.000.000.001", &a));
    ip_addr_format(&a, buf);
    assert_string_equal(buf, "10.0.0.1");
    assert_true(ip_addr_parse_k8s("::ffff:01.2.3.4", &a));
    assert_int_equal(a.family, AF_INET);
    ip_addr_format(&a, buf);
    assert_string_equal(buf, "1.2.3.4");
    assert_false(ip_addr_parse_k8s("1.2.3", &a));
    assert_false(ip_addr_parse_k8s("1.2.3.4/32", &a));
    assert_false(ip_addr_parse_k8s("fe80::1%eth0", &a));
    /* Operator input stays strict. */
    assert_false(ip_addr_parse("010.0.0.1", &a));
}

static void
test_contains(void **state)
{
    struct cidr outer = C("172.17.0.0/16");
    struct cidr inner = C("172.17.1.0/24");
    assert_true(cidr_contains(&outer, &inner));
    assert_false(cidr_contains(&inner, &outer));
    struct cidr v6 = C("::/0");
    assert_false(cidr_contains(&v6, &inner));   /* IPv6 never holds IPv4. */
    struct ip_addr a;
    assert_true(ip_addr_parse("172.17.1.9", &a));
    assert_true(cidr_contains_addr(&inner, &a));
    assert_false(cidr_contains_addr(&v6, &a));
}

static char *
difference_text(const char *block, const char *const *excepts, size_t n)
{
    struct cidr b = C(block);
    struct cidr e[8];
    for (size_t i = 0; i < n; i++) {
        e[i] = C(excepts[i]);
    }
    size_t n_out;
    struct cidr *out = cidr_difference(&b, e, n, &n_out);
    static char text[4096];
    text[0] = '\0';
    for (size_t i = 0; i < n_out; i++) {
        char buf[CIDR_STRLEN];
        cidr_format(&out[i], buf);
        strcat(text, i ? " " : "");
        strcat(text, buf);
    }
    free(out);
    return text;
}

static void
test_difference(void **state)
{
    /* The Kubernetes documentation's example. */
    const char *e1[] = { "172.17.1.0/24" };
    assert_string_equal(difference_text("172.17.0.0/16", e1, 1),
                        "172.17.0.0/24 172.17.2.0/23 172.17.4.0/22 "
                        "172.17.8.0/21 172.17.16.0/20 172.17.32.0/19 "
                        "172.17.64.0/18 172.17.128.0/17");
    /* Nothing excepted. */
    assert_string_equal(difference_text("10.0.0.0/8", NULL, 0), "10.0.0.0/8");
    /* Everything excepted. */
    const char *e2[] = { "10.0.0.0/7" };
    assert_string_equal(difference_text("10.0.0.0/8", e2, 1), "");
    /* Overlapping and nested excepts. */
    const char *e3[] = { "10.0.0.0/26", "10.0.0.0/25", "10.0.0.200/32" };
    assert_string_equal(difference_text("10.0.0.0/24", e3, 3),
                        "10.0.0.128/26 10.0.0.192/29 10.0.0.201/32 "
                        "10.0.0.202/31 10.0.0.204/30 10.0.0.208/28 "
                        "10.0.0.224/27");
    /* Another family's except changes nothing. */
    const char *e4[] = { "fd00::/8" };
    assert_string_equal(difference_text("10.0.0.0/24", e4, 1), "10.0.0.0/24");
}

/* Random numbers of our own, so that a failure replays. */
static uint32_t
rnd(uint32_t *seed)
{
    /* xorshift32: every bit of it is usable, unlike a small LCG's. */
    *seed ^= *seed << 13;
    *seed ^= *seed >> 17;
    *seed ^= *seed << 5;
    return *seed;
}

/* Address 'i' (< 4096) of a 12-bit universe: the last 12 bits of 'base'. */
static struct ip_addr
nth(const struct ip_addr *base, uint32_t i)
{
    struct ip_addr a = *base;
    int last = a.family == AF_INET ? 3 : 15;
    a.bytes[last] = i & 0xff;
    a.bytes[last - 1] = (a.bytes[last - 1] & 0xf0) | ((i >> 8) & 0x0f);
    return a;
}

/* The fewest aligned blocks that cover exactly the set addresses of
 * 'in[lo, lo + size)': the reference for the difference's length. */
static size_t
brute_min_blocks(const bool *in, uint32_t lo, uint32_t size)
{
    size_t n_in = 0;
    for (uint32_t i = lo; i < lo + size; i++) {
        n_in += in[i];
    }
    if (n_in == 0 || n_in == size) {
        return n_in ? 1 : 0;
    }
    return brute_min_blocks(in, lo, size / 2)
           + brute_min_blocks(in, lo + size / 2, size / 2);
}

/* One random case in a 12-bit universe 'base'/(max - 12): excepts of every
 * size inside it, duplicates, nested ones, ones equal to the block, ones
 * outside it and of the other family; the difference must cover exactly
 * what a bitmap says, with disjoint, sorted, fewest blocks, and
 * cidr_diff_contains() must agree address by address. */
static void
check_random_difference(const struct ip_addr *base, uint32_t *seed)
{
    int max = cidr_max_plen(base->family);
    struct cidr block = { .addr = nth(base, 0), .plen = max - 12 };
    struct cidr ex[64];
    size_t n = rnd(seed) % 40;
    for (size_t i = 0; i < n; i++) {
        uint32_t kind = rnd(seed) % 20;
        if (kind == 0) {
            ex[i] = block;                              /* Equal. */
        } else if (kind == 1 && i) {
            ex[i] = ex[rnd(seed) % i];                  /* Duplicate. */
        } else if (kind == 2) {
            ex[i] = block;                              /* Outside. */
            ex[i].addr.bytes[0] ^= 0x80;
        } else if (kind == 3) {
            char text[CIDR_STRLEN];
            snprintf(text, sizeof text, "%s",
                     base->family == AF_INET ? "fd00::/8" : "10.0.0.0/8");
            ex[i] = C(text);                            /* Other family. */
        } else {
            int plen = max - (int) (rnd(seed) % 12);
            if (kind == 4) {
                plen = max - 12 + (int) (rnd(seed) % 4); /* Large. */
            }
            uint32_t size = 1u << (max - plen);
            ex[i].addr = nth(base, (rnd(seed) % 4096) & ~(size - 1));
            ex[i].plen = plen;
        }
    }
    bool in[4096];
    for (uint32_t a = 0; a < 4096; a++) {
        struct ip_addr addr = nth(base, a);
        in[a] = true;
        for (size_t i = 0; i < n; i++) {
            in[a] &= !cidr_contains_addr(&ex[i], &addr);
        }
    }
    struct cidr_diff d;
    cidr_diff_init(&d, &block, ex, n);
    size_t n_out;
    struct cidr *out = cidr_diff_list(&d, &n_out);
    assert_int_equal(n_out, cidr_diff_count(&d));
    assert_int_equal(n_out, brute_min_blocks(in, 0, 4096));
    uint8_t covered[4096] = { 0 };
    for (size_t i = 0; i < n_out; i++) {
        assert_true(cidr_contains(&block, &out[i]));
        if (i) {
            assert_true(cidr_cmp(&out[i - 1], &out[i]) < 0);
        }
        for (uint32_t a = 0; a < 4096; a++) {
            struct ip_addr addr = nth(base, a);
            covered[a] += cidr_contains_addr(&out[i], &addr);
        }
    }
    for (uint32_t a = 0; a < 4096; a++) {
        struct ip_addr addr = nth(base, a);
        if (covered[a] != in[a]) {
            fail_msg("address %u: covered %u times, expected %d", a,
                     covered[a], in[a]);
        }
        assert_int_equal(cidr_diff_contains(&d, &addr), in[a]);
    }
    struct ip_addr outside = block.addr;
    outside.bytes[0] ^= 0x80;
    assert_false(cidr_diff_contains(&d, &outside));
    free(out);
    cidr_diff_destroy(&d);
}

static void
test_difference_random(void **state)
{
    struct ip_addr v4, v6;
    assert_true(ip_addr_parse("10.1.16.0", &v4));
    assert_true(ip_addr_parse("fd00:10:244::1:0", &v6));
    uint32_t seed = 7;
    for (int i = 0; i < 300; i++) {
        check_random_difference(&v4, &seed);
        check_random_difference(&v6, &seed);
    }
}

/* As many excepts as a NetworkPolicy of the API's size limit holds
 * (~55k IPv4 /32s) cost a fraction of a second, not minutes: the
 * difference is O(n log n), not O(n^2). */
static void
test_difference_large(void **state)
{
    for (int v6 = 0; v6 < 2; v6++) {
        struct cidr block = C(v6 ? "::/0" : "0.0.0.0/0");
        size_t n = 55000;
        struct cidr *ex = xmalloc(n * sizeof *ex);
        uint32_t seed = 99;
        for (size_t i = 0; i < n; i++) {
            memset(&ex[i], 0, sizeof ex[i]);
            ex[i].addr.family = v6 ? AF_INET6 : AF_INET;
            ex[i].plen = v6 ? 128 : 32;
            int bytes = v6 ? 16 : 4;
            for (int b = 0; b < bytes; b++) {
                ex[i].addr.bytes[b] = rnd(&seed);
            }
        }
        clock_t start = clock();
        struct cidr_diff d;
        cidr_diff_init(&d, &block, ex, n);
        size_t count = cidr_diff_count(&d);
        size_t n_out;
        struct cidr *out = cidr_diff_list(&d, &n_out);
        double seconds = (double) (clock() - start) / CLOCKS_PER_SEC;
        print_message("%zu IPv%d /%d excepts of %s: %zu CIDRs in %.3f s\n",
                      n, v6 ? 6 : 4, v6 ? 128 : 32, v6 ? "::/0" : "0.0.0.0/0",
                      n_out, seconds);
        assert_int_equal(count, n_out);
        assert_true(n_out > n * (v6 ? 100 : 15));
        /* The quadratic version took about 15 minutes for IPv4. */
        assert_true(seconds < 10);
        free(out);
        cidr_diff_destroy(&d);
        free(ex);
    }
}

/* Every port of 0..65535 is covered by the masks iff it is in range. */
static void
check_range(uint16_t lo, uint16_t hi, size_t max_n)
{
    uint16_t values[32], masks[32];
    size_t n = port_range_to_masks(lo, hi, values, masks);
    assert_true(n <= max_n);
    for (uint32_t p = 0; p < 65536; p++) {
        size_t hits = 0;
        for (size_t i = 0; i < n; i++) {
            hits += (p & masks[i]) == values[i];
        }
        if (hits != (p >= lo && p <= hi)) {
            fail_msg("range %u-%u: port %u matched %zu times", lo, hi, p, hits);
        }
    }
}

static void
test_port_ranges(void **state)
{
    check_range(80, 80, 1);
    check_range(80, 81, 1);
    check_range(79, 81, 2);
    check_range(1, 65535, 16);
    check_range(1024, 65535, 6);
    check_range(32768, 60999, 14);
    check_range(2, 65534, 30);
    uint16_t values[32], masks[32];
    assert_int_equal(port_range_to_masks(80, 81, values, masks), 1);
    assert_int_equal(values[0], 80);
    assert_int_equal(masks[0], 0xfffe);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cidr_parse),
        cmocka_unit_test(test_parse_k8s),
        cmocka_unit_test(test_contains),
        cmocka_unit_test(test_difference),
        cmocka_unit_test(test_difference_random),
        cmocka_unit_test(test_difference_large),
        cmocka_unit_test(test_port_ranges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
