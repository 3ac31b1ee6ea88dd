/*
 * checkdef.c: the check definitions of a scenario ("journeys" and
 * "checks") into the plan's checks.
 *
 * Each definition gets its kind, the fields every check has (name, area,
 * owner, timeout, trend, agree), the kind's own configuration, and for
 * journeys one check per target it runs against. Then names must be
 * unique and every agree group must have something to compare.
 */
#include "checkdef.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "probe.h"
#include "samples.h"

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

static const char *const trend_kinds[] = {"not_increasing", "increasing", "draining", NULL};

static const struct ac_field trend_fields[] = {
    {"kind", AC_FT_CUSTOM, true, AC_FIELD_NONE, NULL, AC_SHAPE_ENUM, trend_kinds},
    {"floor", AC_FT_NUMBER, false, offsetof(struct ac_trend, floor),
     "draining: a value at or below this counts as drained"},
};

/* "agree": true (every target observes the same) or a group's name. */
static void read_agree(struct ac_cfg *cx, const struct ac_field *f, const cJSON *v, const char *kp,
		       void *dst)
{
	struct ac_check *c = dst;
	if (!cJSON_IsBool(v) && !(cJSON_IsString(v) && *v->valuestring)) {
		ac_cfg_error(cx, kp, "expected true (every target agrees) or a group name");
		return;
	}
	if (cJSON_IsString(v))
		ac_cfg_no_controls(cx, kp, v->valuestring);
	c->agree = cJSON_IsTrue(v) || cJSON_IsString(v);
	c->agree_group = cJSON_IsString(v) ? ac_strdup(v->valuestring) : NULL;
}

/* "within_baseline": "10%" or 10. */
static void read_baseline(struct ac_cfg *cx, const struct ac_field *f, const cJSON *b,
			  const char *kp, void *dst)
{
	struct ac_trend *t = dst;
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
	if (!(pct >= 0) || !isfinite(pct)) {
		ac_cfg_error(cx, kp, "expected a percentage such as \"10%%\"");
		return;
	}
	t->has_baseline_pct = true;
	t->baseline_pct = pct;
}

/* "trend": "draining", or {"kind": "draining", "floor": 5}. */
static void read_trend(struct ac_cfg *cx, const struct ac_field *f, const cJSON *t, const char *kp,
		       void *dst)
{
	struct ac_trend *tr = dst;
	int kind = -1;
	const cJSON *k = t;
	if (cJSON_IsObject(t)) {
		ac_cfg_object(cx, t, kp, trend_fields, AC_ARRAY_LEN(trend_fields), tr);
		k = ac_json_get(t, "kind");
	}
	for (int i = 0; cJSON_IsString(k) && trend_kinds[i]; i++)
		if (strcmp(trend_kinds[i], k->valuestring) == 0)
			kind = i;
	if (kind < 0 && (k || !cJSON_IsObject(t)))
		ac_cfg_error(cx, kp, "expected \"not_increasing\", \"increasing\" or \"draining\"");
	static const enum ac_trend_kind kinds[] = {AC_TREND_NOT_INCREASING, AC_TREND_INCREASING,
						   AC_TREND_DRAINING};
	if (kind >= 0 && (size_t)kind < AC_ARRAY_LEN(kinds))
		tr->kind = kinds[kind];
}

#define CK(member) offsetof(struct ac_check, member)
/* Keys every check has, whatever its kind. */
static const struct ac_field check_fields[] = {
    {"name", AC_FT_STRING, true, CK(name), "unique name"},
    {"kind", AC_FT_CUSTOM, false, AC_FIELD_NONE, "probe kind (checks only)", AC_SHAPE_STRING},
    {"description", AC_FT_TEXT, false, CK(description), NULL},
    {"impact", AC_FT_TEXT, false, CK(impact),
     "what users see while it fails, for the incident note (\"signed-in customers cannot see "
     "their cart total\")"},
    {"area", AC_FT_ENUM, true, CK(area), "what the recovery step is about", .choices = area_names},
    {"owner", AC_FT_TEXT, true, CK(owner), "team or person to call"},
    {"critical", AC_FT_BOOL, false, CK(critical), "stops the run with --fail-fast"},
    {"timeout", AC_FT_DURATION, false, CK(timeout_ms), "the whole check's time limit",
     .range = AC_RANGE_ABOVE, .min = 0},
    {"trend", AC_FT_CUSTOM, false, CK(trend), "window expectation on the value", AC_SHAPE_OBJECT,
     trend_kinds, trend_fields, AC_ARRAY_LEN(trend_fields), AC_SHAPE_ENUM, .read = read_trend},
    {"max_growth_per_minute", AC_FT_NUMBER, false, CK(trend.max_per_min), NULL,
     .range = AC_RANGE_MIN, .min = 0},
    {"within_baseline", AC_FT_CUSTOM, false, CK(trend), "e.g. \"10%\"", AC_SHAPE_STRING,
     .also = AC_SHAPE_NUMBER, .read = read_baseline},
    {"targets", AC_FT_CUSTOM, false, AC_FIELD_NONE, "target names or \"*\" (per-target kinds)",
     AC_SHAPE_STRINGS_OR},
    {"agree", AC_FT_CUSTOM, false, 0,
     "true: every target observes the same; \"NAME\": every check in group NAME does",
     AC_SHAPE_BOOL, .also = AC_SHAPE_STRING, .read = read_agree},
    {"persona", AC_FT_CUSTOM, false, AC_FIELD_NONE, "journeys: who runs it", AC_SHAPE_STRING},
    {"samples", AC_FT_INT, false, CK(samples),
     "journeys: independent runs per target per round, each a new visitor",
     .range = AC_RANGE_CLOSED, .min = 1, .max = AC_SAMPLES_MAX},
    {"detect_share", AC_FT_CUSTOM, false, CK(detect_share),
     "journeys: runs sized so a bad path this share of runs takes is seen (95%)", AC_SHAPE_STRING,
     .also = AC_SHAPE_NUMBER, .read = ac_samples_read_share},
};

/* The walker fills an int for an enum. */
_Static_assert(sizeof(enum ac_area) == sizeof(int), "enum ac_area is an int");

/* Fill the generic part of a check from its definition. */
static void parse_common(struct ac_cfg *cx, const cJSON *obj, const char *path, struct ac_check *c)
{
	ac_cfg_read(cx, obj, path, check_fields, AC_ARRAY_LEN(check_fields), c);
	if (c->name && !*c->name) {
		char *kp = ac_cfg_path(path, "name");
		ac_cfg_error(cx, kp, "expected a non-empty string");
		free(kp);
	}
	if (!c->name)
		c->name = ac_strdup("");
	if (!c->owner)
		c->owner = ac_strdup("");
	/* Names and owners are printed on terminals. */
	char *np = ac_cfg_path(path, "name"), *op = ac_cfg_path(path, "owner");
	ac_cfg_no_controls(cx, np, c->name);
	ac_cfg_no_controls(cx, op, c->owner);
	free(np);
	free(op);
	c->trend.has_max_per_min = ac_json_get(obj, "max_growth_per_minute") != NULL;
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
				ac_cfg_unknown(cx, ep, "target", e->valuestring, names,
					       plan->ntargets, "");
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

/* "samples" and "detect_share" are for journeys (a run is a new visitor;
 * a query or a queue read again sees the same state), one or the other,
 * and a share must be reachable within AC_SAMPLES_MAX runs a round. */
static void check_samples_keys(struct ac_cfg *cx, const cJSON *obj, const char *path,
			       const struct ac_check *c, const struct ac_probe_kind *kind)
{
	const char *keys[] = {"samples", "detect_share"};
	if (kind && !kind->per_target) {
		for (size_t i = 0; i < AC_ARRAY_LEN(keys); i++) {
			if (ac_json_get(obj, keys[i])) {
				char *kp = ac_cfg_path(path, keys[i]);
				ac_cfg_error(cx, kp,
					     "only journeys take samples (each run is a new "
					     "visitor)");
				free(kp);
			}
		}
		return;
	}
	if (ac_json_get(obj, "samples") && ac_json_get(obj, "detect_share")) {
		char *kp = ac_cfg_path(path, "detect_share");
		ac_cfg_error(cx, kp, "give \"samples\" or \"detect_share\", not both");
		free(kp);
		return;
	}
	double p = c->detect_share > 0 ? c->detect_share
		   : c->samples > 0    ? 0
				       : cx->plan->settings.detect_share;
	int confirm = cx->plan->settings.confirm > 0 ? cx->plan->settings.confirm : 1;
	bool capped = false;
	if (p > 0)
		ac_samples_per_round(p, confirm, &capped);
	if (capped) {
		char *kp = c->detect_share > 0 ? ac_cfg_path(path, "detect_share")
					       : ac_strdup("settings.detect_share");
		ac_cfg_error(cx, kp,
			     "detect_share %.6g%% needs %d runs: more than %d per round over %d "
			     "confirm round%s",
			     p * 100, ac_samples_needed(p), AC_SAMPLES_MAX, confirm,
			     confirm == 1 ? "" : "s");
		free(kp);
	}
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
				if (kind)
					ac_cfg_error(cx, kp, "\"%s\" checks belong in \"%s\"",
						     k->valuestring, kind->section);
				else
					ac_cfg_unknown(cx, kp, "kind", k->valuestring, names, nn,
						       "");
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
			free(c.impact);
			free(c.owner);
			free(c.agree_group);
			free(path);
			continue;
		}
		const struct ac_field *tables[2] = {check_fields, kind->fields};
		size_t ntables[2] = {AC_ARRAY_LEN(check_fields), kind->nfields};
		ac_cfg_keys(cx, obj, path, tables, ntables, kind->fields ? 2 : 1);
		check_samples_keys(cx, obj, path, &c, kind);
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
				ci.impact = c.impact ? ac_strdup(c.impact) : NULL;
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
			free(c.impact);
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

const struct ac_field *ac_checkdef_fields(size_t *n)
{
	*n = AC_ARRAY_LEN(check_fields);
	return check_fields;
}

void ac_checkdefs_load(struct ac_cfg *cx, const cJSON *root)
{
	size_t alloc = 0, group = 0;
	load_definitions(cx, root, "journeys", &alloc, &group);
	load_definitions(cx, root, "checks", &alloc, &group);
	check_unique(cx);
	check_agree_groups(cx);
}

void ac_checkdefs_release(struct ac_plan *plan)
{
	for (size_t i = 0; i < plan->nchecks; i++) {
		struct ac_check *c = &plan->checks[i];
		free(c->id);
		free(c->name);
		free(c->path);
		free(c->persona);
		free(c->owner);
		free(c->description);
		free(c->impact);
		free(c->agree_group);
	}
	free(plan->checks);
	plan->checks = NULL;
	plan->nchecks = 0;
	for (size_t i = 0; i < plan->nconfigs; i++)
		if (plan->configs[i].kind->config_destroy)
			plan->configs[i].kind->config_destroy(plan->configs[i].config);
	free(plan->configs);
	plan->configs = NULL;
	plan->nconfigs = 0;
}
