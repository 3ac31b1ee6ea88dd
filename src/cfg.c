/*
 * cfg.c: table-driven validation of scenario JSON, and variables.
 */
#include "cfg.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "mask.h"

#define AC_FILE_VAR_MAX (64 * 1024)

void ac_names_add(struct ac_names *names, const char *name)
{
	if (ac_names_has(names, name))
		return;
	AC_GROW(names->v, names->n + 1, names->alloc);
	names->v[names->n++] = ac_strdup(name);
}

bool ac_names_has(const struct ac_names *names, const char *name)
{
	for (size_t i = 0; names && i < names->n; i++)
		if (strcmp(names->v[i], name) == 0)
			return true;
	return false;
}

void ac_names_release(struct ac_names *names)
{
	for (size_t i = 0; i < names->n; i++)
		free(names->v[i]);
	free(names->v);
	memset(names, 0, sizeof(*names));
}

void ac_cfg_error(struct ac_cfg *cx, const char *path, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = ac_vasprintf(fmt, ap);
	va_end(ap);
	/* Error text may quote values; never let a secret through. Nor a
	 * control character: one problem is one line, and a quoted value
	 * must not drive the terminal it is printed on. */
	char *masked = ac_mask_apply(cx->plan ? cx->plan->mask : NULL, msg);
	char *safe = ac_text_escape(masked);
	char *spath = path && *path ? ac_text_escape(path) : NULL;
	if (spath)
		ac_buf_addf(&cx->errors, "%s: %s: %s\n", cx->file, spath, safe);
	else
		ac_buf_addf(&cx->errors, "%s: %s\n", cx->file, safe);
	cx->nerrors++;
	free(spath);
	free(safe);
	free(masked);
	free(msg);
}

/* The problems found, one per line: every one whole while they fit in max
 * bytes, then "... and K more problems" for the rest (also for those the
 * error buffer had no room for). Never a problem cut in the middle. */
char *ac_cfg_problems(const struct ac_cfg *cx, size_t max)
{
	const struct ac_buf *errors = &cx->errors;
	size_t nerrors = cx->nerrors;
	enum { TAIL = 48 }; /* room for the count line */
	struct ac_buf out = AC_BUF_INIT;
	size_t lines = 0, total = 0, shown = 0;
	for (const char *p = errors->buf; (p = strchr(p, '\n')); p++)
		lines++;
	total = nerrors > lines ? nerrors : lines;
	const char *p = errors->buf;
	for (size_t i = 0; i < lines; i++) {
		const char *nl = strchr(p, '\n');
		size_t l = (size_t)(nl - p);
		bool last = shown + 1 == total;
		if (out.len + l + 1 + (last ? 0 : TAIL) > max)
			break;
		if (out.len)
			ac_buf_addc(&out, '\n');
		ac_buf_add(&out, p, l);
		shown++;
		p = nl + 1;
	}
	if (shown < total)
		ac_buf_addf(&out, "%s... and %zu more problem%s", out.len ? "\n" : "",
			    total - shown, total - shown == 1 ? "" : "s");
	return ac_buf_detach(&out);
}

/* Names, owners and step names are printed on terminals, one per line:
 * a control character (C0, DEL, C1) in one could clear the screen, set
 * the window title or forge a verdict line, so it is refused. */
void ac_cfg_no_controls(struct ac_cfg *cx, const char *path, const char *s)
{
	if (s && ac_text_has_control(s))
		ac_cfg_error(cx, path,
			     "control character or invalid UTF-8 in \"%s\" (names, owners and "
			     "step names are printed on terminals)",
			     s);
}

/* The "name" of each step of a list (journey steps, cleanup, login). */
void ac_cfg_no_controls_in_steps(struct ac_cfg *cx, const cJSON *steps, const char *path)
{
	if (!cJSON_IsArray(steps))
		return;
	size_t i = 0;
	const cJSON *st;
	cJSON_ArrayForEach(st, steps)
	{
		const cJSON *n = ac_json_get(st, "name");
		if (cJSON_IsString(n)) {
			char *sp = ac_cfg_path_index(path, i);
			char *np = ac_cfg_path(sp, "name");
			ac_cfg_no_controls(cx, np, n->valuestring);
			free(np);
			free(sp);
		}
		i++;
	}
}

/* Persona names and their login steps' names. */
void ac_cfg_no_controls_in_personas(struct ac_cfg *cx, const cJSON *personas)
{
	if (!cJSON_IsObject(personas))
		return;
	const cJSON *p;
	cJSON_ArrayForEach(p, personas)
	{
		char *pp = ac_cfg_path("personas", p->string);
		ac_cfg_no_controls(cx, pp, p->string);
		char *lp = ac_cfg_path(pp, "login");
		ac_cfg_no_controls_in_steps(cx, ac_json_get(p, "login"), lp);
		free(lp);
		free(pp);
	}
}

char *ac_cfg_path(const char *base, const char *key)
{
	if (!base || !*base)
		return ac_strdup(key);
	bool plain = *key && !isdigit((unsigned char)*key);
	for (const char *p = key; *p && plain; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
			plain = false;
	/* Built by hand: a scenario of 10,000 checks makes a path for every
	 * key it reads, and printf-style formatting was a tenth of the load. */
	size_t bl = strlen(base), kl = strlen(key);
	char *p = ac_calloc(1, bl + kl + 5);
	memcpy(p, base, bl);
	if (plain) {
		p[bl] = '.';
		memcpy(p + bl + 1, key, kl);
	} else {
		memcpy(p + bl, "[\"", 2);
		memcpy(p + bl + 2, key, kl);
		memcpy(p + bl + 2 + kl, "\"]", 2);
	}
	return p;
}

char *ac_cfg_path_index(const char *base, size_t index)
{
	return ac_asprintf("%s[%zu]", base ? base : "", index);
}

/* Lint without secrets: the secret the run will need, by name only. */
static void lint_secret(struct ac_cfg *cx, const char *kind, const char *name)
{
	char *n = ac_asprintf("%s%s", kind, name);
	ac_names_add(cx->lint_secrets, n);
	free(n);
}

static char *read_secret_file(struct ac_cfg *cx, const char *path, const char *file)
{
	struct ac_buf b;
	struct ac_error err = {0};
	if (ac_read_file(file, AC_FILE_VAR_MAX, &b, &err) < 0) {
		if (cx->lint_secrets) {
			lint_secret(cx, "file:", file);
			return ac_strdup(AC_LINT_PLACEHOLDER);
		}
		ac_cfg_error(cx, path, "cannot read \"${file:%s}\": %s", file, err.msg);
		return NULL;
	}
	/* A trailing newline in a secret file is never part of the secret. */
	while (b.len && (b.buf[b.len - 1] == '\n' || b.buf[b.len - 1] == '\r'))
		b.buf[--b.len] = '\0';
	return ac_buf_detach(&b);
}

void ac_cfg_unknown(struct ac_cfg *cx, const char *path, const char *what, const char *name,
		    const char *const *cands, size_t ncands, const char *otherwise)
{
	const char *s = ac_suggest(name, cands, ncands);
	if (s)
		ac_cfg_error(cx, path, "unknown %s \"%s\", did you mean \"%s\"?", what, name, s);
	else
		ac_cfg_error(cx, path, "unknown %s \"%s\"%s", what, name, otherwise);
}

bool ac_cfg_name_ok(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-' && s[i] != '.')
			return false;
	return true;
}

void ac_cfg_short_secret(struct ac_cfg *cx, const char *where, size_t len)
{
	ac_cfg_error(cx, where, "secret is %zu byte%s, under the %d-byte minimum", len,
		     len == 1 ? "" : "s", AC_SECRET_MIN_BYTES);
}

/* A secret so short that masking it would blank ordinary text ("a") is
 * refused, naming where it came from. */
static bool secret_too_short(struct ac_cfg *cx, const char *path, const char *ref, const char *v)
{
	size_t len = strlen(v);
	if (len >= AC_SECRET_MIN_BYTES)
		return false;
	char *where = ac_asprintf("%s from ${%s}", path ? path : "", ref);
	ac_cfg_short_secret(cx, where, len);
	free(where);
	return true;
}

void ac_url_encode_into(struct ac_buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (isalnum(c) || strchr("-._~", c))
			ac_buf_addc(b, (char)c);
		else
			ac_buf_addf(b, "%%%02X", c);
	}
}

/* A value into the text: percent-encoded in a URL unless ${raw:...}. */
static void put_value(struct ac_buf *b, const char *v, bool encode)
{
	if (encode)
		ac_url_encode_into(b, v);
	else
		ac_buf_adds(b, v);
}

static char *expand(struct ac_cfg *cx, const char *path, const char *text, bool url)
{
	struct ac_buf b = AC_BUF_INIT;
	const char *p = text;
	bool ok = true;
	cx->last_secret = false;
	while (*p) {
		if (p[0] == '$' && p[1] == '$' && p[2] == '{') {
			/* "$${" is a literal "${"; in journeys it stays escaped until
			 * the run-time substitution. */
			ac_buf_adds(&b, cx->runtime ? "$${" : "${");
			p += 3;
			continue;
		}
		if (p[0] != '$' || p[1] != '{') {
			ac_buf_addc(&b, *p++);
			continue;
		}
		const char *end = strchr(p + 2, '}');
		if (!end) {
			ac_cfg_error(cx, path, "unterminated \"${\" (write \"$${\" for a literal)");
			ok = false;
			break;
		}
		char *whole = ac_strndup(p + 2, (size_t)(end - p - 2));
		/* ${raw:name}: the value as is, even in a URL. */
		bool raw = ac_starts_with(whole, "raw:");
		const char *ref = whole + (raw ? 4 : 0);
		bool enc = url && !raw;
		if (ac_starts_with(ref, "env:")) {
			const char *name = ref + 4;
			const char *v = ac_cfg_name_ok(name, strlen(name)) ? getenv(name) : NULL;
			if (!ac_cfg_name_ok(name, strlen(name))) {
				ac_cfg_error(cx, path, "bad variable reference \"${%s}\"", ref);
				ok = false;
			} else if (!v && cx->lint_secrets) {
				lint_secret(cx, "env:", name);
				put_value(&b, AC_LINT_PLACEHOLDER, enc);
				cx->last_secret = true;
			} else if (!v) {
				ac_cfg_error(cx, path, "environment variable %s is not set", name);
				ok = false;
			} else if (secret_too_short(cx, path, ref, v)) {
				ok = false;
			} else {
				put_value(&b, v, enc);
				ac_mask_add(cx->plan ? cx->plan->mask : NULL, v);
				cx->last_secret = true;
			}
		} else if (ac_starts_with(ref, "file:")) {
			char *v = read_secret_file(cx, path, ref + 5);
			if (v && secret_too_short(cx, path, ref, v)) {
				free(v);
				ok = false;
			} else if (v) {
				put_value(&b, v, enc);
				ac_mask_add(cx->plan ? cx->plan->mask : NULL, v);
				cx->last_secret = true;
				free(v);
			} else {
				ok = false;
			}
		} else if (!ac_cfg_name_ok(ref, strlen(ref))) {
			ac_cfg_error(cx, path, "bad variable reference \"${%s}\"", ref);
			ok = false;
		} else if (ac_names_has(cx->runtime, ref)) {
			/* Resolved while the journey runs. */
			ac_buf_addf(&b, "${%s%s}", raw ? "raw:" : "", ref);
		} else {
			const struct ac_var *var = cx->plan ? ac_plan_var(cx->plan, ref) : NULL;
			if (var) {
				put_value(&b, var->value, enc);
				if (var->secret)
					cx->last_secret = true;
			} else {
				ac_cfg_error(
				    cx, path,
				    "undefined variable \"${%s}\" (define it in \"variables\" or "
				    "capture it in an earlier step)",
				    ref);
				ok = false;
			}
		}
		free(whole);
		p = end + 1;
	}
	if (!ok) {
		ac_buf_release(&b);
		return NULL;
	}
	return ac_buf_detach(&b);
}

char *ac_cfg_expand(struct ac_cfg *cx, const char *path, const char *text)
{
	return expand(cx, path, text, false);
}

char *ac_cfg_expand_url(struct ac_cfg *cx, const char *path, const char *text)
{
	return expand(cx, path, text, true);
}

char *ac_cfg_text(struct ac_cfg *cx, const cJSON *obj, const char *path, const char *key,
		  bool required)
{
	const cJSON *v = ac_json_get(obj, key);
	char *kp = ac_cfg_path(path, key);
	char *r = NULL;
	if (!v) {
		if (required)
			ac_cfg_error(cx, path, "missing required key \"%s\"", key);
	} else if (!cJSON_IsString(v)) {
		ac_cfg_error(cx, kp, "expected a string");
	} else {
		r = ac_cfg_expand(cx, kp, v->valuestring);
	}
	free(kp);
	return r;
}

static char *subst(const char *tmpl, ac_lookup_fn lookup, void *ud, char **missing, bool url)
{
	struct ac_buf b = AC_BUF_INIT;
	const char *p = tmpl;
	*missing = NULL;
	while (*p) {
		if (p[0] == '$' && p[1] == '$' && p[2] == '{') {
			ac_buf_adds(&b, "${");
			p += 3;
			continue;
		}
		if (p[0] == '$' && p[1] == '{') {
			const char *end = strchr(p + 2, '}');
			if (end) {
				char *name = ac_strndup(p + 2, (size_t)(end - p - 2));
				bool raw = ac_starts_with(name, "raw:");
				const char *v = lookup(ud, name + (raw ? 4 : 0));
				if (!v) {
					*missing = name;
					ac_buf_release(&b);
					return NULL;
				}
				put_value(&b, v, url && !raw);
				free(name);
				p = end + 1;
				continue;
			}
		}
		ac_buf_addc(&b, *p++);
	}
	return ac_buf_detach(&b);
}

char *ac_vars_subst(const char *tmpl, ac_lookup_fn lookup, void *ud, char **missing)
{
	return subst(tmpl, lookup, ud, missing, false);
}

char *ac_vars_subst_url(const char *tmpl, ac_lookup_fn lookup, void *ud, char **missing)
{
	return subst(tmpl, lookup, ud, missing, true);
}

bool ac_cfg_lint_placeholder(const struct ac_cfg *cx, const char *value)
{
	return cx->lint_secrets && value && strstr(value, AC_LINT_PLACEHOLDER);
}

bool ac_cfg_http_url(struct ac_cfg *cx, const char *path, const char *url)
{
	if (ac_cfg_lint_placeholder(cx, url))
		return true; /* lint without the secret: nothing to check */
	CURLU *u = curl_url();
	if (!u)
		ac_die("out of memory parsing a URL");
	char *scheme = NULL, *host = NULL;
	CURLUcode rc = curl_url_set(u, CURLUPART_URL, url, 0);
	bool ok = false;
	if (rc != CURLUE_OK)
		/* libcurl's words, never the URL itself: it may hold a password. */
		ac_cfg_error(cx, path, "bad URL: %s", curl_url_strerror(rc));
	else if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
		 (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0))
		ac_cfg_error(cx, path, "URL must start with http:// or https://");
	else if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !*host)
		ac_cfg_error(cx, path, "the URL has no host");
	else
		ok = true;
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return ok;
}

void ac_cfg_expand_json(struct ac_cfg *cx, cJSON *node, const char *path)
{
	if (cJSON_IsString(node)) {
		char *v = ac_cfg_expand(cx, path, node->valuestring);
		if (v) {
			cJSON_SetValuestring(node, v);
			free(v);
		}
		return;
	}
	if (cJSON_IsNumber(node) && !isfinite(node->valuedouble)) {
		ac_cfg_error(cx, path, "expected a finite number");
		return;
	}
	for (cJSON *c = node->child; c; c = c->next)
		ac_cfg_expand_json(cx, c, path);
}
