/* YAML text to jansson values, one per document.
 *
 * Kubernetes reads YAML by converting it to JSON (sigs.k8s.io/yaml over
 * go-yaml v2) and decoding that; this module does the same conversion so
 * that 'objects' validates one representation only.  Plain scalars are
 * typed as go-yaml v2 types them (YAML 1.1 flavored):
 *
 *   - "", "~", "null", "Null", "NULL"                         -> null
 *   - "true", "yes", "on", "y" (and False/NO/off/n ... forms)  -> boolean
 *   - decimal, 0x hex, 0o or leading-0 octal, 0b binary, with
 *     optional sign and '_' separators, fitting in 64 bits    -> integer
 *   - [-+]digits[.digits][e[-+]digits], .5                    -> real
 *   - everything else, and every quoted or block scalar       -> string
 *
 * so that an unquoted label value like 'on' or '1' arrives as a boolean or
 * an integer and is rejected, as kubectl rejects it.  A real that is
 * integral and below 1e21 in magnitude becomes an integer, as Go's
 * encoding/json writes it on kubectl's way to the server ('port: 80.0' is
 * port 80).  Explicit tags !!str, !!int, !!float, !!bool and !!null are
 * honored.  Anchors and aliases work (an alias shares the anchored value
 * by reference count), and so do merge keys ('<<').  Mapping keys that are
 * not strings become strings as sigs.k8s.io/yaml makes them ("1", "true",
 * "1e+06" for 1e6, ".inf"); null keys and keys that are mappings or
 * sequences are errors.
 *
 * Bounds: collections nest at most 512 levels, counted through aliases
 * (an alias of an anchor that holds N levels adds N), and what aliases
 * expand to over the whole stream, in nodes plus bytes of scalars, may not
 * exceed 1 MiB plus four times the input's size, nor 16 MiB; go-yaml's own
 * "excessive aliasing" ratio applies as well.  Each of these ends the
 * stream with an error, since what follows could be as large.
 *
 * Positions in messages are 1-based "line L column C". */
#ifndef NP_YAML_JSON_H
#define NP_YAML_JSON_H 1

#include <stddef.h>
#include <jansson.h>

/* Called once per non-empty document, in order, with 'index' its 1-based
 * position in the stream (counting empty documents too) and either 'doc' (a
 * new reference that the callback owns) and 'error' NULL, or 'doc' NULL and
 * 'error' a message (borrowed, valid during the call) of the form
 * "line L column C: ...".
 *
 * A document-level problem (a duplicate key, an unknown alias, a bad tag)
 * rejects only that document; parsing goes on with the next.  A syntax
 * error ends the stream: it is reported once and the rest of the text is
 * lost, since libyaml cannot resynchronize. */
typedef void yaml_json_doc_fn(void *aux, int index, json_t *doc,
                              const char *error);

/* Parses the 'size' bytes of YAML at 'text' and calls 'cb' for each
 * document.  'text' need not be null-terminated. */
void yaml_json_load(const char *text, size_t size,
                    yaml_json_doc_fn *cb, void *aux);

/* Convenience for one-document input: returns the first document (a new
 * reference), or NULL after storing a malloc'd message in '*error' (also
 * when the text has no document).  Later documents are ignored. */
json_t *yaml_json_load_one(const char *text, size_t size, char **error)
    __attribute__((warn_unused_result));

#endif
