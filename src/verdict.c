/*
 * verdict.c: folding samples into check states and the overall verdict.
 *
 * Everything here fails closed: no samples, too few samples, a trend with
 * too few points, an interrupted run: never RESTORED.
 */
#include "verdict.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"
#include "rates.h"
#include "util.h"

void ac_judge_record(struct ac_check_result *cr, struct ac_sample *s)
{
	const struct ac_point *prev =
	    cr->history.len ? ac_history_at(&cr->history, cr->history.len - 1) : NULL;
	struct ac_point p = {
	    .t_ms = s->t_ms,
	    .wall_ms = s->wall_ms,
	    .round = s->round,
	    .value = s->value,
	    .has_value = s->has_value && isfinite(s->value),
	    .state = (unsigned char)s->state,
	    .retried = s->state == AC_STATE_PASS && s->retried,
	    .runs = (unsigned short)(s->runs > 0 ? s->runs : 0),
	    .measured = (unsigned short)(s->runs_measured > 0 ? s->runs_measured : 0),
	    .bad = (unsigned short)(s->runs_bad > 0 ? s->runs_bad : 0),
	};
	ac_history_add(&cr->history, &p);
	if (s->state == AC_STATE_PASS) {
		if (s->retried)
			cr->history.retried_passes++;
		if (cr->consecutive_passes == 0) {
			cr->green_since_wall = s->wall_ms;
			if (prev && prev->state != AC_STATE_PASS)
				cr->recovered_at_wall = s->wall_ms;
		}
		cr->consecutive_passes++;
	} else {
		if (prev && prev->state == AC_STATE_PASS)
			cr->flaps++;
		cr->consecutive_passes = 0;
		cr->green_since_wall = 0;
		ac_sample_release(&cr->last_bad);
		ac_sample_copy(&cr->last_bad, s);
		cr->has_last_bad = true;
	}
	ac_sample_release(&cr->last);
	cr->last = *s;
	cr->has_last = true;
	memset(s, 0, sizeof(*s));
}

/*
 * What each trend means, judged over the last `span` points that carry a
 * value (the run passes span = confirm, at least 2, in every round and at
 * the end alike: the final verdict weighs the same evidence as the last
 * round did, so --until-restored stops exactly when the final verdict
 * would say RESTORED):
 *
 *   not_increasing  the damage stopped spreading: no step of the last
 *                   confirm rounds goes up.
 *   draining        the backlog is going away: every step of the last
 *                   confirm rounds goes down or stays at/below the floor,
 *                   and the last value is at/below the floor.
 *   increasing      work keeps coming in ("orders keep coming in"): the
 *                   value rose within the last confirm rounds; a flat
 *                   tail is not increasing, whatever happened before it.
 *   max_growth_per_minute
 *                   the value grew at most this much per minute over the
 *                   last confirm rounds: a late jump is not averaged away
 *                   over a long window.
 */
enum ac_state ac_judge_trend(const struct ac_history *h, const struct ac_trend *t, int span,
			     char **why)
{
	*why = NULL;
	if (span < 2)
		span = 2;
	/* The trailing points that carry a value, oldest first. */
	const struct ac_point *pts[AC_HISTORY_MAX];
	size_t n = 0;
	for (size_t i = h->len; i > 0 && n < (size_t)span; i--) {
		const struct ac_point *p = ac_history_at(h, i - 1);
		if (p->has_value)
			pts[n++] = p;
	}
	if (n < 2) {
		*why = ac_asprintf("trend needs at least 2 values, has %zu", n);
		return AC_STATE_ERROR;
	}
	for (size_t i = 0; i < n / 2; i++) {
		const struct ac_point *tmp = pts[i];
		pts[i] = pts[n - 1 - i];
		pts[n - 1 - i] = tmp;
	}
	const struct ac_point *first = pts[0], *last = pts[n - 1];
	switch (t->kind) {
	case AC_TREND_NONE:
		break;
	case AC_TREND_NOT_INCREASING:
	case AC_TREND_DRAINING:
		for (size_t i = 1; i < n; i++) {
			if (pts[i]->value <= pts[i - 1]->value)
				continue;
			/* Draining: ups and downs at/below the floor are drained. */
			if (t->kind == AC_TREND_DRAINING && pts[i]->value <= t->floor)
				continue;
			*why = ac_asprintf("still growing: %.15g -> %.15g (rounds %d-%d)",
					   pts[i - 1]->value, pts[i]->value, pts[i - 1]->round,
					   pts[i]->round);
			return AC_STATE_FAIL;
		}
		if (t->kind == AC_TREND_DRAINING && !(last->value <= t->floor)) {
			*why =
			    ac_asprintf("not drained: %.15g, floor %.15g", last->value, t->floor);
			return AC_STATE_FAIL;
		}
		break;
	case AC_TREND_INCREASING:
		if (!(last->value > first->value)) {
			*why = ac_asprintf("not increasing: %.15g -> %.15g (rounds %d-%d)",
					   first->value, last->value, first->round, last->round);
			return AC_STATE_FAIL;
		}
		break;
	}
	if (t->has_max_per_min) {
		double minutes = (double)(last->t_ms - first->t_ms) / 60000.0;
		if (!(minutes > 0)) {
			*why = ac_strdup("growth rate needs samples at different times");
			return AC_STATE_ERROR;
		}
		double rate = (last->value - first->value) / minutes;
		if (!(rate <= t->max_per_min)) {
			*why = ac_asprintf("growing %.3g per minute, at most %.15g allowed (rounds "
					   "%d-%d)",
					   rate, t->max_per_min, first->round, last->round);
			return AC_STATE_FAIL;
		}
	}
	return AC_STATE_PASS;
}

/* The rate of a check with a value and a trend, or a limit on its value
 * (a queue's max_depth): what it drains towards and how soon. */
static void judge_rate(struct ac_check_result *cr, int confirm)
{
	const struct ac_check *c = cr->check;
	const struct ac_sample *last = cr->has_last ? &cr->last : NULL;
	bool limit = last && last->has_limit && isfinite(last->limit);
	if (!c || (c->trend.kind == AC_TREND_NONE && !c->trend.has_max_per_min && !limit)) {
		memset(&cr->rate, 0, sizeof(cr->rate));
		return;
	}
	struct ac_rate_spec spec = {
	    .unit = c->kind ? c->kind->unit : NULL,
	    .value_name = last ? last->value_name : NULL,
	    .draining = c->trend.kind == AC_TREND_DRAINING,
	    .spreading = c->trend.kind == AC_TREND_NOT_INCREASING || c->trend.has_max_per_min,
	    .confirm = confirm,
	};
	if (spec.draining) {
		spec.has_target = true;
		spec.target = c->trend.floor;
	}
	if (limit && (!spec.has_target || last->limit < spec.target)) {
		spec.has_target = true;
		spec.target = last->limit;
		spec.target_is_limit = true;
	}
	ac_rate_describe(&cr->history, &spec, &cr->rate);
}

static void set_state(struct ac_check_result *cr, enum ac_state st, char *reason)
{
	cr->state = st;
	free(cr->reason);
	cr->reason = reason;
}

void ac_judge_check(struct ac_check_result *cr, const struct ac_judge_opts *o)
{
	const struct ac_history *h = &cr->history;
	const struct ac_check *c = cr->check;
	int confirm = o->confirm > 0 ? o->confirm : 1;

	free(cr->note);
	cr->note = NULL;
	judge_rate(cr, confirm);
	if (h->total == 0 || !cr->has_last) {
		set_state(cr, o->final ? AC_STATE_ERROR : AC_STATE_PENDING,
			  ac_strdup("no samples: the check never completed"));
		return;
	}
	/* The worst state among the last `confirm` rounds decides first. */
	enum ac_state worst = AC_STATE_PASS;
	const struct ac_point *worst_pt = NULL;
	for (size_t i = 0; i < (size_t)confirm && i < h->len; i++) {
		const struct ac_point *p = ac_history_at(h, h->len - 1 - i);
		enum ac_state w = ac_state_worse(worst, (enum ac_state)p->state);
		if (w != worst || !worst_pt) {
			worst = w;
			worst_pt = p;
		}
	}
	if (worst != AC_STATE_PASS) {
		const struct ac_sample *bad = cr->has_last_bad ? &cr->last_bad : &cr->last;
		const char *why = bad->reason ? bad->reason : ac_state_name(worst);
		if (cr->last.state == AC_STATE_PASS)
			set_state(cr, worst,
				  ac_asprintf(
				      "%s (round %d; passing again since round %d, %d of %d "
				      "green rounds needed)",
				      why, bad->round, cr->last.round - cr->consecutive_passes + 1,
				      cr->consecutive_passes, confirm));
		else
			set_state(cr, worst, ac_strdup(why));
		if (cr->flaps >= 2)
			cr->note = ac_asprintf("flapping: went from passing to failing %d times",
					       cr->flaps);
		return;
	}
	size_t valid = h->passes + h->fails;
	size_t need = o->min_samples > 0 ? (size_t)o->min_samples : (size_t)confirm;
	if (c && c->min_samples > 0 && (size_t)c->min_samples > need)
		need = (size_t)c->min_samples;
	if (h->total < (size_t)confirm || valid < need) {
		set_state(cr, o->final ? AC_STATE_ERROR : AC_STATE_PENDING,
			  ac_asprintf("not enough evidence: %zu valid sample%s, %zu needed", valid,
				      valid == 1 ? "" : "s", need));
		return;
	}
	if (o->rounds > 0 && (double)valid / (double)o->rounds < o->coverage) {
		set_state(cr, AC_STATE_ERROR,
			  ac_asprintf("coverage too low: valid samples in %zu of %d rounds, %.0f%% "
				      "needed",
				      valid, o->rounds, o->coverage * 100));
		return;
	}
	if (o->flake_budget >= 0 && h->retried_passes > (size_t)o->flake_budget) {
		set_state(cr, AC_STATE_FAIL,
			  ac_asprintf("passed only after retry %zu times (flake budget %d)",
				      h->retried_passes, o->flake_budget));
		return;
	}
	if (c && (c->trend.kind != AC_TREND_NONE || c->trend.has_max_per_min)) {
		char *why;
		enum ac_state ts = ac_judge_trend(h, &c->trend, confirm, &why);
		if (ts == AC_STATE_ERROR && !o->final)
			ts = AC_STATE_PENDING;
		if (ts != AC_STATE_PASS) {
			set_state(cr, ts, why);
			return;
		}
		free(why);
	}
	if (c && c->trend.has_baseline_pct) {
		if (!c->has_baseline) {
			set_state(cr, AC_STATE_ERROR,
				  ac_strdup("no baseline value saved for this check "
					    "(run: allclear baseline save)"));
			return;
		}
		if (!cr->last.has_value) {
			set_state(cr, AC_STATE_ERROR,
				  ac_strdup("no value to compare with the baseline"));
			return;
		}
		double base = c->baseline, v = cr->last.value;
		/* Against 0 no percentage admits anything but 0 itself. */
		if (base == 0 && v != 0) {
			set_state(cr, AC_STATE_FAIL,
				  ac_asprintf("%.15g is %s the baseline 0 (any change from 0 is "
					      "outside %.15g%%)",
					      v, v > 0 ? "above" : "below", c->trend.baseline_pct));
			return;
		}
		double dev = base == 0 ? 0 : fabs(v - base) / fabs(base) * 100.0;
		if (!(dev <= c->trend.baseline_pct)) {
			set_state(
			    cr, AC_STATE_FAIL,
			    ac_asprintf("%.15g is %.1f%% away from the baseline %.15g (at most "
					"%.15g%%)",
					v, dev, base, c->trend.baseline_pct));
			return;
		}
	}
	set_state(cr, AC_STATE_PASS, NULL);
	if (cr->recovered_at_wall) {
		char ts[32];
		ac_format_utc(ts, sizeof(ts), cr->recovered_at_wall);
		cr->note = ac_asprintf("recovered at %s", ts);
	}
	if (h->retried_passes) {
		char *prev = cr->note;
		cr->note = ac_asprintf("%s%spassed after retry %zu time%s", prev ? prev : "",
				       prev ? "; " : "", h->retried_passes,
				       h->retried_passes == 1 ? "" : "s");
		free(prev);
	}
}

/* The labels probes/http.c writes into served_by, in its order. */
static const char *const served_labels[] = {"build ", "Age ", "X-Cache-Status ", "X-Cache ",
					    "CF-Cache-Status "};

/* Where label's value starts in s (the label at the start or after ", "),
 * and where it ends: at the next ", LABEL" or the end. NULL when absent. */
static const char *served_value(const char *s, const char *label, size_t *len)
{
	size_t ll = strlen(label);
	const char *v = NULL;
	for (const char *p = s; *p; p++) {
		if ((p == s || (p >= s + 2 && p[-2] == ',' && p[-1] == ' ')) &&
		    strncmp(p, label, ll) == 0) {
			v = p + ll;
			break;
		}
	}
	if (!v)
		return NULL;
	const char *end = v + strlen(v);
	for (const char *p = v; *p; p++) {
		if (p[0] != ',' || p[1] != ' ')
			continue;
		for (size_t i = 0; i < AC_ARRAY_LEN(served_labels); i++)
			if (strncmp(p + 2, served_labels[i], strlen(served_labels[i])) == 0 &&
			    p < end)
				end = p;
	}
	*len = (size_t)(end - v);
	return v;
}

static bool word_ends(const char *w, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);
	return n >= k && strncmp(w + n - k, suffix, k) == 0;
}

static bool word_is(const char *w, size_t n, const char *name)
{
	return n == strlen(name) && strncmp(w, name, n) == 0;
}

/* The words of a cache status value, upper-cased: 1 for one that says
 * the response came from a cache, 2 for a fresh fetch (both may be set). */
static int cache_words(const char *v, size_t len)
{
	int found = 0;
	char w[32];
	size_t n = 0;
	for (size_t i = 0; i <= len; i++) {
		char ch = i < len ? v[i] : ' ';
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')) {
			if (n < sizeof(w))
				w[n++] = (char)(ch >= 'a' ? ch - 'a' + 'A' : ch);
			continue;
		}
		if (n && n < sizeof(w)) {
			if (word_ends(w, n, "HIT") || word_is(w, n, "STALE") ||
			    word_is(w, n, "UPDATING"))
				found |= 1;
			else if (word_ends(w, n, "MISS") || word_is(w, n, "EXPIRED") ||
				 word_is(w, n, "BYPASS") || word_is(w, n, "PASS") ||
				 word_is(w, n, "DYNAMIC") || word_is(w, n, "REVALIDATED"))
				found |= 2;
		}
		n = 0;
	}
	return found;
}

enum ac_served ac_judge_served_from(const char *served_by)
{
	if (!served_by)
		return AC_SERVED_UNKNOWN;
	int found = 0;
	size_t len;
	const char *v = served_value(served_by, "Age ", &len);
	if (v) {
		char num[32];
		snprintf(num, sizeof(num), "%.*s", (int)(len < 31 ? len : 31), v);
		char *sp = strchr(num, ' ');
		if (sp)
			*sp = '\0';
		double age;
		if (ac_parse_double(num, &age) == 0 && age > 0)
			found |= 1;
	}
	for (size_t i = 2; i < AC_ARRAY_LEN(served_labels); i++) {
		v = served_value(served_by, served_labels[i], &len);
		if (v)
			found |= cache_words(v, len);
	}
	return found & 1 ? AC_SERVED_CACHE : found & 2 ? AC_SERVED_ORIGIN : AC_SERVED_UNKNOWN;
}

static const char *failed_step_info(const struct ac_sample *s)
{
	for (size_t i = 0; i < s->nsteps; i++)
		if (s->steps[i].state != AC_STATE_PASS && s->steps[i].served_by)
			return s->steps[i].served_by;
	for (size_t i = 0; i < s->nsteps; i++)
		if (s->steps[i].served_by)
			return s->steps[i].served_by;
	return NULL;
}

/* Is cb in the agreement group of ca? "agree": "NAME" groups by name;
 * "agree": true groups the targets of one journey. */
static bool same_group(const struct ac_check *ca, const struct ac_check *cb)
{
	if (!cb || !cb->agree)
		return false;
	if (ca->agree_group)
		return cb->agree_group && strcmp(cb->agree_group, ca->agree_group) == 0;
	return !cb->agree_group && cb->group == ca->group;
}

static bool is_origin(const struct ac_check *c)
{
	return c->target && strcmp(c->target->role, "origin") == 0;
}

static const char *member_name(const struct ac_check *c)
{
	return c->target && !c->agree_group ? c->target->name : c->id;
}

/* "runs on origin disagree: \"a\" in 17 of 20 runs, \"b\" in 3". */
static char *samples_disagree(const struct ac_check_result *a)
{
	int total = 0;
	for (size_t k = 0; k < a->nobservations; k++)
		total += a->observations[k].runs;
	struct ac_buf b = AC_BUF_INIT;
	ac_buf_addf(&b, "runs%s%s disagree:", a->check->target ? " on " : "",
		    a->check->target ? a->check->target->name : "");
	for (size_t k = 0; k < a->nobservations && k < 4; k++) {
		const struct ac_observation *o = &a->observations[k];
		if (k == 0)
			ac_buf_addf(&b, " \"%s\" in %d of %d runs", o->value, o->runs, total);
		else
			ac_buf_addf(&b, ", \"%s\" in %d", o->value, o->runs);
	}
	if (a->nobservations > 4)
		ac_buf_addf(&b, ", and %zu other values", a->nobservations - 4);
	char *s = ac_strdup(b.buf);
	ac_buf_release(&b);
	return s;
}

/* One check's observation against its group's. With an origin that
 * passed, the origin's observation is the reference: after a revert the
 * origin is what was fixed, so members that differ from it are the stale
 * ones, however many they are. Without an origin (or with origins that
 * disagree among themselves) the minority disagrees; in a tie, everyone
 * does. A check that asked for agreement and had nothing to compare, or
 * no one to compare with, is an ERROR: it never passes silently. */
static void judge_agreement(struct ac_result *r, size_t i, const enum ac_state *before)
{
	struct ac_check_result *a = &r->checks[i];
	const struct ac_check *ca = a->check;
	if (a->state == AC_STATE_ERROR)
		return;
	if (!a->last.observed) {
		if (a->state == AC_STATE_PASS)
			set_state(a, AC_STATE_ERROR,
				  ac_strdup("nothing to compare (no observe/value)"));
		return;
	}
	/* Sampled: every run's observation counts, not one per target. */
	if (a->nobservations > 1) {
		set_state(a, AC_STATE_FAIL, samples_disagree(a));
		return;
	}
	size_t same = 0, differ = 0;
	const char *other = NULL, *other_name = NULL;
	const struct ac_check_result *ref = NULL;
	bool refs_conflict = false;
	for (size_t j = 0; j < r->nchecks; j++) {
		const struct ac_check_result *b = &r->checks[j];
		const struct ac_check *cb = b->check;
		if (j != i && !same_group(ca, cb))
			continue;
		if (!b->has_last || !b->last.observed)
			continue;
		if (is_origin(cb) && before[j] == AC_STATE_PASS && b->nobservations <= 1) {
			if (!ref)
				ref = b;
			else if (strcmp(ref->last.observed, b->last.observed) != 0)
				refs_conflict = true;
		}
		if (j == i)
			continue;
		if (strcmp(b->last.observed, a->last.observed) == 0) {
			same++;
		} else {
			differ++;
			other = b->last.observed;
			other_name = member_name(cb);
		}
	}
	if (same + differ == 0) {
		if (a->state == AC_STATE_PASS) {
			if (ca->agree_group)
				set_state(a, AC_STATE_ERROR,
					  ac_asprintf("nothing to agree with: no other check in "
						      "group \"%s\" observed anything",
						      ca->agree_group));
			else
				set_state(a, AC_STATE_ERROR,
					  ac_strdup("nothing to agree with: no other target "
						    "observed anything"));
		}
		return;
	}
	bool disagrees;
	if (ref && !refs_conflict) {
		disagrees = strcmp(a->last.observed, ref->last.observed) != 0;
		other = ref->last.observed;
		other_name = member_name(ref->check);
	} else {
		disagrees = differ > 0 && same + 1 <= differ;
	}
	if (disagrees)
		set_state(a, AC_STATE_FAIL,
			  ac_asprintf("%s disagree: %s says \"%s\", %s says \"%s\"",
				      ca->agree_group ? "checks" : "targets", member_name(ca),
				      a->last.observed, other_name, other));
}

/* An edge that fails next to a passing origin: "stale" only when its
 * response came from a cache; a fresh fetch that still differs is the
 * region's own flag or config (another owner, another fix). */
static char *edge_note(const struct ac_target *origin, const struct ac_target *edge,
		       const char *info)
{
	const char *sep = info ? ": " : "", *in = info ? info : "";
	switch (ac_judge_served_from(info)) {
	case AC_SERVED_CACHE:
		return ac_asprintf("%s restored, %s stale%s%s", origin->name, edge->name, sep, in);
	case AC_SERVED_ORIGIN: {
		char *region = edge->region && *edge->region
				   ? ac_asprintf(" (region %s)", edge->region)
				   : ac_strdup("");
		char *n = ac_asprintf("%s restored, %s differs on a fresh fetch from the origin: a "
				      "region-specific flag or config%s, not a stale cache%s%s",
				      origin->name, edge->name, region, sep, in);
		free(region);
		return n;
	}
	case AC_SERVED_UNKNOWN:
		break;
	}
	return ac_asprintf("%s restored, %s differs: no cache status or Age header tells a stale "
			   "cache from a region-specific flag or config%s%s",
			   origin->name, edge->name, sep, in);
}

void ac_judge_fleet(struct ac_result *r)
{
	/* Each check's own verdict, before agreement changes any: an origin is
	 * a reference when it passed on its own. */
	enum ac_state *before = ac_calloc(r->nchecks ? r->nchecks : 1, sizeof(*before));
	for (size_t i = 0; i < r->nchecks; i++)
		before[i] = r->checks[i].state;
	for (size_t i = 0; i < r->nchecks; i++) {
		struct ac_check_result *a = &r->checks[i];
		const struct ac_check *ca = a->check;
		if (!ca)
			continue;
		if (ca->agree && a->has_last)
			judge_agreement(r, i, before);
		/* Edge versus origin: name the stale cache instead of a bare failure. */
		if (a->state == AC_STATE_FAIL && ca->target &&
		    strcmp(ca->target->role, "edge") == 0) {
			for (size_t j = 0; j < r->nchecks; j++) {
				const struct ac_check_result *b = &r->checks[j];
				if (!b->check || b->check->group != ca->group ||
				    !b->check->target ||
				    strcmp(b->check->target->role, "origin") != 0 ||
				    b->state != AC_STATE_PASS)
					continue;
				const char *info =
				    a->has_last_bad ? failed_step_info(&a->last_bad) : NULL;
				free(a->note);
				a->note = edge_note(b->check->target, ca->target, info);
				break;
			}
		}
	}
	free(before);
}

/* When the verdict can turn RESTORED at the earliest, said only when
 * something is draining towards a floor or limit: every check that does
 * not pass needs an estimate, else there is none. */
static void judge_restore_eta(struct ac_result *r, int confirm)
{
	r->has_restore_eta = false;
	r->restore_eta_s = 0;
	r->restore_text[0] = '\0';
	bool drains = false;
	for (size_t i = 0; i < r->nchecks; i++)
		drains =
		    drains || (r->checks[i].state != AC_STATE_PASS && r->checks[i].rate.has_target);
	if (r->verdict == AC_RESTORED || !drains)
		return;
	double eta;
	size_t which;
	if (ac_rate_restore_eta(r, confirm, &eta, &which) == 0) {
		const struct ac_check_result *cr = &r->checks[which];
		char e[48], rate[64];
		ac_rate_format_eta(e, sizeof(e), eta);
		ac_rate_format_speed(rate, sizeof(rate), cr->rate.per_s, cr->rate.unit);
		r->has_restore_eta = true;
		r->restore_eta_s = eta;
		snprintf(r->restore_text, sizeof(r->restore_text),
			 "RESTORED at the earliest in %s, if %s keeps draining at %s and nothing "
			 "else fails",
			 e, cr->id ? cr->id : "?", rate);
	} else if (which < r->nchecks) {
		const struct ac_check_result *cr = &r->checks[which];
		snprintf(r->restore_text, sizeof(r->restore_text),
			 "no estimate of when RESTORED: %s %s", cr->id ? cr->id : "?",
			 cr->rate.has_target		 ? "is not draining"
			 : cr->state == AC_STATE_PENDING ? "has no passing sample yet"
							 : "is not a drain to wait for");
	}
}

/* What a check result holds, or its plan's check when the tree was made
 * without copies (a merged tree has only the copies). */
static const char *cr_id(const struct ac_check_result *cr)
{
	return cr->id ? cr->id : cr->check ? cr->check->id : "?";
}

static int cr_area(const struct ac_check_result *cr)
{
	return cr->check ? (int)cr->check->area : cr->area_order;
}

static const char *cr_owner(const struct ac_check_result *cr)
{
	const char *o = cr->owner ? cr->owner : cr->check ? cr->check->owner : NULL;
	return o && *o ? o : "unassigned";
}

void ac_judge_overall(struct ac_result *r, const struct ac_judge_opts *o)
{
	size_t fails = 0, errors = 0;
	const struct ac_check_result *first_fail = NULL, *first_error = NULL;
	for (size_t i = 0; i < r->nchecks; i++) {
		const struct ac_check_result *cr = &r->checks[i];
		if (cr->state == AC_STATE_FAIL) {
			fails++;
			if (!first_fail || cr_area(cr) < cr_area(first_fail))
				first_fail = cr;
		} else if (cr->state != AC_STATE_PASS) {
			errors++;
			if (!first_error)
				first_error = cr;
		}
	}
	free(r->verdict_reason);
	r->verdict_reason = NULL;
	if (r->nchecks == 0 || o->rounds == 0) {
		r->verdict = AC_INCONCLUSIVE;
		r->verdict_reason =
		    ac_strdup(r->nchecks == 0 ? "no checks ran" : "no round completed");
	} else if (fails) {
		r->verdict = AC_NOT_RESTORED;
		r->verdict_reason = ac_asprintf(
		    "%zu of %zu checks failed; first to fix: %s (%s, owner %s)", fails, r->nchecks,
		    cr_id(first_fail), ac_area_name((enum ac_area)cr_area(first_fail)),
		    cr_owner(first_fail));
	} else if (errors) {
		r->verdict = AC_INCONCLUSIVE;
		r->verdict_reason =
		    ac_asprintf("%zu of %zu checks could not be measured; first: %s", errors,
				r->nchecks, cr_id(first_error));
	} else if (o->interrupted) {
		r->verdict = AC_INCONCLUSIVE;
		r->verdict_reason = ac_strdup("interrupted before the window was complete");
	} else {
		r->verdict = AC_RESTORED;
		r->verdict_reason = ac_asprintf("all %zu checks passed in the last %d round%s",
						r->nchecks, o->confirm, o->confirm == 1 ? "" : "s");
	}
	judge_restore_eta(r, o->confirm > 0 ? o->confirm : 1);
	if (o->interrupted && r->verdict != AC_NOT_RESTORED) {
		r->verdict = AC_INCONCLUSIVE;
		if (!r->verdict_reason || !strstr(r->verdict_reason, "interrupted")) {
			char *old = r->verdict_reason;
			r->verdict_reason = ac_asprintf("interrupted; %s", old ? old : "");
			free(old);
		}
	}
}
