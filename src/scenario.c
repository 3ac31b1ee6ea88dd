/*
 * scenario.c: loading a scenario file into a plan.
 *
 * The loader reports every problem it finds, then gives up as a whole:
 * a plan is either complete and valid or not made at all, so nothing is
 * probed on bad input.
 */
#include "scenario.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "json.h"
#include "mask.h"
#include "probe.h"
#include "sections.h"

#define AC_SCENARIO_MAX_BYTES (64 * 1024 * 1024)

static const char *const area_names[AC_AREA_COUNT + 1] = {"flags", "config", "jobs", "data",
							  "cache", "code",   NULL};

const char *ac_area_name(enum ac_area a)
{
	return (unsigned)a < AC_AREA_COUNT ? area_names[a] : "?";
}

int ac_area_parse(const char *s, enum ac_area *out)
{
	for (int i = 0; i < AC_AREA_COUNT; i++) {
		if (strcmp(s, area_names[i]) == 0) {
			*out = (enum ac_area)i;
			return 0;
		}
	}
	return -1;
}

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
    {"rounds", AC_FT_INT, false, SET(rounds), "rounds in check mode"},
    {"interval", AC_FT_DURATION, false, SET(interval_ms), "time between round starts"},
    {"window", AC_FT_DURATION, false, SET(window_ms), "watch window"},
    {"deadline", AC_FT_DURATION, false, SET(deadline_ms), "until-restored deadline"},
    {"confirm", AC_FT_INT, false, SET(confirm), "consecutive green rounds required"},
    {"min_samples", AC_FT_INT, false, SET(min_samples), "valid samples required per check"},
    {"coverage", AC_FT_NUMBER, false, SET(coverage), "share of rounds with a valid sample"},
    {"flake_budget", AC_FT_INT, false, SET(flake_budget), "passes after retry tolerated"},
    {"concurrency", AC_FT_INT, false, SET(concurrency), "checks in flight at once"},
    {"connect_timeout", AC_FT_DURATION, false, SET(connect_timeout_ms), NULL},
    {"timeout", AC_FT_DURATION, false, SET(timeout_ms), "default per request or query"},
    {"round_timeout", AC_FT_DURATION, false, SET(round_timeout_ms), NULL},
    {"run_timeout", AC_FT_DURATION, false, SET(run_timeout_ms), NULL},
    {"max_body", AC_FT_SIZE, false, SET(max_body), NULL},
    {"max_redirects", AC_FT_INT, false, SET(max_redirects), NULL},
    {"allow_writes", AC_FT_BOOL, false, SET(allow_writes), NULL},
    {"ca_file", AC_FT_TEXT, false, SET(ca_file), NULL},
    {"insecure", AC_FT_BOOL, false, SET(insecure), NULL},
};
#undef SET

static const char *const trend_kinds[] = {"not_increasing", "increasing", "draining", NULL};

static const struct ac_field trend_fields[] = {
    {"kind", AC_FT_CUSTOM, true, AC_FIELD_NONE, NULL, AC_SHAPE_ENUM, trend_kinds},
    {"floor", AC_FT_NUMBER, false, offsetof(struct ac_trend, floor),
     "draining: a value at or below this counts as drained"},
};

static const struct ac_field target_fields[] = {
    {"url", AC_FT_TEXT, true, offsetof(struct ac_target, url), NULL},
    {"role", AC_FT_STRING, false, offsetof(struct ac_target, role), "edge or origin"},
    {"region", AC_FT_STRING, false, offsetof(struct ac_target, region), NULL},
};

static const struct ac_field variable_fields[] = {
    {"value", AC_FT_CUSTOM, true, AC_FIELD_NONE, NULL, AC_SHAPE_STRING, .also = AC_SHAPE_NUMBER},
    {"secret", AC_FT_CUSTOM, false, AC_FIELD_NONE, "mask the value in every output", AC_SHAPE_BOOL},
};

static const struct ac_field top_fields[] = {
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
};

/* Keys every check has, whatever its kind. */
static const struct ac_field check_fields[] = {
    {"name", AC_FT_CUSTOM, true, AC_FIELD_NONE, "unique name", AC_SHAPE_STRING},
    {"kind", AC_FT_CUSTOM, false, AC_FIELD_NONE, "probe kind (checks only)", AC_SHAPE_STRING},
    {"description", AC_FT_CUSTOM, false, AC_FIELD_NONE, NULL, AC_SHAPE_STRING},
    {"area", AC_FT_CUSTOM, true, AC_FIELD_NONE, "what the recovery step is about", AC_SHAPE_ENUM,
     area_names},
    {"owner", AC_FT_CUSTOM, true, AC_FIELD_NONE, "team or person to call", AC_SHAPE_STRING},
    {"critical", AC_FT_CUSTOM, false, AC_FIELD_NONE, "stops the run with --fail-fast",
     AC_SHAPE_BOOL},
    {"timeout", AC_FT_CUSTOM, false, AC_FIELD_NONE, "the whole check's time limit",
     AC_SHAPE_DURATION},
    {"trend", AC_FT_CUSTOM, false, AC_FIELD_NONE, "window expectation on the value",
     AC_SHAPE_OBJECT, trend_kinds, trend_fields, AC_ARRAY_LEN(trend_fields), AC_SHAPE_ENUM},
    {"max_growth_per_minute", AC_FT_CUSTOM, false, AC_FIELD_NONE, NULL, AC_SHAPE_NUMBER},
    {"within_baseline", AC_FT_CUSTOM, false, AC_FIELD_NONE, "e.g. \"10%\"", AC_SHAPE_STRING},
    {"targets", AC_FT_CUSTOM, false, AC_FIELD_NONE, "target names or \"*\" (per-target kinds)",
     AC_SHAPE_STRINGS_OR},
    {"agree", AC_FT_CUSTOM, false, AC_FIELD_NONE,
     "true: every target observes the same; \"NAME\": every check in group NAME does",
     AC_SHAPE_BOOL, .also = AC_SHAPE_STRING},
    {"persona", AC_FT_CUSTOM, false, AC_FIELD_NONE, "journeys: who runs it", AC_SHAPE_STRING},
};

const struct ac_field *ac_scenario_fields(const char *which, size_t *n)
{
	static const struct {
		const char *name;
		const struct ac_field *f;
		size_t n;
	} t[] = {
	    {"top", top_fields, AC_ARRAY_LEN(top_fields)},
	    {"check", check_fields, AC_ARRAY_LEN(check_fields)},
	};
	for (size_t i = 0; i < AC_ARRAY_LEN(t); i++) {
		if (strcmp(t[i].name, which) == 0) {
			*n = t[i].n;
			return t[i].f;
		}
	}
	*n = 0;
	return NULL;
}

/* A --var names a variable the scenario defines: a misspelt name would
 * otherwise leave the default in place and probe the wrong thing. */
static bool plain_var_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.')
			return false;
	return true;
}

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
		if (!secret && plain_var_name(ref)) {
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
	if (!plain_var_name(name)) {
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
	if (!ac_cfg_want_object(cx, obj, "settings"))
		return;
	ac_cfg_keys1(cx, obj, "settings", settings_fields, AC_ARRAY_LEN(settings_fields));
	ac_cfg_read(cx, obj, "settings", settings_fields, AC_ARRAY_LEN(settings_fields), s);
	if (s->rounds < 1)
		ac_cfg_error(cx, "settings.rounds", "must be at least 1");
	if (s->interval_ms < AC_INTERVAL_MIN_MS)
		ac_cfg_error(cx, "settings.interval",
			     "must be at least %d ms (rounds back to back would load the service "
			     "under test)",
			     AC_INTERVAL_MIN_MS);
	if (s->confirm < 1)
		ac_cfg_error(cx, "settings.confirm", "must be at least 1");
	if (s->concurrency < 1 || s->concurrency > 1024)
		ac_cfg_error(cx, "settings.concurrency", "must be between 1 and 1024");
	if (!(s->coverage > 0 && s->coverage <= 1))
		ac_cfg_error(cx, "settings.coverage", "must be above 0 and at most 1");
	if (s->min_samples < 0)
		ac_cfg_error(cx, "settings.min_samples", "must not be negative");
	if (s->max_redirects < 0 || s->max_redirects > 20)
		ac_cfg_error(cx, "settings.max_redirects", "must be between 0 and 20");
	if (s->timeout_ms < 1 || s->connect_timeout_ms < 1 || s->round_timeout_ms < 1)
		ac_cfg_error(cx, "settings", "timeouts must be positive");
	if (s->max_body < 1024)
		ac_cfg_error(cx, "settings.max_body", "must be at least 1KiB");
	FILE *ca = s->ca_file ? fopen(s->ca_file, "r") : NULL;
	if (s->ca_file && !ca)
		ac_cfg_error(cx, "settings.ca_file", "cannot read \"%s\": %s", s->ca_file,
			     strerror(errno));
	if (ca)
		fclose(ca);
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

static void parse_trend(struct ac_cfg *cx, const cJSON *obj, const char *path, struct ac_check *c)
{
	const cJSON *t = ac_json_get(obj, "trend");
	if (t) {
		char *kp = ac_cfg_path(path, "trend");
		const cJSON *kind = t;
		if (cJSON_IsObject(t)) {
			ac_cfg_keys1(cx, t, kp, trend_fields, AC_ARRAY_LEN(trend_fields));
			ac_cfg_read(cx, t, kp, trend_fields, AC_ARRAY_LEN(trend_fields), &c->trend);
			kind = ac_json_get(t, "kind");
		}
		const char *k = cJSON_IsString(kind) ? kind->valuestring : "";
		if (strcmp(k, "not_increasing") == 0)
			c->trend.kind = AC_TREND_NOT_INCREASING;
		else if (strcmp(k, "increasing") == 0)
			c->trend.kind = AC_TREND_INCREASING;
		else if (strcmp(k, "draining") == 0)
			c->trend.kind = AC_TREND_DRAINING;
		else
			ac_cfg_error(cx, kp,
				     "expected \"not_increasing\", \"increasing\" or \"draining\"");
		free(kp);
	}
	const cJSON *g = ac_json_get(obj, "max_growth_per_minute");
	if (g) {
		if (!cJSON_IsNumber(g) || g->valuedouble < 0) {
			char *kp = ac_cfg_path(path, "max_growth_per_minute");
			ac_cfg_error(cx, kp, "expected a number of at least 0");
			free(kp);
		} else {
			c->trend.has_max_per_min = true;
			c->trend.max_per_min = g->valuedouble;
		}
	}
	const cJSON *b = ac_json_get(obj, "within_baseline");
	if (b) {
		char *kp = ac_cfg_path(path, "within_baseline");
		double pct = -1;
		if (cJSON_IsNumber(b))
			pct = b->valuedouble;
		else if (cJSON_IsString(b)) {
			char *s = ac_strdup(b->valuestring);
			size_t l = strlen(s);
			if (l && s[l - 1] == '%')
				s[l - 1] = '\0';
			if (ac_parse_double(s, &pct) < 0)
				pct = -1;
			free(s);
		}
		if (pct < 0)
			ac_cfg_error(cx, kp, "expected a percentage such as \"10%%\"");
		else {
			c->trend.has_baseline_pct = true;
			c->trend.baseline_pct = pct;
		}
		free(kp);
	}
}

/* Fill the generic part of a check from its definition. */
static void parse_common(struct ac_cfg *cx, const cJSON *obj, const char *path, struct ac_check *c)
{
	const cJSON *v;
	v = ac_json_get(obj, "name");
	if (!v) {
		ac_cfg_error(cx, path, "missing required key \"name\"");
	} else if (!cJSON_IsString(v) || !*v->valuestring) {
		char *kp = ac_cfg_path(path, "name");
		ac_cfg_error(cx, kp, "expected a non-empty string");
		free(kp);
	}
	c->name = ac_strdup(cJSON_IsString(v) ? v->valuestring : "");
	{
		char *kp = ac_cfg_path(path, "name");
		ac_cfg_no_controls(cx, kp, c->name);
		free(kp);
	}
	c->description = ac_cfg_text(cx, obj, path, "description", false);
	v = ac_json_get(obj, "area");
	if (cJSON_IsString(v)) {
		if (ac_area_parse(v->valuestring, &c->area) < 0) {
			char *kp = ac_cfg_path(path, "area");
			const char *s = ac_suggest(v->valuestring, area_names, AC_AREA_COUNT);
			if (s)
				ac_cfg_error(cx, kp, "unknown area \"%s\", did you mean \"%s\"?",
					     v->valuestring, s);
			else
				ac_cfg_error(
				    cx, kp,
				    "unknown area \"%s\" (flags, config, jobs, data, cache, code)",
				    v->valuestring);
			free(kp);
		}
	} else if (v) {
		char *kp = ac_cfg_path(path, "area");
		ac_cfg_error(cx, kp, "expected a string");
		free(kp);
	} else {
		ac_cfg_error(
		    cx, path,
		    "missing required key \"area\" (flags, config, jobs, data, cache or code)");
	}
	/* Every check names who to call when it fails: the release map. */
	c->owner = ac_cfg_text(cx, obj, path, "owner", true);
	if (!c->owner)
		c->owner = ac_strdup("");
	{
		char *kp = ac_cfg_path(path, "owner");
		ac_cfg_no_controls(cx, kp, c->owner);
		free(kp);
	}
	v = ac_json_get(obj, "critical");
	if (v && !cJSON_IsBool(v)) {
		char *kp = ac_cfg_path(path, "critical");
		ac_cfg_error(cx, kp, "expected true or false");
		free(kp);
	}
	c->critical = cJSON_IsTrue(v);
	v = ac_json_get(obj, "agree");
	if (v && !cJSON_IsBool(v) && !(cJSON_IsString(v) && *v->valuestring)) {
		char *kp = ac_cfg_path(path, "agree");
		ac_cfg_error(cx, kp, "expected true (every target agrees) or a group name");
		free(kp);
	}
	if (cJSON_IsString(v)) {
		char *kp = ac_cfg_path(path, "agree");
		ac_cfg_no_controls(cx, kp, v->valuestring);
		free(kp);
	}
	c->agree = cJSON_IsTrue(v) || cJSON_IsString(v);
	c->agree_group = cJSON_IsString(v) ? ac_strdup(v->valuestring) : NULL;
	c->timeout_ms = 0;
	v = ac_json_get(obj, "timeout");
	if (v) {
		char *kp = ac_cfg_path(path, "timeout");
		if (ac_cfg_duration(cx, v, kp, &c->timeout_ms) == 0 && c->timeout_ms < 1)
			ac_cfg_error(cx, kp, "must be positive");
		free(kp);
	}
	parse_trend(cx, obj, path, c);
}

static void add_check(struct ac_plan *plan, size_t *alloc, const struct ac_check *c)
{
	AC_GROW(plan->checks, plan->nchecks + 1, *alloc);
	plan->checks[plan->nchecks++] = *c;
}

static void add_config(struct ac_plan *plan, const struct ac_probe_kind *kind, void *config)
{
	plan->configs = ac_realloc(plan->configs, (plan->nconfigs + 1) * sizeof(*plan->configs));
	plan->configs[plan->nconfigs].kind = kind;
	plan->configs[plan->nconfigs].config = config;
	plan->nconfigs++;
}

/* The targets a per-target definition runs against. */
static size_t select_targets(struct ac_cfg *cx, const cJSON *obj, const char *path,
			     const struct ac_target **out)
{
	struct ac_plan *plan = cx->plan;
	const cJSON *t = ac_json_get(obj, "targets");
	char *kp = ac_cfg_path(path, "targets");
	size_t n = 0;
	if (!t || (cJSON_IsString(t) && strcmp(t->valuestring, "*") == 0)) {
		for (size_t i = 0; i < plan->ntargets; i++)
			out[n++] = &plan->targets[i];
		if (n == 0)
			ac_cfg_error(cx, path, "no targets: define \"targets\" at the top level");
	} else if (cJSON_IsArray(t) || cJSON_IsString(t)) {
		const cJSON *e;
		size_t i = 0;
		cJSON *one = NULL;
		if (cJSON_IsString(t)) {
			one = cJSON_CreateArray();
			cJSON_AddItemToArray(one, cJSON_CreateString(t->valuestring));
			t = one;
		}
		cJSON_ArrayForEach(e, t)
		{
			char *ep = ac_cfg_path_index(kp, i++);
			const struct ac_target *tg =
			    cJSON_IsString(e) ? ac_plan_target(plan, e->valuestring) : NULL;
			if (!cJSON_IsString(e)) {
				ac_cfg_error(cx, ep, "expected a target name");
			} else if (!tg) {
				const char **names = ac_calloc(plan->ntargets + 1, sizeof(char *));
				for (size_t k = 0; k < plan->ntargets; k++)
					names[k] = plan->targets[k].name;
				const char *s = ac_suggest(e->valuestring, names, plan->ntargets);
				if (s)
					ac_cfg_error(cx, ep,
						     "unknown target \"%s\", did you mean \"%s\"?",
						     e->valuestring, s);
				else
					ac_cfg_error(cx, ep, "unknown target \"%s\"",
						     e->valuestring);
				free(names);
			} else {
				bool dup = false;
				for (size_t k = 0; k < n; k++)
					dup = dup || out[k] == tg;
				if (!dup && n < plan->ntargets)
					out[n++] = tg;
			}
			free(ep);
		}
		cJSON_Delete(one);
		if (i == 0)
			ac_cfg_error(cx, kp, "must name at least one target");
	} else {
		ac_cfg_error(cx, kp, "expected a list of target names or \"*\"");
	}
	free(kp);
	return n;
}

/* "agree" must have something to compare: "agree": true compares the
 * targets of a journey (so only journeys take it), and a journey compares
 * its "observe" text or its "value". Other kinds observe their value. */
static void check_agree_has_something(struct ac_cfg *cx, const cJSON *obj, const char *path,
				      const struct ac_check *c, const struct ac_probe_kind *kind)
{
	char *kp = ac_cfg_path(path, "agree");
	if (!kind->per_target && !c->agree_group)
		ac_cfg_error(cx, kp,
			     "agree: true compares the targets of a journey; name a group "
			     "(\"agree\": \"NAME\") to compare this check with others");
	else if (kind->per_target && !ac_json_get(obj, "observe") && !ac_json_get(obj, "value"))
		ac_cfg_error(cx, kp, "nothing to compare: add \"observe\" (or \"value\")");
	free(kp);
}

static void load_definitions(struct ac_cfg *cx, const cJSON *root, const char *section,
			     size_t *alloc, size_t *group)
{
	struct ac_plan *plan = cx->plan;
	const cJSON *arr = ac_json_get(root, section);
	if (!arr)
		return;
	if (!cJSON_IsArray(arr)) {
		ac_cfg_error(cx, section, "expected a list");
		return;
	}
	size_t idx = 0;
	const cJSON *obj;
	cJSON_ArrayForEach(obj, arr)
	{
		char *path = ac_cfg_path_index(section, idx++);
		if (!ac_cfg_want_object(cx, obj, path)) {
			free(path);
			continue;
		}
		const struct ac_probe_kind *kind = NULL;
		const cJSON *k = ac_json_get(obj, "kind");
		if (strcmp(section, "journeys") == 0) {
			kind = ac_probe_kind_find("http");
			if (k) {
				char *kp = ac_cfg_path(path, "kind");
				ac_cfg_error(cx, kp, "journeys are always HTTP; remove \"kind\"");
				free(kp);
			}
		} else if (!cJSON_IsString(k)) {
			ac_cfg_error(cx, path, "missing required key \"kind\"");
		} else {
			kind = ac_probe_kind_find(k->valuestring);
			if (!kind || strcmp(kind->section, section) != 0) {
				const char **names = ac_calloc(ac_probe_nkinds + 1, sizeof(char *));
				size_t nn = 0;
				for (size_t i = 0; i < ac_probe_nkinds; i++)
					if (strcmp(ac_probe_kinds[i]->section, section) == 0)
						names[nn++] = ac_probe_kinds[i]->name;
				char *kp = ac_cfg_path(path, "kind");
				const char *s = ac_suggest(k->valuestring, names, nn);
				if (kind)
					ac_cfg_error(cx, kp, "\"%s\" checks belong in \"%s\"",
						     k->valuestring, kind->section);
				else if (s)
					ac_cfg_error(cx, kp,
						     "unknown kind \"%s\", did you mean \"%s\"?",
						     k->valuestring, s);
				else
					ac_cfg_error(cx, kp, "unknown kind \"%s\"", k->valuestring);
				free(kp);
				free(names);
				kind = NULL;
			}
		}
		struct ac_check c;
		memset(&c, 0, sizeof(c));
		parse_common(cx, obj, path, &c);
		static const char *const lists[] = {"steps", "cleanup"};
		for (size_t i = 0; i < AC_ARRAY_LEN(lists); i++) {
			char *lp = ac_cfg_path(path, lists[i]);
			ac_cfg_no_controls_in_steps(cx, ac_json_get(obj, lists[i]), lp);
			free(lp);
		}
		if (!kind) {
			free(c.name);
			free(c.description);
			free(c.owner);
			free(c.agree_group);
			free(path);
			continue;
		}
		const struct ac_field *tables[2] = {check_fields, kind->fields};
		size_t ntables[2] = {AC_ARRAY_LEN(check_fields), kind->nfields};
		ac_cfg_keys(cx, obj, path, tables, ntables, kind->fields ? 2 : 1);
		if (!kind->per_target) {
			const char *bad[] = {"targets", "persona"};
			for (size_t i = 0; i < AC_ARRAY_LEN(bad); i++) {
				if (ac_json_get(obj, bad[i])) {
					char *kp = ac_cfg_path(path, bad[i]);
					ac_cfg_error(cx, kp, "only journeys run per target");
					free(kp);
				}
			}
		}
		c.kind = kind;
		c.path = ac_strdup(path);
		c.group = (*group)++;
		if (kind->per_target) {
			const cJSON *p = ac_json_get(obj, "persona");
			if (p && !cJSON_IsString(p)) {
				char *kp = ac_cfg_path(path, "persona");
				ac_cfg_error(cx, kp, "expected a persona name");
				free(kp);
			}
			c.persona = ac_strdup(cJSON_IsString(p) ? p->valuestring : "visitor");
		}
		cx->min_samples = 0;
		void *config = kind->configure(cx, obj, path);
		c.min_samples = cx->min_samples;
		if (config)
			add_config(plan, kind, config);
		c.config = config;
		if (c.agree)
			check_agree_has_something(cx, obj, path, &c, kind);
		if (kind->per_target) {
			const struct ac_target **tg = ac_calloc(plan->ntargets + 1, sizeof(*tg));
			size_t nt = select_targets(cx, obj, path, tg);
			if (c.agree && !c.agree_group && nt == 1) {
				char *kp = ac_cfg_path(path, "agree");
				ac_cfg_error(
				    cx, kp,
				    "agree: true compares targets, and this journey runs on "
				    "one target only");
				free(kp);
			}
			for (size_t i = 0; i < nt; i++) {
				struct ac_check ci = c;
				ci.id = ac_asprintf("%s @ %s", c.name, tg[i]->name);
				ci.name = ac_strdup(c.name);
				ci.path = ac_strdup(c.path);
				ci.owner = ac_strdup(c.owner);
				ci.description = c.description ? ac_strdup(c.description) : NULL;
				ci.persona = ac_strdup(c.persona);
				ci.agree_group = c.agree_group ? ac_strdup(c.agree_group) : NULL;
				ci.target = tg[i];
				add_check(plan, alloc, &ci);
			}
			free(tg);
			free(c.name);
			free(c.path);
			free(c.owner);
			free(c.description);
			free(c.persona);
			free(c.agree_group);
		} else {
			c.id = ac_strdup(c.name);
			add_check(plan, alloc, &c);
		}
		free(path);
	}
}

static int cmp_check_by_id(const void *a, const void *b, void *ud)
{
	const struct ac_check *checks = ud;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = strcmp(checks[x].id, checks[y].id);
	return c ? c : (x > y) - (x < y);
}

/* Names are unique across definitions (one definition expanded per target
 * shares its path). Sorted by name, then position: O(n log n), errors in
 * the order of the file. */
static void check_unique(struct ac_cfg *cx)
{
	struct ac_plan *plan = cx->plan;
	size_t n = plan->nchecks;
	if (n < 2)
		return;
	size_t *order = ac_calloc(n, sizeof(*order));
	size_t *dup_of = ac_calloc(n, sizeof(*dup_of)); /* index + 1 of the first user */
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	qsort_r(order, n, sizeof(*order), cmp_check_by_id, plan->checks);
	for (size_t g = 0; g < n;) {
		size_t end = g + 1;
		while (end < n &&
		       strcmp(plan->checks[order[end]].id, plan->checks[order[g]].id) == 0)
			end++;
		/* Within a group, in file order: the first earlier check from
		 * another definition is the one this name collides with. */
		for (size_t k = g + 1; k < end; k++) {
			const struct ac_check *c = &plan->checks[order[k]];
			for (size_t j = g; j < k; j++) {
				if (strcmp(plan->checks[order[j]].path, c->path) != 0) {
					dup_of[order[k]] = order[j] + 1;
					break;
				}
			}
		}
		g = end;
	}
	for (size_t i = 0; i < n; i++)
		if (dup_of[i])
			ac_cfg_error(cx, plan->checks[i].path, "name \"%s\" is already used by %s",
				     plan->checks[i].name, plan->checks[dup_of[i] - 1].path);
	free(order);
	free(dup_of);
}

/* An agree group needs two members: a name used by one check only
 * (after journeys are expanded per target) compares it with nothing,
 * most likely a typo of another group's name. */
static void check_agree_groups(struct ac_cfg *cx)
{
	struct ac_plan *plan = cx->plan;
	size_t n = plan->nchecks;
	const char **names = ac_calloc(n + 1, sizeof(*names));
	size_t nn = 0;
	for (size_t i = 0; i < n; i++) {
		const char *g = plan->checks[i].agree_group;
		bool seen = false;
		for (size_t k = 0; g && k < nn && !seen; k++)
			seen = strcmp(names[k], g) == 0;
		if (g && !seen)
			names[nn++] = g;
	}
	for (size_t k = 0; k < nn; k++) {
		size_t members = 0, at = 0;
		for (size_t i = 0; i < n; i++) {
			const char *g = plan->checks[i].agree_group;
			if (g && strcmp(g, names[k]) == 0) {
				members++;
				at = i;
			}
		}
		if (members != 1)
			continue;
		const char *me = names[k];
		names[k] = NULL; /* not a suggestion for itself */
		const char *s = ac_suggest(me, names, nn);
		names[k] = me;
		char *kp = ac_cfg_path(plan->checks[at].path, "agree");
		if (s)
			ac_cfg_error(cx, kp,
				     "agree group \"%s\" has no other member: nothing to compare "
				     "with (did you mean \"%s\"?)",
				     me, s);
		else
			ac_cfg_error(cx, kp,
				     "agree group \"%s\" has no other member: nothing to compare "
				     "with",
				     me);
		free(kp);
	}
	free(names);
}

static struct ac_plan *load_text(const char *text, size_t len, const char *name,
				 const struct ac_var *over, size_t nover, struct ac_error *err,
				 char **problems)
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
	struct ac_cfg cx = {.file = name, .plan = plan, .root = root};
	ac_buf_init(&cx.errors, 256 * 1024);

	if (!cJSON_IsObject(root)) {
		ac_cfg_error(&cx, NULL, "a scenario is a JSON object");
		goto done;
	}
	ac_cfg_keys1(&cx, root, "", top_fields, AC_ARRAY_LEN(top_fields));
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
	size_t alloc = 0, group = 0;
	load_definitions(&cx, root, "journeys", &alloc, &group);
	load_definitions(&cx, root, "checks", &alloc, &group);
	check_unique(&cx);
	check_agree_groups(&cx);
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
	return load_text(text, len, name, NULL, 0, err, NULL);
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

struct ac_plan *ac_plan_load_all(const char *path, const struct ac_var *overrides,
				 size_t noverrides, struct ac_error *err, char **problems)
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
	struct ac_plan *plan = load_text(b.buf, b.len, path, overrides, noverrides, err, problems);
	ac_buf_release(&b);
	return plan;
}

void ac_plan_destroy(struct ac_plan *plan)
{
	if (!plan)
		return;
	for (size_t i = 0; i < plan->nchecks; i++) {
		struct ac_check *c = &plan->checks[i];
		free(c->id);
		free(c->name);
		free(c->path);
		free(c->persona);
		free(c->owner);
		free(c->description);
		free(c->agree_group);
	}
	free(plan->checks);
	for (size_t i = 0; i < plan->nconfigs; i++)
		if (plan->configs[i].kind->config_destroy)
			plan->configs[i].kind->config_destroy(plan->configs[i].config);
	free(plan->configs);
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
