/* What the fuzz targets of tests/fuzz share (see tests/fuzz/README.md).
 *
 * Each fuzz-*.c is one libFuzzer target: LLVMFuzzerTestOneInput() feeds one
 * input to one parser of outside input and checks what the module's header
 * promises (an answer or a message, never both; the invariants of the
 * result).  A broken promise is an assert() or abort(), so that libFuzzer
 * and a plain build (replay-main.c) both see it as a crash. */
#ifndef NP_FUZZ_H
#define NP_FUZZ_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct flowtab;

/* fuzz-ofcheck.c: aborts, naming the flow and OVS's complaint, unless every
 * flow of 'tab' that 'base' lacks ('base' NULL: every flow) is one that
 * switch-of.c can send: it parses as 'ovs-ofctl add-flows' parses it, is
 * usable with OpenFlow 1.5, lacks no prerequisite and fits in a bundle. */
void fuzz_check_openflow(const struct flowtab *base,
                         const struct flowtab *tab);

/* fuzz-ofcheck.c: aborts, printing the difference, unless 'a' and 'b'
 * hold the same flows.  'what' says which two tables these are. */
void fuzz_check_same(const struct flowtab *a, const struct flowtab *b,
                     const char *what);

/* fuzz-ofcheck.c: silences OVS's log (the parsers log at warn). */
void fuzz_quiet_ovs(void);

#endif
