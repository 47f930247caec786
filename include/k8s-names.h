/* Kubernetes names as the API server validates them (apimachinery's
 * util/validation), for every part of ovs-netpol that takes a name from
 * outside: manifests and watch events (objects), OVSDB's iface-ids
 * (switch-db), CNI_ARGS (ovs-netpol-cni).  One definition, so that the
 * three agree on what a namespace or pod name is.  Implemented in
 * src/objects-names.c; no dependencies. */
#ifndef K8S_NAMES_H
#define K8S_NAMES_H 1

#include <stdbool.h>
#include <stddef.h>

/* Why 's' is not a DNS-1123 label (a namespace's name: 1 to 63 of
 * [a-z0-9-], starting and ending with a letter or digit), or a DNS-1123
 * subdomain (a pod's name: at most 253 characters, such labels joined by
 * dots), or NULL if it is.  The messages are the API server's. */
const char *dns1123_label_error(const char *s);
const char *dns1123_subdomain_error(const char *s);

/* The same tests on the 'len' bytes at 's', as booleans. */
bool dns1123_is_label(const char *s, size_t len);
bool dns1123_is_subdomain(const char *s, size_t len);

#endif /* k8s-names.h */
