/*
 * http_config.c: reading a journey of the "http" probe kind from the
 * scenario: steps, personas, captures, redirects and write rules. The
 * assertions of a step are read in http_assert.c.
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
#include "sections.h"

static const char *const methods[] = {"GET",   "HEAD",	 "POST",    "PUT",
				      "PATCH", "DELETE", "OPTIONS", NULL};

static const struct ac_field capture_fields[] = {
    {"json", AC_FT_CUSTOM, false, AC_FIELD_NONE, "JSON path", AC_SHAPE_STRING},
    {"header", AC_FT_CUSTOM, false, AC_FIELD_NONE, "response header name", AC_SHAPE_STRING},
    {"cookie", AC_FT_CUSTOM, false, AC_FIELD_NONE, "cookie name", AC_SHAPE_STRING},
    {"regex", AC_FT_CUSTOM, false, AC_FIELD_NONE, "regular expression on the body",
     AC_SHAPE_STRING},
    {"group", AC_FT_CUSTOM, false, AC_FIELD_NONE, "regex group (default 1)", AC_SHAPE_INTEGER},
    {"secret", AC_FT_CUSTOM, false, AC_FIELD_NONE, "mask the value in reports", AC_SHAPE_BOOL},
};

static const struct ac_field wait_fields[] = {
    {"every", AC_FT_DURATION, true, 0, "time between tries"},
    {"up_to", AC_FT_DURATION, true, 0, "give up after"},
};

static const struct ac_field step_fields[] = {
    {"name", AC_FT_CUSTOM, false, AC_FIELD_NONE, NULL, AC_SHAPE_STRING},
    {"method", AC_FT_CUSTOM, false, AC_FIELD_NONE,
     "GET (default), HEAD, POST, PUT, PATCH, DELETE or OPTIONS, in any case", AC_SHAPE_STRING},
    {"url", AC_FT_CUSTOM, true, AC_FIELD_NONE, "path relative to the target", AC_SHAPE_STRING},
    {"headers", AC_FT_CUSTOM, false, AC_FIELD_NONE, NULL, AC_SHAPE_STRING_MAP},
    {"body", AC_FT_CUSTOM, false, AC_FIELD_NONE, "raw body text", AC_SHAPE_STRING},
    {"json", AC_FT_CUSTOM, false, AC_FIELD_NONE, "JSON body", AC_SHAPE_ANY},
    {"form", AC_FT_CUSTOM, false, AC_FIELD_NONE, "form body", AC_SHAPE_STRING_MAP},
    {"timeout", AC_FT_CUSTOM, false, AC_FIELD_NONE, NULL, AC_SHAPE_DURATION},
    {"write", AC_FT_CUSTOM, false, AC_FIELD_NONE, "the step changes data", AC_SHAPE_BOOL},
    {"follow_redirects", AC_FT_CUSTOM, false, AC_FIELD_NONE, "how many to follow",
     AC_SHAPE_INTEGER},
    {"redirect_other_hosts", AC_FT_CUSTOM, false, AC_FIELD_NONE, NULL, AC_SHAPE_BOOL},
    {"capture", AC_FT_CUSTOM, false, AC_FIELD_NONE, "name: where to read the value",
     AC_SHAPE_OBJECT_MAP, NULL, capture_fields, AC_ARRAY_LEN(capture_fields)},
    {"assert", AC_FT_CUSTOM, false, AC_FIELD_NONE, "status, headers, body, json, duration, size",
     AC_SHAPE_ANY},
    {"wait", AC_FT_CUSTOM, false, AC_FIELD_NONE, "repeat until the assertions hold",
     AC_SHAPE_OBJECT, NULL, wait_fields, AC_ARRAY_LEN(wait_fields)},
    {"retries", AC_FT_CUSTOM, false, AC_FIELD_NONE, NULL, AC_SHAPE_INTEGER},
};

const struct ac_field http_journey_fields[HTTP_NJOURNEY_FIELDS] = {
    {"steps", AC_FT_CUSTOM, true, AC_FIELD_NONE, NULL, AC_SHAPE_OBJECTS, NULL, step_fields,
     AC_ARRAY_LEN(step_fields)},
    {"cleanup", AC_FT_CUSTOM, false, AC_FIELD_NONE, "steps that always run", AC_SHAPE_OBJECTS, NULL,
     step_fields, AC_ARRAY_LEN(step_fields)},
    {"observe", AC_FT_CUSTOM, false, AC_FIELD_NONE, "text compared across targets",
     AC_SHAPE_STRING},
    {"value", AC_FT_CUSTOM, false, AC_FIELD_NONE, "number judged by trends", AC_SHAPE_STRING},
};

static void step_release(struct step *s)
{
	free(s->name);
	free(s->method);
	free(s->url);
	http_kvs_free(s->headers, s->nheaders);
	free(s->body);
	cJSON_Delete(s->json);
	http_kvs_free(s->form, s->nform);
	for (size_t i = 0; i < s->ncaps; i++) {
		free(s->caps[i].name);
		free(s->caps[i].expr);
		if (s->caps[i].has_re)
			regfree(&s->caps[i].re);
	}
	free(s->caps);
	for (size_t i = 0; i < s->nasserts; i++)
		http_assertion_release(&s->asserts[i]);
	free(s->asserts);
}

void http_kvs_free(struct kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(kv[i].name);
		free(kv[i].value);
	}
	free(kv);
}

void http_journey_destroy(void *p)
{
	struct journey *j = p;
	if (!j)
		return;
	for (size_t i = 0; i < j->nsteps; i++)
		step_release(&j->steps[i]);
	free(j->steps);
	free(j->observe);
	free(j->value);
	free(j);
}

static bool want_bool(struct ac_cfg *cx, const cJSON *obj, const char *path, const char *key,
		      bool def)
{
	const cJSON *v = ac_json_get(obj, key);
	if (!v)
		return def;
	if (!cJSON_IsBool(v)) {
		char *kp = ac_cfg_path(path, key);
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
		char *kp = ac_cfg_path(path, key);
		ac_cfg_error(cx, kp, "expected a whole number from %d to %d", lo, hi);
		free(kp);
		return def;
	}
	return (int)v->valuedouble;
}

bool http_re_has_backref(const char *pattern)
{
	for (const char *p = pattern; *p; p++) {
		if (*p != '\\')
			continue;
		if (p[1] >= '1' && p[1] <= '9')
			return true;
		if (p[1])
			p++;
	}
	return false;
}

bool http_compile_re(struct ac_cfg *cx, const char *path, const char *pattern, regex_t *re)
{
	if (http_re_has_backref(pattern)) {
		ac_cfg_error(cx, path,
			     "bad regular expression: back-references (\\1 ... \\9) are not "
			     "supported (their matching time has no bound)");
		return false;
	}
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
		char *kp = ac_cfg_path(path, m->string);
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

static void parse_captures(struct ac_cfg *cx, const cJSON *v, const char *path, struct step *s,
			   struct ac_names *names)
{
	const struct ac_field *f = capture_fields;
	if (!ac_cfg_want_object(cx, v, path))
		return;
	s->caps = ac_calloc((size_t)cJSON_GetArraySize(v) + 1, sizeof(*s->caps));
	const cJSON *m;
	cJSON_ArrayForEach(m, v)
	{
		char *kp = ac_cfg_path(path, m->string);
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
		ac_cfg_keys1(cx, m, kp, f, AC_ARRAY_LEN(capture_fields));
		int kinds = 0;
		const char *kn[] = {"json", "header", "cookie", "regex"};
		for (int k = 0; k < 4; k++) {
			const cJSON *e = ac_json_get(m, kn[k]);
			if (!e)
				continue;
			kinds++;
			if (!cJSON_IsString(e)) {
				char *ep = ac_cfg_path(kp, kn[k]);
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
			c->has_re = http_compile_re(cx, kp, c->expr, &c->re);
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

/* http_url_problem() for a URL whose captures are not known yet: each stands for
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
	const char *r = http_url_problem(b.buf);
	ac_buf_release(&b);
	return r;
}

/* The step's URL: variables percent-encoded unless ${raw:name}; a URL that
 * cannot be built from what is known at load is an error here. */
static void parse_url(struct ac_cfg *cx, const cJSON *obj, const char *path, struct step *s)
{
	const cJSON *v = ac_json_get(obj, "url");
	char *kp = ac_cfg_path(path, "url");
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
		char *kp = ac_cfg_path(path, "method");
		ac_cfg_error(cx, kp, "expected a string");
		free(kp);
	}
	s->method = ac_strdup(cJSON_IsString(m) ? m->valuestring : "GET");
	for (char *p = s->method; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	bool known = false;
	for (size_t i = 0; methods[i]; i++)
		known = known || strcmp(methods[i], s->method) == 0;
	if (!known) {
		char *kp = ac_cfg_path(path, "method");
		ac_cfg_error(cx, kp, "unknown method \"%s\"", s->method);
		free(kp);
	}
	/* The URL may use captures from earlier steps, not this one's. */
	parse_url(cx, obj, path, s);
	char *hp = ac_cfg_path(path, "headers");
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
		char *jp = ac_cfg_path(path, "json");
		ac_cfg_expand_json(cx, s->json, jp);
		free(jp);
	}
	if ((b = ac_json_get(obj, "form"))) {
		bodies++;
		s->body_kind = BODY_FORM;
		char *fp = ac_cfg_path(path, "form");
		s->form = parse_kvs(cx, b, fp, &s->nform);
		free(fp);
	}
	if (bodies > 1)
		ac_cfg_error(cx, path, "give one of body, json or form");
	s->timeout_ms = set->timeout_ms;
	const cJSON *t = ac_json_get(obj, "timeout");
	if (t) {
		char *kp = ac_cfg_path(path, "timeout");
		if (ac_cfg_duration(cx, t, kp, &s->timeout_ms) == 0 && s->timeout_ms < 1)
			ac_cfg_error(cx, kp, "must be positive");
		free(kp);
	}
	s->write = want_bool(cx, obj, path, "write", !method_is_safe(s->method));
	if (s->write && !set->allow_writes) {
		char *kp = ac_cfg_path(path, ac_json_get(obj, "write") ? "write" : "method");
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
		const struct ac_field *wf = wait_fields;
		char *wp = ac_cfg_path(path, "wait");
		if (ac_cfg_want_object(cx, w, wp)) {
			ac_cfg_keys1(cx, w, wp, wf, AC_ARRAY_LEN(wait_fields));
			const cJSON *e = ac_json_get(w, "every"), *u = ac_json_get(w, "up_to");
			char *ep = ac_cfg_path(wp, "every"), *up = ac_cfg_path(wp, "up_to");
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
	char *ap = ac_cfg_path(path, "assert");
	http_parse_asserts(cx, ac_json_get(obj, "assert"), ap, s);
	free(ap);
	const cJSON *c = ac_json_get(obj, "capture");
	if (c) {
		char *cp = ac_cfg_path(path, "capture");
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
		char *ap2 = ac_cfg_path(path, "assert"), *kp = ac_cfg_path(ap2, key);
		ac_cfg_error(cx, kp, "a HEAD response has no body (use GET to assert on it)");
		free(kp);
		free(ap2);
		break;
	}
	for (size_t i = 0; head && i < s->ncaps; i++) {
		if (s->caps[i].kind == CAP_HEADER || s->caps[i].kind == CAP_COOKIE)
			continue;
		char *cp = ac_cfg_path(path, "capture"), *kp = ac_cfg_path(cp, s->caps[i].name);
		ac_cfg_error(cx, kp, "a HEAD response has no body (use GET to capture from it)");
		free(kp);
		free(cp);
	}
	if (!s->name)
		s->name = ac_asprintf("%s %s", s->method, s->url ? s->url : "?");
}

/* Read the list arr into *steps (growing *n). */
static void parse_steps(struct ac_cfg *cx, const cJSON *arr, const char *path, struct step **steps,
			size_t *nsteps, struct ac_names *names, bool login, bool cleanup)
{
	if (!arr)
		return;
	if (!cJSON_IsArray(arr)) {
		ac_cfg_error(cx, path, "expected a list of steps");
		return;
	}
	size_t n = (size_t)cJSON_GetArraySize(arr), i = 0;
	*steps = ac_realloc(*steps, (*nsteps + n + 1) * sizeof(**steps));
	const cJSON *e;
	cJSON_ArrayForEach(e, arr)
	{
		char *sp = ac_cfg_path_index(path, i++);
		struct step *s = &(*steps)[(*nsteps)++];
		memset(s, 0, sizeof(*s));
		cx->runtime = names;
		parse_step(cx, e, sp, s, names);
		s->login = login;
		s->cleanup = cleanup;
		free(sp);
	}
	cx->runtime = NULL;
}

static const struct ac_field persona_fields[] = {
    {"description", AC_FT_CUSTOM, false, AC_FIELD_NONE, NULL, AC_SHAPE_STRING},
    {"login", AC_FT_CUSTOM, false, AC_FIELD_NONE, "steps that sign in", AC_SHAPE_OBJECTS, NULL,
     step_fields, AC_ARRAY_LEN(step_fields)},
    {"headers", AC_FT_CUSTOM, false, AC_FIELD_NONE, "sent to the target on every request",
     AC_SHAPE_STRING_MAP},
};

const struct ac_field *http_persona_fields(size_t *n)
{
	*n = AC_ARRAY_LEN(persona_fields);
	return persona_fields;
}

void http_persona_destroy(void *p)
{
	struct http_persona *pe = p;
	if (!pe)
		return;
	for (size_t i = 0; i < pe->nlogin; i++)
		step_release(&pe->login[i]);
	free(pe->login);
	http_kvs_free(pe->headers, pe->nheaders);
	ac_names_release(&pe->names);
	free(pe);
}

/* A persona (an entry of the "personas" section), read once: its login
 * steps and headers. NULL after reporting its problems. */
void *http_persona_load(struct ac_cfg *cx, const cJSON *p, const char *name, const char *path)
{
	if (!ac_cfg_want_object(cx, p, path))
		return NULL;
	size_t before = cx->nerrors;
	struct http_persona *pe = ac_calloc(1, sizeof(*pe));
	char *lp = ac_cfg_path(path, "login");
	char *hp = ac_cfg_path(path, "headers");
	ac_cfg_keys1(cx, p, path, persona_fields, AC_ARRAY_LEN(persona_fields));
	pe->headers = parse_kvs(cx, ac_json_get(p, "headers"), hp, &pe->nheaders);
	parse_steps(cx, ac_json_get(p, "login"), lp, &pe->login, &pe->nlogin, &pe->names, true,
		    false);
	if (strcmp(name, "visitor") == 0 && (ac_json_get(p, "login") || pe->nheaders))
		ac_cfg_error(cx, path, "a visitor starts with no credentials: no login or headers");
	free(lp);
	free(hp);
	if (cx->nerrors != before) {
		http_persona_destroy(pe);
		return NULL;
	}
	return pe;
}

void *http_journey_configure(struct ac_cfg *cx, const cJSON *obj, const char *path)
{
	struct journey *j = ac_calloc(1, sizeof(*j));
	struct ac_names names = {0};
	size_t before = cx->nerrors;
	bool persona_bad = false;
	const cJSON *p = ac_json_get(obj, "persona");
	const char *persona = cJSON_IsString(p) ? p->valuestring : "visitor";
	/* A visitor and a searcher need no definition; any other persona
	 * does. A defined one with errors was reported once, by its entry. */
	if (ac_section_has(cx->plan, "personas", persona)) {
		char *jp = ac_cfg_path(path, "persona");
		cJSON *name = cJSON_CreateString(persona);
		j->persona = ac_section_find(cx, "personas", name, jp);
		cJSON_Delete(name);
		free(jp);
		persona_bad = !j->persona;
		for (size_t i = 0; j->persona && i < j->persona->names.n; i++)
			ac_names_add(&names, j->persona->names.v[i]);
	} else if (strcmp(persona, "visitor") != 0 && strcmp(persona, "searcher") != 0) {
		char *jp = ac_cfg_path(path, "persona");
		const struct ac_section_table *t = ac_section_table_of(cx->plan, "personas");
		const char *s = ac_suggest(persona, (const char *const *)t->names, t->n);
		if (s)
			ac_cfg_error(cx, jp, "unknown persona \"%s\", did you mean \"%s\"?",
				     persona, s);
		else
			ac_cfg_error(cx, jp,
				     "unknown persona \"%s\": define it under \"personas\" (a "
				     "signed-in persona needs \"login\" steps)",
				     persona);
		free(jp);
	}
	char *sp = ac_cfg_path(path, "steps");
	const cJSON *steps = ac_json_get(obj, "steps");
	if (!steps)
		ac_cfg_error(cx, path, "missing required key \"steps\"");
	else if (cJSON_IsArray(steps) && cJSON_GetArraySize(steps) == 0)
		ac_cfg_error(cx, sp, "a journey needs at least one step");
	parse_steps(cx, steps, sp, &j->steps, &j->nsteps, &names, false, false);
	free(sp);
	char *cp = ac_cfg_path(path, "cleanup");
	parse_steps(cx, ac_json_get(obj, "cleanup"), cp, &j->steps, &j->nsteps, &names, false,
		    true);
	free(cp);
	cx->runtime = &names;
	j->observe = ac_cfg_text(cx, obj, path, "observe", false);
	j->value = ac_cfg_text(cx, obj, path, "value", false);
	cx->runtime = NULL;
	ac_names_release(&names);
	if (cx->nerrors != before || persona_bad) {
		http_journey_destroy(j);
		return NULL;
	}
	return j;
}
