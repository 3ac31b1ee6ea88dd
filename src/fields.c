/*
 * fields.c: the typed field walker. A table of struct ac_field (cfg.h)
 * says what an object's keys hold; ac_cfg_read checks an object against it
 * and fills a struct, reporting every problem with its key path.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "expect.h"
#include "json.h"
#include "sections.h"

static const char *type_word(enum ac_field_type t)
{
	switch (t) {
	case AC_FT_STRING:
	case AC_FT_TEXT:
	case AC_FT_ENTRY:
		return "a string";
	case AC_FT_INT:
	case AC_FT_LONG:
		return "a whole number";
	case AC_FT_NUMBER:
		return "a number";
	case AC_FT_BOOL:
		return "true or false";
	case AC_FT_DURATION:
		return "a duration such as \"5s\" or \"250ms\"";
	case AC_FT_SIZE:
		return "a size such as \"8MiB\"";
	case AC_FT_URL:
		return "a URL";
	case AC_FT_STRINGS:
		return "a list of strings";
	case AC_FT_HEADERS:
		return "an object of names and values";
	case AC_FT_OBJECT:
	case AC_FT_COMPARISON:
		return "an object";
	case AC_FT_ENUM:
	case AC_FT_CUSTOM:
		break;
	}
	return "a value";
}

int ac_cfg_duration(struct ac_cfg *cx, const cJSON *v, const char *path, int64_t *out)
{
	if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 9e15 &&
	    v->valuedouble == floor(v->valuedouble)) {
		*out = (int64_t)v->valuedouble;
		return 0;
	}
	if (cJSON_IsString(v) && ac_parse_duration_ms(v->valuestring, out) == 0)
		return 0;
	ac_cfg_error(cx, path, "expected %s", type_word(AC_FT_DURATION));
	return -1;
}

/* "sum, max or min" */
static char *choice_list(const char *const *c)
{
	struct ac_buf b = AC_BUF_INIT;
	for (size_t i = 0; c[i]; i++)
		ac_buf_addf(&b, "%s%s", i == 0 ? "" : c[i + 1] ? ", " : " or ", c[i]);
	return ac_buf_detach(&b);
}

static size_t choice_index(const char *const *c, const char *s)
{
	for (size_t i = 0; c[i]; i++)
		if (strcmp(c[i], s) == 0)
			return i;
	return SIZE_MAX;
}

/* "unknown area \"cach\", did you mean \"cache\"?"; what: the key, or
 * "value" for an item of a list. */
static void bad_choice(struct ac_cfg *cx, const struct ac_field *f, const char *path,
		       const char *what, const cJSON *v)
{
	size_t n = 0;
	while (f->choices[n])
		n++;
	char *list = choice_list(f->choices);
	if (!cJSON_IsString(v)) {
		ac_cfg_error(cx, path, "expected %s", list);
	} else {
		char *hint = ac_asprintf(" (%s)", list);
		ac_cfg_unknown(cx, path, what, v->valuestring, f->choices, n, hint);
		free(hint);
	}
	free(list);
}

/* Whether x lies in the field's range; reports at path if not. For a
 * duration, the bounds are in ms. */
static bool in_range(struct ac_cfg *cx, const struct ac_field *f, const char *path, double x)
{
	bool ok = true;
	switch (f->range) {
	case AC_RANGE_NONE:
		return true;
	case AC_RANGE_MIN:
		ok = x >= f->min;
		break;
	case AC_RANGE_ABOVE:
		ok = x > f->min;
		break;
	case AC_RANGE_CLOSED:
		ok = x >= f->min && x <= f->max;
		break;
	case AC_RANGE_OPEN:
		ok = x > f->min && x < f->max;
		break;
	case AC_RANGE_ABOVE_TO:
		ok = x > f->min && x <= f->max;
		break;
	}
	if (ok)
		return true;
	const char *what = f->type == AC_FT_DURATION ? "a duration"
			   : f->type == AC_FT_SIZE   ? "a size"
			   : f->type == AC_FT_NUMBER ? "a number"
						     : "a whole number";
	const char *u = f->type == AC_FT_DURATION ? " ms" : f->type == AC_FT_SIZE ? " bytes" : "";
	switch (f->range) {
	case AC_RANGE_MIN:
		ac_cfg_error(cx, path, "expected %s of at least %g%s", what, f->min, u);
		break;
	case AC_RANGE_ABOVE:
		ac_cfg_error(cx, path, "expected %s above %g%s", what, f->min, u);
		break;
	case AC_RANGE_CLOSED:
		ac_cfg_error(cx, path, "expected %s from %g to %g%s", what, f->min, f->max, u);
		break;
	case AC_RANGE_OPEN:
		ac_cfg_error(cx, path, "expected %s between %g and %g (exclusive)%s", what, f->min,
			     f->max, u);
		break;
	case AC_RANGE_ABOVE_TO:
		ac_cfg_error(cx, path, "expected %s above %g and at most %g%s", what, f->min,
			     f->max, u);
		break;
	case AC_RANGE_NONE:
		break;
	}
	return false;
}

static void set_string(char *dst, char *s)
{
	free(*(char **)dst);
	*(char **)dst = s;
}

static void read_strings(struct ac_cfg *cx, const struct ac_field *f, const cJSON *v,
			 const char *path, struct ac_strings *out)
{
	if (!cJSON_IsArray(v)) {
		ac_cfg_error(cx, path, "expected %s", type_word(f->type));
		return;
	}
	ac_strings_release(out);
	out->v = ac_calloc((size_t)cJSON_GetArraySize(v) + 1, sizeof(*out->v));
	size_t i = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, v)
	{
		char *ep = ac_cfg_path_index(path, i++);
		if (!cJSON_IsString(e))
			ac_cfg_error(cx, ep, "expected a string");
		else if (f->choices && choice_index(f->choices, e->valuestring) == SIZE_MAX)
			bad_choice(cx, f, ep, "value", e);
		else {
			char *s = ac_cfg_expand(cx, ep, e->valuestring);
			if (s)
				out->v[out->n++] = s;
		}
		free(ep);
	}
}

/* Name/value pairs sent in a request (headers, form fields): a name
 * without line breaks or ':', a value of one line (a number is taken as its
 * text). Values are templates: variables expanded. */
static void read_pairs(struct ac_cfg *cx, const cJSON *v, const char *path, struct ac_kvs *out)
{
	if (!ac_cfg_want_object(cx, v, path))
		return;
	ac_kvs_release(out);
	out->v = ac_calloc((size_t)cJSON_GetArraySize(v) + 1, sizeof(*out->v));
	const cJSON *m;
	cJSON_ArrayForEach(m, v)
	{
		char *kp = ac_cfg_path(path, m->string);
		char *val = NULL;
		if (cJSON_IsString(m))
			val = ac_cfg_expand(cx, kp, m->valuestring);
		else if (cJSON_IsNumber(m))
			val = ac_json_to_text(m);
		else
			ac_cfg_error(cx, kp, "expected a string");
		bool bad = false;
		if (strpbrk(m->string, "\r\n:") || !*m->string) {
			ac_cfg_error(cx, kp, "bad header or field name");
			bad = true;
		}
		if (val && strpbrk(val, "\r\n")) {
			ac_cfg_error(cx, kp, "line breaks are not allowed in values");
			bad = true;
		}
		if (val && !bad) {
			out->v[out->n].name = ac_strdup(m->string);
			out->v[out->n++].value = val;
		} else {
			free(val);
		}
		free(kp);
	}
}

/* Read one present value v of field f into dst. */
static void read_value(struct ac_cfg *cx, const struct ac_field *f, const cJSON *v, const char *kp,
		       char *dst)
{
	bool bad = false;
	switch (f->type) {
	case AC_FT_STRING:
	case AC_FT_TEXT:
	case AC_FT_URL: {
		if (!cJSON_IsString(v)) {
			bad = true;
			break;
		}
		char *s = f->type == AC_FT_STRING ? ac_strdup(v->valuestring)
						  : ac_cfg_expand(cx, kp, v->valuestring);
		if (s && f->type == AC_FT_URL && !ac_cfg_http_url(cx, kp, s)) {
			free(s);
			s = NULL;
		}
		if (s)
			set_string(dst, s);
		break;
	}
	case AC_FT_INT:
	case AC_FT_LONG:
		if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
		    fabs(v->valuedouble) > 2147483647.0) {
			bad = true;
			break;
		}
		if (!in_range(cx, f, kp, v->valuedouble))
			break;
		if (f->type == AC_FT_INT)
			*(int *)dst = (int)v->valuedouble;
		else
			*(long *)dst = (long)v->valuedouble;
		break;
	case AC_FT_NUMBER:
		if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) {
			bad = true;
			break;
		}
		if (in_range(cx, f, kp, v->valuedouble))
			*(double *)dst = v->valuedouble;
		break;
	case AC_FT_BOOL:
		if (!cJSON_IsBool(v)) {
			bad = true;
			break;
		}
		*(bool *)dst = cJSON_IsTrue(v);
		break;
	case AC_FT_DURATION: {
		int64_t ms;
		if (ac_cfg_duration(cx, v, kp, &ms) == 0 && in_range(cx, f, kp, (double)ms))
			*(int64_t *)dst = ms;
		break;
	}
	case AC_FT_SIZE: {
		uint64_t sz;
		if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1.8e19 &&
		    v->valuedouble == floor(v->valuedouble))
			sz = (uint64_t)v->valuedouble;
		else if (!cJSON_IsString(v) || ac_parse_size(v->valuestring, &sz) < 0) {
			bad = true;
			break;
		}
		if (in_range(cx, f, kp, (double)sz))
			*(uint64_t *)dst = sz;
		break;
	}
	case AC_FT_ENUM: {
		size_t i = cJSON_IsString(v) ? choice_index(f->choices, v->valuestring) : SIZE_MAX;
		if (i == SIZE_MAX)
			bad_choice(cx, f, kp, f->key, v);
		else
			*(int *)dst = (int)i;
		break;
	}
	case AC_FT_STRINGS:
		read_strings(cx, f, v, kp, (struct ac_strings *)(void *)dst);
		break;
	case AC_FT_HEADERS:
		read_pairs(cx, v, kp, (struct ac_kvs *)(void *)dst);
		break;
	case AC_FT_OBJECT:
		ac_cfg_object(cx, v, kp, f->sub, f->nsub, dst);
		break;
	case AC_FT_COMPARISON: {
		struct ac_expect *e = (struct ac_expect *)(void *)dst;
		ac_expect_release(e);
		ac_expect_parse(cx, v, kp, f->expect, NULL, 0, e);
		break;
	}
	case AC_FT_ENTRY:
		*(const void **)dst = ac_section_find(cx, f->section, v, kp);
		break;
	case AC_FT_CUSTOM:
		f->read(cx, f, v, kp, dst);
		break;
	}
	if (bad)
		ac_cfg_error(cx, kp, "expected %s", type_word(f->type));
}

int ac_cfg_read(struct ac_cfg *cx, const cJSON *obj, const char *path,
		const struct ac_field *fields, size_t nfields, void *out)
{
	size_t before = cx->nerrors;
	for (size_t i = 0; i < nfields; i++) {
		const struct ac_field *f = &fields[i];
		const cJSON *v = ac_json_get(obj, f->key);
		if (!v && f->required && f->type == AC_FT_ENUM) {
			char *list = choice_list(f->choices);
			ac_cfg_error(cx, path, "missing required key \"%s\" (%s)", f->key, list);
			free(list);
		} else if (!v && f->required) {
			ac_cfg_error(cx, path, "missing required key \"%s\"", f->key);
		}
		if (f->offset == AC_FIELD_NONE || (f->type == AC_FT_CUSTOM && !f->read))
			continue;
		cJSON *def = NULL;
		if (!v && f->def) {
			def = cJSON_Parse(f->def);
			if (!def)
				abort(); /* a table's default is not JSON: a bug */
			v = def;
		}
		if (v) {
			char *kp = ac_cfg_path(path, f->key);
			read_value(cx, f, v, kp, (char *)out + f->offset);
			free(kp);
		}
		cJSON_Delete(def);
	}
	return (int)(cx->nerrors - before);
}

void ac_cfg_defaults(struct ac_cfg *cx, const char *path, const struct ac_field *fields,
		     size_t nfields, void *out)
{
	for (size_t i = 0; i < nfields; i++) {
		const struct ac_field *f = &fields[i];
		if (!f->def || f->offset == AC_FIELD_NONE)
			continue;
		cJSON *def = cJSON_Parse(f->def);
		if (!def)
			abort(); /* a table's default is not JSON: a bug */
		char *kp = ac_cfg_path(path, f->key);
		read_value(cx, f, def, kp, (char *)out + f->offset);
		free(kp);
		cJSON_Delete(def);
	}
}

void ac_cfg_release(const struct ac_field *fields, size_t nfields, void *out)
{
	for (size_t i = 0; i < nfields; i++) {
		const struct ac_field *f = &fields[i];
		if (f->offset == AC_FIELD_NONE)
			continue;
		char *dst = (char *)out + f->offset;
		switch (f->type) {
		case AC_FT_STRING:
		case AC_FT_TEXT:
		case AC_FT_URL:
			set_string(dst, NULL);
			break;
		case AC_FT_STRINGS:
			ac_strings_release((struct ac_strings *)(void *)dst);
			break;
		case AC_FT_HEADERS:
			ac_kvs_release((struct ac_kvs *)(void *)dst);
			break;
		case AC_FT_OBJECT:
			ac_cfg_release(f->sub, f->nsub, dst);
			break;
		case AC_FT_COMPARISON:
			ac_expect_release((struct ac_expect *)(void *)dst);
			break;
		default:
			break;
		}
	}
}

void ac_cfg_keys(struct ac_cfg *cx, const cJSON *obj, const char *path,
		 const struct ac_field *const *tables, const size_t *ntables, size_t ntab)
{
	if (!cJSON_IsObject(obj))
		return;
	const cJSON *m;
	cJSON_ArrayForEach(m, obj)
	{
		bool known = false;
		size_t total = 0;
		for (size_t t = 0; t < ntab; t++) {
			total += ntables[t];
			for (size_t i = 0; i < ntables[t] && !known; i++)
				known = strcmp(tables[t][i].key, m->string) == 0;
		}
		if (known)
			continue;
		const char **cands = ac_calloc(total + 1, sizeof(*cands));
		size_t k = 0;
		for (size_t t = 0; t < ntab; t++)
			for (size_t i = 0; i < ntables[t]; i++)
				cands[k++] = tables[t][i].key;
		const char *s = ac_suggest(m->string, cands, k);
		char *kp = ac_cfg_path(path, m->string);
		if (s)
			ac_cfg_error(cx, kp, "unknown key, did you mean \"%s\"?", s);
		else
			ac_cfg_error(cx, kp, "unknown key");
		free(kp);
		free(cands);
	}
}

void ac_cfg_keys1(struct ac_cfg *cx, const cJSON *obj, const char *path,
		  const struct ac_field *fields, size_t nfields)
{
	ac_cfg_keys(cx, obj, path, &fields, &nfields, 1);
}

int ac_cfg_object(struct ac_cfg *cx, const cJSON *obj, const char *path,
		  const struct ac_field *fields, size_t nfields, void *out)
{
	size_t before = cx->nerrors;
	if (!ac_cfg_want_object(cx, obj, path))
		return 1;
	ac_cfg_keys1(cx, obj, path, fields, nfields);
	ac_cfg_read(cx, obj, path, fields, nfields, out);
	return (int)(cx->nerrors - before);
}

bool ac_cfg_want_object(struct ac_cfg *cx, const cJSON *obj, const char *path)
{
	if (cJSON_IsObject(obj))
		return true;
	ac_cfg_error(cx, path, "expected an object");
	return false;
}
