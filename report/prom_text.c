/*
 * prom_text.c: the result in the Prometheus text exposition format 0.0.4,
 * for a watch's /metrics (--listen), node_exporter's textfile collector
 * (--prom FILE) and --format prometheus.
 *
 * Every series carries scenario="NAME". States are one-hot gauges: one
 * series per possible state, 1 for the current one, 0 for the others, so
 * an alert matches on a label and no numeric code has to be remembered:
 *
 *   allclear_verdict{state="restored|not_restored|inconclusive"}
 *   allclear_check_state{check,area,owner,target,state="pass|fail|error|pending"}
 *   allclear_check_value{check,area,owner,target}   checks with a value
 *   allclear_check_limit{check,area,owner,target}   a value's limit (a queue's max)
 *   allclear_checks{state}                         how many checks are in each state
 *   allclear_rounds_total, allclear_slow_rounds_total
 *   allclear_last_round_timestamp_seconds, allclear_started_timestamp_seconds
 *   allclear_restore_eta_seconds                   when the rates give one
 *   allclear_running                               1 while rounds go on, 0 at the end
 *   allclear_up                                    always 1
 *
 * Label values are escaped as the format says (backslash, double quote,
 * newline); other control characters and bytes that are not UTF-8 are
 * shown as \xNN, since the parser refuses text that is not UTF-8.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "result.h"
#include "util.h"

static void lvalue(FILE *out, const char *s)
{
	char *e = ac_text_escape_lines(s ? s : "");
	for (const char *p = e; *p; p++) {
		if (*p == '\\')
			fputs("\\\\", out);
		else if (*p == '"')
			fputs("\\\"", out);
		else if (*p == '\n')
			fputs("\\n", out);
		else
			fputc(*p, out);
	}
	free(e);
}

static void value(FILE *out, double v)
{
	if (isnan(v))
		fputs("NaN", out);
	else if (isinf(v))
		fputs(v > 0 ? "+Inf" : "-Inf", out);
	else {
		/* The shortest of 15 or 17 digits that reads back the same. */
		char b[40];
		snprintf(b, sizeof(b), "%.15g", v);
		if (strtod(b, NULL) != v)
			snprintf(b, sizeof(b), "%.17g", v);
		fputs(b, out);
	}
}

static void head(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{scenario="..." (the caller adds more labels, then closes). */
static void open_series(FILE *out, const char *name, const struct ac_result *r)
{
	fprintf(out, "%s{scenario=\"", name);
	lvalue(out, r->scenario_name ? r->scenario_name : "");
	fputc('"', out);
}

static void check_labels(FILE *out, const struct ac_check_result *cr)
{
	fputs(",check=\"", out);
	lvalue(out, cr->id);
	fputs("\",area=\"", out);
	lvalue(out, ac_report_area_name(cr));
	fputs("\",owner=\"", out);
	lvalue(out, ac_report_owner(cr));
	fputs("\",target=\"", out);
	lvalue(out, cr->target.name ? cr->target.name : "");
	fputc('"', out);
}

static void simple(FILE *out, const struct ac_result *r, const char *name, const char *type,
		   const char *help, double v)
{
	head(out, name, type, help);
	open_series(out, name, r);
	fputs("} ", out);
	value(out, v);
	fputc('\n', out);
}

static const enum ac_state states[] = {AC_STATE_PASS, AC_STATE_FAIL, AC_STATE_ERROR,
				       AC_STATE_PENDING};
static const char *const state_labels[] = {"pass", "fail", "error", "pending"};

/* The wall time the last round ended: the end of the run, else the latest
 * sample, else the start. */
static int64_t last_round_ms(const struct ac_result *r)
{
	if (r->ended_wall_ms)
		return r->ended_wall_ms;
	int64_t t = r->started_wall_ms;
	for (size_t i = 0; i < r->nchecks; i++)
		if (r->checks[i].has_last && r->checks[i].last.wall_ms > t)
			t = r->checks[i].last.wall_ms;
	return t;
}

static int write_prom(FILE *out, const struct ac_result *r, const struct ac_report_opts *o)
{
	simple(out, r, "allclear_up", "gauge", "1 whenever allclear wrote these series.", 1);
	simple(out, r, "allclear_running", "gauge",
	       "1 while the rounds go on, 0 once the run has ended.", r->ended_wall_ms ? 0 : 1);

	static const enum ac_verdict verdicts[] = {AC_RESTORED, AC_NOT_RESTORED, AC_INCONCLUSIVE};
	static const char *const vnames[] = {"restored", "not_restored", "inconclusive"};
	head(out, "allclear_verdict", "gauge",
	     "The verdict so far: 1 for its state, 0 for the other two.");
	for (size_t k = 0; k < 3; k++) {
		open_series(out, "allclear_verdict", r);
		fprintf(out, ",state=\"%s\"} %d\n", vnames[k], r->verdict == verdicts[k]);
	}

	head(out, "allclear_checks", "gauge", "How many checks are in each state.");
	for (size_t k = 0; k < AC_ARRAY_LEN(states); k++) {
		size_t n = 0;
		for (size_t i = 0; i < r->nchecks; i++)
			n += r->checks[i].state == states[k];
		open_series(out, "allclear_checks", r);
		fprintf(out, ",state=\"%s\"} %zu\n", state_labels[k], n);
	}

	head(out, "allclear_check_state", "gauge",
	     "A check's judged state: 1 for its state, 0 for the others.");
	for (size_t i = 0; i < r->nchecks; i++)
		for (size_t k = 0; k < AC_ARRAY_LEN(states); k++) {
			open_series(out, "allclear_check_state", r);
			check_labels(out, &r->checks[i]);
			fprintf(out, ",state=\"%s\"} %d\n", state_labels[k],
				r->checks[i].state == states[k]);
		}

	head(out, "allclear_check_value", "gauge",
	     "A check's headline value in its latest sample (depth, rows, ...).");
	for (size_t i = 0; i < r->nchecks; i++) {
		const struct ac_check_result *cr = &r->checks[i];
		if (!cr->has_last || !cr->last.has_value)
			continue;
		open_series(out, "allclear_check_value", r);
		check_labels(out, cr);
		fputs("} ", out);
		value(out, cr->last.value);
		fputc('\n', out);
	}
	head(out, "allclear_check_limit", "gauge",
	     "The limit a check's value passes at or below (a queue's max depth).");
	for (size_t i = 0; i < r->nchecks; i++) {
		const struct ac_check_result *cr = &r->checks[i];
		if (!cr->has_last || !cr->last.has_limit)
			continue;
		open_series(out, "allclear_check_limit", r);
		check_labels(out, cr);
		fputs("} ", out);
		value(out, cr->last.limit);
		fputc('\n', out);
	}

	simple(out, r, "allclear_rounds_total", "counter", "Rounds run so far.", r->rounds);
	simple(out, r, "allclear_slow_rounds_total", "counter",
	       "Rounds that ran past the interval.", r->slow_rounds);
	simple(out, r, "allclear_started_timestamp_seconds", "gauge",
	       "When the run started, in seconds since the epoch.",
	       (double)r->started_wall_ms / 1000.0);
	simple(out, r, "allclear_last_round_timestamp_seconds", "gauge",
	       "When the latest round ended, in seconds since the epoch.",
	       (double)last_round_ms(r) / 1000.0);
	if (r->has_restore_eta)
		simple(out, r, "allclear_restore_eta_seconds", "gauge",
		       "The earliest the verdict can turn RESTORED at the draining rates.",
		       r->restore_eta_s);
	return 0;
}

const struct ac_writer ac_writer_prometheus = {
    "prometheus",
    "Prometheus text exposition (for --listen, --prom and the textfile collector)",
    write_prom,
};
