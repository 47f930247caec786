/* Names and label values, checked as the API server checks them: after
 * apimachinery's util/validation.  See objects-int.h. */
#include "objects-int.h"
#include "k8s-names.h"

#include <string.h>

#define DNS1123_LABEL_MSG                                               \
    "a lowercase RFC 1123 label must consist of lower case alphanumeric " \
    "characters or '-', and must start and end with an alphanumeric "   \
    "character"
#define DNS1123_SUBDOMAIN_MSG                                           \
    "a lowercase RFC 1123 subdomain must consist of lower case "        \
    "alphanumeric characters, '-' or '.', and must start and end with " \
    "an alphanumeric character"
#define QUALIFIED_NAME_MSG                                              \
    "must consist of alphanumeric characters, '-', '_' or '.', and must " \
    "start and end with an alphanumeric character"

static bool
is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool
is_alnum(char c)
{
    return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

/* [a-z0-9]([-a-z0-9]*[a-z0-9])? over 's[0..len)'. */
static bool
is_dns1123_label(const char *s, size_t len)
{
    if (!len || !is_lower_alnum(s[0]) || !is_lower_alnum(s[len - 1])) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (!is_lower_alnum(s[i]) && s[i] != '-') {
            return false;
        }
    }
    return true;
}

const char *
dns1123_label_error(const char *s)
{
    size_t len = strlen(s);
    if (len > 63) {
        return "must be no more than 63 characters";
    }
    return is_dns1123_label(s, len) ? NULL : DNS1123_LABEL_MSG;
}

static const char *
dns1123_subdomain_error_len(const char *s, size_t len)
{
    if (len > 253) {
        return "must be no more than 253 characters";
    }
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || s[i] == '.') {
            if (!is_dns1123_label(s + start, i - start)) {
                return DNS1123_SUBDOMAIN_MSG;
            }
            start = i + 1;
        }
    }
    return NULL;
}

const char *
dns1123_subdomain_error(const char *s)
{
    return dns1123_subdomain_error_len(s, strlen(s));
}

bool
dns1123_is_label(const char *s, size_t len)
{
    return len <= 63 && is_dns1123_label(s, len);
}

bool
dns1123_is_subdomain(const char *s, size_t len)
{
    return !dns1123_subdomain_error_len(s, len);
}

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9] over 's[0..len)'. */
static bool
is_qualified_name_part(const char *s, size_t len)
{
    if (!len || !is_alnum(s[0]) || !is_alnum(s[len - 1])) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.') {
            return false;
        }
    }
    return true;
}

const char *
qualified_name_error(const char *s)
{
    const char *slash = strchr(s, '/');
    const char *name = s;
    if (slash) {
        if (strchr(slash + 1, '/')) {
            return "a qualified name " QUALIFIED_NAME_MSG " with an "
                "optional DNS subdomain prefix and '/' (e.g. "
                "'example.com/MyName')";
        }
        size_t plen = slash - s;
        if (!plen) {
            return "prefix part must be non-empty";
        } else if (plen > 253) {
            return "prefix part must be no more than 253 characters";
        } else if (dns1123_subdomain_error_len(s, plen)) {
            return "prefix part " DNS1123_SUBDOMAIN_MSG;
        }
        name = slash + 1;
    }

    size_t len = strlen(name);
    if (!len) {
        return "name part must be non-empty";
    } else if (len > 63) {
        return "name part must be no more than 63 characters";
    } else if (!is_qualified_name_part(name, len)) {
        return "name part " QUALIFIED_NAME_MSG;
    }
    return NULL;
}

const char *
label_value_error(const char *s)
{
    size_t len = strlen(s);
    if (len > 63) {
        return "must be no more than 63 characters";
    } else if (len && !is_qualified_name_part(s, len)) {
        return "a valid label must be an empty string or consist of "
            "alphanumeric characters, '-', '_' or '.', and must start and "
            "end with an alphanumeric character";
    }
    return NULL;
}

const char *
port_name_error(const char *s)
{
    size_t len = strlen(s);
    bool has_letter = false;
    if (len > 15) {
        return "must be no more than 15 characters";
    }
    for (size_t i = 0; i < len; i++) {
        if (!is_lower_alnum(s[i]) && s[i] != '-') {
            return "must contain only alpha-numeric characters (a-z, 0-9), "
                "and hyphens (-)";
        }
        has_letter |= s[i] >= 'a' && s[i] <= 'z';
    }
    if (!has_letter) {
        return "must contain at least one letter (a-z)";
    } else if (strstr(s, "--")) {
        return "must not contain consecutive hyphens";
    } else if (s[0] == '-' || s[len - 1] == '-') {
        return "must not begin or end with a hyphen";
    }
    return NULL;
}

