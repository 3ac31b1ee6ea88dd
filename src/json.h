/*
 * json.h: strict JSON for scenario files, and a small JSON path.
 *
 * cJSON 1.7.15 accepts trailing garbage, keeps the first of duplicate keys,
 * looks keys up case-insensitively with cJSON_GetObjectItem, parses 1e999
 * as infinity and truncates strings at \u0000. ac_json_parse_strict checks
 * the text itself first, with line and column, and only then lets cJSON
 * build the tree. Use ac_json_get (case-sensitive) everywhere.
 */
#ifndef AC_JSON_H
#define AC_JSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "util.h"

#define AC_JSON_MAX_DEPTH 64
/* Members of one object (a scenario's targets, variables, ...). */
#define AC_JSON_MAX_MEMBERS 1000000

/*
 * Parse text as one JSON document. On error returns NULL and fills err with
 * "NAME:LINE:COL: message", then the offending line and a caret under the
 * column. The caller frees the result with cJSON_Delete.
 */
cJSON *ac_json_parse_strict(const char *text, size_t len, const char *name, int max_depth,
			    struct ac_error *err);

/* Values (numbers, strings, objects, ...) a response body may hold: each
 * costs a cJSON node (about 64 bytes and more), so a body within the size
 * cap could still take hundreds of MB as a tree. */
#define AC_JSON_BODY_MAX_VALUES 500000
#define AC_JSON_BODY_MAX_VALUES_TEXT "500,000"

/* Parse a response body leniently but safely (depth-bounded, at most
 * AC_JSON_BODY_MAX_VALUES values, whole buffer, no trailing garbage). NULL
 * if it is not JSON or has too many values (capped says which, if given). */
cJSON *ac_json_parse_body(const char *text, size_t len);
cJSON *ac_json_parse_body_capped(const char *text, size_t len, bool *capped);

/* Case-sensitive member lookup; NULL if obj is not an object. */
const cJSON *ac_json_get(const cJSON *obj, const char *key);

/*
 * JSON path, a small and predictable subset:
 *   $            the document
 *   .name        member (letters, digits, _ and -)
 *   ["name"]     member with any characters
 *   [3] [-1]     array element (negative counts from the end)
 *   [*] or .*    every element (the result is then a list)
 *   .length()    is not supported; use the "count" assertion instead
 * ac_jsonpath_check validates syntax at load time.
 */
int ac_jsonpath_check(const char *path, struct ac_error *err);

/* Evaluate path on root. Matches are appended to out (pointers into root,
 * not owned); returns the number of matches, or -1 on a syntax error. */
int ac_jsonpath_eval(const cJSON *root, const char *path, const cJSON ***out, size_t *nout,
		     struct ac_error *err);

/* Render a JSON value as short text for reports ("abc" without quotes for
 * strings, numbers as %.15g, objects compact). The caller frees it. */
char *ac_json_to_text(const cJSON *v);

#endif
