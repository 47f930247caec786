/* np-ofparse: checks a file of flows in "ovs-ofctl add-flows" syntax
 * without a running switch.
 *
 * usage: np-ofparse FILE       (FILE may be "-" for standard input)
 *
 * Each line goes through the same code as "ovs-ofctl add-flows": comments
 * from '#' to the end of a line and blank lines are skipped
 * (ds_get_preprocessed_line()), a line may start with a command such as
 * "delete" and defaults to "add", and parse_ofp_flow_mod_str() parses it.
 * A parsed flow must then be usable with OpenFlow 1.5, encode as an OpenFlow
 * 1.5 flow_mod, and decode again the way ovs-vswitchd decodes what it
 * receives, which checks the actions once more (for example what a "ct"
 * action may nest), into the same match and actions: a match field whose
 * prerequisite is missing, such as nw_src without ip, would be silently
 * dropped and the flow would match more than it says.
 *
 * Every line that fails is reported on stderr as "FILE:LINE: message" with
 * OVS's own error text, and the exit status is 1.  Otherwise the program
 * prints "N flows parsed" on stdout and exits 0.  Exit status 2 means bad
 * usage or an unreadable file. */

#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openflow/openflow-common.h"
#include "openvswitch/dynamic-string.h"
#include "openvswitch/match.h"
#include "openvswitch/ofp-actions.h"
#include "openvswitch/ofp-errors.h"
#include "openvswitch/ofp-flow.h"
#include "openvswitch/ofp-port.h"
#include "openvswitch/ofp-protocol.h"
#include "openvswitch/ofpbuf.h"
#include "openvswitch/vlog.h"
#include "lib/util.h"      /* OVS's; ours is include/util.h. */

/* The protocol that ovs-netpol speaks to the switch. */
static const enum ofputil_protocol protocol = OFPUTIL_P_OF15_OXM;

/* Compares 'fm', as parsed, with 'decoded', what the switch makes of its
 * OpenFlow 1.5 encoding.  A match field whose prerequisite is missing (say
 * nw_src without ip) is silently dropped on the way, which would widen the
 * flow.  Returns NULL if nothing was lost, otherwise a malloc()'d message
 * that the caller frees.  The caller retains ownership of both flow_mods. */
static char *
compare_decoded(const struct ofputil_flow_mod *fm,
                const struct ofputil_flow_mod *decoded)
{
    if (!minimatch_equal(&fm->match, &decoded->match)) {
        char *sent = minimatch_to_string(&fm->match, NULL,
                                         OFP_DEFAULT_PRIORITY);
        char *got = minimatch_to_string(&decoded->match, NULL,
                                        OFP_DEFAULT_PRIORITY);
        char *error = xasprintf("the switch would match \"%s\", not \"%s\" "
                                "(missing prerequisite?)", got, sent);
        free(sent);
        free(got);
        return error;
    }
    if (!ofpacts_equal_stringwise(fm->ofpacts, fm->ofpacts_len,
                                  decoded->ofpacts, decoded->ofpacts_len)) {
        struct ds sent = DS_EMPTY_INITIALIZER;
        struct ds got = DS_EMPTY_INITIALIZER;
        char *error;

        ofpacts_format(fm->ofpacts, fm->ofpacts_len,
                       &(struct ofpact_format_params) { .s = &sent });
        ofpacts_format(decoded->ofpacts, decoded->ofpacts_len,
                       &(struct ofpact_format_params) { .s = &got });
        error = xasprintf("the switch would run actions \"%s\", not \"%s\"",
                          ds_cstr(&got), ds_cstr(&sent));
        ds_destroy(&sent);
        ds_destroy(&got);
        return error;
    }
    return NULL;
}

/* Checks one preprocessed 'line'.  Returns NULL if it is a valid OpenFlow
 * 1.5 flow_mod, otherwise a malloc()'d message that the caller frees. */
static char *
check_line(const char *line)
{
    enum ofputil_protocol usable;
    struct ofputil_flow_mod fm;
    char *error;

    error = parse_ofp_flow_mod_str(&fm, line, NULL, NULL, -2, &usable);
    if (error) {
        return error;
    }

    if (!(usable & protocol)) {
        char *usable_s = ofputil_protocols_to_string(usable);
        error = xasprintf("not usable with OpenFlow 1.5 (usable protocols: "
                          "%s)", usable_s);
        free(usable_s);
    } else {
        struct ofpbuf *msg = ofputil_encode_flow_mod(&fm, protocol);
        struct ofputil_flow_mod decoded;
        struct ofpbuf ofpacts;
        enum ofperr err;

        ofpbuf_init(&ofpacts, 64);
        err = ofputil_decode_flow_mod(&decoded, msg->data, protocol, NULL,
                                      NULL, &ofpacts, OFPP_MAX, 255);
        if (err) {
            error = xasprintf("the OpenFlow 1.5 encoding does not decode "
                              "(%s: %s)", ofperr_get_name(err),
                              ofperr_to_string(err));
        } else {
            error = compare_decoded(&fm, &decoded);
            minimatch_destroy(&decoded.match);
        }
        ofpbuf_uninit(&ofpacts);
        ofpbuf_delete(msg);
    }

    free(CONST_CAST(struct ofpact *, fm.ofpacts));
    minimatch_destroy(&fm.match);
    return error;
}

int
main(int argc, char *argv[])
{
    const char *file_name;
    int line_number = 0;
    int n_failed = 0;
    int n_parsed = 0;
    FILE *stream;
    struct ds s;

    set_program_name(argv[0]);
    /* Parsing may log, e.g. about a match that normalization changes;
     * keep only warnings and worse, on stderr. */
    vlog_set_levels(NULL, VLF_ANY_DESTINATION, VLL_WARN);

    if (argc != 2 || !strcmp(argv[1], "--help")) {
        fprintf(stderr, "usage: %s FILE\n"
                "Checks flows in \"ovs-ofctl add-flows\" syntax for "
                "OpenFlow 1.5.\n", program_name);
        return 2;
    }
    file_name = argv[1];

    stream = !strcmp(file_name, "-") ? stdin : fopen(file_name, "r");
    if (!stream) {
        fprintf(stderr, "%s: %s: %s\n", program_name, file_name,
                ovs_strerror(errno));
        return 2;
    }

    ds_init(&s);
    while (!ds_get_preprocessed_line(&s, stream, &line_number)) {
        char *error = check_line(ds_cstr(&s));

        if (error) {
            fprintf(stderr, "%s:%d: %s\n", file_name, line_number, error);
            free(error);
            n_failed++;
        } else {
            n_parsed++;
        }
    }
    ds_destroy(&s);

    if (ferror(stream)) {
        fprintf(stderr, "%s: %s: read error\n", program_name, file_name);
        return 2;
    }
    if (stream != stdin) {
        fclose(stream);
    }

    if (n_failed) {
        fprintf(stderr, "%d of %d flows failed\n",
                n_failed, n_failed + n_parsed);
        return 1;
    }
    printf("%d flows parsed\n", n_parsed);
    return 0;
}
