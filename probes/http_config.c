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

static bool method_is_safe(const char *m)
{
	return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 || strcmp(m, "OPTIONS") == 0;
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

/* --- captures ------------------------------------------------------------ */

/* One capture as written: exactly one of the four sources. */
struct capture_spec {
	char *src[4]; /* json, header, cookie, regex: enum cap_kind order */
	int group;
	bool secret;
};

#define CS(member) offsetof(struct capture_spec, member)
static const struct ac_field capture_fields[] = {
    {"json", AC_FT_STRING, false, CS(src[CAP_JSON]), "JSON path"},
    {"header", AC_FT_STRING, false, CS(src[CAP_HEADER]), "response header name"},
    {"cookie", AC_FT_STRING, false, CS(src[CAP_COOKIE]), "cookie name"},
    {"regex", AC_FT_STRING, false, CS(src[CAP_REGEX]), "regular expression on the body"},
    {"group", AC_FT_INT, false, CS(group), "regex group", .range = AC_RANGE_CLOSED, .min = 0,
     .max = 9, .def = "1"},
    {"secret", AC_FT_BOOL, false, CS(secret), "mask the value in reports"},
};

/* "capture": {"name": {"json": "$.id"}, ...} (dst: the step). */
static void read_captures(struct ac_cfg *cx, const struct ac_field *f, const cJSON *v,
			  const char *path, void *dst)
{
	struct step *s = dst;
	if (!ac_cfg_want_object(cx, v, path))
		return;
	s->caps = ac_calloc((size_t)cJSON_GetArraySize(v) + 1, sizeof(*s->caps));
	const cJSON *m;
	cJSON_ArrayForEach(m, v)
	{
		char *kp = ac_cfg_path(path, m->string);
		if (!ac_cfg_name_ok(m->string, strlen(m->string)))
			ac_cfg_error(cx, kp, "capture names use letters, digits, _ - and .");
		if (!cJSON_IsObject(m)) {
			ac_cfg_error(cx, kp,
				     "expected {\"json\": \"$.id\"}, {\"header\": ...}, "
				     "{\"cookie\": ...} or {\"regex\": ...}");
			free(kp);
			continue;
		}
		struct capture_spec cs = {0};
		ac_cfg_object(cx, m, kp, capture_fields, AC_ARRAY_LEN(capture_fields), &cs);
		struct capture *c = &s->caps[s->ncaps++];
		int kinds = 0;
		for (int k = 0; k < 4; k++) {
			kinds += ac_json_get(m, capture_fields[k].key) != NULL;
			if (cs.src[k] && !c->expr) {
				c->kind = (enum cap_kind)k;
				c->expr = ac_strdup(cs.src[k]);
			}
		}
		if (kinds != 1)
			ac_cfg_error(cx, kp, "give exactly one of json, header, cookie or regex");
		c->group = cs.group;
		c->secret = cs.secret;
		ac_cfg_release(capture_fields, AC_ARRAY_LEN(capture_fields), &cs);
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
		free(kp);
	}
}

/* --- the step -------------------------------------------------------------- */

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

/* "url": a path after the target or an absolute http(s) URL; variables
 * percent-encoded unless ${raw:name}; a URL that cannot be built from what
 * is known at load is an error here (dst: the step's url). */
static void read_url(struct ac_cfg *cx, const struct ac_field *f, const cJSON *v, const char *kp,
		     void *dst)
{
	char **url = dst;
	if (!cJSON_IsString(v)) {
		ac_cfg_error(cx, kp, "expected a string");
		return;
	}
	*url = ac_cfg_expand_url(cx, kp, v->valuestring);
	const char *problem;
	if (!*url) {
		/* reported */
	} else if (!ac_starts_with(*url, "/") && !ac_starts_with(*url, "http://") &&
		   !ac_starts_with(*url, "https://")) {
		ac_cfg_error(cx, kp, "expected a path starting with / or an http(s) URL%s",
			     ac_starts_with(v->valuestring, "${")
				 ? " (values are percent-encoded in URLs: write ${raw:name} for "
				   "a variable that holds a URL or a host)"
				 : "");
	} else if ((problem = url_problem_at_load(*url))) {
		char *m = ac_mask_apply(cx->plan ? cx->plan->mask : NULL, *url);
		ac_cfg_error(cx, kp, "cannot build a URL from \"%s\": %s%s", m, problem,
			     strstr(v->valuestring, "${") && !strstr(v->valuestring, "${raw:")
				 ? " (values are percent-encoded in URLs; ${raw:name} inserts one "
				   "as is)"
				 : "");
		free(m);
	}
}

/* "method": one of methods, in any case (dst: the step's method). */
static void read_method(struct ac_cfg *cx, const struct ac_field *f, const cJSON *v, const char *kp,
			void *dst)
{
	char **method = dst;
	if (!cJSON_IsString(v)) {
		ac_cfg_error(cx, kp, "expected a string");
		return;
	}
	free(*method);
	*method = ac_strdup(v->valuestring);
	for (char *p = *method; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	for (size_t i = 0; methods[i]; i++)
		if (strcmp(methods[i], *method) == 0)
			return;
	ac_cfg_error(cx, kp, "unknown method \"%s\"", *method);
}

/* "json": a JSON body; its strings are templates (dst: the step). */
static void read_json_body(struct ac_cfg *cx, const struct ac_field *f, const cJSON *v,
			   const char *kp, void *dst)
{
	struct step *s = dst;
	s->json = cJSON_Duplicate(v, 1);
	ac_cfg_expand_json(cx, s->json, kp);
}

/* "assert" (http_assert.c; dst: the step). */
static void read_asserts(struct ac_cfg *cx, const struct ac_field *f, const cJSON *v,
			 const char *kp, void *dst)
{
	http_parse_asserts(cx, v, kp, dst);
}

static const struct ac_field wait_fields[] = {
    {"every", AC_FT_DURATION, true, offsetof(struct step, wait_every_ms), "time between tries",
     .range = AC_RANGE_MIN, .min = 10},
    {"up_to", AC_FT_DURATION, true, offsetof(struct step, wait_up_to_ms), "give up after"},
};

#define SF(member) offsetof(struct step, member)
static const struct ac_field step_fields[] = {
    {"name", AC_FT_TEXT, false, SF(name), NULL},
    {"method", AC_FT_CUSTOM, false, SF(method),
     "GET (default), HEAD, POST, PUT, PATCH, DELETE or OPTIONS, in any case", AC_SHAPE_STRING,
     .read = read_method},
    {"url", AC_FT_CUSTOM, true, SF(url), "path relative to the target", AC_SHAPE_STRING,
     .read = read_url},
    {"headers", AC_FT_HEADERS, false, SF(headers), NULL},
    {"body", AC_FT_TEXT, false, SF(body), "raw body text"},
    {"json", AC_FT_CUSTOM, false, 0, "JSON body", AC_SHAPE_ANY, .read = read_json_body},
    {"form", AC_FT_HEADERS, false, SF(form), "form body"},
    {"timeout", AC_FT_DURATION, false, SF(timeout_ms), NULL, .range = AC_RANGE_ABOVE, .min = 0},
    {"write", AC_FT_BOOL, false, SF(write), "the step changes data"},
    {"follow_redirects", AC_FT_INT, false, SF(follow), "how many to follow",
     .range = AC_RANGE_CLOSED, .min = 0, .max = 20},
    {"redirect_other_hosts", AC_FT_BOOL, false, SF(redirect_other_host), NULL},
    {"capture", AC_FT_CUSTOM, false, 0, "name: where to read the value", AC_SHAPE_OBJECT_MAP, NULL,
     capture_fields, AC_ARRAY_LEN(capture_fields), .read = read_captures},
    {"assert", AC_FT_CUSTOM, false, 0, "status, headers, body, json, duration, size", AC_SHAPE_ANY,
     .read = read_asserts},
    {"wait", AC_FT_OBJECT, false, 0, "repeat until the assertions hold", .sub = wait_fields,
     .nsub = AC_ARRAY_LEN(wait_fields)},
    {"retries", AC_FT_INT, false, SF(retries), NULL, .range = AC_RANGE_CLOSED, .min = 0, .max = 5},
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
	ac_cfg_release(step_fields, AC_ARRAY_LEN(step_fields), s);
	free(s->method);
	free(s->url);
	cJSON_Delete(s->json);
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

void http_kvs_free(struct ac_kv *kv, size_t n)
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

/* One step: the table, then the rules across keys. */
static void parse_step(struct ac_cfg *cx, const cJSON *obj, const char *path, struct step *s,
		       struct ac_names *names)
{
	memset(s, 0, sizeof(*s));
	if (!ac_cfg_want_object(cx, obj, path))
		return;
	const struct ac_settings *set = &cx->plan->settings;
	s->method = ac_strdup("GET");
	s->timeout_ms = set->timeout_ms;
	s->follow = set->max_redirects;
	ac_cfg_object(cx, obj, path, step_fields, AC_ARRAY_LEN(step_fields), s);
	/* No "assert" is not "no assertion": the status must be 2xx. */
	if (!ac_json_get(obj, "assert")) {
		char *ap = ac_cfg_path(path, "assert");
		http_parse_asserts(cx, NULL, ap, s);
		free(ap);
	}
	int bodies = 0;
	static const struct {
		const char *key;
		enum body_kind kind;
	} body_keys[] = {{"body", BODY_RAW}, {"json", BODY_JSON}, {"form", BODY_FORM}};
	for (size_t i = 0; i < AC_ARRAY_LEN(body_keys); i++)
		if (ac_json_get(obj, body_keys[i].key)) {
			bodies++;
			s->body_kind = body_keys[i].kind;
		}
	if (bodies > 1)
		ac_cfg_error(cx, path, "give one of body, json or form");
	if (!ac_json_get(obj, "write"))
		s->write = !method_is_safe(s->method);
	if (s->write && !set->allow_writes) {
		char *kp = ac_cfg_path(path, ac_json_get(obj, "write") ? "write" : "method");
		ac_cfg_error(cx, kp,
			     "%s is a write: set \"settings\": {\"allow_writes\": true} to allow "
			     "writes (or mark the step \"write\": false if it changes nothing)",
			     s->method);
		free(kp);
	}
	if (ac_json_get(obj, "wait")) {
		s->wait = true;
		if (s->wait_up_to_ms < s->wait_every_ms) {
			char *wp = ac_cfg_path(path, "wait"), *up = ac_cfg_path(wp, "up_to");
			ac_cfg_error(cx, up, "must be at least \"every\"");
			free(up);
			free(wp);
		}
		if (s->write)
			ac_cfg_error(cx, path,
				     "a write step cannot wait (it would repeat the write)");
	}
	/* Names become usable in the steps after this one. */
	for (size_t i = 0; i < s->ncaps; i++)
		ac_names_add(names, s->caps[i].name);
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
    {"headers", AC_FT_HEADERS, false, offsetof(struct http_persona, headers),
     "sent to the target on every request"},
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
	ac_kvs_release(&pe->headers);
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
	ac_cfg_keys1(cx, p, path, persona_fields, AC_ARRAY_LEN(persona_fields));
	ac_cfg_read(cx, p, path, persona_fields, AC_ARRAY_LEN(persona_fields), pe);
	parse_steps(cx, ac_json_get(p, "login"), lp, &pe->login, &pe->nlogin, &pe->names, true,
		    false);
	if (strcmp(name, "visitor") == 0 && (ac_json_get(p, "login") || pe->headers.n))
		ac_cfg_error(cx, path, "a visitor starts with no credentials: no login or headers");
	free(lp);
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
		ac_cfg_unknown(cx, jp, "persona", persona, (const char *const *)t->names, t->n,
			       ": define it under \"personas\" (a signed-in persona needs "
			       "\"login\" steps)");
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
