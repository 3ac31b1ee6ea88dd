/*
 * samples.c: sizing sampled journeys, folding their runs, and the
 * strength of the verdict (see samples.h).
 */
#include "samples.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

int ac_samples_needed(double p)
{
	if (!(p > 0))
		return 0;
	if (p >= 0.95)
		return 1;
	double n = log(0.05) / log1p(-p);
	/* A hair below a whole number is that number: (1-p)^n <= 0.05 holds. */
	double c = ceil(n - 1e-9);
	if (c > 1e9)
		return 1000000000;
	return c < 1 ? 1 : (int)c;
}

int ac_samples_per_round(double p, int confirm, bool *capped)
{
	if (capped)
		*capped = false;
	int need = ac_samples_needed(p);
	if (need <= 0)
		return 1;
	if (confirm < 1)
		confirm = 1;
	long per = ((long)need + confirm - 1) / confirm;
	if (per > AC_SAMPLES_MAX) {
		if (capped)
			*capped = true;
		per = AC_SAMPLES_MAX;
	}
	return per < 1 ? 1 : (int)per;
}

double ac_share_seen_95(int n)
{
	if (n <= 0)
		return 1;
	return 1 - pow(0.05, 1.0 / n);
}

void ac_share_format(char *buf, size_t len, double share)
{
	double v = share * 100;
	if (v >= 9.95)
		snprintf(buf, len, "%.0f%%", v);
	else if (v >= 0.995)
		snprintf(buf, len, "%.1f%%", v);
	else
		snprintf(buf, len, "%.2g%%", v);
}

char *ac_samples_sizing(double p, int confirm, int per_round, bool capped)
{
	char share[32];
	snprintf(share, sizeof(share), "%.6g%%", p * 100);
	int need = ac_samples_needed(p);
	int total = per_round * (confirm < 1 ? 1 : confirm);
	struct ac_buf b = AC_BUF_INIT;
	ac_buf_addf(&b, "detect_share %s: %d run%s needed to see it with 95%% probability; ", share,
		    need, need == 1 ? "" : "s");
	ac_buf_addf(&b, "%d per round over %d round%s (%d runs)", per_round, confirm,
		    confirm == 1 ? "" : "s", total);
	if (capped) {
		char seen[32];
		ac_share_format(seen, sizeof(seen), ac_share_seen_95(total));
		ac_buf_addf(&b,
			    ", capped at %d per round: only a share above %s is seen with 95%% "
			    "probability",
			    AC_SAMPLES_MAX, seen);
	}
	char *s = ac_strdup(b.buf ? b.buf : "");
	ac_buf_release(&b);
	return s;
}

static bool measured(enum ac_state s)
{
	return s == AC_STATE_PASS || s == AC_STATE_FAIL;
}

static void add_observation(struct ac_observation **obs, size_t *nobs, const char *value)
{
	for (size_t i = 0; i < *nobs; i++) {
		if (strcmp((*obs)[i].value, value) == 0) {
			(*obs)[i].runs++;
			return;
		}
	}
	*obs = ac_realloc(*obs, (*nobs + 1) * sizeof(**obs));
	(*obs)[*nobs].value = ac_strdup(value);
	(*obs)[*nobs].runs = 1;
	(*nobs)++;
}

void ac_samples_fold(struct ac_sample *out, struct ac_sample *runs, size_t n,
		     struct ac_observation **obs, size_t *nobs)
{
	memset(out, 0, sizeof(*out));
	if (obs) {
		*obs = NULL;
		*nobs = 0;
	}
	if (n == 0) {
		ac_sample_set(out, AC_STATE_ERROR, "no run of this round completed");
		return;
	}
	size_t rep = 0, nbad = 0, nmeasured = 0, first_fail = n, first_error = n;
	bool retried = false;
	int64_t t = 0, wall = 0, dur = 0;
	for (size_t i = 0; i < n; i++) {
		const struct ac_sample *s = &runs[i];
		if (measured(s->state))
			nmeasured++;
		if (s->state == AC_STATE_FAIL) {
			nbad++;
			if (first_fail == n)
				first_fail = i;
		} else if (s->state != AC_STATE_PASS && first_error == n) {
			first_error = i;
		}
		retried = retried || (s->state == AC_STATE_PASS && s->retried);
		if (s->t_ms > t)
			t = s->t_ms;
		if (s->wall_ms > wall)
			wall = s->wall_ms;
		if (s->duration_ms > dur)
			dur = s->duration_ms;
		if (obs && s->observed)
			add_observation(obs, nobs, s->observed);
	}
	rep = first_fail < n ? first_fail : first_error < n ? first_error : 0;
	*out = runs[rep];
	memset(&runs[rep], 0, sizeof(runs[rep]));
	for (size_t i = 0; i < n; i++)
		ac_sample_release(&runs[i]);
	out->runs = (int)n;
	out->runs_measured = (int)nmeasured;
	out->runs_bad = (int)nbad;
	if (n == 1)
		return;
	out->t_ms = t;
	out->wall_ms = wall;
	out->duration_ms = dur;
	out->retried = out->state == AC_STATE_PASS && retried;
	char *why = out->reason;
	if (nbad) {
		out->state = AC_STATE_FAIL;
		out->reason = ac_asprintf("%s (%zu of %zu runs failed this round)",
					  why ? why : "failed", nbad, n);
	} else if (nmeasured < n) {
		/* Fewer samples than asked could run: the round is not a pass,
		 * and it does not count toward strength. */
		out->state = AC_STATE_ERROR;
		out->reason = ac_asprintf("%zu of %zu runs could not measure (fewer samples than "
					  "asked: the round does not count): %s",
					  n - nmeasured, n, why ? why : "no result");
	} else {
		out->reason = why ? ac_strdup(why) : NULL;
	}
	free(why);
}

void ac_judge_strength(struct ac_check_result *cr, int confirm)
{
	struct ac_strength *st = &cr->strength;
	free(st->text);
	st->text = NULL;
	st->stated = false;
	if (st->samples < 1)
		return;
	if (confirm < 1)
		confirm = 1;
	int runs = 0, bad = 0, counted = 0, short_rounds = 0, asked_short = 0, rounds = 0;
	const struct ac_history *h = &cr->history;
	for (size_t i = 0; i < (size_t)confirm && i < h->len; i++) {
		const struct ac_point *p = ac_history_at(h, h->len - 1 - i);
		int asked = p->runs ? p->runs : 1;
		int m = p->runs ? p->measured
				: (p->state == AC_STATE_PASS || p->state == AC_STATE_FAIL);
		int b = p->runs ? p->bad : p->state == AC_STATE_FAIL;
		rounds++;
		runs += m;
		bad += b;
		if (m == asked) {
			counted += m;
		} else {
			short_rounds++;
			asked_short += asked;
		}
	}
	st->stated = rounds > 0;
	st->runs = runs;
	st->bad = bad;
	st->counted = counted;
	st->short_rounds = short_rounds;
	st->observed_share = runs ? (double)bad / runs : 0;
	st->share_seen_95 = ac_share_seen_95(counted);
	if (!st->stated)
		return;
	char pct[32];
	const char *on = cr->target.name;
	struct ac_buf b = AC_BUF_INIT;
	if (cr->state == AC_STATE_PASS && bad == 0 && counted > 1) {
		ac_share_format(pct, sizeof(pct), st->share_seen_95);
		ac_buf_addf(&b,
			    "%d of %d runs took the bad path: a share above %s would have been "
			    "seen with 95%% probability",
			    bad, counted, pct);
	} else if (cr->state == AC_STATE_FAIL && bad > 0) {
		ac_share_format(pct, sizeof(pct), st->observed_share);
		ac_buf_addf(&b, "%d of %d runs, %s%s%s", bad, runs, pct, on ? ", on " : "",
			    on ? on : "");
	}
	if (short_rounds && (b.len || cr->state != AC_STATE_PASS)) {
		if (!b.len)
			ac_buf_addf(&b, "strength not stated: %d of %d runs counted", counted,
				    counted + asked_short);
		ac_buf_addf(&b,
			    "; %d round%s ran fewer samples than asked (errors or timeouts) and "
			    "do%s not count toward strength",
			    short_rounds, short_rounds == 1 ? "" : "s",
			    short_rounds == 1 ? "es" : "");
	}
	if (b.len)
		st->text = ac_strdup(b.buf);
	ac_buf_release(&b);
}

void ac_samples_read_share(struct ac_cfg *cx, const struct ac_field *f, const cJSON *v,
			   const char *path, void *dst)
{
	(void)f;
	double pct = -1;
	if (cJSON_IsNumber(v)) {
		pct = v->valuedouble;
	} else if (cJSON_IsString(v)) {
		char *s = ac_strdup(v->valuestring);
		size_t l = strlen(s);
		if (l && s[l - 1] == '%')
			s[l - 1] = '\0';
		if (ac_parse_double(s, &pct) < 0)
			pct = -1;
		free(s);
	}
	if (!(pct > 0 && pct < 100) || !isfinite(pct)) {
		ac_cfg_error(cx, path,
			     "expected a share of runs above 0%% and below 100%%, such as \"5%%\"");
		return;
	}
	*(double *)dst = pct / 100.0;
}
