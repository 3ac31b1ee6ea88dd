/*
 * cfg.h: validating scenario JSON into typed configuration, in one place.
 *
 * Each part of the scenario (the top level, a target, a journey step, a
 * probe kind's check) describes its keys in a table of struct ac_field.
 * ac_cfg_read fills a struct from the table and reports wrong types, bad
 * durations and missing keys with their key path; ac_cfg_keys reports
 * unknown keys with a "did you mean" suggestion. Errors are collected, not
 * returned one by one, so a user sees every problem in a file at once.
 *
 * Variables: text fields may hold ${name} (scenario variables and, in
 * journeys, captures), ${env:NAME} and ${file:PATH}. Values from env and
 * file are secrets: they are added to the plan's mask as they are read.
 * A name that is not defined is an error at load time, never "".
 */
#ifndef AC_CFG_H
#define AC_CFG_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "scenario.h"
#include "util.h"

struct ac_names {
	char **v;
	size_t n, alloc;
};
void ac_names_add(struct ac_names *names, const char *name);
bool ac_names_has(const struct ac_names *names, const char *name);
void ac_names_release(struct ac_names *names);

struct ac_cfg {
	const char *file; /* scenario name for messages */
	struct ac_plan *plan;
	struct ac_buf errors; /* one message per line */
	size_t nerrors;
	/* Names resolved at run time (journey captures) that text fields may
	 * reference; expansion leaves ${name} in place for them. */
	const struct ac_names *runtime;
	const cJSON *root; /* the whole scenario, for kinds that need a section */
	/* Set while expanding: true when a secret went into the last value. */
	bool last_secret;
	/* A kind's configure may raise the samples its check needs before it
	 * can pass (e.g. 2 to judge "no growth"); reset for each definition. */
	int min_samples;
	/* allclear lint without secrets: when set, an unset ${env:NAME} or an
	 * unreadable ${file:PATH} is recorded here ("env:NAME", "file:PATH")
	 * and expands to AC_LINT_PLACEHOLDER instead of being an error. A plan
	 * loaded so is marked lint_only and never probes. */
	struct ac_names *lint_secrets;
};

#define AC_LINT_PLACEHOLDER "allclear-lint-placeholder"

/* Whether value holds a lint placeholder (a secret lint does not have):
 * its syntax (a URL, a DSN) cannot be checked, so checkers skip it. */
bool ac_cfg_lint_placeholder(const struct ac_cfg *cx, const char *value);

void ac_cfg_error(struct ac_cfg *cx, const char *path, const char *fmt, ...) AC_PRINTF(3, 4);

/* The problems reported so far, one per line: every one whole while they
 * fit in max bytes, then "... and K more problems" for the rest (also for
 * those the error buffer had no room for); never one cut in the middle.
 * The caller frees it. */
char *ac_cfg_problems(const struct ac_cfg *cx, size_t max);

/* Names, owners and step names are printed on terminals: a control
 * character or invalid UTF-8 in one (s, at path) is reported. The steps
 * variant checks the "name" of each step of a list; the personas variant
 * persona names and their login steps. */
void ac_cfg_no_controls(struct ac_cfg *cx, const char *path, const char *s);
void ac_cfg_no_controls_in_steps(struct ac_cfg *cx, const cJSON *steps, const char *path);
void ac_cfg_no_controls_in_personas(struct ac_cfg *cx, const cJSON *personas);

/* "unknown WHAT \"NAME\", did you mean \"X\"?" when one of cands is
 * close, else "unknown WHAT \"NAME\"" followed by otherwise (may be ""). */
void ac_cfg_unknown(struct ac_cfg *cx, const char *path, const char *what, const char *name,
		    const char *const *cands, size_t ncands, const char *otherwise);

/* A name of a variable or a capture: letters, digits, '_', '-' and '.',
 * at least one (s need not end at n). */
bool ac_cfg_name_ok(const char *s, size_t n);

/* Key paths: "journeys[1].steps[0]". The caller frees them. */
char *ac_cfg_path(const char *base, const char *key);
char *ac_cfg_path_index(const char *base, size_t index);

/* --- the typed field walker (src/fields.c) --------------------------------
 *
 * A table of struct ac_field describes an object's keys: the type of each,
 * whether it is required, its default, its range and a one-line doc. One
 * walker (ac_cfg_read) validates an object against the table and fills a
 * struct: wrong types, values out of range, unknown enum values, missing
 * keys, each with its key path, every problem at once. ac_cfg_keys reports
 * keys no table knows, with a "did you mean". `allclear schema` is made
 * from the same tables (src/schema.c), so the two cannot drift apart.
 */

enum ac_field_type {
	AC_FT_STRING,	  /* char *, taken literally */
	AC_FT_TEXT,	  /* char *, variables expanded */
	AC_FT_INT,	  /* int */
	AC_FT_LONG,	  /* long */
	AC_FT_NUMBER,	  /* double, finite */
	AC_FT_BOOL,	  /* bool */
	AC_FT_DURATION,	  /* int64_t ms: "5s", "250ms", or a number of ms */
	AC_FT_SIZE,	  /* uint64_t bytes: "8MiB" or a number */
	AC_FT_ENUM,	  /* int: the index of the value in choices */
	AC_FT_URL,	  /* char *: an http(s) URL with a host, variables expanded */
	AC_FT_STRINGS,	  /* struct ac_strings: a list of strings (of choices, if
			   * given), variables expanded */
	AC_FT_HEADERS,	  /* struct ac_kvs: {"Name": "one-line text"}, expanded:
			   * headers and form fields */
	AC_FT_OBJECT,	  /* a struct at offset, filled from the table sub */
	AC_FT_COMPARISON, /* struct ac_expect (src/expect.h), flags in expect */
	AC_FT_ENTRY,	  /* const void *: the entry of the section it names
			   * (probes/sections.h): a database, a Redis server */
	AC_FT_CUSTOM,	  /* read by f->read, or by the caller (offset NONE) */
};

#define AC_FIELD_NONE ((size_t)-1)

/* The JSON shape of a field that the caller reads itself (AC_FT_CUSTOM),
 * for `allclear schema`. Typed fields have the shape of their type. */
enum ac_shape {
	AC_SHAPE_ANY,	     /* no constraint (a JSON body, a value) */
	AC_SHAPE_STRING,     /* text; ${...} allowed */
	AC_SHAPE_INTEGER,    /* a whole number */
	AC_SHAPE_NUMBER,     /* a finite number */
	AC_SHAPE_BOOL,	     /* true or false */
	AC_SHAPE_DURATION,   /* "5s", "250ms" or a number of ms */
	AC_SHAPE_SIZE,	     /* "8MiB" or a number of bytes */
	AC_SHAPE_ENUM,	     /* one of choices */
	AC_SHAPE_COMPARISON, /* {"<=": 10}, {"between": [1, 5]} (src/expect.h) */
	AC_SHAPE_STRINGS,    /* a list of strings */
	AC_SHAPE_STRING_MAP, /* {"name": "text"} */
	AC_SHAPE_OBJECT,     /* an object with the fields sub */
	AC_SHAPE_OBJECTS,    /* a list of such objects */
	AC_SHAPE_OBJECT_MAP, /* {"name": {object with the fields sub}} */
	AC_SHAPE_STRING_OR,  /* text, or an object with the fields sub */
	AC_SHAPE_STRINGS_OR, /* one string or a list of strings */
};

/* The range a number, whole number or duration must lie in. */
enum ac_range {
	AC_RANGE_NONE,
	AC_RANGE_MIN,	   /* min <= v */
	AC_RANGE_ABOVE,	   /* min < v */
	AC_RANGE_CLOSED,   /* min <= v <= max */
	AC_RANGE_OPEN,	   /* min < v < max */
	AC_RANGE_ABOVE_TO, /* min < v <= max */
};

struct ac_field;
/* A reader for a custom field: fill dst from v (at path); report problems
 * with ac_cfg_error. */
typedef void (*ac_field_read_fn)(struct ac_cfg *cx, const struct ac_field *f, const cJSON *v,
				 const char *path, void *dst);

struct ac_field {
	const char *key;
	enum ac_field_type type;
	bool required;
	size_t offset; /* into the output struct, or AC_FIELD_NONE */
	const char *doc;
	/* For AC_FT_CUSTOM fields: the shape the caller accepts. */
	enum ac_shape shape;
	const char *const *choices; /* AC_FT_ENUM, AC_FT_STRINGS, AC_SHAPE_ENUM */
	const struct ac_field *sub; /* AC_FT_OBJECT, AC_SHAPE_OBJECT* and *_OR */
	size_t nsub;
	/* Extra alternatives the schema allows (e.g. a number besides the
	 * shape's own); AC_SHAPE_ANY for none. */
	enum ac_shape also;
	/* Numbers, whole numbers, durations (in ms) and sizes (in bytes): the
	 * allowed range. */
	enum ac_range range;
	double min, max;
	/* The value when the key is absent, as JSON text ("4", "\"1s\"",
	 * "\"sum\""); read like a value in the file. */
	const char *def;
	unsigned expect;       /* AC_FT_COMPARISON: AC_EXPECT_* flags */
	const char *section;   /* AC_FT_ENTRY: "databases", "redis" */
	ac_field_read_fn read; /* AC_FT_CUSTOM with an offset */
};

/* Fill out from obj by table: every key present is checked and stored,
 * absent keys get their default (or stay untouched), missing required
 * keys are reported. Unknown keys are not looked at (ac_cfg_keys).
 * Returns the number of errors added. */
int ac_cfg_read(struct ac_cfg *cx, const cJSON *obj, const char *path,
		const struct ac_field *fields, size_t nfields, void *out);
/* Only the defaults of the table into out (an entry written in a short
 * form, a DSN string, still has the defaults of its long form). */
void ac_cfg_defaults(struct ac_cfg *cx, const char *path, const struct ac_field *fields,
		     size_t nfields, void *out);
/* Release what ac_cfg_read allocated in out (strings, lists, objects,
 * comparisons), leaving the rest. */
void ac_cfg_release(const struct ac_field *fields, size_t nfields, void *out);

/* Report keys of obj that appear in none of the tables. */
void ac_cfg_keys(struct ac_cfg *cx, const cJSON *obj, const char *path,
		 const struct ac_field *const *tables, const size_t *ntables, size_t ntab);
/* Shorthand for one table. */
void ac_cfg_keys1(struct ac_cfg *cx, const cJSON *obj, const char *path,
		  const struct ac_field *fields, size_t nfields);
/* An object read whole: it must be an object, its keys those of the table;
 * then ac_cfg_read. Returns the number of errors added. */
int ac_cfg_object(struct ac_cfg *cx, const cJSON *obj, const char *path,
		  const struct ac_field *fields, size_t nfields, void *out);

/* Require obj to be an object; reports and returns false otherwise. */
bool ac_cfg_want_object(struct ac_cfg *cx, const cJSON *obj, const char *path);

/* Report a secret shorter than AC_SECRET_MIN_BYTES found at where. */
void ac_cfg_short_secret(struct ac_cfg *cx, const char *where, size_t len);

/* Expand variables in text (see above). NULL after reporting an error.
 * Values from ${env:} and ${file:} shorter than AC_SECRET_MIN_BYTES are
 * refused ("KEY from ${env:NAME}: secret is 1 byte, ..."). */
char *ac_cfg_expand(struct ac_cfg *cx, const char *path, const char *text);
/* The same for a URL: values are percent-encoded (all but A-Z a-z 0-9 - . _
 * ~), so a space, & or + arrives as the value; ${raw:name} inserts a value
 * as is (a host, a base URL, a prepared query). */
char *ac_cfg_expand_url(struct ac_cfg *cx, const char *path, const char *text);
void ac_url_encode_into(struct ac_buf *b, const char *s);

/* An http:// or https:// URL with a host, read by libcurl's URL parser
 * (IPv6 literals in brackets); false after reporting why at path. */
bool ac_cfg_http_url(struct ac_cfg *cx, const char *path, const char *url);

/* Expand variables in every string of a JSON value (a request body, a
 * comparison operand), in place; a number that is not finite is an error. */
void ac_cfg_expand_json(struct ac_cfg *cx, cJSON *node, const char *path);

/* A JSON string member, expanded; NULL (and an error if required). */
char *ac_cfg_text(struct ac_cfg *cx, const cJSON *obj, const char *path, const char *key,
		  bool required);

/* A duration from a JSON number (ms) or string ("5s"). */
int ac_cfg_duration(struct ac_cfg *cx, const cJSON *v, const char *path, int64_t *out);

/* Substitute run-time ${name} references with lookup(ud, name). Returns
 * NULL and sets *missing to the first unknown name (the caller frees it). */
typedef const char *(*ac_lookup_fn)(void *ud, const char *name);
char *ac_vars_subst(const char *tmpl, ac_lookup_fn lookup, void *ud, char **missing);
/* The same for a URL: values percent-encoded unless ${raw:name}. */
char *ac_vars_subst_url(const char *tmpl, ac_lookup_fn lookup, void *ud, char **missing);

#endif
