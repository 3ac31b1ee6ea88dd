/*
 * expect.h: comparison objects, read and judged in one place.
 *
 *   {"<=": 0.05}   {">": 0, "<": 10}   {"between": [1, 5]}   {"==": "ok"}
 *
 * The operators are == != < <= > >= and between (both ends included). Every
 * comparison of an object must hold. Probes that judge a number (metric,
 * redis, sql, queue) and the http assertions (json, count, duration, size)
 * all use this module, so an operator means the same everywhere.
 *
 * Judging fails closed: a value that is missing, not finite (NaN, Inf) or
 * of another type never holds, whatever the operator: NaN is not "!= 0", a
 * missing value is not 0, false or null, and the string "0" is not the
 * number 0.
 */
#ifndef AC_EXPECT_H
#define AC_EXPECT_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

struct ac_cfg;

enum ac_expect_op {
	AC_EXPECT_EQ,
	AC_EXPECT_NE,
	AC_EXPECT_LT,
	AC_EXPECT_LE,
	AC_EXPECT_GT,
	AC_EXPECT_GE,
	AC_EXPECT_BETWEEN,
};

/* What a caller allows in a comparison object. */
enum {
	AC_EXPECT_ONE = 1u << 0,       /* exactly one comparison */
	AC_EXPECT_ANY_VALUE = 1u << 1, /* == and != take any JSON value; strings are
					* templates (${capture} kept for run time) */
	AC_EXPECT_DURATION = 1u << 2,  /* "500ms", "2s" as operands, in ms */
	AC_EXPECT_SIZE = 1u << 3,      /* "8MiB", "64KiB" as operands, in bytes */
};

struct ac_expect_cmp {
	enum ac_expect_op op;
	double a, b;  /* the operand; between: low (a) and high (b) */
	cJSON *value; /* AC_EXPECT_ANY_VALUE, == and !=: the value (owned), else NULL */
};

struct ac_expect {
	struct ac_expect_cmp *cmps;
	size_t n;
};

/* "==", "<=", "between". */
const char *ac_expect_op_name(enum ac_expect_op op);

/* Read the comparison object obj (at path, for messages) into e, which
 * starts zeroed. Errors name the key path: an unknown operator (with "did
 * you mean", also among the caller's own keys in also, e.g. "exists"), an
 * empty object, "between" without two numbers low <= high, a non-number
 * (or, where allowed, a non-duration or non-size) operand, a number that
 * is not finite. Returns 0, or -1 after reporting; release e either way. */
int ac_expect_parse(struct ac_cfg *cx, const cJSON *obj, const char *path, unsigned flags,
		    const char *const *also, size_t nalso, struct ac_expect *e);
/* Add one numeric comparison (a bare limit, a bare count). */
void ac_expect_add(struct ac_expect *e, enum ac_expect_op op, double a, double b);
/* Add == or != with a JSON value (copied; its strings expanded as in
 * ac_expect_parse, errors reported at path). */
void ac_expect_add_value(struct ac_cfg *cx, const char *path, struct ac_expect *e,
			 enum ac_expect_op op, const cJSON *v);
void ac_expect_release(struct ac_expect *e);

/* One numeric comparison: false whenever v, a (or b for between) is not
 * finite. */
bool ac_expect_num_holds(enum ac_expect_op op, double v, double a, double b);
/* Every comparison of e holds for the number v (false for an empty e). */
bool ac_expect_holds(const struct ac_expect *e, double v);

/* Expands a template string of an operand at run time; returns a new
 * string. NULL: operands are taken as they are. */
typedef char *(*ac_expect_expand_fn)(void *ud, const char *tmpl);

/* One comparison against a JSON value from a response: actual NULL is a
 * missing value and never holds; ordering operators need a finite number;
 * == and != compare strictly by type. */
bool ac_expect_cmp_json(const struct ac_expect_cmp *c, const cJSON *actual,
			ac_expect_expand_fn expand, void *ud);

/* "<= 0.05", "between 1 and 5", "> 0 and < 10", "== ok": unit (" ms",
 * " bytes", or "") follows each number. Numbers print as %.15g. */
char *ac_expect_text(const struct ac_expect *e, const char *unit, ac_expect_expand_fn expand,
		     void *ud);
/* "error ratio 0.8, expected <= 0.05": what, the actual value as the caller
 * prints it, and the expectation. */
char *ac_expect_fail_text(const char *what, const char *actual, const struct ac_expect *e,
			  const char *unit);
/* A number as ac_expect_text prints it: "0.05", "1e+20". */
char *ac_expect_num_text(double v);

#endif
