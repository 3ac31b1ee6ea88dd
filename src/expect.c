/*
 * expect.c: comparison objects (see expect.h).
 */
#include "expect.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cfg.h"
#include "json.h"
#include "util.h"

static const char *const op_names[] = {"==", "!=", "<", "<=", ">", ">=", "between"};

#define OP_LIST "==, !=, <, <=, >, >=, between"

const char *ac_expect_op_name(enum ac_expect_op op)
{
	return (size_t)op < AC_ARRAY_LEN(op_names) ? op_names[op] : "?";
}

void ac_expect_add(struct ac_expect *e, enum ac_expect_op op, double a, double b)
{
	e->cmps = ac_realloc(e->cmps, (e->n + 1) * sizeof(*e->cmps));
	e->cmps[e->n].op = op;
	e->cmps[e->n].a = a;
	e->cmps[e->n].b = b;
	e->cmps[e->n].value = NULL;
	e->n++;
}

void ac_expect_release(struct ac_expect *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->n; i++)
		cJSON_Delete(e->cmps[i].value);
	free(e->cmps);
	e->cmps = NULL;
	e->n = 0;
}

void ac_expect_add_value(struct ac_cfg *cx, const char *path, struct ac_expect *e,
			 enum ac_expect_op op, const cJSON *v)
{
	cJSON *dup = cJSON_Duplicate(v, 1);
	ac_cfg_expand_json(cx, dup, path);
	ac_expect_add(e, op, cJSON_IsNumber(dup) ? dup->valuedouble : NAN, NAN);
	e->cmps[e->n - 1].value = dup;
}

/* A numeric operand: a finite number, or where flags allow, a duration
 * (ms) or a size (bytes) written as a string. */
static int operand(struct ac_cfg *cx, const char *path, const cJSON *v, unsigned flags, double *out)
{
	if (cJSON_IsNumber(v)) {
		if (!isfinite(v->valuedouble)) {
			ac_cfg_error(cx, path, "expected a finite number");
			return -1;
		}
		*out = v->valuedouble;
		return 0;
	}
	if (cJSON_IsString(v) && (flags & AC_EXPECT_DURATION)) {
		int64_t ms;
		if (ac_parse_duration_ms(v->valuestring, &ms) == 0) {
			*out = (double)ms;
			return 0;
		}
	}
	if (cJSON_IsString(v) && (flags & AC_EXPECT_SIZE)) {
		uint64_t n;
		if (ac_parse_size(v->valuestring, &n) == 0) {
			*out = (double)n;
			return 0;
		}
	}
	if (flags & AC_EXPECT_DURATION)
		ac_cfg_error(cx, path,
			     "expected a duration (\"500ms\", \"2s\") or a number of milliseconds");
	else if (flags & AC_EXPECT_SIZE)
		ac_cfg_error(cx, path,
			     "expected a size (\"64KiB\", \"8MiB\") or a number of bytes");
	else if (cJSON_IsString(v) && ac_parse_double(v->valuestring, &(double){0}) == 0)
		ac_cfg_error(cx, path, "expected a number, not the string \"%s\" (drop the quotes)",
			     v->valuestring);
	else
		ac_cfg_error(cx, path, "expected a number");
	return -1;
}

static void parse_between(struct ac_cfg *cx, const char *path, const cJSON *m, unsigned flags,
			  struct ac_expect *e)
{
	if (!cJSON_IsArray(m) || cJSON_GetArraySize(m) != 2) {
		ac_cfg_error(cx, path, "expected [low, high]: two numbers, both included");
		return;
	}
	double lo = 0, hi = 0;
	int rc = 0;
	for (int i = 0; i < 2; i++) {
		char *ip = ac_cfg_path_index(path, (size_t)i);
		rc |= operand(cx, ip, cJSON_GetArrayItem(m, i), flags, i == 0 ? &lo : &hi);
		free(ip);
	}
	if (rc != 0)
		return;
	if (!(lo <= hi)) {
		char *l = ac_expect_num_text(lo), *h = ac_expect_num_text(hi);
		ac_cfg_error(cx, path, "expected [low, high]: low %s is above high %s", l, h);
		free(l);
		free(h);
		return;
	}
	ac_expect_add(e, AC_EXPECT_BETWEEN, lo, hi);
}

/* The operator meant by an unknown key: "=<" is "<=", "BETWEEN" is
 * "between"; else the nearest by edit distance. */
static const char *meant(const char *key, const char *const *cands, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(key, cands[i]) == 0)
			return cands[i];
	if (strlen(key) == 2) {
		char rev[3] = {key[1], key[0], '\0'};
		for (size_t i = 0; i < n; i++)
			if (strcmp(rev, cands[i]) == 0)
				return cands[i];
	}
	if (strcmp(key, "=") == 0 || strcmp(key, "===") == 0)
		return "==";
	if (strcmp(key, "<>") == 0 || strcmp(key, "!==") == 0)
		return "!=";
	return ac_suggest(key, cands, n);
}

static void unknown_op(struct ac_cfg *cx, const char *path, const char *key,
		       const char *const *also, size_t nalso)
{
	const char *cands[24];
	size_t n = 0;
	struct ac_buf list = AC_BUF_INIT;
	ac_buf_adds(&list, OP_LIST);
	for (size_t i = 0; i < AC_ARRAY_LEN(op_names); i++)
		cands[n++] = op_names[i];
	for (size_t i = 0; i < nalso && n < AC_ARRAY_LEN(cands); i++) {
		cands[n++] = also[i];
		ac_buf_addf(&list, ", %s", also[i]);
	}
	const char *sug = meant(key, cands, n);
	if (sug)
		ac_cfg_error(cx, path, "unknown comparison \"%s\", did you mean \"%s\"? (%s)", key,
			     sug, list.buf);
	else
		ac_cfg_error(cx, path, "unknown comparison \"%s\" (%s)", key, list.buf);
	ac_buf_release(&list);
}

int ac_expect_parse(struct ac_cfg *cx, const cJSON *obj, const char *path, unsigned flags,
		    const char *const *also, size_t nalso, struct ac_expect *e)
{
	size_t before = cx->nerrors;
	if (!cJSON_IsObject(obj)) {
		ac_cfg_error(cx, path,
			     "expected a comparison object, e.g. {\"<=\": 10} or {\"between\": [1, "
			     "5]}");
		return -1;
	}
	int n = cJSON_GetArraySize(obj);
	if (n == 0) {
		ac_cfg_error(cx, path,
			     "expected a comparison, e.g. {\"<=\": 10}, not an empty object");
		return -1;
	}
	if ((flags & AC_EXPECT_ONE) && n > 1) {
		ac_cfg_error(cx, path,
			     "expected one comparison, not %d (for a range: {\"between\": [low, "
			     "high]})",
			     n);
		return -1;
	}
	const cJSON *m;
	cJSON_ArrayForEach(m, obj)
	{
		char *kp = ac_cfg_path(path, m->string);
		size_t op;
		for (op = 0; op < AC_ARRAY_LEN(op_names); op++)
			if (strcmp(m->string, op_names[op]) == 0)
				break;
		double v;
		if (op == AC_ARRAY_LEN(op_names))
			unknown_op(cx, kp, m->string, also, nalso);
		else if (op == AC_EXPECT_BETWEEN)
			parse_between(cx, kp, m, flags, e);
		else if ((flags & AC_EXPECT_ANY_VALUE) &&
			 (op == AC_EXPECT_EQ || op == AC_EXPECT_NE))
			ac_expect_add_value(cx, kp, e, (enum ac_expect_op)op, m);
		else if (operand(cx, kp, m, flags, &v) == 0)
			ac_expect_add(e, (enum ac_expect_op)op, v, NAN);
		free(kp);
	}
	return cx->nerrors == before ? 0 : -1;
}

bool ac_expect_num_holds(enum ac_expect_op op, double v, double a, double b)
{
	/* Fail closed: NaN compares unequal to everything, so "!=" would
	 * hold for it; nothing holds for a value that is not finite. */
	if (!isfinite(v) || !isfinite(a))
		return false;
	switch (op) {
	case AC_EXPECT_EQ:
		return v == a;
	case AC_EXPECT_NE:
		return v != a;
	case AC_EXPECT_LT:
		return v < a;
	case AC_EXPECT_LE:
		return v <= a;
	case AC_EXPECT_GT:
		return v > a;
	case AC_EXPECT_GE:
		return v >= a;
	case AC_EXPECT_BETWEEN:
		return isfinite(b) && v >= a && v <= b;
	}
	return false;
}

bool ac_expect_holds(const struct ac_expect *e, double v)
{
	if (!e || e->n == 0 || !isfinite(v))
		return false;
	for (size_t i = 0; i < e->n; i++) {
		const struct ac_expect_cmp *c = &e->cmps[i];
		bool ok;
		if (c->value && !cJSON_IsNumber(c->value))
			ok = c->op == AC_EXPECT_NE; /* a number is never a string, bool or null */
		else
			ok = ac_expect_num_holds(c->op, v, c->a, c->b);
		if (!ok)
			return false;
	}
	return true;
}

bool ac_expect_cmp_json(const struct ac_expect_cmp *c, const cJSON *actual,
			ac_expect_expand_fn expand, void *ud)
{
	if (!actual)
		return false;
	if (cJSON_IsNumber(actual) && !isfinite(actual->valuedouble))
		return false;
	if (!c->value) {
		if (!cJSON_IsNumber(actual))
			return false;
		return ac_expect_num_holds(c->op, actual->valuedouble, c->a, c->b);
	}
	bool eq;
	if (cJSON_IsString(c->value)) {
		char *w =
		    expand ? expand(ud, c->value->valuestring) : ac_strdup(c->value->valuestring);
		eq = cJSON_IsString(actual) && strcmp(actual->valuestring, w) == 0;
		free(w);
	} else if (cJSON_IsNumber(c->value)) {
		eq = cJSON_IsNumber(actual) && actual->valuedouble == c->value->valuedouble;
	} else {
		eq = cJSON_Compare(actual, c->value, 1);
	}
	return c->op == AC_EXPECT_EQ ? eq : c->op == AC_EXPECT_NE ? !eq : false;
}

char *ac_expect_num_text(double v)
{
	return ac_asprintf("%.15g", v);
}

char *ac_expect_text(const struct ac_expect *e, const char *unit, ac_expect_expand_fn expand,
		     void *ud)
{
	struct ac_buf b = AC_BUF_INIT;
	if (!unit)
		unit = "";
	for (size_t i = 0; e && i < e->n; i++) {
		const struct ac_expect_cmp *c = &e->cmps[i];
		ac_buf_adds(&b, i ? " and " : "");
		if (c->op == AC_EXPECT_BETWEEN) {
			ac_buf_addf(&b, "between %.15g%s and %.15g%s", c->a, unit, c->b, unit);
		} else if (c->value) {
			char *v = ac_json_to_text(c->value);
			char *x = cJSON_IsString(c->value) && expand ? expand(ud, v) : ac_strdup(v);
			ac_buf_addf(&b, "%s %s%s", op_names[c->op], x,
				    cJSON_IsNumber(c->value) ? unit : "");
			free(x);
			free(v);
		} else {
			ac_buf_addf(&b, "%s %.15g%s", op_names[c->op], c->a, unit);
		}
	}
	return ac_buf_detach(&b);
}

char *ac_expect_fail_text(const char *what, const char *actual, const struct ac_expect *e,
			  const char *unit)
{
	char *t = ac_expect_text(e, unit, NULL, NULL);
	char *r = ac_asprintf("%s %s, expected %s", what, actual, t);
	free(t);
	return r;
}
