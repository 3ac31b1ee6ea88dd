/*
 * merge.c: JSON reports (README, "The JSON report") read back into one
 * result tree, then judged with the run's own rule (ac_judge_overall).
 *
 * Fail closed: a report that is not of the schema, a shard missing from an
 * agent's set or a shard given twice is never skipped; the verdict is then
 * INCONCLUSIVE and says what is missing. Reports of different scenarios
 * (their fingerprints differ) are refused: there is no one verdict of two.
 */

#include "merge.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "scenario.h"
#include "shard.h"
#include "verdict.h"

#define REPORT_MAX_BYTES (256 * 1024 * 1024)

void ac_merge_stamp(struct ac_result *r, int index, int count, const char *agent, const char *hash)
{
	char id[17];
	ac_run_id(id);
	r->run_id = ac_strdup(id);
	r->shard = count > 0 ? ac_asprintf("%d/%d", index, count) : NULL;
	if (agent) {
		r->agent = ac_strdup(agent);
	} else {
		char host[256] = "";
		if (gethostname(host, sizeof(host) - 1) != 0 || !host[0])
			snprintf(host, sizeof(host), "unknown");
		r->agent = ac_strdup(host);
	}
	r->scenario_hash = hash && *hash ? ac_strdup(hash) : NULL;
}

/* One report as read. */
struct report {
	const char *path;
	cJSON *root;
	const char *hash, *run_id, *agent;
	int index, count; /* 1/1 for a whole run */
};

static const char *str_of(const cJSON *o, const char *k)
{
	const cJSON *v = ac_json_get(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static char *dup_of(const cJSON *o, const char *k)
{
	const char *s = str_of(o, k);
	return s ? ac_strdup(s) : NULL;
}

static double num_of(const cJSON *o, const char *k, bool *has)
{
	const cJSON *v = ac_json_get(o, k);
	if (has)
		*has = cJSON_IsNumber(v);
	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static bool bool_of(const cJSON *o, const char *k)
{
	return cJSON_IsTrue(ac_json_get(o, k));
}

static int state_parse(const char *s, enum ac_state *out)
{
	static const enum ac_state all[] = {AC_STATE_PASS, AC_STATE_FAIL, AC_STATE_ERROR,
					    AC_STATE_PENDING};
	for (size_t i = 0; s && i < AC_ARRAY_LEN(all); i++)
		if (strcmp(s, ac_state_name(all[i])) == 0) {
			*out = all[i];
			return 0;
		}
	return -1;
}

/* "2026-11-26T11:08:40Z" as epoch ms; 0 when absent or malformed. */
static int64_t time_of(const cJSON *o, const char *k)
{
	const char *s = str_of(o, k);
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	if (!s || !strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm))
		return 0;
	return (int64_t)timegm(&tm) * 1000;
}

static void read_sample(const cJSON *j, struct ac_sample *s)
{
	memset(s, 0, sizeof(*s));
	s->round = (int)num_of(j, "round", NULL);
	s->wall_ms = time_of(j, "at");
	if (state_parse(str_of(j, "state"), &s->state) < 0)
		s->state = AC_STATE_ERROR;
	s->reason = dup_of(j, "reason");
	s->value = num_of(j, "value", &s->has_value);
	s->observed = dup_of(j, "observed");
	s->duration_ms = (int64_t)num_of(j, "duration_ms", NULL);
	s->retried = bool_of(j, "passed_after_retry");
	s->evidence = dup_of(j, "evidence");
	const cJSON *it;
	cJSON_ArrayForEach(it, ac_json_get(j, "steps"))
	{
		struct ac_step_result *st = ac_sample_add_step(s);
		st->name = dup_of(it, "name");
		st->method = dup_of(it, "method");
		st->url = dup_of(it, "url");
		if (state_parse(str_of(it, "state"), &st->state) < 0)
			st->state = AC_STATE_ERROR;
		st->status = (long)num_of(it, "status", NULL);
		st->duration_ms = (int64_t)num_of(it, "duration_ms", NULL);
		st->tries = (int)num_of(it, "tries", NULL);
		st->waited_ms = (int64_t)num_of(it, "waited_ms", NULL);
		st->cleanup = bool_of(it, "cleanup");
		st->write = bool_of(it, "write");
		st->reason = dup_of(it, "reason");
		st->served_by = dup_of(it, "served_by");
		st->excerpt = dup_of(it, "excerpt");
		const cJSON *a;
		cJSON_ArrayForEach(a, ac_json_get(it, "assertions"))
		{
			struct ac_assertion_result *as = ac_step_add_assert(st);
			as->what = dup_of(a, "what");
			as->expected = dup_of(a, "expected");
			as->actual = dup_of(a, "actual");
			as->ok = bool_of(a, "ok");
		}
	}
	cJSON_ArrayForEach(it, ac_json_get(j, "figures"))
	{
		struct ac_figure *f =
		    ac_sample_add_figure(s, str_of(it, "name") ? str_of(it, "name") : "");
		f->value = num_of(it, "value", &f->has_value);
		f->note = dup_of(it, "unavailable");
	}
}

static void copy_fixed(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : "");
}

static void read_rate(const cJSON *j, struct ac_rate_view *v)
{
	if (!cJSON_IsObject(j))
		return;
	v->per_s = num_of(j, "per_s", &v->has_rate);
	copy_fixed(v->unit, sizeof(v->unit), str_of(j, "unit"));
	v->flat = bool_of(j, "flat");
	v->points = (size_t)num_of(j, "points", NULL);
	v->span_s = num_of(j, "span_s", NULL);
	v->target = num_of(j, "target", &v->has_target);
	copy_fixed(v->target_name, sizeof(v->target_name), str_of(j, "target_name"));
	v->eta_s = num_of(j, "eta_s", &v->has_eta);
	v->restore_eta_s = num_of(j, "restore_eta_s", &v->has_restore_eta);
	copy_fixed(v->text, sizeof(v->text), str_of(j, "text"));
}

static void read_strength(const cJSON *j, struct ac_strength *st)
{
	if (!cJSON_IsObject(j))
		return;
	st->stated = true;
	st->samples = (int)num_of(j, "samples_per_round", NULL);
	st->detect_share = num_of(j, "detect_share", NULL);
	st->needed = (int)num_of(j, "runs_needed", NULL);
	st->sizing = dup_of(j, "sizing");
	st->runs = (int)num_of(j, "runs", NULL);
	st->bad = (int)num_of(j, "bad", NULL);
	st->counted = (int)num_of(j, "counted", NULL);
	st->short_rounds = (int)num_of(j, "short_rounds", NULL);
	st->observed_share = num_of(j, "observed_share", NULL);
	st->share_seen_95 = num_of(j, "share_seen_95", NULL);
	st->text = dup_of(j, "text");
}

static int area_order(const char *name)
{
	for (int a = AC_AREA_FLAGS; a <= AC_AREA_CODE; a++)
		if (name && strcmp(name, ac_area_name((enum ac_area)a)) == 0)
			return a;
	return AC_AREA_CODE;
}

/* One check of a report into cr; -1 when it is not of the schema. */
static int read_check(const cJSON *j, struct ac_check_result *cr, const char *agent)
{
	const char *id = str_of(j, "id");
	if (!cJSON_IsObject(j) || !id || state_parse(str_of(j, "state"), &cr->state) < 0)
		return -1;
	cr->id = agent ? ac_asprintf("%s [%s]", id, agent) : ac_strdup(id);
	cr->agent = agent ? ac_strdup(agent) : NULL;
	cr->name = dup_of(j, "name");
	cr->path = dup_of(j, "path");
	cr->kind = dup_of(j, "kind");
	cr->area = dup_of(j, "area");
	cr->area_order = area_order(cr->area);
	cr->owner = dup_of(j, "owner");
	cr->description = dup_of(j, "description");
	cr->persona = dup_of(j, "persona");
	cr->critical = bool_of(j, "critical");
	cr->agree = bool_of(j, "agree");
	cr->agree_group = dup_of(j, "agree_group");
	cr->target.name = dup_of(j, "target");
	if (cr->target.name) {
		cr->target.url = ac_strdup("");
		cr->target.role = ac_strdup("");
		cr->target.region = ac_strdup("");
	}
	cr->reason = dup_of(j, "reason");
	cr->note = dup_of(j, "note");
	cr->part = dup_of(j, "part");
	read_strength(ac_json_get(j, "strength"), &cr->strength);
	read_rate(ac_json_get(j, "rate"), &cr->rate);
	cr->flaps = (int)num_of(j, "flaps", NULL);
	cr->green_since_wall = time_of(j, "green_since");
	cr->recovered_at_wall = time_of(j, "recovered_at");
	const cJSON *it;
	cJSON_ArrayForEach(it, ac_json_get(j, "history"))
	{
		struct ac_point p = {0};
		enum ac_state st;
		if (state_parse(str_of(it, "state"), &st) < 0)
			return -1;
		p.state = (unsigned char)st;
		p.round = (int)num_of(it, "round", NULL);
		p.value = num_of(it, "value", &p.has_value);
		p.runs = (unsigned short)num_of(it, "runs", NULL);
		p.measured = (unsigned short)num_of(it, "runs_measured", NULL);
		p.bad = (unsigned short)num_of(it, "runs_failed", NULL);
		ac_history_add(&cr->history, &p);
	}
	/* The totals as the run counted them (the ring keeps the last points). */
	cr->history.total = (size_t)num_of(j, "samples", NULL);
	cr->history.passes = (size_t)num_of(j, "passes", NULL);
	cr->history.fails = (size_t)num_of(j, "fails", NULL);
	cr->history.errors = (size_t)num_of(j, "errors", NULL);
	cr->history.retried_passes = (size_t)num_of(j, "passed_after_retry", NULL);
	const cJSON *last = ac_json_get(j, "last");
	if (cJSON_IsObject(last)) {
		read_sample(last, &cr->last);
		cr->has_last = true;
	}
	const cJSON *bad = ac_json_get(j, "last_failure");
	if (cJSON_IsObject(bad)) {
		read_sample(bad, &cr->last_bad);
		cr->has_last_bad = true;
	}
	return 0;
}

/* Read and check one report; a problem (one line) on failure. */
static char *report_load(struct report *rp, const char *path)
{
	memset(rp, 0, sizeof(*rp));
	rp->path = path;
	struct ac_buf b;
	struct ac_error err = {0};
	if (ac_read_file(path, REPORT_MAX_BYTES, &b, &err) < 0)
		return ac_asprintf("report %s cannot be read: %s", path, err.msg);
	rp->root = ac_json_parse_strict(b.buf, b.len, path, AC_JSON_MAX_DEPTH, &err);
	ac_buf_release(&b);
	if (!rp->root) {
		/* The first line of the parser's message: "FILE:LINE:COL: ...". */
		char *nl = strchr(err.msg, '\n');
		if (nl)
			*nl = '\0';
		return ac_asprintf("report %s is not valid JSON (%s)", path, err.msg);
	}
	const cJSON *ver = ac_json_get(rp->root, "version");
	const cJSON *sc = ac_json_get(rp->root, "scenario");
	const cJSON *checks = ac_json_get(rp->root, "checks");
	rp->hash = str_of(sc, "hash");
	rp->run_id = str_of(rp->root, "run_id");
	rp->agent = str_of(rp->root, "agent");
	const char *why = NULL;
	if (!cJSON_IsNumber(ver) || ver->valuedouble != AC_RESULT_SCHEMA_VERSION)
		why = "no \"version\": 1";
	else if (!cJSON_IsObject(sc) || !rp->hash || !*rp->hash)
		why = "no \"scenario\".\"hash\"";
	else if (!rp->run_id || !*rp->run_id)
		why = "no \"run_id\"";
	else if (!rp->agent || !*rp->agent)
		why = "no \"agent\"";
	else if (!cJSON_IsArray(checks))
		why = "no \"checks\" list";
	else if (!cJSON_IsString(ac_json_get(rp->root, "verdict")))
		why = "no \"verdict\"";
	const cJSON *shard = ac_json_get(rp->root, "shard");
	rp->index = rp->count = 1;
	if (!why && cJSON_IsString(shard)) {
		if (ac_shard_parse(shard->valuestring, &rp->index, &rp->count) < 0)
			why = "a \"shard\" that is not I/N";
	} else if (!why && !cJSON_IsNull(shard)) {
		why = "no \"shard\" (\"I/N\" or null)";
	}
	if (why)
		return ac_asprintf("report %s is not an allclear JSON report of the schema: %s",
				   path, why);
	return NULL;
}

static int cmp_report(const void *a, const void *b)
{
	const struct report *x = a, *y = b;
	int c = strcmp(x->agent, y->agent);
	return c ? c : x->index - y->index;
}

/* Agents' shard sets: every shard 1..N once. Problems appended to pb. */
static void check_sets(struct report *rs, size_t n, struct ac_buf *pb, size_t *nproblems)
{
	for (size_t i = 0; i < n;) {
		size_t e = i;
		while (e < n && strcmp(rs[e].agent, rs[i].agent) == 0)
			e++;
		int count = rs[i].count;
		bool mixed = false;
		for (size_t k = i; k < e; k++)
			mixed = mixed || rs[k].count != count;
		if (mixed) {
			ac_buf_addf(pb, "%sagent %s: reports of different shard counts",
				    pb->len ? "; " : "", rs[i].agent);
			(*nproblems)++;
		} else {
			int want = 1;
			for (size_t k = i; k < e; k++) {
				if (rs[k].index < want) {
					ac_buf_addf(
					    pb,
					    "%sagent %s: shard %d/%d given twice (runs %s and %s)",
					    pb->len ? "; " : "", rs[k].agent, rs[k].index, count,
					    rs[k - 1].run_id, rs[k].run_id);
					(*nproblems)++;
					continue;
				}
				for (; want < rs[k].index; want++) {
					ac_buf_addf(pb, "%sagent %s: shard %d/%d is missing",
						    pb->len ? "; " : "", rs[k].agent, want, count);
					(*nproblems)++;
				}
				want = rs[k].index + 1;
			}
			for (; want <= count; want++) {
				ac_buf_addf(pb, "%sagent %s: shard %d/%d is missing",
					    pb->len ? "; " : "", rs[i].agent, want, count);
				(*nproblems)++;
			}
		}
		i = e;
	}
}

/* The id a check had in its own report: "checkout @ edge-eu". */
static size_t base_len(const struct ac_check_result *cr)
{
	size_t n = strlen(cr->id);
	if (cr->agent)
		n -= strlen(cr->agent) + 3;
	return n;
}

static bool same_check(const struct ac_check_result *a, const struct ac_check_result *b)
{
	size_t n = base_len(a);
	return n == base_len(b) && strncmp(a->id, b->id, n) == 0;
}

/* "agree" across agents: one check's observations in every agent have to
 * match, as a fleet's across targets: a row that is not in a strict
 * majority fails, naming the agent it disagrees with. */
static void judge_agents(struct ac_result *r)
{
	for (size_t i = 0; i < r->nchecks; i++) {
		struct ac_check_result *a = &r->checks[i];
		if (!a->agent || !a->agree || a->state != AC_STATE_PASS || !a->has_last ||
		    !a->last.observed)
			continue;
		size_t same = 0, differ = 0;
		const struct ac_check_result *other = NULL;
		for (size_t j = 0; j < r->nchecks; j++) {
			const struct ac_check_result *b = &r->checks[j];
			if (j == i || !b->agent || !same_check(a, b) || !b->has_last ||
			    !b->last.observed)
				continue;
			if (strcmp(a->last.observed, b->last.observed) == 0) {
				same++;
			} else {
				differ++;
				if (!other)
					other = b;
			}
		}
		if (!differ || same + 1 > differ)
			continue;
		const char *what = a->target.name ? a->target.name : a->name ? a->name : "?";
		a->state = AC_STATE_FAIL;
		free(a->reason);
		a->reason =
		    ac_asprintf("%s in agent %s disagrees with agent %s: %s says \"%s\", %s "
				"says \"%s\"",
				what, a->agent, other->agent, a->agent, a->last.observed,
				other->agent, other->last.observed);
	}
}

/* The release map of the reports: parts by name, their checks joined. */
static void merge_release(struct ac_result *r, const cJSON *rel, const char *agent)
{
	if (!cJSON_IsObject(rel))
		return;
	if (!r->release_version)
		r->release_version = dup_of(rel, "version");
	if (!r->release_description)
		r->release_description = dup_of(rel, "description");
	const cJSON *pj;
	cJSON_ArrayForEach(pj, ac_json_get(rel, "parts"))
	{
		const char *name = str_of(pj, "name");
		if (!name)
			continue;
		struct ac_result_part *p = NULL;
		for (size_t i = 0; i < r->nparts && !p; i++)
			if (strcmp(r->parts[i].name, name) == 0)
				p = &r->parts[i];
		if (!p) {
			r->parts = ac_realloc(r->parts, (r->nparts + 1) * sizeof(*r->parts));
			p = &r->parts[r->nparts++];
			memset(p, 0, sizeof(*p));
			p->name = ac_strdup(name);
			p->area = dup_of(pj, "area");
			p->changed = dup_of(pj, "changed");
			p->owner = dup_of(pj, "owner");
			p->backup = dup_of(pj, "backup");
			p->restart = dup_of(pj, "restart");
			size_t n = (size_t)cJSON_GetArraySize(ac_json_get(pj, "undo"));
			p->undo = ac_calloc(n + 1, sizeof(char *));
			const cJSON *u;
			cJSON_ArrayForEach(u, ac_json_get(pj, "undo"))
			{
				if (cJSON_IsString(u))
					p->undo[p->nundo++] = ac_strdup(u->valuestring);
			}
			n = (size_t)cJSON_GetArraySize(ac_json_get(pj, "after"));
			p->before = ac_calloc(n + 1, sizeof(char *));
			cJSON_ArrayForEach(u, ac_json_get(pj, "after"))
			{
				if (cJSON_IsString(u))
					p->before[p->nbefore++] = ac_strdup(u->valuestring);
			}
		}
		const cJSON *c;
		cJSON_ArrayForEach(c, ac_json_get(pj, "checks"))
		{
			if (!cJSON_IsString(c))
				continue;
			char *id = agent ? ac_asprintf("%s [%s]", c->valuestring, agent)
					 : ac_strdup(c->valuestring);
			for (size_t k = 0; k < r->nchecks; k++)
				if (strcmp(r->checks[k].id, id) == 0) {
					p->checks = ac_realloc(p->checks, (p->nchecks + 1) *
									      sizeof(*p->checks));
					p->checks[p->nchecks++] = k;
					break;
				}
			free(id);
		}
	}
}

struct ac_result *ac_merge_reports(const char *const *paths, size_t n, struct ac_error *err)
{
	struct report *rs = ac_calloc(n + 1, sizeof(*rs));
	struct ac_buf problems;
	ac_buf_init(&problems, 64 * 1024);
	size_t nproblems = 0, nok = 0;
	struct ac_result *r = NULL;
	for (size_t i = 0; i < n; i++) {
		struct report rp;
		char *why = report_load(&rp, paths[i]);
		if (why) {
			ac_buf_addf(&problems, "%s%s", problems.len ? "; " : "", why);
			nproblems++;
			free(why);
			cJSON_Delete(rp.root);
			continue;
		}
		if (nok && strcmp(rs[0].hash, rp.hash) != 0) {
			ac_error_set(
			    err,
			    "%s and %s are reports of different scenarios (fingerprints %s "
			    "and %s); merge the reports of one scenario file",
			    rs[0].path, rp.path, rs[0].hash, rp.hash);
			cJSON_Delete(rp.root);
			goto out;
		}
		rs[nok++] = rp;
	}
	qsort(rs, nok, sizeof(*rs), cmp_report);
	size_t before = nproblems;
	check_sets(rs, nok, &problems, &nproblems);
	bool agents = nok > 1 && strcmp(rs[0].agent, rs[nok - 1].agent) != 0;
	if (agents && nproblems > before)
		ac_buf_adds(&problems, " (the shards of one set need one --agent: the default is "
				       "the host name, which differs from pod to pod)");

	r = ac_calloc(1, sizeof(*r));
	r->schema_version = AC_RESULT_SCHEMA_VERSION;
	r->mode = ac_strdup("check");
	r->merged_from = ac_calloc(nok + 1, sizeof(char *));
	char idbuf[17];
	ac_run_id(idbuf);
	r->run_id = ac_strdup(idbuf);
	r->agent = agents || !nok ? NULL : ac_strdup(rs[0].agent);
	int rounds = -1, confirm = 0;
	bool interrupted = false;
	for (size_t i = 0; i < nok; i++) {
		const cJSON *root = rs[i].root;
		const cJSON *sc = ac_json_get(root, "scenario");
		if (!r->scenario_path) {
			r->scenario_path = dup_of(sc, "path");
			r->scenario_name = dup_of(sc, "name");
			r->scenario_hash = ac_strdup(rs[i].hash);
			free(r->mode);
			r->mode = ac_strdup(str_of(root, "mode") ? str_of(root, "mode") : "check");
		}
		r->merged_from[r->nmerged_from++] =
		    ac_asprintf("%s: agent %s, shard %d/%d, run %s", rs[i].path, rs[i].agent,
				rs[i].index, rs[i].count, rs[i].run_id);
		int64_t st = time_of(root, "started_at"), en = time_of(root, "ended_at");
		if (st && (!r->started_wall_ms || st < r->started_wall_ms))
			r->started_wall_ms = st;
		if (en > r->ended_wall_ms)
			r->ended_wall_ms = en;
		int rd = (int)num_of(root, "rounds", NULL);
		const cJSON *checks = ac_json_get(root, "checks");
		/* A shard with no checks ran none: its rounds say nothing. */
		if (cJSON_GetArraySize(checks) > 0 && (rounds < 0 || rd < rounds))
			rounds = rd;
		int cf = (int)num_of(root, "confirm", NULL);
		if (cf > confirm)
			confirm = cf;
		r->slow_rounds += (int)num_of(root, "slow_rounds", NULL);
		interrupted = interrupted || bool_of(root, "interrupted");
		r->stopped_early = r->stopped_early || bool_of(root, "stopped_early");
		r->insecure_tls = r->insecure_tls || bool_of(root, "insecure_tls");
		size_t nc = (size_t)cJSON_GetArraySize(checks);
		r->checks = ac_realloc(r->checks, (r->nchecks + nc + 1) * sizeof(*r->checks));
		const cJSON *cj;
		cJSON_ArrayForEach(cj, checks)
		{
			struct ac_check_result *cr = &r->checks[r->nchecks];
			memset(cr, 0, sizeof(*cr));
			if (read_check(cj, cr, agents ? rs[i].agent : NULL) < 0) {
				ac_check_result_release(cr);
				ac_buf_addf(&problems,
					    "%sreport %s is not an allclear JSON report of the "
					    "schema: a check without an id or a known state",
					    problems.len ? "; " : "", rs[i].path);
				nproblems++;
				break;
			}
			r->nchecks++;
		}
		merge_release(r, ac_json_get(root, "release"), agents ? rs[i].agent : NULL);
	}
	r->rounds = rounds < 0 ? 0 : rounds;
	r->confirm = confirm;
	r->interrupted = interrupted;
	judge_agents(r);
	struct ac_judge_opts o = {
	    .confirm = confirm,
	    .rounds = r->rounds,
	    .interrupted = interrupted,
	    .final = true,
	};
	ac_judge_overall(r, &o);
	if (nproblems) {
		/* Fail closed: what was not reported may be what is broken. */
		size_t fails = 0;
		for (size_t i = 0; i < r->nchecks; i++)
			fails += r->checks[i].state == AC_STATE_FAIL;
		char *old = r->verdict_reason;
		r->verdict = AC_INCONCLUSIVE;
		r->verdict_reason =
		    ac_asprintf("the reports are not a complete set: %s; of the %zu checks "
				"reported, %zu failed",
				problems.buf, r->nchecks, fails);
		free(old);
	}
out:
	for (size_t i = 0; i < nok; i++)
		cJSON_Delete(rs[i].root);
	free(rs);
	ac_buf_release(&problems);
	return r;
}
