/*
 * http_assert.c: the assertions of a journey step (status, headers, body,
 * JSON, duration, size): reading them from the scenario and judging a
 * response against them; and the captures a step takes from a response.
 * Comparison objects ({"<=": 500}, {"between": [1, 5]}) are read and
 * judged by src/expect.c, as for every other kind.
 */
#include <ctype.h>
#include <curl/curl.h>
#include <math.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "curlmulti.h"
#include "http.h"
#include "json.h"
#include "probe.h"

/* --- reading assertions -------------------------------------------------- */

void http_assertion_release(struct assertion *a)
{
	free(a->subject);
	free(a->text);
	if (a->has_re)
		regfree(&a->re);
	ac_expect_release(&a->expect);
}

static struct assertion *add_assertion(struct step *s, enum assert_kind kind)
{
	s->asserts = ac_realloc(s->asserts, (s->nasserts + 1) * sizeof(*s->asserts));
	struct assertion *a = &s->asserts[s->nasserts++];
	memset(a, 0, sizeof(*a));
	a->kind = kind;
	a->exists = -1;
	return a;
}

static void parse_status(struct ac_cfg *cx, const cJSON *v, const char *path, struct step *s)
{
	struct assertion *a = add_assertion(s, A_STATUS);
	const cJSON *one = v, *e;
	cJSON *list = NULL;
	if (!cJSON_IsArray(v)) {
		list = cJSON_CreateArray();
		cJSON_AddItemReferenceToArray(list, (cJSON *)(uintptr_t)one);
		v = list;
	}
	cJSON_ArrayForEach(e, v)
	{
		int code = -1;
		if (cJSON_IsNumber(e) && e->valuedouble >= 100 && e->valuedouble <= 599 &&
		    e->valuedouble == floor(e->valuedouble))
			code = (int)e->valuedouble;
		else if (cJSON_IsString(e) && strlen(e->valuestring) == 3 &&
			 e->valuestring[0] >= '1' && e->valuestring[0] <= '5' &&
			 tolower((unsigned char)e->valuestring[1]) == 'x' &&
			 tolower((unsigned char)e->valuestring[2]) == 'x')
			code = e->valuestring[0] - '0';
		if (code < 0 || a->ncodes >= AC_ARRAY_LEN(a->codes))
			ac_cfg_error(cx, path,
				     "expected a status code (200), a class (\"2xx\") or a list");
		else
			a->codes[a->ncodes++] = code;
	}
	if (a->ncodes == 0)
		ac_cfg_error(cx, path, "expected at least one status");
	cJSON_Delete(list);
}

static void parse_str_assert(struct ac_cfg *cx, const cJSON *v, const char *path,
			     struct assertion *a)
{
	if (cJSON_IsString(v)) {
		a->sop = S_EQUALS;
		a->text = ac_cfg_expand(cx, path, v->valuestring);
		return;
	}
	if (!cJSON_IsObject(v) || cJSON_GetArraySize(v) != 1) {
		ac_cfg_error(cx, path,
			     "expected a string or one of {\"equals\"|\"contains\"|\"matches\": "
			     "\"...\"} or {\"exists\": true|false}");
		return;
	}
	const cJSON *m = v->child;
	char *kp = ac_cfg_path(path, m->string);
	if (strcmp(m->string, "exists") == 0 && cJSON_IsBool(m)) {
		a->sop = cJSON_IsTrue(m) ? S_EXISTS : S_ABSENT;
	} else if (cJSON_IsString(m) &&
		   (strcmp(m->string, "equals") == 0 || strcmp(m->string, "contains") == 0 ||
		    strcmp(m->string, "matches") == 0)) {
		a->sop = m->string[0] == 'e'   ? S_EQUALS
			 : m->string[0] == 'c' ? S_CONTAINS
					       : S_MATCHES;
		a->text = ac_cfg_expand(cx, kp, m->valuestring);
		if (a->sop == S_MATCHES && a->text && !ac_names_has(cx->runtime, "") &&
		    !strstr(a->text, "${"))
			a->has_re = http_compile_re(cx, kp, a->text, &a->re);
	} else {
		static const char *const keys[] = {"equals", "contains", "matches", "exists"};
		const char *sug = ac_suggest(m->string, keys, AC_ARRAY_LEN(keys));
		if (sug && strcmp(sug, m->string) != 0)
			ac_cfg_error(cx, kp, "unknown key, did you mean \"%s\"?", sug);
		else
			ac_cfg_error(cx, kp,
				     "expected equals, contains, matches (strings) or exists "
				     "(true/false)");
	}
	free(kp);
}

static void parse_body_asserts(struct ac_cfg *cx, const cJSON *v, const char *path, struct step *s)
{
	static const struct ac_field f[] = {
	    {"contains", AC_FT_CUSTOM, false, AC_FIELD_NONE, NULL},
	    {"not_contains", AC_FT_CUSTOM, false, AC_FIELD_NONE, NULL},
	    {"matches", AC_FT_CUSTOM, false, AC_FIELD_NONE, NULL},
	};
	if (!ac_cfg_want_object(cx, v, path))
		return;
	ac_cfg_keys1(cx, v, path, f, AC_ARRAY_LEN(f));
	for (size_t k = 0; k < AC_ARRAY_LEN(f); k++) {
		const cJSON *m = ac_json_get(v, f[k].key), *e;
		if (!m)
			continue;
		char *kp = ac_cfg_path(path, f[k].key);
		cJSON *list = NULL;
		if (cJSON_IsString(m)) {
			list = cJSON_CreateArray();
			cJSON_AddItemReferenceToArray(list, (cJSON *)(uintptr_t)m);
			m = list;
		}
		if (!cJSON_IsArray(m))
			ac_cfg_error(cx, kp, "expected a string or a list of strings");
		else
			cJSON_ArrayForEach(e, m)
			{
				if (!cJSON_IsString(e)) {
					ac_cfg_error(cx, kp, "expected a string");
					continue;
				}
				struct assertion *a =
				    add_assertion(s, k == 0   ? A_BODY_CONTAINS
						     : k == 1 ? A_BODY_NOT_CONTAINS
							      : A_BODY_MATCHES);
				a->text = ac_cfg_expand(cx, kp, e->valuestring);
				if (k == 2 && a->text && !strstr(a->text, "${"))
					a->has_re = http_compile_re(cx, kp, a->text, &a->re);
			}
		cJSON_Delete(list);
		free(kp);
	}
}

static void parse_json_asserts(struct ac_cfg *cx, const cJSON *v, const char *path, struct step *s)
{
	if (!ac_cfg_want_object(cx, v, path))
		return;
	const cJSON *m;
	cJSON_ArrayForEach(m, v)
	{
		char *kp = ac_cfg_path(path, m->string);
		struct ac_error perr;
		if (ac_jsonpath_check(m->string, &perr) < 0) {
			ac_cfg_error(cx, kp, "%s", perr.msg);
			free(kp);
			continue;
		}
		struct assertion *a = add_assertion(s, A_JSON);
		a->subject = ac_strdup(m->string);
		if (cJSON_IsObject(m)) {
			const cJSON *ex = ac_json_get(m, "exists");
			const cJSON *cnt = ac_json_get(m, "count");
			if (ex) {
				if (!cJSON_IsBool(ex) || cJSON_GetArraySize(m) != 1)
					ac_cfg_error(cx, kp,
						     "\"exists\" takes true or false, alone");
				a->exists = cJSON_IsTrue(ex) ? 1 : 0;
			} else if (cnt) {
				a->count = true;
				if (cJSON_GetArraySize(m) != 1)
					ac_cfg_error(cx, kp, "\"count\" stands alone");
				char *cp = ac_cfg_path(kp, "count");
				if (cJSON_IsNumber(cnt)) {
					ac_expect_add(&a->expect, AC_EXPECT_EQ, cnt->valuedouble,
						      NAN);
				} else if (cJSON_IsObject(cnt)) {
					ac_expect_parse(cx, cnt, cp, 0, NULL, 0, &a->expect);
				} else {
					ac_cfg_error(cx, cp, "expected a number or comparisons");
				}
				free(cp);
			} else {
				static const char *const own[] = {"exists", "count"};
				ac_expect_parse(cx, m, kp, AC_EXPECT_ANY_VALUE, own,
						AC_ARRAY_LEN(own), &a->expect);
			}
		} else {
			/* A bare value means equality. */
			ac_expect_add_value(cx, kp, &a->expect, AC_EXPECT_EQ, m);
		}
		free(kp);
	}
}

void http_parse_asserts(struct ac_cfg *cx, const cJSON *v, const char *path, struct step *s)
{
	static const struct ac_field f[] = {
	    {"status", AC_FT_CUSTOM, false, AC_FIELD_NONE, NULL},
	    {"headers", AC_FT_CUSTOM, false, AC_FIELD_NONE, NULL},
	    {"body", AC_FT_CUSTOM, false, AC_FIELD_NONE, NULL},
	    {"json", AC_FT_CUSTOM, false, AC_FIELD_NONE, NULL},
	    {"duration", AC_FT_CUSTOM, false, AC_FIELD_NONE, NULL},
	    {"size", AC_FT_CUSTOM, false, AC_FIELD_NONE, NULL},
	};
	const cJSON *st = v ? ac_json_get(v, "status") : NULL;
	char *sp = ac_cfg_path(path, "status");
	if (st) {
		parse_status(cx, st, sp, s);
	} else {
		/* Fail closed: without a status assertion, anything but 2xx fails. */
		struct assertion *a = add_assertion(s, A_STATUS);
		a->codes[0] = 2;
		a->ncodes = 1;
	}
	free(sp);
	if (!v)
		return;
	if (!ac_cfg_want_object(cx, v, path))
		return;
	ac_cfg_keys1(cx, v, path, f, AC_ARRAY_LEN(f));
	const cJSON *h = ac_json_get(v, "headers"), *m;
	if (h) {
		char *hp = ac_cfg_path(path, "headers");
		if (ac_cfg_want_object(cx, h, hp))
			cJSON_ArrayForEach(m, h)
			{
				char *kp = ac_cfg_path(hp, m->string);
				struct assertion *a = add_assertion(s, A_HEADER);
				a->subject = ac_strdup(m->string);
				parse_str_assert(cx, m, kp, a);
				free(kp);
			}
		free(hp);
	}
	const cJSON *b = ac_json_get(v, "body");
	if (b) {
		char *bp = ac_cfg_path(path, "body");
		parse_body_asserts(cx, b, bp, s);
		free(bp);
	}
	const cJSON *j = ac_json_get(v, "json");
	if (j) {
		char *jp = ac_cfg_path(path, "json");
		parse_json_asserts(cx, j, jp, s);
		free(jp);
	}
	for (int k = 0; k < 2; k++) {
		const char *key = k == 0 ? "duration" : "size";
		const cJSON *d = ac_json_get(v, key);
		if (!d)
			continue;
		char *dp = ac_cfg_path(path, key);
		struct assertion *a = add_assertion(s, k == 0 ? A_DURATION : A_SIZE);
		if (cJSON_IsObject(d)) {
			ac_expect_parse(cx, d, dp, k == 0 ? AC_EXPECT_DURATION : AC_EXPECT_SIZE,
					NULL, 0, &a->expect);
		} else {
			/* A bare value is a maximum. */
			int64_t ms = 0;
			uint64_t bytes = 0;
			if (k == 0 && ac_cfg_duration(cx, d, dp, &ms) == 0)
				ac_expect_add(&a->expect, AC_EXPECT_LE, (double)ms, NAN);
			else if (k == 1 && cJSON_IsNumber(d) && isfinite(d->valuedouble))
				ac_expect_add(&a->expect, AC_EXPECT_LE, d->valuedouble, NAN);
			else if (k == 1 && cJSON_IsString(d) &&
				 ac_parse_size(d->valuestring, &bytes) == 0)
				ac_expect_add(&a->expect, AC_EXPECT_LE, (double)bytes, NAN);
			else if (k == 1)
				ac_cfg_error(cx, dp,
					     "expected a number of bytes, a size (\"8MiB\") or "
					     "comparisons");
		}
		free(dp);
	}
}

/* --- judging a response -------------------------------------------------- */

static char *expand_cb(void *ud, const char *tmpl)
{
	return http_expand(ud, tmpl);
}

/* What the assertion expects, its templates expanded and masked. */
static char *cmps_text(struct hrun *h, const struct assertion *a, const char *unit)
{
	char *t = ac_expect_text(&a->expect, unit, expand_cb, h);
	char *m = http_masked(h, t);
	free(t);
	return m;
}

static bool status_ok(const struct assertion *a, long status)
{
	for (size_t i = 0; i < a->ncodes; i++) {
		if (a->codes[i] < 10 ? status / 100 == a->codes[i] : status == a->codes[i])
			return true;
	}
	return false;
}

/* v in decimal into buf (at least 24 bytes): a status is formatted for
 * every step, and printf's machinery costs more than the rest of it. */
static const char *decimal(char buf[24], long v)
{
	char *p = buf + 23;
	unsigned long u = v < 0 ? 0 - (unsigned long)v : (unsigned long)v;
	*p = '\0';
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	return p;
}

static char *status_text(const struct assertion *a)
{
	struct ac_buf b = AC_BUF_INIT;
	for (size_t i = 0; i < a->ncodes; i++) {
		char code[24];
		if (i)
			ac_buf_adds(&b, " or ");
		ac_buf_adds(&b, decimal(code, a->codes[i]));
		if (a->codes[i] < 10)
			ac_buf_adds(&b, "xx");
	}
	return ac_buf_detach(&b);
}

/* 1 when subject (len bytes) matches, 0 when not; -1 when the match was
 * not tried (*why says why; the assertion is then an ERROR). */
static int regex_match(struct hrun *h, const struct assertion *a, const char *subject, size_t len,
		       char **why)
{
	if (len > HTTP_REGEX_MAX_BYTES) {
		*why = ac_asprintf("%zu bytes: over the " HTTP_REGEX_MAX_TEXT
				   " limit for regular expressions",
				   len);
		return -1;
	}
	/* REG_STARTEND: the whole subject, a NUL byte in it included (a
	 * C-string match would stop there and judge only the start). */
	regmatch_t whole = {.rm_so = 0, .rm_eo = (regoff_t)len};
	if (a->has_re)
		return regexec(&a->re, subject, 1, &whole, REG_STARTEND) == 0;
	char *pat = http_expand(h, a->text);
	regex_t re;
	int ok = 0;
	if (http_re_has_backref(pat))
		*why = ac_strdup("the pattern holds a back-reference: not tried");
	if (*why)
		ok = -1;
	else if (regcomp(&re, pat, REG_EXTENDED) == 0) {
		ok = regexec(&re, subject, 1, &whole, REG_STARTEND) == 0;
		regfree(&re);
	}
	free(pat);
	return ok;
}

/* A path without a match is missing unless the part before its first
 * wildcard is there: "$.failed[*]" of {"failed": []} is a count of 0, of
 * {"error": "db down"} it is missing (never a count of 0). */
static bool wildcard_base_exists(const cJSON *doc, const char *path)
{
	const char *w1 = strstr(path, "[*]"), *w2 = strstr(path, ".*");
	const char *w = !w1 ? w2 : !w2 ? w1 : w1 < w2 ? w1 : w2;
	if (!w)
		return false;
	char *base = ac_strndup(path, (size_t)(w - path));
	const cJSON **m = NULL;
	size_t nm = 0;
	int rc = ac_jsonpath_eval(doc, base, &m, &nm, NULL);
	free(m);
	free(base);
	return rc > 0 && nm > 0;
}

/* The first element a wildcard selects that lacks the rest of the path:
 * "$.results[*].id" of {"results": [{"id": 1}, {}]} is "results[1].id"
 * (returned, to free), NULL when every element has it. shown is how the
 * path up to doc is written ("" at the top). */
static char *wildcard_gap(const cJSON *doc, const char *path, const char *shown)
{
	const char *w1 = strstr(path, "[*]"), *w2 = strstr(path, ".*");
	const char *w = !w1 ? w2 : !w2 ? w1 : w1 < w2 ? w1 : w2;
	if (!w)
		return NULL;
	const char *rest = w + (w == w1 ? 3 : 2);
	char *base = ac_strndup(path, (size_t)(w - path));
	const cJSON **m = NULL;
	size_t nm = 0;
	ac_jsonpath_eval(doc, base, &m, &nm, NULL);
	const char *b = base + 1; /* without the "$" */
	if (!*shown && *b == '.')
		b++;
	char *gap = NULL;
	char *sub = ac_asprintf("$%s", rest);
	for (size_t i = 0; i < nm && !gap && *rest; i++) {
		size_t k = 0;
		for (const cJSON *c = m[i]->child; c && !gap; c = c->next, k++) {
			if (!cJSON_IsArray(m[i]) && !cJSON_IsObject(m[i]))
				break;
			char *here = cJSON_IsArray(m[i])
					 ? ac_asprintf("%s%s[%zu]", shown, b, k)
					 : ac_asprintf("%s%s.%s", shown, b, c->string);
			const cJSON **cm = NULL;
			size_t ncm = 0;
			ac_jsonpath_eval(c, sub, &cm, &ncm, NULL);
			free(cm);
			if (ncm == 0) {
				const char *r = rest;
				gap = ac_asprintf("%s%s", here, r);
			} else {
				gap = wildcard_gap(c, sub, here);
			}
			free(here);
		}
	}
	free(sub);
	free(m);
	free(base);
	return gap;
}

/* ac_expect_cmp_json, where != of a number or a string also needs a value
 * of that type: null, "0" and false are not "!= 0", they are not numbers. */
static bool cmp_json(const struct ac_expect_cmp *c, const cJSON *v, void *ud)
{
	if (c->op == AC_EXPECT_NE && c->value &&
	    ((cJSON_IsNumber(c->value) && !cJSON_IsNumber(v)) ||
	     (cJSON_IsString(c->value) && !cJSON_IsString(v))))
		return false;
	return ac_expect_cmp_json(c, v, expand_cb, ud);
}

/* Evaluate one assertion into the step result; returns whether it held. */
static bool eval_assertion(struct hrun *h, const struct assertion *a, int64_t duration_ms,
			   cJSON *doc, bool doc_parsed)
{
	struct ac_assertion_result *ar = ac_step_add_assert(h->sr);
	bool ok = false;
	switch (a->kind) {
	case A_STATUS: {
		char got[24];
		ar->what = ac_strdup("status");
		ar->expected = status_text(a);
		ar->actual = ac_strdup(decimal(got, h->status));
		ok = status_ok(a, h->status);
		break;
	}
	case A_HEADER: {
		/* A header sent more than once: every one must hold (a second
		 * X-Build: v42 after X-Build: v41 is not a restored build). The
		 * one shown is the first that does not. */
		size_t nsent = 0;
		const char *v = http_header_nth(h, a->subject, 0, &nsent);
		bool secret = ac_mask_header_is_secret(a->subject);
		char *why = NULL;
		ar->what = ac_asprintf("header %s", a->subject);
		char *want = a->text ? http_expand(h, a->text) : NULL;
		switch (a->sop) {
		case S_EXISTS:
			ar->expected = ac_strdup("present");
			break;
		case S_ABSENT:
			ar->expected = ac_strdup("absent");
			break;
		case S_EQUALS:
			ar->expected = ac_asprintf("equals \"%s\"", want);
			break;
		case S_CONTAINS:
			ar->expected = ac_asprintf("contains \"%s\"", want);
			break;
		case S_MATCHES:
			ar->expected = ac_asprintf("matches /%s/", want);
			break;
		}
		ok = a->sop == S_ABSENT ? v == NULL : v != NULL;
		for (size_t k = 0; v && k < nsent && ok && a->sop != S_EXISTS && a->sop != S_ABSENT;
		     k++) {
			const char *vk = http_header_nth(h, a->subject, k, NULL);
			if (!vk)
				break;
			if (a->sop == S_EQUALS)
				ok = strcmp(vk, want) == 0;
			else if (a->sop == S_CONTAINS)
				ok = strstr(vk, want) != NULL;
			else {
				int r = regex_match(h, a, vk, strlen(vk), &why);
				ok = r > 0;
				h->judge_error = h->judge_error || r < 0;
			}
			if (!ok)
				v = vk;
		}
		if (!v)
			ar->actual = ac_strdup("(absent)");
		else if (why)
			ar->actual = ac_asprintf("header value of %s", why);
		else if (secret)
			ar->actual = ac_strdup(AC_MASK_TEXT);
		else
			ar->actual = ac_mask_excerpt(h->run->mask, v, strlen(v), 120);
		if (v && nsent > 1 && !ok) {
			char *more = ac_asprintf("%s (one of %zu %s headers)", ar->actual, nsent,
						 a->subject);
			free(ar->actual);
			ar->actual = more;
		}
		if (secret) {
			free(ar->expected);
			ar->expected = ac_strdup(AC_MASK_TEXT);
		}
		free(why);
		free(want);
		break;
	}
	case A_BODY_CONTAINS:
	case A_BODY_NOT_CONTAINS:
	case A_BODY_MATCHES: {
		char *want = http_expand(h, a->text);
		bool has;
		if (a->kind == A_BODY_MATCHES) {
			ar->what = ac_strdup("body");
			ar->expected = ac_asprintf("matches /%s/", want);
			char *why = NULL;
			int r = regex_match(h, a, h->body.buf, h->body.len, &why);
			has = ok = r > 0;
			if (r < 0) {
				h->judge_error = true;
				ar->actual = ac_asprintf("body of %s", why);
				free(why);
				free(want);
				break;
			}
		} else {
			has = memmem(h->body.buf, h->body.len, want, strlen(want)) != NULL;
			ar->what = ac_strdup("body");
			ar->expected = ac_asprintf(
			    "%s \"%s\"",
			    a->kind == A_BODY_CONTAINS ? "contains" : "does not contain", want);
			ok = a->kind == A_BODY_CONTAINS ? has : !has;
		}
		ar->actual =
		    ac_strdup(has ? (a->kind == A_BODY_MATCHES ? "matched" : "found")
				  : (a->kind == A_BODY_MATCHES ? "no match" : "not found"));
		free(want);
		break;
	}
	case A_JSON: {
		ar->what = ac_asprintf("json %s", a->subject);
		if (!doc_parsed || !doc) {
			ar->expected = a->exists >= 0 ? ac_strdup(a->exists ? "exists" : "absent")
						      : cmps_text(h, a, "");
			ar->actual = ac_strdup("body is not JSON");
			ok = false;
			break;
		}
		const cJSON **m = NULL;
		size_t nm = 0;
		ac_jsonpath_eval(doc, a->subject, &m, &nm, NULL);
		/* Every element a wildcard selects must have the rest of the
		 * path (not for "absent"). */
		char *gap = a->exists == 0 ? NULL : wildcard_gap(doc, a->subject, "");
		if (a->exists >= 0) {
			ar->expected = ac_strdup(a->exists ? "exists" : "absent");
			ar->actual = gap ? ac_asprintf("%s missing", gap)
					 : ac_strdup(nm ? "exists" : "absent");
			ok = a->exists ? nm > 0 && !gap : nm == 0;
		} else if (a->count) {
			/* The length of one array, or the number of wildcard matches. */
			bool wild = strstr(a->subject, "*") != NULL;
			const char *not_array = NULL;
			double n = (double)nm;
			if (!wild && nm == 1 && cJSON_IsArray(m[0]))
				n = cJSON_GetArraySize(m[0]);
			else if (!wild && nm == 1)
				not_array = cJSON_IsObject(m[0])   ? "an object"
					    : cJSON_IsNull(m[0])   ? "null"
					    : cJSON_IsString(m[0]) ? "a string"
					    : cJSON_IsNumber(m[0]) ? "a number"
								   : "a boolean";
			ar->expected = cmps_text(h, a, "");
			char *e = ar->expected;
			ar->expected = ac_asprintf("count %s", e);
			free(e);
			bool missing = nm == 0 && !wildcard_base_exists(doc, a->subject);
			ar->actual = gap	 ? ac_asprintf("%s missing", gap)
				     : missing	 ? ac_strdup("(missing)")
				     : not_array ? ac_asprintf("%s (not an array)", not_array)
						 : ac_asprintf("count %.0f", n);
			ok = !missing && !gap && !not_array && ac_expect_holds(&a->expect, n);
		} else if (gap) {
			ar->expected = cmps_text(h, a, "");
			ar->actual = ac_asprintf("%s missing", gap);
			ok = false;
		} else {
			ar->expected = cmps_text(h, a, "");
			if (nm == 0) {
				ar->actual = ac_strdup("(missing)");
				ok = false;
			} else {
				/* Show the match that failed, not the first one. An
				 * assertion without comparisons holds nothing. */
				ok = a->expect.n > 0;
				size_t bk = 0, bi = 0;
				for (size_t k = 0; k < nm && ok; k++)
					for (size_t i = 0; i < a->expect.n && ok; i++)
						if (!(ok = cmp_json(&a->expect.cmps[i], m[k], h))) {
							bk = k;
							bi = i;
						}
				char *t = ac_json_to_text(m[bk]);
				char *ex = ac_mask_excerpt(h->run->mask, t, strlen(t), 120);
				/* The string "0" and the number 0 print alike. */
				bool s1 = cJSON_IsString(m[bk]),
				     s2 = a->expect.n > bi && a->expect.cmps[bi].value &&
					  cJSON_IsString(a->expect.cmps[bi].value);
				if (ok || s1 == s2) {
					ar->actual = ex;
				} else {
					ar->actual =
					    ac_asprintf("%s (%s)", ex,
							s1			? "a string"
							: cJSON_IsNumber(m[bk]) ? "a number"
										: "not a string");
					free(ex);
				}
				free(t);
			}
		}
		free(gap);
		free(m);
		break;
	}
	case A_DURATION:
	case A_SIZE: {
		double v = a->kind == A_DURATION ? (double)duration_ms : (double)h->body.len;
		const char *unit = a->kind == A_DURATION ? " ms" : " bytes";
		ar->what = ac_strdup(a->kind == A_DURATION ? "duration" : "body size");
		ar->expected = cmps_text(h, a, unit);
		ar->actual = ac_asprintf("%.0f%s", v, unit);
		ok = ac_expect_holds(&a->expect, v);
		break;
	}
	}
	/* The expectation may carry a captured secret: mask both sides (a
	 * copy only where masking changes something). */
	if (!ar->expected)
		ar->expected = ac_strdup("");
	if (!ar->actual)
		ar->actual = ac_strdup("");
	ac_mask_inplace(h->run->mask, &ar->expected);
	ac_mask_inplace(h->run->mask, &ar->actual);
	ar->ok = ok;
	return ok;
}

/* The value of cookie name in the jar of easy, or NULL. */
static char *cookie_value(CURL *easy, const char *name)
{
	struct curl_slist *cookies = NULL, *it;
	char *val = NULL;
	curl_easy_getinfo(easy, CURLINFO_COOKIELIST, &cookies);
	for (it = cookies; it && !val; it = it->next) {
		/* Netscape format: domain, flag, path, secure, expiry, name, value */
		const char *f = it->data;
		for (int k = 0; k < 5 && f; k++) {
			f = strchr(f, '\t');
			if (f)
				f++;
		}
		if (!f)
			continue;
		const char *tab = strchr(f, '\t');
		if (tab && (size_t)(tab - f) == strlen(name) &&
		    strncmp(f, name, (size_t)(tab - f)) == 0)
			val = ac_strdup(tab + 1);
	}
	curl_slist_free_all(cookies);
	return val;
}

/* Run the captures of the step; false (with the reason set) if one is missing. */
static bool do_captures(struct hrun *h, cJSON *doc)
{
	const struct step *s = http_cur_step(h);
	for (size_t i = 0; i < s->ncaps; i++) {
		const struct capture *c = &s->caps[i];
		char *val = NULL;
		switch (c->kind) {
		case CAP_JSON: {
			const cJSON **m = NULL;
			size_t nm = 0;
			if (doc)
				ac_jsonpath_eval(doc, c->expr, &m, &nm, NULL);
			if (nm > 0)
				val = ac_json_to_text(m[0]);
			free(m);
			break;
		}
		case CAP_HEADER: {
			const char *v = http_find_header(h, c->expr);
			if (v)
				val = ac_strdup(v);
			break;
		}
		case CAP_COOKIE:
			/* The jar of the origin that answered last, then the others
			 * (a login on the target may end on another origin). */
			val = cookie_value(h->easy, c->expr);
			for (size_t k = 0; k < h->njars && !val; k++)
				val = cookie_value(h->jars[k].easy, c->expr);
			break;
		case CAP_REGEX: {
			regmatch_t pm[10];
			if (h->body.len > HTTP_REGEX_MAX_BYTES) {
				http_step_fail(h, AC_STATE_ERROR,
					       "capture \"%s\": body of %zu bytes: over the "
					       "" HTTP_REGEX_MAX_TEXT
					       " limit for regular expressions",
					       c->name, h->body.len);
				return false;
			}
			pm[0].rm_so = 0;
			pm[0].rm_eo = (regoff_t)h->body.len;
			if (regexec(&c->re, h->body.buf, 10, pm, REG_STARTEND) == 0 &&
			    pm[c->group].rm_so >= 0)
				val = ac_strndup(h->body.buf + pm[c->group].rm_so,
						 (size_t)(pm[c->group].rm_eo - pm[c->group].rm_so));
			break;
		}
		case CAP_BODY:
			val = ac_strdup(h->body.buf);
			break;
		}
		if (!val) {
			http_step_fail(h, AC_STATE_FAIL,
				       "capture \"%s\": %s %s not found in the response", c->name,
				       c->kind == CAP_JSON     ? "JSON path"
				       : c->kind == CAP_HEADER ? "header"
				       : c->kind == CAP_COOKIE ? "cookie"
							       : "pattern",
				       c->expr);
			return false;
		}
		http_set_capture(h, c->name, val, c->secret);
		free(val);
	}
	return true;
}

/* Judge the response to the current try. Returns true when the step holds. */
bool http_judge_response(struct hrun *h, int64_t duration_ms)
{
	const struct step *s = http_cur_step(h);
	cJSON *doc = NULL;
	bool needs_json = false;
	for (size_t i = 0; i < s->nasserts; i++)
		needs_json = needs_json || s->asserts[i].kind == A_JSON;
	for (size_t i = 0; i < s->ncaps; i++)
		needs_json = needs_json || s->caps[i].kind == CAP_JSON;
	bool capped = false;
	if (needs_json)
		doc = ac_json_parse_body_capped(h->body.buf, h->body.len, &capped);
	if (capped) {
		/* Not judged: a tree that large could take hundreds of MB. */
		http_step_fail(h, AC_STATE_ERROR,
			       "response body holds more than " AC_JSON_BODY_MAX_VALUES_TEXT
			       " JSON values (the cap): not judged");
		return false;
	}
	/* Every assertion is evaluated, so the report shows all that failed;
	 * the reason names the first (by index: the array grows as we go). */
	/* An assertion that could not be evaluated is an ERROR unless another
	 * one failed outright. */
	size_t first_fail = SIZE_MAX, first_err = SIZE_MAX;
	for (size_t i = 0; i < s->nasserts; i++) {
		h->judge_error = false;
		bool held = eval_assertion(h, &s->asserts[i], duration_ms, doc, needs_json);
		size_t *first = h->judge_error ? &first_err : &first_fail;
		if (!held && *first == SIZE_MAX)
			*first = h->sr->nasserts - 1;
	}
	size_t first_bad = first_fail != SIZE_MAX ? first_fail : first_err;
	bool ok = first_bad == SIZE_MAX;
	if (!ok) {
		const struct ac_assertion_result *ar = &h->sr->asserts[first_bad];
		http_step_fail(h, first_fail != SIZE_MAX ? AC_STATE_FAIL : AC_STATE_ERROR,
			       "%s: expected %s, got %s", ar->what, ar->expected, ar->actual);
	} else {
		ok = do_captures(h, doc);
	}
	cJSON_Delete(doc);
	return ok;
}
