/*
 * scenario.c: loading a scenario file into a plan.
 *
 * The loader reports every problem it finds, then gives up as a whole:
 * a plan is either complete and valid or not made at all, so nothing is
 * probed on bad input. This file reads the file and the top level (format
 * version, variables and --var, settings, targets) and owns the plan's
 * lifecycle; checkdef.c turns "journeys" and "checks" into checks, and
 * probes/probes.c the named server sections (probes/sections.h).
 */
#include "scenario.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "checkdef.h"
#include "json.h"
#include "mask.h"
#include "release.h"
#include "samples.h"
#include "sections.h"

#define AC_SCENARIO_MAX_BYTES (64 * 1024 * 1024)

const struct ac_target *ac_plan_target(const struct ac_plan *plan, const char *name)
{
	for (size_t i = 0; i < plan->ntargets; i++)
		if (strcmp(plan->targets[i].name, name) == 0)
			return &plan->targets[i];
	return NULL;
}

const struct ac_var *ac_plan_var(const struct ac_plan *plan, const char *name)
{
	for (size_t i = 0; i < plan->nvars; i++)
		if (strcmp(plan->vars[i].name, name) == 0)
			return &plan->vars[i];
	return NULL;
}

static void settings_defaults(struct ac_settings *s)
{
	s->rounds = 3;
	s->interval_ms = 2000;
	s->window_ms = 10 * 60 * 1000;
	s->deadline_ms = 45 * 60 * 1000;
	s->confirm = 3;
	s->min_samples = 0; /* 0: as many as confirm */
	s->coverage = 0.8;
	s->flake_budget = -1; /* no budget: passes after retry are reported only */
	s->concurrency = 16;
	s->connect_timeout_ms = 3000;
	s->timeout_ms = 10000;
	s->round_timeout_ms = 60000;
	s->run_timeout_ms = 0; /* 0: derived from the mode */
	s->max_body = 8 * 1024 * 1024;
	s->max_redirects = 0;
}

#define SET(f) offsetof(struct ac_settings, f)
static const struct ac_field settings_fields[] = {
    {"rounds", AC_FT_INT, false, SET(rounds), "rounds in check mode", .range = AC_RANGE_MIN,
     .min = 1},
    {"interval", AC_FT_DURATION, false, SET(interval_ms), "time between round starts"},
    {"window", AC_FT_DURATION, false, SET(window_ms), "watch window"},
    {"deadline", AC_FT_DURATION, false, SET(deadline_ms), "until-restored deadline"},
    {"confirm", AC_FT_INT, false, SET(confirm), "consecutive green rounds required",
     .range = AC_RANGE_MIN, .min = 1},
    {"min_samples", AC_FT_INT, false, SET(min_samples), "valid samples required per check",
     .range = AC_RANGE_MIN, .min = 1},
    {"coverage", AC_FT_NUMBER, false, SET(coverage), "share of rounds with a valid sample",
     .range = AC_RANGE_ABOVE_TO, .min = 0, .max = 1},
    {"flake_budget", AC_FT_INT, false, SET(flake_budget), "passes after retry tolerated",
     .range = AC_RANGE_MIN, .min = 0},
    {"concurrency", AC_FT_INT, false, SET(concurrency), "checks in flight at once",
     .range = AC_RANGE_CLOSED, .min = 1, .max = 1024},
    {"connect_timeout", AC_FT_DURATION, false, SET(connect_timeout_ms), NULL,
     .range = AC_RANGE_ABOVE, .min = 0},
    {"timeout", AC_FT_DURATION, false, SET(timeout_ms), "default per request or query",
     .range = AC_RANGE_ABOVE, .min = 0},
    {"round_timeout", AC_FT_DURATION, false, SET(round_timeout_ms), NULL, .range = AC_RANGE_ABOVE,
     .min = 0},
    {"run_timeout", AC_FT_DURATION, false, SET(run_timeout_ms), NULL, .range = AC_RANGE_ABOVE,
     .min = 0},
    {"max_body", AC_FT_SIZE, false, SET(max_body), "response size cap", .range = AC_RANGE_MIN,
     .min = 1024},
    {"max_redirects", AC_FT_INT, false, SET(max_redirects), NULL, .range = AC_RANGE_CLOSED,
     .min = 0, .max = 20},
    {"allow_writes", AC_FT_BOOL, false, SET(allow_writes), NULL},
    {"ca_file", AC_FT_TEXT, false, SET(ca_file), NULL},
    {"insecure", AC_FT_BOOL, false, SET(insecure), NULL},
    {"detect_share", AC_FT_CUSTOM, false, SET(detect_share),
     "journeys: runs sized so a bad path this share of runs takes is seen (95%)", AC_SHAPE_STRING,
     .also = AC_SHAPE_NUMBER, .read = ac_samples_read_share},
};
#undef SET

static const struct ac_field target_fields[] = {
    {"url", AC_FT_TEXT, true, offsetof(struct ac_target, url), NULL},
    {"role", AC_FT_STRING, false, offsetof(struct ac_target, role), "edge or origin"},
    {"region", AC_FT_STRING, false, offsetof(struct ac_target, region), NULL},
};

static const struct ac_field variable_fields[] = {
    {"value", AC_FT_CUSTOM, true, AC_FIELD_NONE, NULL, AC_SHAPE_STRING, .also = AC_SHAPE_NUMBER},
    {"secret", AC_FT_CUSTOM, false, AC_FIELD_NONE, "mask the value in every output", AC_SHAPE_BOOL},
};

static const char *const notify_on[] = {"change", "end", "both", NULL};

#define NC(member) offsetof(struct ac_notify_cfg, member)
static const struct ac_field notify_fields[] = {
    {"urls", AC_FT_STRINGS, false, NC(urls),
     "webhook URLs (a webhook's URL is a secret: use ${env:NAME})"},
    {"on", AC_FT_ENUM, false, NC(on), "when to post", .choices = notify_on, .def = "\"both\""},
    {"headers", AC_FT_HEADERS, false, NC(headers), "sent with every post, e.g. Authorization"},
};

#define CU(member) offsetof(struct ac_customer_cfg, member)
static const struct ac_field customer_fields[] = {
    {"product", AC_FT_TEXT, false, CU(product), "the product's name as customers know it"},
    {"next_update", AC_FT_TEXT, false, CU(next_update),
     "when the next update comes, e.g. \"within 30 minutes\""},
    {"contact", AC_FT_TEXT, false, CU(contact), "where customers can ask"},
};

static const struct ac_field top_fields[] = {
    {"$schema", AC_FT_CUSTOM, false, AC_FIELD_NONE,
     "the JSON Schema editors check this file against (schema/scenario.schema.json); not read",
     AC_SHAPE_STRING},
    {"allclear", AC_FT_CUSTOM, false, AC_FIELD_NONE, "scenario format version (1)",
     AC_SHAPE_INTEGER},
    {"name", AC_FT_CUSTOM, false, AC_FIELD_NONE, NULL, AC_SHAPE_STRING},
    {"description", AC_FT_CUSTOM, false, AC_FIELD_NONE, NULL, AC_SHAPE_STRING},
    {"variables", AC_FT_CUSTOM, false, AC_FIELD_NONE,
     "name: text, a number, or {\"value\", \"secret\"}; ${env:NAME} and ${file:PATH} are secrets",
     AC_SHAPE_OBJECT_MAP, NULL, variable_fields, AC_ARRAY_LEN(variable_fields), AC_SHAPE_STRING},
    {"settings", AC_FT_CUSTOM, false, AC_FIELD_NONE, NULL, AC_SHAPE_OBJECT, NULL, settings_fields,
     AC_ARRAY_LEN(settings_fields)},
    {"targets", AC_FT_CUSTOM, false, AC_FIELD_NONE, "name: URL, or {\"url\", \"role\", \"region\"}",
     AC_SHAPE_OBJECT_MAP, NULL, target_fields, AC_ARRAY_LEN(target_fields), AC_SHAPE_STRING},
    {"personas", AC_FT_CUSTOM, false, AC_FIELD_NONE, NULL},
    {"journeys", AC_FT_CUSTOM, false, AC_FIELD_NONE, NULL},
    {"checks", AC_FT_CUSTOM, false, AC_FIELD_NONE, NULL},
    {"databases", AC_FT_CUSTOM, false, AC_FIELD_NONE, NULL},
    {"redis", AC_FT_CUSTOM, false, AC_FIELD_NONE, NULL},
    {"customer", AC_FT_OBJECT, false, offsetof(struct ac_plan, customer),
     "texts for the customer and support drafts of the incident note", .sub = customer_fields,
     .nsub = AC_ARRAY_LEN(customer_fields)},
    {"notify", AC_FT_OBJECT, false, offsetof(struct ac_plan, notify),
     "webhooks posted to when the verdict or a check changes, and at the end", .sub = notify_fields,
     .nsub = AC_ARRAY_LEN(notify_fields)},
    {"release", AC_FT_CUSTOM, false, AC_FIELD_NONE,
     "the release map: every part the release touched, its undo, owner and backup, what comes "
     "first, and the checks that prove it restored",
     AC_SHAPE_OBJECT, NULL, ac_release_fields, AC_RELEASE_NFIELDS},
};

const struct ac_field *ac_scenario_fields(const char *which, size_t *n)
{
	if (strcmp(which, "top") == 0) {
		*n = AC_ARRAY_LEN(top_fields);
		return top_fields;
	}
	if (strcmp(which, "check") == 0)
		return ac_checkdef_fields(n);
	*n = 0;
	return NULL;
}

/* A --var names a variable the scenario defines: a misspelt name would
 * otherwise leave the default in place and probe the wrong thing. */

/* Whether the scenario's definition of a variable is a secret: marked so,
 * or made from ${env:}, ${file:} or a variable loaded before it that is a
 * secret (each entry of plan->vars records whether it is). The definition
 * is read, not expanded: one that --var replaces is never expanded, so
 * nothing it names is read and none of its errors is reported. */
static bool definition_is_secret(const struct ac_plan *plan, const cJSON *v)
{
	if (cJSON_IsTrue(ac_json_get(v, "secret")))
		return true;
	const cJSON *val = cJSON_IsObject(v) ? ac_json_get(v, "value") : v;
	if (!cJSON_IsString(val))
		return false;
	const char *p = val->valuestring;
	/* Even written as a literal ("$${env:X}"): refusing is the safe side. */
	if (strstr(p, "${env:") || strstr(p, "${file:"))
		return true;
	/* The references, read the way ac_cfg_expand reads them. */
	while (*p) {
		if (p[0] == '$' && p[1] == '$' && p[2] == '{') {
			p += 3;
			continue;
		}
		if (p[0] != '$' || p[1] != '{') {
			p++;
			continue;
		}
		const char *end = strchr(p + 2, '}');
		if (!end)
			break;
		char *whole = ac_strndup(p + 2, (size_t)(end - p - 2));
		const char *ref = whole + (ac_starts_with(whole, "raw:") ? 4 : 0);
		bool secret = ac_starts_with(ref, "env:") || ac_starts_with(ref, "file:");
		if (!secret && ac_cfg_name_ok(ref, strlen(ref))) {
			const struct ac_var *var = ac_plan_var(plan, ref);
			secret = var && var->secret;
		}
		free(whole);
		if (secret)
			return true;
		p = end + 1;
	}
	return false;
}

static void check_override(struct ac_cfg *cx, const cJSON *vars, const char *name)
{
	char *kp = ac_asprintf("--var %s", name);
	if (!ac_cfg_name_ok(name, strlen(name))) {
		ac_cfg_error(cx, kp,
			     "not a variable name (letters, digits, '_', '-' and '.'; "
			     "secrets come from ${env:NAME} and ${file:PATH} in the scenario)");
	} else if (!cJSON_IsObject(vars) || !ac_json_get(vars, name)) {
		const char *cands[64];
		size_t k = 0;
		const cJSON *v;
		if (cJSON_IsObject(vars))
			cJSON_ArrayForEach(v, vars)
			{
				if (k < AC_ARRAY_LEN(cands))
					cands[k++] = v->string;
			}
		const char *s = ac_suggest(name, cands, k);
		if (s)
			ac_cfg_error(cx, kp,
				     "the scenario has no variable \"%s\", did you mean \"%s\"?",
				     name, s);
		else
			ac_cfg_error(cx, kp, "the scenario has no variable \"%s\"", name);
	}
	free(kp);
}

static void load_variables(struct ac_cfg *cx, const cJSON *vars, const struct ac_var *over,
			   size_t nover)
{
	struct ac_plan *plan = cx->plan;
	for (size_t i = 0; i < nover; i++)
		check_override(cx, vars, over[i].name);
	for (size_t i = 0; i < nover; i++) {
		plan->vars = ac_realloc(plan->vars, (plan->nvars + 1) * sizeof(*plan->vars));
		plan->vars[plan->nvars++] =
		    (struct ac_var){ac_strdup(over[i].name), ac_strdup(over[i].value), false};
	}
	if (!vars)
		return;
	if (!ac_cfg_want_object(cx, vars, "variables"))
		return;
	const cJSON *v;
	cJSON_ArrayForEach(v, vars)
	{
		bool overridden = false;
		for (size_t i = 0; i < nover; i++)
			overridden = overridden || strcmp(over[i].name, v->string) == 0;
		char *kp = ac_cfg_path("variables", v->string);
		if (overridden) {
			if (definition_is_secret(plan, v))
				ac_cfg_error(
				    cx, kp,
				    "a secret cannot be set with --var (the command line is "
				    "visible to every user and is not masked); secrets come "
				    "from ${env:NAME} and ${file:PATH}");
			free(kp);
			continue;
		}
		const cJSON *val = v;
		bool secret = false;
		if (cJSON_IsObject(v)) {
			ac_cfg_keys1(cx, v, kp, variable_fields, AC_ARRAY_LEN(variable_fields));
			val = ac_json_get(v, "value");
			const cJSON *sec = ac_json_get(v, "secret");
			if (sec && !cJSON_IsBool(sec))
				ac_cfg_error(cx, kp, "\"secret\" must be true or false");
			secret = cJSON_IsTrue(sec);
		}
		char *expanded = NULL;
		if (cJSON_IsString(val)) {
			expanded = ac_cfg_expand(cx, kp, val->valuestring);
			secret = secret || cx->last_secret;
		} else if (cJSON_IsNumber(val)) {
			expanded = ac_json_to_text(val);
		} else {
			ac_cfg_error(
			    cx, kp,
			    "expected a string, a number or {\"value\": ..., \"secret\": true}");
		}
		if (expanded && secret && !cx->last_secret &&
		    strlen(expanded) < AC_SECRET_MIN_BYTES) {
			/* ${env:} and ${file:} values were checked as they were read. */
			ac_cfg_short_secret(cx, kp, strlen(expanded));
			free(expanded);
			expanded = NULL;
		}
		if (expanded) {
			if (secret)
				ac_mask_add(plan->mask, expanded);
			plan->vars =
			    ac_realloc(plan->vars, (plan->nvars + 1) * sizeof(*plan->vars));
			plan->vars[plan->nvars++] =
			    (struct ac_var){ac_strdup(v->string), expanded, secret};
		}
		free(kp);
	}
}

static void load_settings(struct ac_cfg *cx, const cJSON *obj)
{
	struct ac_settings *s = &cx->plan->settings;
	if (!obj)
		return;
	ac_cfg_object(cx, obj, "settings", settings_fields, AC_ARRAY_LEN(settings_fields), s);
	if (s->interval_ms < AC_INTERVAL_MIN_MS)
		ac_cfg_error(cx, "settings.interval",
			     "must be at least %d ms (rounds back to back would load the service "
			     "under test)",
			     AC_INTERVAL_MIN_MS);
	FILE *ca = s->ca_file ? fopen(s->ca_file, "r") : NULL;
	if (s->ca_file && !ca)
		ac_cfg_error(cx, "settings.ca_file", "cannot read \"%s\": %s", s->ca_file,
			     strerror(errno));
	if (ca)
		fclose(ca);
}

/* "notify": the walker reads it; every URL must be http(s), and a header
 * value is a credential (masked) whatever its name. */
static void load_notify(struct ac_cfg *cx, const cJSON *obj)
{
	struct ac_notify_cfg *n = &cx->plan->notify;
	n->on = 2;
	if (!obj)
		return;
	ac_cfg_object(cx, obj, "notify", notify_fields, AC_ARRAY_LEN(notify_fields), n);
	for (size_t i = 0; i < n->urls.n; i++) {
		char *kp = ac_cfg_path_index("notify.urls", i);
		ac_cfg_http_url(cx, kp, n->urls.v[i]);
		free(kp);
	}
	for (size_t i = 0; i < n->headers.n; i++) {
		if (strlen(n->headers.v[i].value) < AC_SECRET_MIN_BYTES) {
			char *kp = ac_cfg_path("notify.headers", n->headers.v[i].name);
			ac_cfg_short_secret(cx, kp, strlen(n->headers.v[i].value));
			free(kp);
		} else {
			ac_mask_add(cx->plan->mask, n->headers.v[i].value);
		}
	}
}

static void load_targets(struct ac_cfg *cx, const cJSON *obj)
{
	struct ac_plan *plan = cx->plan;
	if (!obj)
		return;
	if (!ac_cfg_want_object(cx, obj, "targets"))
		return;
	const struct ac_field *f = target_fields;
	size_t n = (size_t)cJSON_GetArraySize(obj);
	plan->targets = ac_calloc(n ? n : 1, sizeof(*plan->targets));
	const cJSON *t;
	cJSON_ArrayForEach(t, obj)
	{
		char *kp = ac_cfg_path("targets", t->string);
		struct ac_target *tg = &plan->targets[plan->ntargets];
		memset(tg, 0, sizeof(*tg));
		if (cJSON_IsString(t)) {
			tg->url = ac_cfg_expand(cx, kp, t->valuestring);
		} else if (cJSON_IsObject(t)) {
			ac_cfg_keys1(cx, t, kp, f, AC_ARRAY_LEN(target_fields));
			ac_cfg_read(cx, t, kp, f, AC_ARRAY_LEN(target_fields), tg);
		} else {
			ac_cfg_error(cx, kp, "expected a URL or {\"url\": ...}");
		}
		tg->name = ac_strdup(t->string);
		ac_cfg_no_controls(cx, kp, tg->name);
		if (!tg->role)
			tg->role = ac_strdup("");
		if (!tg->region)
			tg->region = ac_strdup("");
		if (*tg->role && strcmp(tg->role, "edge") != 0 && strcmp(tg->role, "origin") != 0)
			ac_cfg_error(cx, kp, "role must be \"edge\" or \"origin\"");
		if (tg->url) {
			ac_cfg_http_url(cx, kp, tg->url);
			size_t l = strlen(tg->url);
			while (l > 0 && tg->url[l - 1] == '/')
				tg->url[--l] = '\0';
		}
		plan->ntargets++;
		free(kp);
	}
}

static struct ac_plan *load_text(const char *text, size_t len, const char *name,
				 const struct ac_var *over, size_t nover, struct ac_error *err,
				 char **problems, struct ac_names *lint_secrets)
{
	cJSON *root = ac_json_parse_strict(text, len, name, AC_JSON_MAX_DEPTH, err);
	if (!root) {
		if (problems)
			*problems = ac_strdup(err ? err->msg : "syntax error");
		return NULL;
	}
	struct ac_plan *plan = ac_calloc(1, sizeof(*plan));
	plan->path = ac_strdup(name);
	plan->mask = ac_mask_create();
	settings_defaults(&plan->settings);
	struct ac_cfg cx = {.file = name, .plan = plan, .root = root, .lint_secrets = lint_secrets};
	plan->lint_only = lint_secrets != NULL;
	ac_buf_init(&cx.errors, 256 * 1024);

	if (!cJSON_IsObject(root)) {
		ac_cfg_error(&cx, NULL, "a scenario is a JSON object");
		goto done;
	}
	ac_cfg_keys1(&cx, root, "", top_fields, AC_ARRAY_LEN(top_fields));
	const cJSON *sch = ac_json_get(root, "$schema");
	if (sch && !cJSON_IsString(sch))
		ac_cfg_error(&cx, "$schema",
			     "expected a string (the path or URL of a JSON Schema)");
	const cJSON *ver = ac_json_get(root, "allclear");
	if (ver && !(cJSON_IsNumber(ver) && ver->valuedouble == 1))
		ac_cfg_error(&cx, "allclear", "this allclear reads scenario format 1");
	load_variables(&cx, ac_json_get(root, "variables"), over, nover);
	plan->name = ac_cfg_text(&cx, root, "", "name", false);
	ac_cfg_no_controls(&cx, "name", plan->name);
	if (!plan->name)
		plan->name = ac_strdup(name);
	ac_cfg_no_controls_in_personas(&cx, ac_json_get(root, "personas"));
	plan->description = ac_cfg_text(&cx, root, "", "description", false);
	load_settings(&cx, ac_json_get(root, "settings"));
	load_targets(&cx, ac_json_get(root, "targets"));
	ac_sections_load(&cx, root);
	ac_checkdefs_load(&cx, root);
	ac_release_load(&cx, ac_json_get(root, "release"));
	load_notify(&cx, ac_json_get(root, "notify"));
	if (ac_json_get(root, "customer"))
		ac_cfg_object(&cx, ac_json_get(root, "customer"), "customer", customer_fields,
			      AC_ARRAY_LEN(customer_fields), &plan->customer);
	if (cx.nerrors == 0 && plan->nchecks == 0)
		ac_cfg_error(&cx, NULL, "no checks to run: add \"journeys\" or \"checks\"");

done:
	cJSON_Delete(root);
	if (cx.nerrors) {
		char *short_text = ac_cfg_problems(&cx, sizeof(err->msg) - 1);
		ac_error_set(err, "%s", short_text);
		free(short_text);
		if (problems)
			*problems = ac_cfg_problems(&cx, SIZE_MAX);
		ac_buf_release(&cx.errors);
		ac_plan_destroy(plan);
		return NULL;
	}
	ac_buf_release(&cx.errors);
	return plan;
}

struct ac_plan *ac_plan_load_text(const char *text, size_t len, const char *name,
				  struct ac_error *err)
{
	return load_text(text, len, name, NULL, 0, err, NULL, NULL);
}

struct ac_plan *ac_plan_load(const char *path, struct ac_error *err)
{
	return ac_plan_load_with(path, NULL, 0, err);
}

struct ac_plan *ac_plan_load_with(const char *path, const struct ac_var *overrides,
				  size_t noverrides, struct ac_error *err)
{
	return ac_plan_load_all(path, overrides, noverrides, err, NULL);
}

static struct ac_plan *load_file(const char *path, const struct ac_var *overrides,
				 size_t noverrides, struct ac_error *err, char **problems,
				 struct ac_names *lint_secrets);

struct ac_plan *ac_plan_load_all(const char *path, const struct ac_var *overrides,
				 size_t noverrides, struct ac_error *err, char **problems)
{
	return load_file(path, overrides, noverrides, err, problems, NULL);
}

struct ac_plan *ac_plan_load_lint(const char *path, const struct ac_var *overrides,
				  size_t noverrides, struct ac_names *secrets, char **problems)
{
	return load_file(path, overrides, noverrides, NULL, problems, secrets);
}

static struct ac_plan *load_file(const char *path, const struct ac_var *overrides,
				 size_t noverrides, struct ac_error *err, char **problems,
				 struct ac_names *lint_secrets)
{
	struct ac_buf b;
	struct ac_error rerr = {0};
	struct ac_error local = {0};
	if (!err)
		err = &local;
	if (problems)
		*problems = NULL;
	if (ac_read_file(path, AC_SCENARIO_MAX_BYTES, &b, &rerr) < 0) {
		if (ac_starts_with(rerr.msg, "larger than"))
			ac_error_set(
			    err, "%s: larger than the 64 MiB (%d-byte) limit for a scenario file",
			    path, AC_SCENARIO_MAX_BYTES);
		else
			ac_error_set(err, "%s: %s", path, rerr.msg);
		if (problems)
			*problems = ac_strdup(err->msg);
		return NULL;
	}
	struct ac_plan *plan =
	    load_text(b.buf, b.len, path, overrides, noverrides, err, problems, lint_secrets);
	ac_buf_release(&b);
	return plan;
}

void ac_plan_destroy(struct ac_plan *plan)
{
	if (!plan)
		return;
	ac_checkdefs_release(plan);
	ac_release_destroy(plan->release);
	ac_strings_release(&plan->notify.urls);
	ac_cfg_release(customer_fields, AC_ARRAY_LEN(customer_fields), &plan->customer);
	ac_kvs_release(&plan->notify.headers);
	ac_sections_destroy(plan); /* after the configurations that point into it */
	for (size_t i = 0; i < plan->ntargets; i++) {
		free(plan->targets[i].name);
		free(plan->targets[i].url);
		free(plan->targets[i].role);
		free(plan->targets[i].region);
	}
	free(plan->targets);
	for (size_t i = 0; i < plan->nvars; i++) {
		free(plan->vars[i].name);
		free(plan->vars[i].value);
	}
	free(plan->vars);
	free(plan->settings.ca_file);
	ac_mask_destroy(plan->mask);
	free(plan->path);
	free(plan->name);
	free(plan->description);
	free(plan);
}
