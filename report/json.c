/*
 * json.c: the machine-readable report (schema in README.md, "version").
 *
 * The writer doubles as the test oracle: everything a person sees in the
 * terminal report is here too.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>

#include "report.h"
#include "result.h"
#include "util.h"

static void add_str(cJSON *o, const char *k, const char *v)
{
	if (!v) {
		cJSON_AddNullToObject(o, k);
		return;
	}
	/* JSON text is UTF-8: a byte that is not becomes "\xNN" (cJSON escapes
	 * the controls). */
	char *u = ac_text_utf8(v);
	cJSON_AddStringToObject(o, k, u);
	free(u);
}

static void add_num(cJSON *o, const char *k, double v, bool has)
{
	if (has && isfinite(v))
		cJSON_AddNumberToObject(o, k, v);
	else
		cJSON_AddNullToObject(o, k);
}

static void add_time(cJSON *o, const char *k, int64_t wall_ms)
{
	if (!wall_ms) {
		cJSON_AddNullToObject(o, k);
		return;
	}
	char ts[32];
	ac_format_utc(ts, sizeof(ts), wall_ms);
	cJSON_AddStringToObject(o, k, ts);
}

static cJSON *sample_json(const struct ac_sample *s)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "round", s->round);
	add_time(o, "at", s->wall_ms);
	cJSON_AddStringToObject(o, "state", ac_state_name(s->state));
	add_str(o, "reason", s->reason);
	add_num(o, "value", s->value, s->has_value);
	add_str(o, "observed", s->observed);
	cJSON_AddNumberToObject(o, "duration_ms", (double)s->duration_ms);
	cJSON_AddBoolToObject(o, "passed_after_retry", s->retried);
	add_str(o, "evidence", s->evidence);
	cJSON *steps = cJSON_AddArrayToObject(o, "steps");
	for (size_t i = 0; i < s->nsteps; i++) {
		const struct ac_step_result *st = &s->steps[i];
		cJSON *j = cJSON_CreateObject();
		add_str(j, "name", st->name);
		add_str(j, "method", st->method);
		add_str(j, "url", st->url);
		cJSON_AddStringToObject(j, "state", ac_state_name(st->state));
		add_num(j, "status", (double)st->status, st->status != 0);
		cJSON_AddNumberToObject(j, "duration_ms", (double)st->duration_ms);
		cJSON_AddNumberToObject(j, "tries", st->tries);
		cJSON_AddNumberToObject(j, "waited_ms", (double)st->waited_ms);
		cJSON_AddBoolToObject(j, "cleanup", st->cleanup);
		cJSON_AddBoolToObject(j, "write", st->write);
		add_str(j, "reason", st->reason);
		add_str(j, "served_by", st->served_by);
		add_str(j, "excerpt", st->excerpt);
		cJSON *as = cJSON_AddArrayToObject(j, "assertions");
		for (size_t k = 0; k < st->nasserts; k++) {
			cJSON *a = cJSON_CreateObject();
			add_str(a, "what", st->asserts[k].what);
			add_str(a, "expected", st->asserts[k].expected);
			add_str(a, "actual", st->asserts[k].actual);
			cJSON_AddBoolToObject(a, "ok", st->asserts[k].ok);
			cJSON_AddItemToArray(as, a);
		}
		cJSON_AddItemToArray(steps, j);
	}
	cJSON *figs = cJSON_AddArrayToObject(o, "figures");
	for (size_t i = 0; i < s->nfigures; i++) {
		cJSON *f = cJSON_CreateObject();
		add_str(f, "name", s->figures[i].name);
		add_num(f, "value", s->figures[i].value, s->figures[i].has_value);
		add_str(f, "unavailable", s->figures[i].note);
		cJSON_AddItemToArray(figs, f);
	}
	return o;
}

/* A string item of a list, UTF-8 like add_str. */
static void push_str(cJSON *arr, const char *v)
{
	char *u = ac_text_utf8(v ? v : "");
	cJSON_AddItemToArray(arr, cJSON_CreateString(u));
	free(u);
}

/* The release map with each part's status, in the map's order: the same
 * "Next steps" the terminal and Markdown reports print. null without one. */
static void add_release(cJSON *root, const struct ac_result *r)
{
	if (!r->nparts) {
		cJSON_AddNullToObject(root, "release");
		return;
	}
	cJSON *rel = cJSON_AddObjectToObject(root, "release");
	add_str(rel, "version", r->release_version);
	add_str(rel, "description", r->release_description);
	cJSON *parts = cJSON_AddArrayToObject(rel, "parts");
	for (size_t i = 0; i < r->nparts; i++) {
		const struct ac_result_part *p = &r->parts[i];
		int64_t green = 0;
		enum ac_part_status st = ac_report_part_status(r, p, &green);
		cJSON *j = cJSON_CreateObject();
		cJSON_AddNumberToObject(j, "step", (double)(i + 1));
		add_str(j, "name", p->name);
		add_str(j, "area", p->area);
		cJSON_AddStringToObject(j, "status", ac_report_part_status_name(st));
		add_time(j, "green_since", green);
		add_str(j, "changed", p->changed);
		cJSON *undo = cJSON_AddArrayToObject(j, "undo");
		for (size_t k = 0; k < p->nundo; k++) {
			push_str(undo, p->undo[k]);
		}
		add_str(j, "owner", p->owner);
		add_str(j, "backup", p->backup);
		add_str(j, "restart", p->restart);
		cJSON *before = cJSON_AddArrayToObject(j, "after");
		for (size_t k = 0; k < p->nbefore; k++) {
			push_str(before, p->before[k]);
		}
		cJSON *checks = cJSON_AddArrayToObject(j, "checks");
		cJSON *evidence = cJSON_AddArrayToObject(j, "evidence");
		for (size_t k = 0; k < p->nchecks; k++) {
			if (p->checks[k] >= r->nchecks)
				continue;
			const struct ac_check_result *cr = &r->checks[p->checks[k]];
			push_str(checks, cr->id);
			if (cr->state == AC_STATE_PASS)
				continue;
			cJSON *e = cJSON_CreateObject();
			add_str(e, "check", cr->id);
			cJSON_AddStringToObject(e, "state", ac_state_name(cr->state));
			add_str(e, "reason", cr->reason);
			cJSON_AddItemToArray(evidence, e);
		}
		cJSON_AddItemToArray(parts, j);
	}
}

/* How the check's value moved and when it drains, or null. */
static cJSON *rate_json(const struct ac_rate_view *v)
{
	if (!v->text[0])
		return cJSON_CreateNull();
	cJSON *o = cJSON_CreateObject();
	add_num(o, "per_s", v->per_s, v->has_rate);
	add_str(o, "unit", v->unit[0] ? v->unit : NULL);
	cJSON_AddBoolToObject(o, "flat", v->has_rate && v->flat);
	cJSON_AddNumberToObject(o, "points", (double)v->points);
	add_num(o, "span_s", v->span_s, v->has_rate);
	add_num(o, "target", v->target, v->has_target);
	add_str(o, "target_name", v->target_name[0] ? v->target_name : NULL);
	add_num(o, "eta_s", v->eta_s, v->has_eta);
	add_num(o, "restore_eta_s", v->restore_eta_s, v->has_restore_eta);
	add_str(o, "text", v->text);
	return o;
}

/* "strength": {"runs": 60, "bad": 0, "share_seen_95": 0.049, ...} for a
 * sampled journey; null for other checks. */
static void add_strength(cJSON *j, const struct ac_check_result *cr)
{
	const struct ac_strength *st = &cr->strength;
	if (st->samples < 1 || !st->stated) {
		cJSON_AddNullToObject(j, "strength");
		return;
	}
	cJSON *o = cJSON_AddObjectToObject(j, "strength");
	cJSON_AddNumberToObject(o, "samples_per_round", st->samples);
	if (st->detect_share > 0) {
		cJSON_AddNumberToObject(o, "detect_share", st->detect_share);
		cJSON_AddNumberToObject(o, "runs_needed", st->needed);
	}
	add_str(o, "sizing", st->sizing);
	cJSON_AddNumberToObject(o, "runs", st->runs);
	cJSON_AddNumberToObject(o, "bad", st->bad);
	cJSON_AddNumberToObject(o, "counted", st->counted);
	cJSON_AddNumberToObject(o, "short_rounds", st->short_rounds);
	cJSON_AddNumberToObject(o, "observed_share", st->observed_share);
	cJSON_AddNumberToObject(o, "share_seen_95", st->share_seen_95);
	add_str(o, "text", st->text);
}

static int json_write(FILE *out, const struct ac_result *r, const struct ac_report_opts *o)
{
	(void)o;
	cJSON *root = cJSON_CreateObject();
	cJSON_AddNumberToObject(root, "version", r->schema_version);
	cJSON_AddStringToObject(root, "allclear", AC_VERSION);
	cJSON *sc = cJSON_AddObjectToObject(root, "scenario");
	add_str(sc, "path", r->scenario_path);
	add_str(sc, "name", r->scenario_name);
	add_str(sc, "hash", r->scenario_hash);
	add_str(root, "run_id", r->run_id);
	add_str(root, "shard", r->shard);
	add_str(root, "agent", r->agent);
	if (r->nmerged_from) {
		cJSON *mf = cJSON_AddArrayToObject(root, "merged_from");
		for (size_t i = 0; i < r->nmerged_from; i++)
			push_str(mf, r->merged_from[i]);
	}
	add_str(root, "mode", r->mode);
	cJSON_AddStringToObject(root, "verdict", ac_verdict_name(r->verdict));
	cJSON_AddNumberToObject(root, "exit_code", ac_verdict_exit_code(r->verdict));
	add_str(root, "reason", r->verdict_reason);
	add_time(root, "started_at", r->started_wall_ms);
	add_time(root, "ended_at", r->ended_wall_ms);
	cJSON_AddNumberToObject(root, "rounds", r->rounds);
	cJSON_AddNumberToObject(root, "slow_rounds", r->slow_rounds);
	cJSON_AddNumberToObject(root, "confirm", r->confirm);
	cJSON_AddBoolToObject(root, "interrupted", r->interrupted);
	cJSON_AddBoolToObject(root, "stopped_early", r->stopped_early);
	cJSON_AddBoolToObject(root, "insecure_tls", r->insecure_tls);
	cJSON *nt = cJSON_AddObjectToObject(root, "notifications");
	cJSON_AddNumberToObject(nt, "sent", (double)r->notify_sent);
	cJSON_AddNumberToObject(nt, "failed", (double)r->notify_failed);
	add_str(nt, "error", r->notify_error);
	if (r->restore_text[0]) {
		cJSON *re = cJSON_AddObjectToObject(root, "restore_estimate");
		add_num(re, "eta_s", r->restore_eta_s, r->has_restore_eta);
		add_str(re, "text", r->restore_text);
	} else {
		cJSON_AddNullToObject(root, "restore_estimate");
	}
	cJSON *counts = cJSON_AddObjectToObject(root, "counts");
	size_t n[4] = {0};
	for (size_t i = 0; i < r->nchecks; i++)
		n[r->checks[i].state]++;
	cJSON_AddNumberToObject(counts, "pass", (double)n[AC_STATE_PASS]);
	cJSON_AddNumberToObject(counts, "fail", (double)n[AC_STATE_FAIL]);
	cJSON_AddNumberToObject(counts, "error", (double)(n[AC_STATE_ERROR] + n[AC_STATE_PENDING]));
	cJSON *personas = cJSON_AddArrayToObject(root, "personas");
	size_t np;
	struct ac_persona_stat *ps = ac_report_persona_stats(r, &np);
	for (size_t i = 0; i < np; i++) {
		cJSON *p = cJSON_CreateObject();
		add_str(p, "persona", ps[i].persona);
		cJSON_AddNumberToObject(p, "runs", (double)ps[i].runs);
		cJSON_AddNumberToObject(p, "failed", (double)ps[i].failed);
		cJSON_AddNumberToObject(p, "unmeasured", (double)ps[i].unmeasured);
		add_num(p, "error_rate", ps[i].runs ? (double)ps[i].failed / (double)ps[i].runs : 0,
			ps[i].runs > 0);
		cJSON_AddItemToArray(personas, p);
	}
	free(ps);
	cJSON *areas = cJSON_AddArrayToObject(root, "areas");
	int nareas = ac_report_area_count(r);
	for (int a = 0; a < nareas; a++) {
		enum ac_state worst = AC_STATE_PASS;
		const char *name = NULL;
		cJSON *ids = cJSON_CreateArray();
		for (size_t i = 0; i < r->nchecks; i++) {
			if (r->checks[i].area_order != a)
				continue;
			worst = ac_state_worse(worst, r->checks[i].state);
			name = ac_report_area_name(&r->checks[i]);
			cJSON *id = cJSON_CreateObject();
			add_str(id, "id", r->checks[i].id);
			cJSON_AddItemToArray(ids, cJSON_DetachItemFromObject(id, "id"));
			cJSON_Delete(id);
		}
		if (cJSON_GetArraySize(ids) == 0) {
			cJSON_Delete(ids);
			continue;
		}
		cJSON *ao = cJSON_CreateObject();
		add_str(ao, "area", name);
		cJSON_AddStringToObject(ao, "state", ac_state_name(worst));
		cJSON_AddItemToObject(ao, "checks", ids);
		cJSON_AddItemToArray(areas, ao);
	}
	add_release(root, r);
	cJSON *checks = cJSON_AddArrayToObject(root, "checks");
	for (size_t i = 0; i < r->nchecks; i++) {
		const struct ac_check_result *cr = &r->checks[i];
		cJSON *j = cJSON_CreateObject();
		add_str(j, "id", cr->id);
		add_str(j, "name", cr->name);
		add_str(j, "kind", cr->kind);
		add_str(j, "area", ac_report_area_name(cr));
		add_str(j, "owner", cr->owner);
		add_str(j, "description", cr->description);
		cJSON_AddBoolToObject(j, "critical", cr->critical);
		add_str(j, "target", cr->target.name);
		add_str(j, "persona", cr->persona);
		cJSON_AddBoolToObject(j, "agree", cr->agree);
		add_str(j, "agree_group", cr->agree_group);
		if (cr->agent)
			add_str(j, "agent", cr->agent);
		cJSON_AddStringToObject(j, "state", ac_state_name(cr->state));
		add_str(j, "reason", cr->reason);
		add_str(j, "note", cr->note);
		add_str(j, "part", cr->part);
		add_strength(j, cr);
		cJSON_AddNumberToObject(j, "samples", (double)cr->history.total);
		cJSON_AddNumberToObject(j, "passes", (double)cr->history.passes);
		cJSON_AddNumberToObject(j, "fails", (double)cr->history.fails);
		cJSON_AddNumberToObject(j, "errors", (double)cr->history.errors);
		cJSON_AddNumberToObject(j, "passed_after_retry",
					(double)cr->history.retried_passes);
		cJSON_AddNumberToObject(j, "flaps", cr->flaps);
		add_time(j, "green_since", cr->green_since_wall);
		add_time(j, "recovered_at", cr->recovered_at_wall);
		cJSON_AddItemToObject(j, "rate", rate_json(&cr->rate));
		if (cr->has_last)
			cJSON_AddItemToObject(j, "last", sample_json(&cr->last));
		else
			cJSON_AddNullToObject(j, "last");
		if (cr->has_last_bad)
			cJSON_AddItemToObject(j, "last_failure", sample_json(&cr->last_bad));
		else
			cJSON_AddNullToObject(j, "last_failure");
		cJSON *hist = cJSON_AddArrayToObject(j, "history");
		for (size_t k = 0; k < cr->history.len; k++) {
			const struct ac_point *p = ac_history_at(&cr->history, k);
			cJSON *h = cJSON_CreateObject();
			cJSON_AddNumberToObject(h, "round", p->round);
			cJSON_AddStringToObject(h, "state", ac_state_name((enum ac_state)p->state));
			add_num(h, "value", p->value, p->has_value);
			if (p->runs > 1) {
				/* A sampled round: its runs, and how many failed. */
				cJSON_AddNumberToObject(h, "runs", p->runs);
				cJSON_AddNumberToObject(h, "runs_measured", p->measured);
				cJSON_AddNumberToObject(h, "runs_failed", p->bad);
			}
			cJSON_AddItemToArray(hist, h);
		}
		cJSON_AddItemToArray(checks, j);
	}
	char *text = cJSON_Print(root);
	cJSON_Delete(root);
	if (!text)
		return -1;
	int rc = fputs(text, out) < 0 || fputc('\n', out) == EOF ? -1 : 0;
	cJSON_free(text);
	return rc;
}

const struct ac_writer ac_writer_json = {
    .name = "json",
    .summary = "the full result, machine-readable (schema version 1)",
    .write = json_write,
};
