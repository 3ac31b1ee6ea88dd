/*
 * http.c: the "http" probe kind: scripted user journeys with libcurl.
 *
 * A journey is a list of steps run in order by one persona against one
 * target, with a fresh in-memory cookie jar for every run. Steps capture
 * values for later steps, assert on what came back, may wait (repeat until
 * their assertions hold), and cleanup steps always run. All journeys of a
 * round share one curl multi handle driven by the engine's poll loop.
 *
 * Safety, from what Debian 12's libcurl 7.88 does:
 * - the body cap is enforced in the write callback (MAXFILESIZE does not
 *   stop a chunked body);
 * - redirects are followed here, not by libcurl (whose limit is unlimited
 *   and which forwards custom headers across ports): same origin only by
 *   default, never replaying a POST, with http and https only;
 * - TLS verification stays on unless the scenario says "insecure", which
 *   every report shows.
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

#define HTTP_EXCERPT 240

/* --- configuration ------------------------------------------------------- */

struct kv {
	char *name;
	char *value; /* template: may hold ${capture} */
};

enum cap_kind { CAP_JSON, CAP_HEADER, CAP_COOKIE, CAP_REGEX, CAP_BODY };

struct capture {
	char *name;
	enum cap_kind kind;
	char *expr;
	int group;
	regex_t re;
	bool has_re;
	bool secret;
};

enum cmp_op { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE };
static const char *const op_names[] = {"==", "!=", "<", "<=", ">", ">="};

struct cmp {
	enum cmp_op op;
	cJSON *value; /* owned; strings may hold ${capture} */
};

enum assert_kind {
	A_STATUS,
	A_HEADER,
	A_BODY_CONTAINS,
	A_BODY_NOT_CONTAINS,
	A_BODY_MATCHES,
	A_JSON,
	A_DURATION,
	A_SIZE,
};

enum str_op { S_EQUALS, S_CONTAINS, S_MATCHES, S_EXISTS, S_ABSENT };

struct assertion {
	enum assert_kind kind;
	char *subject; /* header name, JSON path */
	/* status */
	int codes[16];
	size_t ncodes; /* codes < 10 are classes: 2 means 2xx */
	/* header and body */
	enum str_op sop;
	char *text; /* template */
	regex_t re;
	bool has_re;
	/* json, duration, size */
	struct cmp *cmps;
	size_t ncmps;
	int exists; /* -1 unset, 0 must not exist, 1 must exist */
	bool count;
};

enum body_kind { BODY_NONE, BODY_RAW, BODY_JSON, BODY_FORM };

struct step {
	char *name;
	char *method;
	char *url; /* template */
	struct kv *headers;
	size_t nheaders;
	enum body_kind body_kind;
	char *body;	 /* BODY_RAW template */
	cJSON *json;	 /* BODY_JSON template */
	struct kv *form; /* BODY_FORM */
	size_t nform;
	int64_t timeout_ms;
	bool write;
	int follow;		  /* redirects to follow */
	bool redirect_other_host; /* follow to another origin (headers dropped) */
	struct capture *caps;
	size_t ncaps;
	struct assertion *asserts;
	size_t nasserts;
	bool wait;
	int64_t wait_every_ms, wait_up_to_ms;
	int retries;
	bool cleanup;
	bool login;
};

struct journey {
	struct step *steps; /* login steps, then the journey, then cleanup */
	size_t nsteps;
	struct kv *persona_headers;
	size_t npersona_headers;
	char *observe; /* template: what fleet agreement compares */
	char *value;   /* template: the number trends judge */
};

static void assertion_release(struct assertion *a)
{
	free(a->subject);
	free(a->text);
	if (a->has_re)
		regfree(&a->re);
	for (size_t i = 0; i < a->ncmps; i++)
		cJSON_Delete(a->cmps[i].value);
	free(a->cmps);
}

static void kvs_free(struct kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(kv[i].name);
		free(kv[i].value);
	}
	free(kv);
}

static void step_release(struct step *s)
{
	free(s->name);
	free(s->method);
	free(s->url);
	kvs_free(s->headers, s->nheaders);
	free(s->body);
	cJSON_Delete(s->json);
	kvs_free(s->form, s->nform);
	for (size_t i = 0; i < s->ncaps; i++) {
		free(s->caps[i].name);
		free(s->caps[i].expr);
		if (s->caps[i].has_re)
			regfree(&s->caps[i].re);
	}
	free(s->caps);
	for (size_t i = 0; i < s->nasserts; i++)
		assertion_release(&s->asserts[i]);
	free(s->asserts);
}

static void journey_destroy(void *p)
{
	struct journey *j = p;
	if (!j)
		return;
	for (size_t i = 0; i < j->nsteps; i++)
		step_release(&j->steps[i]);
	free(j->steps);
	kvs_free(j->persona_headers, j->npersona_headers);
	free(j->observe);
	free(j->value);
	free(j);
}

static const struct ac_field step_fields[] = {
    {"name", AC_FT_CUSTOM, false, AC_FIELD_NONE, NULL},
    {"method", AC_FT_CUSTOM, false, AC_FIELD_NONE, "GET by default"},
    {"url", AC_FT_CUSTOM, true, AC_FIELD_NONE, "path relative to the target"},
    {"headers", AC_FT_CUSTOM, false, AC_FIELD_NONE, NULL},
    {"body", AC_FT_CUSTOM, false, AC_FIELD_NONE, "raw body text"},
    {"json", AC_FT_CUSTOM, false, AC_FIELD_NONE, "JSON body"},
    {"form", AC_FT_CUSTOM, false, AC_FIELD_NONE, "form body"},
    {"timeout", AC_FT_CUSTOM, false, AC_FIELD_NONE, NULL},
    {"write", AC_FT_CUSTOM, false, AC_FIELD_NONE, "the step changes data"},
    {"follow_redirects", AC_FT_CUSTOM, false, AC_FIELD_NONE, "how many to follow"},
    {"redirect_other_hosts", AC_FT_CUSTOM, false, AC_FIELD_NONE, NULL},
    {"capture", AC_FT_CUSTOM, false, AC_FIELD_NONE, NULL},
    {"assert", AC_FT_CUSTOM, false, AC_FIELD_NONE, NULL},
    {"wait", AC_FT_CUSTOM, false, AC_FIELD_NONE, "repeat until the assertions hold"},
    {"retries", AC_FT_CUSTOM, false, AC_FIELD_NONE, NULL},
};

static const struct ac_field journey_fields[] = {
    {"steps", AC_FT_CUSTOM, true, AC_FIELD_NONE, NULL},
    {"cleanup", AC_FT_CUSTOM, false, AC_FIELD_NONE, "steps that always run"},
    {"observe", AC_FT_CUSTOM, false, AC_FIELD_NONE, "text compared across targets"},
    {"value", AC_FT_CUSTOM, false, AC_FIELD_NONE, "number judged by trends"},
};

static char *kp2(const char *path, const char *key)
{
	return ac_cfg_path(path, key);
}

static bool want_bool(struct ac_cfg *cx, const cJSON *obj, const char *path, const char *key,
		      bool def)
{
	const cJSON *v = ac_json_get(obj, key);
	if (!v)
		return def;
	if (!cJSON_IsBool(v)) {
		char *kp = kp2(path, key);
		ac_cfg_error(cx, kp, "expected true or false");
		free(kp);
		return def;
	}
	return cJSON_IsTrue(v);
}

static int want_int(struct ac_cfg *cx, const cJSON *obj, const char *path, const char *key, int def,
		    int lo, int hi)
{
	const cJSON *v = ac_json_get(obj, key);
	if (!v)
		return def;
	if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < lo ||
	    v->valuedouble > hi) {
		char *kp = kp2(path, key);
		ac_cfg_error(cx, kp, "expected a whole number from %d to %d", lo, hi);
		free(kp);
		return def;
	}
	return (int)v->valuedouble;
}

static bool compile_re(struct ac_cfg *cx, const char *path, const char *pattern, regex_t *re)
{
	int rc = regcomp(re, pattern, REG_EXTENDED);
	if (rc != 0) {
		char msg[128];
		regerror(rc, re, msg, sizeof(msg));
		regfree(re);
		ac_cfg_error(cx, path, "bad regular expression: %s", msg);
		return false;
	}
	return true;
}

/* Header pairs from {"Name": "value"}; values are templates. */
static struct kv *parse_kvs(struct ac_cfg *cx, const cJSON *obj, const char *path, size_t *n)
{
	*n = 0;
	if (!obj)
		return NULL;
	if (!ac_cfg_want_object(cx, obj, path))
		return NULL;
	struct kv *kv = ac_calloc((size_t)cJSON_GetArraySize(obj) + 1, sizeof(*kv));
	const cJSON *m;
	cJSON_ArrayForEach(m, obj)
	{
		char *kp = kp2(path, m->string);
		char *val = NULL;
		if (cJSON_IsString(m))
			val = ac_cfg_expand(cx, kp, m->valuestring);
		else if (cJSON_IsNumber(m))
			val = ac_json_to_text(m);
		else
			ac_cfg_error(cx, kp, "expected a string");
		if (strpbrk(m->string, "\r\n:") || !*m->string)
			ac_cfg_error(cx, kp, "bad header or field name");
		if (val && strpbrk(val, "\r\n"))
			ac_cfg_error(cx, kp, "line breaks are not allowed in values");
		if (val) {
			kv[*n].name = ac_strdup(m->string);
			kv[*n].value = val;
			(*n)++;
		}
		free(kp);
	}
	return kv;
}

/* Expand variables inside every string of a JSON template, in place. */
static void expand_json_strings(struct ac_cfg *cx, cJSON *node, const char *path)
{
	cJSON *c;
	if (cJSON_IsString(node)) {
		char *v = ac_cfg_expand(cx, path, node->valuestring);
		if (v) {
			cJSON_SetValuestring(node, v);
			free(v);
		}
		return;
	}
	cJSON_ArrayForEach(c, node)
	{
		expand_json_strings(cx, c, path);
	}
}

static bool parse_cmp_object(struct ac_cfg *cx, const cJSON *obj, const char *path,
			     struct assertion *a, bool numbers_only)
{
	const cJSON *m;
	cJSON_ArrayForEach(m, obj)
	{
		char *kp = kp2(path, m->string);
		size_t op;
		for (op = 0; op < AC_ARRAY_LEN(op_names); op++)
			if (strcmp(m->string, op_names[op]) == 0)
				break;
		if (op == AC_ARRAY_LEN(op_names)) {
			ac_cfg_error(cx, kp, "unknown comparison (==, !=, <, <=, >, >=%s)",
				     numbers_only ? "" : ", exists, count");
			free(kp);
			continue;
		}
		cJSON *val = cJSON_Duplicate(m, 1);
		if (numbers_only || op >= OP_LT) {
			if (cJSON_IsString(val) && numbers_only) {
				int64_t ms;
				if (ac_parse_duration_ms(val->valuestring, &ms) == 0) {
					cJSON_Delete(val);
					val = cJSON_CreateNumber((double)ms);
				}
			}
			if (!cJSON_IsNumber(val))
				ac_cfg_error(cx, kp, "expected a number");
		} else {
			expand_json_strings(cx, val, kp);
		}
		a->cmps = ac_realloc(a->cmps, (a->ncmps + 1) * sizeof(*a->cmps));
		a->cmps[a->ncmps].op = (enum cmp_op)op;
		a->cmps[a->ncmps].value = val;
		a->ncmps++;
		free(kp);
	}
	if (a->ncmps == 0) {
		ac_cfg_error(cx, path, "expected at least one comparison");
		return false;
	}
	return true;
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
	char *kp = kp2(path, m->string);
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
			a->has_re = compile_re(cx, kp, a->text, &a->re);
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
		char *kp = kp2(path, f[k].key);
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
					a->has_re = compile_re(cx, kp, a->text, &a->re);
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
		char *kp = kp2(path, m->string);
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
				char *cp = kp2(kp, "count");
				if (cJSON_IsNumber(cnt)) {
					a->cmps = ac_calloc(1, sizeof(*a->cmps));
					a->cmps[0].op = OP_EQ;
					a->cmps[0].value = cJSON_Duplicate(cnt, 1);
					a->ncmps = 1;
				} else if (cJSON_IsObject(cnt)) {
					parse_cmp_object(cx, cnt, cp, a, true);
				} else {
					ac_cfg_error(cx, cp, "expected a number or comparisons");
				}
				free(cp);
			} else {
				parse_cmp_object(cx, m, kp, a, false);
			}
		} else {
			/* A bare value means equality. */
			a->cmps = ac_calloc(1, sizeof(*a->cmps));
			a->cmps[0].op = OP_EQ;
			a->cmps[0].value = cJSON_Duplicate(m, 1);
			expand_json_strings(cx, a->cmps[0].value, kp);
			a->ncmps = 1;
		}
		free(kp);
	}
}

static void parse_asserts(struct ac_cfg *cx, const cJSON *v, const char *path, struct step *s)
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
	char *sp = kp2(path, "status");
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
		char *hp = kp2(path, "headers");
		if (ac_cfg_want_object(cx, h, hp))
			cJSON_ArrayForEach(m, h)
			{
				char *kp = kp2(hp, m->string);
				struct assertion *a = add_assertion(s, A_HEADER);
				a->subject = ac_strdup(m->string);
				parse_str_assert(cx, m, kp, a);
				free(kp);
			}
		free(hp);
	}
	const cJSON *b = ac_json_get(v, "body");
	if (b) {
		char *bp = kp2(path, "body");
		parse_body_asserts(cx, b, bp, s);
		free(bp);
	}
	const cJSON *j = ac_json_get(v, "json");
	if (j) {
		char *jp = kp2(path, "json");
		parse_json_asserts(cx, j, jp, s);
		free(jp);
	}
	for (int k = 0; k < 2; k++) {
		const char *key = k == 0 ? "duration" : "size";
		const cJSON *d = ac_json_get(v, key);
		if (!d)
			continue;
		char *dp = kp2(path, key);
		struct assertion *a = add_assertion(s, k == 0 ? A_DURATION : A_SIZE);
		if (cJSON_IsObject(d)) {
			parse_cmp_object(cx, d, dp, a, true);
		} else {
			/* A bare value is a maximum. */
			int64_t ms = 0;
			double lim = 0;
			bool ok = false;
			if (k == 0 && ac_cfg_duration(cx, d, dp, &ms) == 0) {
				lim = (double)ms;
				ok = true;
			} else if (k == 1 && cJSON_IsNumber(d)) {
				lim = d->valuedouble;
				ok = true;
			} else if (k == 1) {
				ac_cfg_error(cx, dp, "expected a number of bytes or comparisons");
			}
			if (ok) {
				a->cmps = ac_calloc(1, sizeof(*a->cmps));
				a->cmps[0].op = OP_LE;
				a->cmps[0].value = cJSON_CreateNumber(lim);
				a->ncmps = 1;
			}
		}
		free(dp);
	}
}

static void parse_captures(struct ac_cfg *cx, const cJSON *v, const char *path, struct step *s,
			   struct ac_names *names)
{
	static const struct ac_field f[] = {
	    {"json", AC_FT_CUSTOM, false, AC_FIELD_NONE, "JSON path"},
	    {"header", AC_FT_CUSTOM, false, AC_FIELD_NONE, "response header name"},
	    {"cookie", AC_FT_CUSTOM, false, AC_FIELD_NONE, "cookie name"},
	    {"regex", AC_FT_CUSTOM, false, AC_FIELD_NONE, "regular expression on the body"},
	    {"group", AC_FT_CUSTOM, false, AC_FIELD_NONE, "regex group (default 1)"},
	    {"secret", AC_FT_CUSTOM, false, AC_FIELD_NONE, "mask the value in reports"},
	};
	if (!ac_cfg_want_object(cx, v, path))
		return;
	s->caps = ac_calloc((size_t)cJSON_GetArraySize(v) + 1, sizeof(*s->caps));
	const cJSON *m;
	cJSON_ArrayForEach(m, v)
	{
		char *kp = kp2(path, m->string);
		struct capture *c = &s->caps[s->ncaps];
		memset(c, 0, sizeof(*c));
		bool okname = *m->string != '\0';
		for (const char *p = m->string; *p; p++)
			okname = okname && (isalnum((unsigned char)*p) || *p == '_' || *p == '-' ||
					    *p == '.');
		if (!okname)
			ac_cfg_error(cx, kp, "capture names use letters, digits, _ - and .");
		if (!cJSON_IsObject(m)) {
			ac_cfg_error(cx, kp,
				     "expected {\"json\": \"$.id\"}, {\"header\": ...}, "
				     "{\"cookie\": ...} or {\"regex\": ...}");
			free(kp);
			continue;
		}
		ac_cfg_keys1(cx, m, kp, f, AC_ARRAY_LEN(f));
		int kinds = 0;
		const char *kn[] = {"json", "header", "cookie", "regex"};
		for (int k = 0; k < 4; k++) {
			const cJSON *e = ac_json_get(m, kn[k]);
			if (!e)
				continue;
			kinds++;
			if (!cJSON_IsString(e)) {
				char *ep = kp2(kp, kn[k]);
				ac_cfg_error(cx, ep, "expected a string");
				free(ep);
				continue;
			}
			c->kind = (enum cap_kind)k;
			c->expr = ac_strdup(e->valuestring);
		}
		if (kinds != 1)
			ac_cfg_error(cx, kp, "give exactly one of json, header, cookie or regex");
		c->group = want_int(cx, m, kp, "group", 1, 0, 9);
		c->secret = want_bool(cx, m, kp, "secret", false);
		if (c->expr && c->kind == CAP_JSON) {
			struct ac_error perr;
			if (ac_jsonpath_check(c->expr, &perr) < 0)
				ac_cfg_error(cx, kp, "%s", perr.msg);
		}
		if (c->expr && c->kind == CAP_REGEX)
			c->has_re = compile_re(cx, kp, c->expr, &c->re);
		if (c->expr && c->kind == CAP_HEADER && ac_mask_header_is_secret(c->expr))
			c->secret = true;
		if (c->kind == CAP_COOKIE)
			c->secret = true; /* cookie values are credentials */
		c->name = ac_strdup(m->string);
		s->ncaps++;
		free(kp);
	}
	/* Names become usable in the steps after this one. */
	for (size_t i = 0; i < s->ncaps; i++)
		ac_names_add(names, s->caps[i].name);
}

/* Why url (absolute, or a path to put after any target) is not a URL
 * libcurl would send; NULL when it is. */
static const char *url_problem(const char *url)
{
	char *full = ac_starts_with(url, "/") ? ac_asprintf("http://target%s", url) : NULL;
	CURLU *u = curl_url();
	CURLUcode rc =
	    u ? curl_url_set(u, CURLUPART_URL, full ? full : url, 0) : CURLUE_OUT_OF_MEMORY;
	curl_url_cleanup(u);
	free(full);
	return rc == CURLUE_OK ? NULL : curl_url_strerror(rc);
}

/* url_problem() for a URL whose captures are not known yet: each stands for
 * a plain value (a raw one may still break it at run time). */
static const char *url_problem_at_load(const char *url)
{
	struct ac_buf b = AC_BUF_INIT;
	for (const char *p = url; *p;) {
		const char *end;
		if (p[0] == '$' && p[1] == '$' && p[2] == '{') {
			ac_buf_adds(&b, "x");
			p += 3;
		} else if (p[0] == '$' && p[1] == '{' && (end = strchr(p, '}'))) {
			ac_buf_adds(&b, "x");
			p = end + 1;
		} else {
			ac_buf_addc(&b, *p++);
		}
	}
	const char *r = url_problem(b.buf);
	ac_buf_release(&b);
	return r;
}

/* The step's URL: variables percent-encoded unless ${raw:name}; a URL that
 * cannot be built from what is known at load is an error here. */
static void parse_url(struct ac_cfg *cx, const cJSON *obj, const char *path, struct step *s)
{
	const cJSON *v = ac_json_get(obj, "url");
	char *kp = kp2(path, "url");
	if (!v)
		ac_cfg_error(cx, path, "missing required key \"url\"");
	else if (!cJSON_IsString(v))
		ac_cfg_error(cx, kp, "expected a string");
	else
		s->url = ac_cfg_expand_url(cx, kp, v->valuestring);
	const char *problem;
	if (!s->url) {
		/* reported */
	} else if (!ac_starts_with(s->url, "/") && !ac_starts_with(s->url, "http://") &&
		   !ac_starts_with(s->url, "https://")) {
		ac_cfg_error(cx, kp, "expected a path starting with / or an http(s) URL%s",
			     ac_starts_with(v->valuestring, "${")
				 ? " (values are percent-encoded in URLs: write ${raw:name} for "
				   "a variable that holds a URL or a host)"
				 : "");
	} else if ((problem = url_problem_at_load(s->url))) {
		char *m = ac_mask_apply(cx->plan ? cx->plan->mask : NULL, s->url);
		ac_cfg_error(cx, kp, "cannot build a URL from \"%s\": %s%s", m, problem,
			     strstr(v->valuestring, "${") && !strstr(v->valuestring, "${raw:")
				 ? " (values are percent-encoded in URLs; ${raw:name} inserts one "
				   "as is)"
				 : "");
		free(m);
	}
	free(kp);
}

static bool method_is_safe(const char *m)
{
	return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 || strcmp(m, "OPTIONS") == 0;
}

static void parse_step(struct ac_cfg *cx, const cJSON *obj, const char *path, struct step *s,
		       struct ac_names *names)
{
	memset(s, 0, sizeof(*s));
	if (!ac_cfg_want_object(cx, obj, path))
		return;
	ac_cfg_keys1(cx, obj, path, step_fields, AC_ARRAY_LEN(step_fields));
	const struct ac_settings *set = &cx->plan->settings;
	s->name = ac_cfg_text(cx, obj, path, "name", false);
	const cJSON *m = ac_json_get(obj, "method");
	if (m && !cJSON_IsString(m)) {
		char *kp = kp2(path, "method");
		ac_cfg_error(cx, kp, "expected a string");
		free(kp);
	}
	s->method = ac_strdup(cJSON_IsString(m) ? m->valuestring : "GET");
	for (char *p = s->method; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	static const char *const methods[] = {"GET",   "HEAD",	 "POST",   "PUT",
					      "PATCH", "DELETE", "OPTIONS"};
	bool known = false;
	for (size_t i = 0; i < AC_ARRAY_LEN(methods); i++)
		known = known || strcmp(methods[i], s->method) == 0;
	if (!known) {
		char *kp = kp2(path, "method");
		ac_cfg_error(cx, kp, "unknown method \"%s\"", s->method);
		free(kp);
	}
	/* The URL may use captures from earlier steps, not this one's. */
	parse_url(cx, obj, path, s);
	char *hp = kp2(path, "headers");
	s->headers = parse_kvs(cx, ac_json_get(obj, "headers"), hp, &s->nheaders);
	free(hp);
	int bodies = 0;
	const cJSON *b;
	if ((b = ac_json_get(obj, "body"))) {
		bodies++;
		s->body_kind = BODY_RAW;
		s->body = ac_cfg_text(cx, obj, path, "body", true);
	}
	if ((b = ac_json_get(obj, "json"))) {
		bodies++;
		s->body_kind = BODY_JSON;
		s->json = cJSON_Duplicate(b, 1);
		char *jp = kp2(path, "json");
		expand_json_strings(cx, s->json, jp);
		free(jp);
	}
	if ((b = ac_json_get(obj, "form"))) {
		bodies++;
		s->body_kind = BODY_FORM;
		char *fp = kp2(path, "form");
		s->form = parse_kvs(cx, b, fp, &s->nform);
		free(fp);
	}
	if (bodies > 1)
		ac_cfg_error(cx, path, "give one of body, json or form");
	s->timeout_ms = set->timeout_ms;
	const cJSON *t = ac_json_get(obj, "timeout");
	if (t) {
		char *kp = kp2(path, "timeout");
		if (ac_cfg_duration(cx, t, kp, &s->timeout_ms) == 0 && s->timeout_ms < 1)
			ac_cfg_error(cx, kp, "must be positive");
		free(kp);
	}
	s->write = want_bool(cx, obj, path, "write", !method_is_safe(s->method));
	if (s->write && !set->allow_writes) {
		char *kp = kp2(path, ac_json_get(obj, "write") ? "write" : "method");
		ac_cfg_error(cx, kp,
			     "%s is a write: set \"settings\": {\"allow_writes\": true} to allow "
			     "writes (or mark the step \"write\": false if it changes nothing)",
			     s->method);
		free(kp);
	}
	s->follow = want_int(cx, obj, path, "follow_redirects", set->max_redirects, 0, 20);
	s->redirect_other_host = want_bool(cx, obj, path, "redirect_other_hosts", false);
	s->retries = want_int(cx, obj, path, "retries", 0, 0, 5);
	const cJSON *w = ac_json_get(obj, "wait");
	if (w) {
		static const struct ac_field wf[] = {
		    {"every", AC_FT_DURATION, true, 0, "time between tries"},
		    {"up_to", AC_FT_DURATION, true, 0, "give up after"},
		};
		char *wp = kp2(path, "wait");
		if (ac_cfg_want_object(cx, w, wp)) {
			ac_cfg_keys1(cx, w, wp, wf, AC_ARRAY_LEN(wf));
			const cJSON *e = ac_json_get(w, "every"), *u = ac_json_get(w, "up_to");
			char *ep = kp2(wp, "every"), *up = kp2(wp, "up_to");
			if (!e || !u)
				ac_cfg_error(cx, wp, "needs \"every\" and \"up_to\"");
			if (e && ac_cfg_duration(cx, e, ep, &s->wait_every_ms) == 0 &&
			    s->wait_every_ms < 10)
				ac_cfg_error(cx, ep, "must be at least 10ms");
			if (u && ac_cfg_duration(cx, u, up, &s->wait_up_to_ms) == 0 &&
			    s->wait_up_to_ms < s->wait_every_ms)
				ac_cfg_error(cx, up, "must be at least \"every\"");
			s->wait = true;
			free(ep);
			free(up);
		}
		free(wp);
		if (s->write)
			ac_cfg_error(cx, path,
				     "a write step cannot wait (it would repeat the write)");
	}
	char *ap = kp2(path, "assert");
	parse_asserts(cx, ac_json_get(obj, "assert"), ap, s);
	free(ap);
	const cJSON *c = ac_json_get(obj, "capture");
	if (c) {
		char *cp = kp2(path, "capture");
		parse_captures(cx, c, cp, s, names);
		free(cp);
	}
	/* A HEAD response has no body: "not_contains" or "size" would always
	 * hold. Refuse what reads a body. */
	bool head = strcmp(s->method, "HEAD") == 0;
	for (size_t i = 0; head && i < s->nasserts; i++) {
		enum assert_kind k = s->asserts[i].kind;
		const char *key = k == A_JSON ? "json" : k == A_SIZE ? "size" : "body";
		if (k == A_STATUS || k == A_HEADER || k == A_DURATION)
			continue;
		char *ap2 = kp2(path, "assert"), *kp = kp2(ap2, key);
		ac_cfg_error(cx, kp, "a HEAD response has no body (use GET to assert on it)");
		free(kp);
		free(ap2);
		break;
	}
	for (size_t i = 0; head && i < s->ncaps; i++) {
		if (s->caps[i].kind == CAP_HEADER || s->caps[i].kind == CAP_COOKIE)
			continue;
		char *cp = kp2(path, "capture"), *kp = kp2(cp, s->caps[i].name);
		ac_cfg_error(cx, kp, "a HEAD response has no body (use GET to capture from it)");
		free(kp);
		free(cp);
	}
	if (!s->name)
		s->name = ac_asprintf("%s %s", s->method, s->url ? s->url : "?");
}

static void parse_steps(struct ac_cfg *cx, const cJSON *arr, const char *path, struct journey *j,
			struct ac_names *names, bool login, bool cleanup)
{
	if (!arr)
		return;
	if (!cJSON_IsArray(arr)) {
		ac_cfg_error(cx, path, "expected a list of steps");
		return;
	}
	size_t n = (size_t)cJSON_GetArraySize(arr), i = 0;
	j->steps = ac_realloc(j->steps, (j->nsteps + n + 1) * sizeof(*j->steps));
	const cJSON *e;
	cJSON_ArrayForEach(e, arr)
	{
		char *sp = ac_cfg_path_index(path, i++);
		struct step *s = &j->steps[j->nsteps++];
		cx->runtime = names;
		parse_step(cx, e, sp, s, names);
		s->login = login;
		s->cleanup = cleanup;
		free(sp);
	}
}

static const struct ac_field persona_fields[] = {
    {"description", AC_FT_CUSTOM, false, AC_FIELD_NONE, NULL},
    {"login", AC_FT_CUSTOM, false, AC_FIELD_NONE, "steps that sign in"},
    {"headers", AC_FT_CUSTOM, false, AC_FIELD_NONE, "sent on every request"},
};

/* A persona's login steps and headers, read into j. */
static void parse_persona(struct ac_cfg *cx, const char *name, const cJSON *p, struct journey *j,
			  struct ac_names *names)
{
	char *pp = ac_cfg_path("personas", name);
	char *lp = ac_cfg_path(pp, "login");
	char *hp = ac_cfg_path(pp, "headers");
	ac_cfg_keys1(cx, p, pp, persona_fields, AC_ARRAY_LEN(persona_fields));
	j->persona_headers = parse_kvs(cx, ac_json_get(p, "headers"), hp, &j->npersona_headers);
	parse_steps(cx, ac_json_get(p, "login"), lp, j, names, true, false);
	if (strcmp(name, "visitor") == 0 && (ac_json_get(p, "login") || j->npersona_headers))
		ac_cfg_error(cx, pp, "a visitor starts with no credentials: no login or headers");
	free(lp);
	free(hp);
	free(pp);
}

/* Personas are validated once, through the section table; each journey
 * then reads its persona again without repeating the errors. */
void ac_http_personas_validate(struct ac_cfg *cx, const cJSON *section, const char *path);
void ac_http_personas_validate(struct ac_cfg *cx, const cJSON *section, const char *path)
{
	const cJSON *p;
	cJSON_ArrayForEach(p, section)
	{
		char *pp = ac_cfg_path(path, p->string);
		if (ac_cfg_want_object(cx, p, pp)) {
			struct journey *j = ac_calloc(1, sizeof(*j));
			struct ac_names names = {0};
			parse_persona(cx, p->string, p, j, &names);
			cx->runtime = NULL;
			ac_names_release(&names);
			journey_destroy(j);
		}
		free(pp);
	}
}

static void *journey_configure(struct ac_cfg *cx, const cJSON *obj, const char *path)
{
	struct journey *j = ac_calloc(1, sizeof(*j));
	struct ac_names names = {0};
	size_t before = cx->nerrors;
	const cJSON *p = ac_json_get(obj, "persona");
	const char *persona = cJSON_IsString(p) ? p->valuestring : "visitor";
	const cJSON *pdef = ac_json_get(ac_json_get(cx->root, "personas"), persona);
	bool persona_bad = false;
	if (!pdef && strcmp(persona, "visitor") != 0 && strcmp(persona, "searcher") != 0) {
		char *jp = ac_cfg_path(path, "persona");
		ac_cfg_error(cx, jp,
			     "unknown persona \"%s\": define it under \"personas\" (a signed-in "
			     "persona needs \"login\" steps)",
			     persona);
		free(jp);
	} else if (cJSON_IsObject(pdef)) {
		struct ac_cfg_quiet q;
		ac_cfg_quiet_begin(cx, &q);
		parse_persona(cx, persona, pdef, j, &names);
		persona_bad = ac_cfg_quiet_end(cx, &q);
	}
	char *sp = ac_cfg_path(path, "steps");
	const cJSON *steps = ac_json_get(obj, "steps");
	if (!steps)
		ac_cfg_error(cx, path, "missing required key \"steps\"");
	else if (cJSON_IsArray(steps) && cJSON_GetArraySize(steps) == 0)
		ac_cfg_error(cx, sp, "a journey needs at least one step");
	parse_steps(cx, steps, sp, j, &names, false, false);
	free(sp);
	char *cp = ac_cfg_path(path, "cleanup");
	parse_steps(cx, ac_json_get(obj, "cleanup"), cp, j, &names, false, true);
	free(cp);
	cx->runtime = &names;
	j->observe = ac_cfg_text(cx, obj, path, "observe", false);
	j->value = ac_cfg_text(cx, obj, path, "value", false);
	cx->runtime = NULL;
	ac_names_release(&names);
	if (cx->nerrors != before || persona_bad) {
		journey_destroy(j);
		return NULL;
	}
	return j;
}

/* --- one run of a journey ------------------------------------------------ */

struct header {
	char *name;
	char *value;
};

struct hrun {
	struct ac_curl_job job; /* first: the multi handle hands it back */
	struct ac_probe_run *run;
	const struct journey *j;
	struct ac_curlmulti *cm;
	CURL *easy; /* the handle of the current request's origin */
	/* One handle, so one cookie jar, per origin: cookies ignore ports, and
	 * a jar shared with another origin (127.0.0.1:8080 and :9090) would
	 * send one server's cookies to the other. The target's is first. */
	struct jar {
		char *origin;
		CURL *easy;
	} * jars;
	size_t njars;
	struct curl_slist *req_headers;
	char *req_body;
	char errbuf[CURL_ERROR_SIZE];
	bool in_multi;
	/* where we are */
	size_t idx;
	bool failed;	     /* a non-cleanup step failed: only cleanup runs now */
	bool cleanup_failed; /* a cleanup step failed */
	bool retried;
	bool interrupted_step; /* the last step was cut short by a signal */
	struct ac_step_result *sr;
	int tries;
	int retries_left;
	int redirects;
	char *url;	    /* current URL (for redirects) */
	char *origin;	    /* scheme://host:port of the target */
	bool other_origin;  /* following a redirect to another origin */
	int64_t step_start; /* first try of the step */
	int64_t try_start;
	struct ac_timer wait_timer;
	/* the response */
	struct ac_buf body;
	bool body_too_big;
	struct header *hdrs;
	size_t nhdrs, hdr_bytes, hdr_count;
	enum http_hdr_cap hdr_cap; /* a header limit stopped the transfer */
	long status;
	int64_t req_timeout_ms; /* CURLOPT_TIMEOUT_MS of the request */
	const char *req_limit;	/* what set it */
	/* captures, in order; later ones shadow earlier ones */
	struct kv *caps;
	size_t ncaps;
};

static const char *lookup_capture(void *ud, const char *name)
{
	struct hrun *h = ud;
	for (size_t i = h->ncaps; i > 0; i--)
		if (strcmp(h->caps[i - 1].name, name) == 0)
			return h->caps[i - 1].value;
	return NULL;
}

static char *expand(struct hrun *h, const char *tmpl)
{
	char *missing = NULL;
	char *s = ac_vars_subst(tmpl, lookup_capture, h, &missing);
	if (!s) {
		/* The loader checked every name; a capture can only be missing when
		 * its step failed, and then no later step runs. */
		s = ac_strdup("");
		free(missing);
	}
	return s;
}

/* The same for a URL: captured values percent-encoded unless ${raw:name}. */
static char *expand_url(struct hrun *h, const char *tmpl)
{
	char *missing = NULL;
	char *s = ac_vars_subst_url(tmpl, lookup_capture, h, &missing);
	if (!s) {
		s = ac_strdup("");
		free(missing);
	}
	return s;
}

static void set_capture(struct hrun *h, const char *name, const char *value, bool secret)
{
	h->caps = ac_realloc(h->caps, (h->ncaps + 1) * sizeof(*h->caps));
	h->caps[h->ncaps].name = ac_strdup(name);
	h->caps[h->ncaps].value = ac_strdup(value);
	h->ncaps++;
	/* A captured secret belongs to this run's mask. One shorter than the
	 * loader's minimum ("1") would blank that text everywhere: it is left to
	 * masking by header name (Cookie, Authorization, ...). */
	if (secret && strlen(value) >= AC_SECRET_MIN_BYTES)
		ac_mask_add(h->run->mask, value);
}

static void reset_response(struct hrun *h)
{
	ac_buf_release(&h->body);
	ac_buf_init(&h->body, h->run->plan->settings.max_body);
	h->body_too_big = false;
	for (size_t i = 0; i < h->nhdrs; i++) {
		free(h->hdrs[i].name);
		free(h->hdrs[i].value);
	}
	free(h->hdrs);
	h->hdrs = NULL;
	h->nhdrs = 0;
	h->hdr_bytes = 0;
	h->hdr_count = 0;
	h->hdr_cap = HDR_CAP_NONE;
	h->status = 0;
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *ud)
{
	struct hrun *h = ud;
	size_t n = size * nmemb;
	if (ac_buf_add(&h->body, data, n) < 0) {
		/* Stop the transfer at the cap: a chunked body has no length to
		 * check up front. */
		h->body_too_big = true;
		return CURL_WRITEFUNC_ERROR;
	}
	return n;
}

static size_t header_cb(char *data, size_t size, size_t nmemb, void *ud)
{
	struct hrun *h = ud;
	size_t n = size * nmemb;
	if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		/* A new response (after 1xx): forget the previous headers. */
		for (size_t i = 0; i < h->nhdrs; i++) {
			free(h->hdrs[i].name);
			free(h->hdrs[i].value);
		}
		h->nhdrs = 0;
		return n;
	}
	h->hdr_bytes += n;
	if (h->hdr_bytes > HTTP_MAX_HEADER_BYTES) {
		h->hdr_cap = HDR_CAP_BYTES;
		return 0;
	}
	if (++h->hdr_count > HTTP_MAX_HEADERS) {
		h->hdr_cap = HDR_CAP_COUNT;
		return 0;
	}
	const char *colon = memchr(data, ':', n);
	if (!colon)
		return n;
	size_t nl = (size_t)(colon - data);
	const char *v = colon + 1;
	size_t vl = n - nl - 1;
	while (vl && (*v == ' ' || *v == '\t'))
		v++, vl--;
	while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
		vl--;
	h->hdrs = ac_realloc(h->hdrs, (h->nhdrs + 1) * sizeof(*h->hdrs));
	h->hdrs[h->nhdrs].name = ac_strndup(data, nl);
	h->hdrs[h->nhdrs].value = ac_strndup(v, vl);
	h->nhdrs++;
	return n;
}

static const char *find_header(const struct hrun *h, const char *name)
{
	for (size_t i = 0; i < h->nhdrs; i++)
		if (strcasecmp(h->hdrs[i].name, name) == 0)
			return h->hdrs[i].value;
	return NULL;
}

/* scheme://host:port of an absolute URL, lower-cased, with the default
 * port made explicit; NULL if it is not http(s). */
static char *origin_of(const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *r = NULL;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK &&
	    (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0)) {
		r = ac_asprintf("%s://%s:%s", scheme, host, port);
		for (char *p = r; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return r;
}

static const struct step *cur_step(const struct hrun *h)
{
	return &h->j->steps[h->idx];
}

static char *masked(const struct hrun *h, const char *s)
{
	return ac_mask_apply(h->run->mask, s);
}

static char *body_excerpt(const struct hrun *h)
{
	if (h->body.len == 0)
		return NULL;
	return ac_mask_excerpt(h->run->mask, h->body.buf, h->body.len, HTTP_EXCERPT);
}

/* What served the response: build and cache headers, for "edge stale". */
static char *served_by(const struct hrun *h)
{
	static const char *const names[] = {"X-Build",	      "X-Version", "Age",
					    "X-Cache-Status", "X-Cache",   "CF-Cache-Status"};
	struct ac_buf b = AC_BUF_INIT;
	for (size_t i = 0; i < AC_ARRAY_LEN(names); i++) {
		const char *v = find_header(h, names[i]);
		if (!v)
			continue;
		char *ex = ac_mask_excerpt(h->run->mask, v, strlen(v), 60);
		if (strcasecmp(names[i], "Age") == 0)
			ac_buf_addf(&b, "%sAge %s s", b.len ? ", " : "", ex);
		else if (strcasecmp(names[i], "X-Build") == 0 ||
			 strcasecmp(names[i], "X-Version") == 0)
			ac_buf_addf(&b, "%sbuild %s", b.len ? ", " : "", ex);
		else
			ac_buf_addf(&b, "%s%s %s", b.len ? ", " : "", names[i], ex);
		free(ex);
	}
	if (!b.len)
		return NULL;
	char *m = masked(h, b.buf);
	ac_buf_release(&b);
	return m;
}

static void step_fail(struct hrun *h, enum ac_state st, const char *fmt, ...) AC_PRINTF(3, 4);
static void step_fail(struct hrun *h, enum ac_state st, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = ac_vasprintf(fmt, ap);
	va_end(ap);
	free(h->sr->reason);
	h->sr->reason = masked(h, msg);
	h->sr->state = st;
	free(msg);
}

static void start_step(struct hrun *h);
static void finish_journey(struct hrun *h);

static void next_step(struct hrun *h)
{
	for (;;) {
		h->idx++;
		if (h->idx >= h->j->nsteps) {
			finish_journey(h);
			return;
		}
		/* After a failure only cleanup steps still run. */
		if (!h->failed || cur_step(h)->cleanup)
			break;
	}
	start_step(h);
}

/* --- assertions ---------------------------------------------------------- */

static int cmp_numbers(double a, enum cmp_op op, double b)
{
	switch (op) {
	case OP_EQ:
		return a == b;
	case OP_NE:
		return a != b;
	case OP_LT:
		return a < b;
	case OP_LE:
		return a <= b;
	case OP_GT:
		return a > b;
	case OP_GE:
		return a >= b;
	}
	return 0;
}

/* Compare a JSON value from the response with an expected template value. */
static bool cmp_json(struct hrun *h, const cJSON *actual, const struct cmp *c)
{
	const cJSON *want = c->value;
	if (c->op >= OP_LT)
		return cJSON_IsNumber(actual) && cJSON_IsNumber(want) &&
		       isfinite(actual->valuedouble) &&
		       cmp_numbers(actual->valuedouble, c->op, want->valuedouble);
	bool eq;
	if (cJSON_IsString(want)) {
		char *w = expand(h, want->valuestring);
		eq = cJSON_IsString(actual) && strcmp(actual->valuestring, w) == 0;
		free(w);
	} else if (cJSON_IsNumber(want)) {
		eq = cJSON_IsNumber(actual) && actual->valuedouble == want->valuedouble;
	} else {
		eq = cJSON_Compare(actual, want, 1);
	}
	return c->op == OP_EQ ? eq : !eq;
}

static char *cmps_text(struct hrun *h, const struct assertion *a, const char *unit)
{
	struct ac_buf b = AC_BUF_INIT;
	for (size_t i = 0; i < a->ncmps; i++) {
		char *v = ac_json_to_text(a->cmps[i].value);
		char *e = cJSON_IsString(a->cmps[i].value) ? expand(h, v) : ac_strdup(v);
		ac_buf_addf(&b, "%s%s %s%s", i ? " and " : "", op_names[a->cmps[i].op], e, unit);
		free(v);
		free(e);
	}
	char *m = masked(h, b.buf);
	ac_buf_release(&b);
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

static char *status_text(const struct assertion *a)
{
	struct ac_buf b = AC_BUF_INIT;
	for (size_t i = 0; i < a->ncodes; i++) {
		if (a->codes[i] < 10)
			ac_buf_addf(&b, "%s%dxx", i ? " or " : "", a->codes[i]);
		else
			ac_buf_addf(&b, "%s%d", i ? " or " : "", a->codes[i]);
	}
	return ac_buf_detach(&b);
}

static bool regex_match(struct hrun *h, const struct assertion *a, const char *subject)
{
	if (a->has_re)
		return regexec(&a->re, subject, 0, NULL, 0) == 0;
	char *pat = expand(h, a->text);
	regex_t re;
	bool ok = false;
	if (regcomp(&re, pat, REG_EXTENDED) == 0) {
		ok = regexec(&re, subject, 0, NULL, 0) == 0;
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

/* Evaluate one assertion into the step result; returns whether it held. */
static bool eval_assertion(struct hrun *h, const struct assertion *a, int64_t duration_ms,
			   cJSON *doc, bool doc_parsed)
{
	struct ac_assertion_result *ar = ac_step_add_assert(h->sr);
	bool ok = false;
	switch (a->kind) {
	case A_STATUS:
		ar->what = ac_strdup("status");
		ar->expected = status_text(a);
		ar->actual = ac_asprintf("%ld", h->status);
		ok = status_ok(a, h->status);
		break;
	case A_HEADER: {
		const char *v = find_header(h, a->subject);
		bool secret = ac_mask_header_is_secret(a->subject);
		ar->what = ac_asprintf("header %s", a->subject);
		char *want = a->text ? expand(h, a->text) : NULL;
		switch (a->sop) {
		case S_EXISTS:
			ar->expected = ac_strdup("present");
			ok = v != NULL;
			break;
		case S_ABSENT:
			ar->expected = ac_strdup("absent");
			ok = v == NULL;
			break;
		case S_EQUALS:
			ar->expected = ac_asprintf("equals \"%s\"", want);
			ok = v && strcmp(v, want) == 0;
			break;
		case S_CONTAINS:
			ar->expected = ac_asprintf("contains \"%s\"", want);
			ok = v && strstr(v, want);
			break;
		case S_MATCHES:
			ar->expected = ac_asprintf("matches /%s/", want);
			ok = v && regex_match(h, a, v);
			break;
		}
		if (!v)
			ar->actual = ac_strdup("(absent)");
		else if (secret)
			ar->actual = ac_strdup(AC_MASK_TEXT);
		else
			ar->actual = ac_mask_excerpt(h->run->mask, v, strlen(v), 120);
		if (secret) {
			free(ar->expected);
			ar->expected = ac_strdup(AC_MASK_TEXT);
		}
		free(want);
		break;
	}
	case A_BODY_CONTAINS:
	case A_BODY_NOT_CONTAINS:
	case A_BODY_MATCHES: {
		char *want = expand(h, a->text);
		bool has;
		if (a->kind == A_BODY_MATCHES) {
			ar->what = ac_strdup("body");
			ar->expected = ac_asprintf("matches /%s/", want);
			has = regex_match(h, a, h->body.buf);
			ok = has;
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
		if (a->exists >= 0) {
			ar->expected = ac_strdup(a->exists ? "exists" : "absent");
			ar->actual = ac_strdup(nm ? "exists" : "absent");
			ok = a->exists ? nm > 0 : nm == 0;
		} else if (a->count) {
			double n = (double)nm;
			if (nm == 1 && (cJSON_IsArray(m[0]) || cJSON_IsObject(m[0])) &&
			    !strstr(a->subject, "*"))
				n = cJSON_GetArraySize(m[0]);
			ar->expected = cmps_text(h, a, "");
			char *e = ar->expected;
			ar->expected = ac_asprintf("count %s", e);
			free(e);
			bool missing = nm == 0 && !wildcard_base_exists(doc, a->subject);
			ar->actual =
			    missing ? ac_strdup("(missing)") : ac_asprintf("count %.0f", n);
			ok = !missing;
			for (size_t i = 0; i < a->ncmps; i++)
				ok = ok &&
				     cmp_numbers(n, a->cmps[i].op, a->cmps[i].value->valuedouble);
		} else {
			ar->expected = cmps_text(h, a, "");
			if (nm == 0) {
				ar->actual = ac_strdup("(missing)");
				ok = false;
			} else {
				/* Show the match that failed, not the first one. */
				ok = true;
				size_t bk = 0, bi = 0;
				for (size_t k = 0; k < nm && ok; k++)
					for (size_t i = 0; i < a->ncmps && ok; i++)
						if (!(ok = cmp_json(h, m[k], &a->cmps[i]))) {
							bk = k;
							bi = i;
						}
				char *t = ac_json_to_text(m[bk]);
				char *ex = ac_mask_excerpt(h->run->mask, t, strlen(t), 120);
				/* The string "0" and the number 0 print alike. */
				bool s1 = cJSON_IsString(m[bk]),
				     s2 = cJSON_IsString(a->cmps[bi].value);
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
		ok = true;
		for (size_t i = 0; i < a->ncmps; i++)
			ok = ok && cmp_numbers(v, a->cmps[i].op, a->cmps[i].value->valuedouble);
		break;
	}
	}
	/* The expectation may carry a captured secret: mask both sides. */
	char *e = masked(h, ar->expected), *ac = masked(h, ar->actual);
	free(ar->expected);
	free(ar->actual);
	ar->expected = e;
	ar->actual = ac;
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
	const struct step *s = cur_step(h);
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
			const char *v = find_header(h, c->expr);
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
			if (regexec(&c->re, h->body.buf, 10, pm, 0) == 0 && pm[c->group].rm_so >= 0)
				val = ac_strndup(h->body.buf + pm[c->group].rm_so,
						 (size_t)(pm[c->group].rm_eo - pm[c->group].rm_so));
			break;
		}
		case CAP_BODY:
			val = ac_strdup(h->body.buf);
			break;
		}
		if (!val) {
			step_fail(h, AC_STATE_FAIL,
				  "capture \"%s\": %s %s not found in the response", c->name,
				  c->kind == CAP_JSON	  ? "JSON path"
				  : c->kind == CAP_HEADER ? "header"
				  : c->kind == CAP_COOKIE ? "cookie"
							  : "pattern",
				  c->expr);
			return false;
		}
		set_capture(h, c->name, val, c->secret);
		free(val);
	}
	return true;
}

/* --- running steps ------------------------------------------------------- */

static void remove_easy(struct hrun *h)
{
	if (h->in_multi) {
		curl_multi_remove_handle(ac_curlmulti_handle(h->cm), h->easy);
		h->in_multi = false;
	}
	curl_slist_free_all(h->req_headers);
	h->req_headers = NULL;
	free(h->req_body);
	h->req_body = NULL;
}

static char *form_encode(struct hrun *h, const struct step *s)
{
	struct ac_buf b = AC_BUF_INIT;
	for (size_t i = 0; i < s->nform; i++) {
		char *v = expand(h, s->form[i].value);
		char *en = curl_easy_escape(h->easy, s->form[i].name, 0);
		char *ev = curl_easy_escape(h->easy, v, 0);
		ac_buf_addf(&b, "%s%s=%s", i ? "&" : "", en, ev);
		curl_free(en);
		curl_free(ev);
		free(v);
	}
	return ac_buf_detach(&b);
}

/* Expand captures in every string of a JSON body, in place. The depth is
 * bounded by the loader's nesting limit (AC_JSON_MAX_DEPTH); the number of
 * nodes is not. */
static void expand_json_node(struct hrun *h, cJSON *n)
{
	if (cJSON_IsString(n)) {
		char *v = expand(h, n->valuestring);
		cJSON_SetValuestring(n, v);
		free(v);
	}
	for (cJSON *c = n->child; c; c = c->next)
		expand_json_node(h, c);
}

static cJSON *expand_json_body(struct hrun *h, const cJSON *tmpl)
{
	cJSON *copy = cJSON_Duplicate(tmpl, 1);
	expand_json_node(h, copy);
	return copy;
}

static void add_header(struct hrun *h, const char *name, const char *value)
{
	char *line = ac_asprintf("%s: %s", name, value);
	h->req_headers = curl_slist_append(h->req_headers, line);
	free(line);
}

/* Add the persona's and the step's headers, expanded. The persona's are
 * credentials for the target: they go to the target's origin only, never to
 * a step's absolute URL elsewhere. Only a captured value can hold a line
 * break (the loader refuses them): one would inject headers of the server's
 * choosing, so the step fails and nothing is sent. A FAIL, not an ERROR:
 * the product handed out a value no header can carry. */
static bool add_step_headers(struct hrun *h, const struct step *s, bool to_target)
{
	for (int k = to_target ? 0 : 1; k < 2; k++) {
		const struct kv *kv = k == 0 ? h->j->persona_headers : s->headers;
		size_t n = k == 0 ? h->j->npersona_headers : s->nheaders;
		for (size_t i = 0; i < n; i++) {
			char *v = expand(h, kv[i].value);
			bool bad = false;
			for (const unsigned char *p = (const unsigned char *)v; *p && !bad; p++)
				bad = (*p < 0x20 && *p != '\t') || *p == 0x7f;
			if (bad) {
				step_fail(h, AC_STATE_FAIL,
					  "header %s: its value holds a line break or control "
					  "character: refused, the request was not sent",
					  kv[i].name);
				free(v);
				return false;
			}
			add_header(h, kv[i].name, v);
			free(v);
		}
	}
	return true;
}

/* The current try ends before anything is sent (the reason is set). */
static void refuse_request(struct hrun *h)
{
	const struct step *s = cur_step(h);
	remove_easy(h);
	free(h->sr->url);
	h->sr->url = masked(h, h->url);
	h->sr->tries = h->tries;
	h->sr->waited_ms = ac_loop_update_now(h->run->loop) - h->step_start;
	if (h->sr->state == AC_STATE_PENDING)
		h->sr->state = AC_STATE_FAIL;
	if (s->cleanup)
		h->cleanup_failed = true;
	else
		h->failed = true;
	next_step(h);
}

/* Options that stay the same for every request of a run. */
static void setup_handle(struct hrun *h, CURL *e)
{
	const struct ac_settings *set = &h->run->plan->settings;
	ac_curl_easy_common(e, set);
	curl_easy_setopt(e, CURLOPT_PRIVATE, &h->job);
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	/* The in-memory cookie jar of this run only. */
	curl_easy_setopt(e, CURLOPT_COOKIEFILE, "");
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, h);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, h->errbuf);
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)set->max_body);
}

/* Make h->easy the handle (and cookie jar) of origin o; false if there is
 * none and no new one can be made. */
static bool use_jar(struct hrun *h, const char *o)
{
	for (size_t i = 0; i < h->njars; i++) {
		if (strcmp(h->jars[i].origin, o) == 0) {
			h->easy = h->jars[i].easy;
			return true;
		}
	}
	CURL *e = curl_easy_init();
	if (!e)
		return false;
	setup_handle(h, e);
	h->jars = ac_realloc(h->jars, (h->njars + 1) * sizeof(*h->jars));
	h->jars[h->njars].origin = ac_strdup(o);
	h->jars[h->njars].easy = e;
	h->njars++;
	h->easy = e;
	return true;
}

/* Send the current step's request to h->url. */
static void send_request(struct hrun *h)
{
	const struct step *s = cur_step(h);
	remove_easy(h); /* the previous request's, if still there */
	char *o = origin_of(h->url);
	bool have = o && use_jar(h, o);
	bool to_target = o && h->origin && strcmp(o, h->origin) == 0;
	free(o);
	if (!have) {
		step_fail(h, AC_STATE_ERROR, "cannot prepare a request to %s", h->url);
		refuse_request(h);
		return;
	}
	CURL *e = h->easy;
	reset_response(h);
	/* No curl_easy_reset between requests: libcurl 7.88 leaks the cookie
	 * file list on reset (curl PR 10709). What varies per request is set
	 * here, every time; the rest once in setup_handle(). */
	curl_easy_setopt(e, CURLOPT_URL, h->url);
	int64_t left = h->run->deadline_ms - ac_loop_now(h->run->loop);
	int64_t t = s->timeout_ms < left ? s->timeout_ms : left;
	h->req_timeout_ms = t > 1 ? t : 1;
	h->req_limit = s->timeout_ms < left ? "step timeout" : "journey time limit";
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)h->req_timeout_ms);
	/* The previous request's body is freed: forget it before anything
	 * else (setting POSTFIELDS switches to POST; HTTPGET switches back). */
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, NULL);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)-1);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, NULL);
	curl_easy_setopt(e, CURLOPT_NOBODY, 0L);
	curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
	h->errbuf[0] = '\0';
	/* A redirect to another origin carries none of the step's headers. */
	if (!h->other_origin && !add_step_headers(h, s, to_target)) {
		refuse_request(h);
		return;
	}
	bool redirected = h->redirects > 0;
	if (!redirected && s->body_kind != BODY_NONE) {
		if (s->body_kind == BODY_RAW) {
			h->req_body = expand(h, s->body);
		} else if (s->body_kind == BODY_FORM) {
			h->req_body = form_encode(h, s);
			add_header(h, "Content-Type", "application/x-www-form-urlencoded");
		} else {
			cJSON *doc = expand_json_body(h, s->json);
			h->req_body = cJSON_PrintUnformatted(doc);
			cJSON_Delete(doc);
			add_header(h, "Content-Type", "application/json");
		}
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, h->req_body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(h->req_body));
	}
	const char *method = redirected ? "GET" : s->method;
	if (strcmp(method, "GET") == 0)
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	else if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	else if (strcmp(method, "POST") == 0 && h->req_body)
		curl_easy_setopt(e, CURLOPT_POST, 1L);
	else
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	if (!h->req_body && strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
	}
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h->req_headers);
	h->try_start = ac_loop_update_now(h->run->loop);
	if (curl_multi_add_handle(ac_curlmulti_handle(h->cm), e) != CURLM_OK) {
		step_fail(h, AC_STATE_ERROR, "libcurl refused the request");
		refuse_request(h);
		return;
	}
	h->in_multi = true;
}

static void begin_try(struct hrun *h)
{
	const struct step *s = cur_step(h);
	h->tries++;
	h->redirects = 0;
	h->other_origin = false;
	free(h->url);
	char *path = expand_url(h, s->url);
	if (ac_starts_with(path, "http://") || ac_starts_with(path, "https://"))
		h->url = path;
	else {
		h->url = ac_asprintf("%s%s", h->run->check->target->url, path);
		free(path);
	}
	/* A fresh try starts with a clean step result. */
	for (size_t i = 0; i < h->sr->nasserts; i++) {
		free(h->sr->asserts[i].what);
		free(h->sr->asserts[i].expected);
		free(h->sr->asserts[i].actual);
	}
	h->sr->nasserts = 0;
	free(h->sr->reason);
	h->sr->reason = NULL;
	free(h->sr->excerpt);
	h->sr->excerpt = NULL;
	h->sr->state = AC_STATE_PENDING;
	/* A ${raw:capture} may make a URL libcurl refuses: nothing is sent,
	 * and nothing about the product is measured. */
	const char *problem = url_problem(h->url);
	if (problem) {
		step_fail(h, AC_STATE_ERROR, "could not build URL (%s): nothing sent", problem);
		refuse_request(h);
		return;
	}
	send_request(h);
}

static void on_wait_timer(void *ud)
{
	begin_try(ud);
}

static void start_step(struct hrun *h)
{
	const struct step *s = cur_step(h);
	h->sr = ac_sample_add_step(&h->run->sample);
	h->sr->name = ac_strdup(s->login ? "login" : "");
	if (s->login) {
		free(h->sr->name);
		h->sr->name = ac_asprintf("login: %s", s->name);
	} else {
		free(h->sr->name);
		h->sr->name = masked(h, s->name);
	}
	h->sr->method = ac_strdup(s->method);
	h->sr->cleanup = s->cleanup;
	h->sr->write = s->write;
	h->tries = 0;
	h->retries_left = s->retries;
	h->step_start = ac_loop_update_now(h->run->loop);
	begin_try(h);
}

/* Judge the response to the current try. Returns true when the step holds. */
static bool judge_response(struct hrun *h, int64_t duration_ms)
{
	const struct step *s = cur_step(h);
	cJSON *doc = NULL;
	bool needs_json = false;
	for (size_t i = 0; i < s->nasserts; i++)
		needs_json = needs_json || s->asserts[i].kind == A_JSON;
	for (size_t i = 0; i < s->ncaps; i++)
		needs_json = needs_json || s->caps[i].kind == CAP_JSON;
	if (needs_json)
		doc = ac_json_parse_body(h->body.buf, h->body.len);
	/* Every assertion is evaluated, so the report shows all that failed;
	 * the reason names the first (by index: the array grows as we go). */
	size_t first_bad = SIZE_MAX;
	for (size_t i = 0; i < s->nasserts; i++) {
		bool held = eval_assertion(h, &s->asserts[i], duration_ms, doc, needs_json);
		if (!held && first_bad == SIZE_MAX)
			first_bad = h->sr->nasserts - 1;
	}
	bool ok = first_bad == SIZE_MAX;
	if (!ok) {
		const struct ac_assertion_result *ar = &h->sr->asserts[first_bad];
		step_fail(h, AC_STATE_FAIL, "%s: expected %s, got %s", ar->what, ar->expected,
			  ar->actual);
	} else {
		ok = do_captures(h, doc);
	}
	cJSON_Delete(doc);
	return ok;
}

/* Should this failed try be tried again (wait or retries)? Schedules it. */
static bool try_again(struct hrun *h)
{
	const struct step *s = cur_step(h);
	int64_t now = ac_loop_update_now(h->run->loop);
	if (s->wait) {
		int64_t due = now + s->wait_every_ms;
		if (due - h->step_start <= s->wait_up_to_ms && due < h->run->deadline_ms) {
			remove_easy(h);
			ac_loop_timer_start(h->run->loop, &h->wait_timer, due, on_wait_timer, h);
			return true;
		}
		return false;
	}
	if (h->retries_left > 0) {
		h->retries_left--;
		int64_t due = now + 200;
		if (due < h->run->deadline_ms) {
			remove_easy(h);
			ac_loop_timer_start(h->run->loop, &h->wait_timer, due, on_wait_timer, h);
			return true;
		}
	}
	return false;
}

/* Statuses that send the client elsewhere (a 304 or a 300 does not). */
static bool is_redirect(long status)
{
	return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

static void step_done(struct hrun *h, CURLcode rc)
{
	const struct step *s = cur_step(h);
	int64_t now = ac_loop_update_now(h->run->loop);
	int64_t duration = now - h->try_start;
	curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &h->status);
	h->sr->status = h->status;
	h->sr->duration_ms = duration;
	h->sr->tries = h->tries;
	h->sr->waited_ms = now - h->step_start;
	free(h->sr->url);
	h->sr->url = masked(h, h->url);
	free(h->sr->served_by);
	h->sr->served_by = served_by(h);
	bool ok;
	if (h->body_too_big || rc != CURLE_OK) {
		struct http_failure f = {
		    .rc = rc,
		    .easy = h->easy,
		    .url = h->url,
		    .errbuf = h->errbuf,
		    .status = h->status,
		    .duration_ms = duration,
		    .connect_timeout_ms = h->run->plan->settings.connect_timeout_ms,
		    .request_timeout_ms = h->req_timeout_ms,
		    .request_limit = h->req_limit,
		    .body_too_big = h->body_too_big,
		    .max_body = h->run->plan->settings.max_body,
		    .hdr_cap = h->hdr_cap,
		};
		enum ac_state st;
		char *why = http_failure_reason(&f, &st);
		step_fail(h, st, "%s %s: %s", h->sr->method, h->sr->url, why);
		free(why);
		ok = false;
	} else if (is_redirect(h->status) && h->redirects < s->follow) {
		/* Follow it ourselves: same origin unless allowed, never re-POST. */
		char *loc = NULL;
		curl_easy_getinfo(h->easy, CURLINFO_REDIRECT_URL, &loc);
		char *to = loc ? ac_strdup(loc) : NULL;
		char *o = to ? origin_of(to) : NULL;
		char *from = origin_of(h->url);
		/* https to http is refused even where other hosts are allowed. */
		bool downgrade =
		    o && from && ac_starts_with(from, "https:") && !ac_starts_with(o, "https:");
		free(from);
		if (!to || !o) {
			if (to)
				step_fail(
				    h, AC_STATE_FAIL,
				    "redirect %ld to an unsupported URL: protocol not allowed",
				    h->status);
			else
				step_fail(h, AC_STATE_FAIL,
					  "redirect %ld without a Location header", h->status);
			ok = false;
		} else if (downgrade) {
			char *m = masked(h, to);
			step_fail(h, AC_STATE_FAIL,
				  "redirect to %s refused: https to http is a downgrade", m);
			free(m);
			ok = false;
		} else if (strcmp(o, h->origin) != 0 && !s->redirect_other_host) {
			char *m = masked(h, to);
			step_fail(
			    h, AC_STATE_FAIL,
			    "cross-origin redirect to %s refused (set \"redirect_other_hosts\" "
			    "to follow; credentials are never sent there)",
			    m);
			free(m);
			ok = false;
		} else if ((h->status == 307 || h->status == 308) &&
			   strcmp(s->method, "GET") != 0 && strcmp(s->method, "HEAD") != 0) {
			step_fail(h, AC_STATE_FAIL, "redirect %ld would replay the %s: refused",
				  h->status, s->method);
			ok = false;
		} else {
			h->redirects++;
			if (strcmp(o, h->origin) != 0)
				h->other_origin = true;
			free(h->url);
			h->url = to;
			free(o);
			remove_easy(h);
			send_request(h);
			return;
		}
		free(o);
		free(to);
	} else if (is_redirect(h->status) && s->follow > 0 && h->redirects >= s->follow) {
		step_fail(h, AC_STATE_FAIL, "redirect limit of %d reached", s->follow);
		ok = false;
	} else {
		ok = judge_response(h, duration);
	}
	if (!ok && try_again(h)) {
		if (!s->wait)
			h->retried = true;
		return;
	}
	remove_easy(h);
	if (ok) {
		h->sr->state = AC_STATE_PASS;
		if (h->tries > 1 && !s->wait)
			h->retried = true;
	} else {
		if (h->sr->state == AC_STATE_PENDING)
			h->sr->state = AC_STATE_FAIL;
		free(h->sr->excerpt);
		h->sr->excerpt = body_excerpt(h);
		if (s->wait) {
			char waited[32];
			ac_format_duration(waited, sizeof(waited), h->sr->waited_ms);
			char *r = h->sr->reason;
			h->sr->reason = ac_asprintf("%s (still failing after %d tries over %s)",
						    r ? r : "failed", h->tries, waited);
			free(r);
		}
		if (s->cleanup)
			h->cleanup_failed = true;
		else
			h->failed = true;
	}
	next_step(h);
}

static void on_job_done(struct ac_curl_job *job, CURLcode rc)
{
	step_done((struct hrun *)job, rc);
}

static void hrun_destroy(struct hrun *h)
{
	if (!h)
		return;
	remove_easy(h);
	ac_loop_timer_stop(h->run->loop, &h->wait_timer);
	for (size_t i = 0; i < h->njars; i++) {
		curl_easy_cleanup(h->jars[i].easy);
		free(h->jars[i].origin);
	}
	free(h->jars);
	reset_response(h);
	ac_buf_release(&h->body);
	kvs_free(h->caps, h->ncaps);
	free(h->url);
	free(h->origin);
	free(h);
}

static void finish_journey(struct hrun *h)
{
	struct ac_probe_run *run = h->run;
	struct ac_sample *s = &run->sample;
	const struct ac_step_result *bad = NULL;
	for (size_t i = 0; i < s->nsteps && !bad; i++)
		if (s->steps[i].state != AC_STATE_PASS && !s->steps[i].cleanup)
			bad = &s->steps[i];
	if (bad && h->interrupted_step && bad == &s->steps[s->nsteps - 1]) {
		ac_sample_set(s, AC_STATE_ERROR, "%s during step \"%s\"", h->run->interrupted,
			      bad->name);
	} else if (bad) {
		ac_sample_set(s, bad->state, "step \"%s\": %s", bad->name,
			      bad->reason ? bad->reason : "failed");
		s->evidence = bad->excerpt ? ac_strdup(bad->excerpt) : NULL;
	} else if (h->cleanup_failed) {
		for (size_t i = 0; i < s->nsteps; i++)
			if (s->steps[i].state != AC_STATE_PASS)
				bad = &s->steps[i];
		ac_sample_set(s, AC_STATE_FAIL,
			      "cleanup step \"%s\" failed (a record may be left behind): %s",
			      bad->name, bad->reason ? bad->reason : "failed");
	} else {
		ac_sample_set(s, AC_STATE_PASS, NULL);
		s->retried = h->retried;
	}
	if (!bad || h->cleanup_failed) {
		if (h->j->observe) {
			char *o = expand(h, h->j->observe);
			s->observed = masked(h, o);
			free(o);
		}
		if (h->j->value) {
			char *v = expand(h, h->j->value);
			double d;
			if (ac_parse_double(v, &d) == 0) {
				s->has_value = true;
				s->value = d;
			} else if (s->state == AC_STATE_PASS) {
				ac_sample_set(s, AC_STATE_ERROR, "value \"%s\" is not a number", v);
			}
			free(v);
		}
	}
	run->state = NULL;
	hrun_destroy(h);
	ac_probe_finish(run);
}

static void journey_start(struct ac_probe_run *run)
{
	struct hrun *h = ac_calloc(1, sizeof(*h));
	h->run = run;
	h->j = run->check->config;
	h->cm = ac_curlmulti_get(run->services);
	h->job.done = on_job_done;
	ac_buf_init(&h->body, run->plan->settings.max_body);
	h->origin = origin_of(run->check->target->url);
	run->state = h;
	if (!h->origin || !use_jar(h, h->origin)) {
		ac_sample_set(&run->sample, AC_STATE_ERROR, "cannot prepare a request to %s",
			      run->check->target->url);
		run->state = NULL;
		hrun_destroy(h);
		ac_probe_finish(run);
		return;
	}
	h->idx = 0;
	start_step(h);
}

static void journey_abort(struct ac_probe_run *run)
{
	struct hrun *h = run->state;
	if (!h)
		return;
	if (h->sr && h->sr->state == AC_STATE_PENDING) {
		int64_t now = ac_loop_update_now(run->loop);
		free(h->sr->url);
		h->sr->url = h->url ? masked(h, h->url) : NULL;
		h->sr->tries = h->tries;
		h->sr->waited_ms = now - h->step_start;
		if (run->interrupted) {
			/* Cut short from outside (a signal): nothing was measured. */
			step_fail(h, AC_STATE_ERROR, "%s %s: %s after %lld ms", h->sr->method,
				  h->sr->url ? h->sr->url : "", run->interrupted,
				  (long long)(now - h->try_start));
			h->interrupted_step = true;
		} else {
			/* The product did not answer in time: users see the same. */
			step_fail(h, AC_STATE_FAIL,
				  "%s %s: timeout after %lld ms (journey time limit)",
				  h->sr->method, h->sr->url ? h->sr->url : "",
				  (long long)(now - h->try_start));
		}
	}
	remove_easy(h);
	ac_loop_timer_stop(run->loop, &h->wait_timer);
	h->failed = true;
	/* No cleanup after the deadline: there is no time left for it. */
	h->idx = h->j->nsteps;
	finish_journey(h);
}

const struct ac_probe_kind ac_probe_http = {
    .name = "http",
    .summary = "scripted user journeys over HTTP(S), per persona and target",
    .section = "journeys",
    .per_target = true,
    .fields = journey_fields,
    .nfields = AC_ARRAY_LEN(journey_fields),
    .configure = journey_configure,
    .config_destroy = journey_destroy,
    .start = journey_start,
    .abort = journey_abort,
};
