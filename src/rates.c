/*
 * rates.c: rates over the window, drain times and the earliest RESTORED
 * (why the median of pairwise slopes: rates.h).
 */
#include "rates.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y ? 1 : 0;
}

int ac_rate_slope(const struct ac_rate_point *p, size_t n, double *per_s)
{
	*per_s = NAN;
	if (n > AC_RATE_MAX_WINDOW)
		n = AC_RATE_MAX_WINDOW;
	double slopes[AC_RATE_MAX_WINDOW * (AC_RATE_MAX_WINDOW - 1) / 2];
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(p[i].v))
			return -1;
		for (size_t j = i + 1; j < n; j++) {
			if (p[j].t_ms == p[i].t_ms)
				continue;
			double s = (p[j].v - p[i].v) / ((double)(p[j].t_ms - p[i].t_ms) / 1000.0);
			if (!isfinite(s))
				return -1;
			slopes[k++] = s;
		}
	}
	if (k == 0)
		return -1;
	qsort(slopes, k, sizeof(slopes[0]), cmp_double);
	*per_s = k % 2 ? slopes[k / 2] : (slopes[k / 2 - 1] + slopes[k / 2]) / 2.0;
	return 0;
}

size_t ac_rate_points(const struct ac_history *h, size_t window, struct ac_rate_point *out)
{
	if (window > AC_RATE_MAX_WINDOW)
		window = AC_RATE_MAX_WINDOW;
	size_t n = 0;
	for (size_t i = h->len; i > 0 && n < window; i--) {
		const struct ac_point *p = ac_history_at(h, i - 1);
		if (p->has_value && isfinite(p->value))
			n++;
	}
	size_t k = 0;
	for (size_t i = h->len, seen = 0; i > 0 && seen < n; i--) {
		const struct ac_point *p = ac_history_at(h, i - 1);
		if (!p->has_value || !isfinite(p->value))
			continue;
		out[n - 1 - seen].t_ms = p->t_ms;
		out[n - 1 - seen].v = p->value;
		seen++;
		k++;
	}
	return k;
}

bool ac_rate_is_flat(double per_s, double span_s, double level)
{
	double moved = fabs(per_s * span_s);
	double tol = fabs(level) * 1e-6;
	return moved <= (tol > 1e-9 ? tol : 1e-9);
}

int ac_rate_eta(double last, double target, double per_s, double *eta_s)
{
	*eta_s = NAN;
	if (!isfinite(last) || !isfinite(target) || !isfinite(per_s))
		return -1;
	if (last <= target) {
		*eta_s = 0;
		return 0;
	}
	if (!(per_s < 0))
		return -1;
	double t = (last - target) / -per_s;
	if (!isfinite(t))
		return -1;
	*eta_s = t;
	return 0;
}

/* The magnitude in the unit that reads best, and the unit's suffix. */
static void scale(double per_s, double *x, const char **per)
{
	double a = fabs(per_s);
	if (a >= 0.1 || a == 0) {
		*x = per_s;
		*per = "s";
	} else if (a * 60 >= 0.1) {
		*x = per_s * 60;
		*per = "min";
	} else {
		*x = per_s * 3600;
		*per = "h";
	}
}

static void format(char *out, size_t n, double per_s, const char *unit, bool sign)
{
	double x;
	const char *per;
	scale(per_s, &x, &per);
	if (!sign)
		x = fabs(x);
	char num[32];
	if (fabs(x) >= 0.1 || x == 0)
		snprintf(num, sizeof(num), sign ? "%+.1f" : "%.1f", x);
	else
		snprintf(num, sizeof(num), sign ? "%+.2g" : "%.2g", x);
	if (!unit || !*unit) {
		snprintf(out, n, "%s/%s", num, per);
		return;
	}
	/* "1.0 row/s", "4.2 rows/s" */
	const char *mag = num[0] == '+' || num[0] == '-' ? num + 1 : num;
	size_t ul = strlen(unit);
	bool one = strcmp(mag, "1.0") == 0;
	if (one && ul > 1 && unit[ul - 1] == 's')
		snprintf(out, n, "%s %.*s/%s", num, (int)(ul - 1), unit, per);
	else
		snprintf(out, n, "%s %s/%s", num, unit, per);
}

void ac_rate_format(char *out, size_t n, double per_s, const char *unit)
{
	format(out, n, per_s, unit, true);
}

void ac_rate_format_speed(char *out, size_t n, double per_s, const char *unit)
{
	format(out, n, per_s, unit, false);
}

void ac_rate_format_eta(char *out, size_t n, double s)
{
	if (!isfinite(s) || s < 0) {
		snprintf(out, n, "no estimate");
		return;
	}
	double r = floor(s + 0.5);
	if (r < 1)
		snprintf(out, n, "under 1 s");
	else if (r < 60)
		snprintf(out, n, "about %.0f s", r);
	else if (r < 3600) {
		long long m = (long long)(r / 60), sec = (long long)r % 60;
		if (sec)
			snprintf(out, n, "about %lld min %lld s", m, sec);
		else
			snprintf(out, n, "about %lld min", m);
	} else if (r < 100 * 3600) {
		long long h = (long long)(r / 3600), m = ((long long)r % 3600) / 60;
		snprintf(out, n, "about %lld h %lld min", h, m);
	} else {
		snprintf(out, n, "more than 100 h");
	}
}

static void target_text(char *out, size_t n, const struct ac_rate_spec *spec)
{
	if (spec->value_name && *spec->value_name)
		snprintf(out, n, "%s %.15g", spec->value_name, spec->target);
	else
		snprintf(out, n, "%.15g (the %s)", spec->target,
			 spec->target_is_limit ? "limit" : "floor");
}

void ac_rate_describe(const struct ac_history *h, const struct ac_rate_spec *spec,
		      struct ac_rate_view *v)
{
	memset(v, 0, sizeof(*v));
	if (spec->unit)
		snprintf(v->unit, sizeof(v->unit), "%s", spec->unit);
	if (spec->value_name)
		snprintf(v->target_name, sizeof(v->target_name), "%s", spec->value_name);
	v->has_target = spec->has_target && isfinite(spec->target);
	v->target = v->has_target ? spec->target : 0;
	char tgt[80] = "";
	if (v->has_target)
		target_text(tgt, sizeof(tgt), spec);

	size_t window =
	    spec->confirm > AC_RATE_MIN_WINDOW ? (size_t)spec->confirm : AC_RATE_MIN_WINDOW;
	struct ac_rate_point pts[AC_RATE_MAX_WINDOW];
	size_t n = ac_rate_points(h, window, pts);
	v->points = n;
	double per_s;
	if (n < 2 || ac_rate_slope(pts, n, &per_s) < 0) {
		if (v->has_target && !(n > 0 && pts[n - 1].v <= v->target))
			snprintf(v->text, sizeof(v->text),
				 "not draining: no estimate (%zu value%s at different times, 2 "
				 "needed for a rate)",
				 n, n == 1 ? "" : "s");
		else
			snprintf(v->text, sizeof(v->text),
				 "no rate yet (%zu value%s at different times, 2 needed)", n,
				 n == 1 ? "" : "s");
		return;
	}
	double last = pts[n - 1].v;
	v->has_rate = true;
	v->per_s = per_s;
	v->span_s = (double)(pts[n - 1].t_ms - pts[0].t_ms) / 1000.0;
	v->flat = ac_rate_is_flat(per_s, v->span_s, last);
	if (v->flat)
		v->per_s = per_s = 0;
	char rate[64], mag[64], over[64];
	ac_rate_format(rate, sizeof(rate), per_s, v->unit);
	format(mag, sizeof(mag), per_s, v->unit, false);
	snprintf(over, sizeof(over), "rate over %zu values in %.0f s", n, v->span_s);

	if (v->has_target && last > v->target) {
		double eta;
		if (!v->flat && ac_rate_eta(last, v->target, per_s, &eta) == 0) {
			char e[48];
			ac_rate_format_eta(e, sizeof(e), eta);
			v->has_eta = true;
			v->eta_s = eta;
			/* The round that reaches the target passes a floor; a
			 * sample-level limit then needs confirm - 1 more green
			 * rounds, a round apart. */
			double interval = v->span_s / (double)(n - 1);
			int more =
			    spec->target_is_limit && spec->confirm > 1 ? spec->confirm - 1 : 0;
			v->has_restore_eta = true;
			v->restore_eta_s = eta + more * interval;
			snprintf(v->text, sizeof(v->text), "%s to %s at %s (%s)", e, tgt, mag,
				 over);
		} else {
			snprintf(v->text, sizeof(v->text), "not draining: no estimate (%s, %s)",
				 v->flat ? "flat" : rate, over);
		}
		return;
	}
	if (v->has_target) {
		v->has_eta = true;
		v->eta_s = 0;
		v->has_restore_eta = true;
		v->restore_eta_s = 0;
		if (v->flat)
			snprintf(v->text, sizeof(v->text), "at or below %s; flat (%s)", tgt, over);
		else if (per_s < 0)
			snprintf(v->text, sizeof(v->text), "at or below %s; draining at %s (%s)",
				 tgt, mag, over);
		else
			snprintf(v->text, sizeof(v->text), "at or below %s; %s (%s)", tgt, rate,
				 over);
		return;
	}
	if (v->flat)
		snprintf(v->text, sizeof(v->text), "flat (%s)", over);
	else if (per_s > 0)
		snprintf(v->text, sizeof(v->text), "%s%s (%s)", rate,
			 spec->spreading ? ": damage still spreading" : "", over);
	else if (spec->draining)
		snprintf(v->text, sizeof(v->text), "draining at %s (%s)", mag, over);
	else
		snprintf(v->text, sizeof(v->text), "%s (%s)", rate, over);
}

int ac_rate_restore_eta(const struct ac_result *r, int confirm, double *eta_s, size_t *which)
{
	*eta_s = NAN;
	*which = SIZE_MAX;
	double worst = -1, drain = -1;
	for (size_t i = 0; i < r->nchecks; i++) {
		const struct ac_check_result *cr = &r->checks[i];
		if (cr->state == AC_STATE_PASS)
			continue;
		double wait;
		if (cr->rate.has_restore_eta) {
			wait = cr->rate.restore_eta_s;
			if (wait > drain) {
				drain = wait;
				*which = i;
			}
		} else if (cr->state == AC_STATE_PENDING && cr->has_last &&
			   cr->last.state == AC_STATE_PASS && cr->consecutive_passes < confirm) {
			/* Passing, still gathering its green rounds. */
			wait = (double)(confirm - cr->consecutive_passes) * (double)r->interval_ms /
			       1000.0;
		} else {
			*which = i;
			return -1;
		}
		if (wait > worst)
			worst = wait;
	}
	if (drain < 0)
		return -1;
	*eta_s = worst;
	return 0;
}
