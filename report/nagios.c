/*
 * nagios.c: one line for Nagios, Icinga and Sensu (the plugin convention).
 *
 *   ALLCLEAR CRITICAL - NOT RESTORED: 3 of 17 checks failed (first: ID: reason) | perfdata
 *
 * OK for RESTORED, CRITICAL for NOT RESTORED, UNKNOWN for INCONCLUSIVE;
 * the command line maps the exit code to match (0, 2, 3). The text before
 * the pipe is one line with no pipe in it; perfdata is 'label'=value;;;min
 * as the plugin guidelines write it.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "result.h"
#include "util.h"

/* The reason in the first line: one line, no pipe (the perfdata starts
 * there), at most max bytes. */
static void plain(FILE *out, const char *s, size_t max)
{
	char *e = ac_text_escape(s ? s : "");
	size_t n = strlen(e);
	for (size_t i = 0; i < n && i < max; i++)
		fputc(e[i] == '|' ? '/' : e[i], out);
	if (n > max)
		fputs("...", out);
	free(e);
}

/* A perfdata label: quoted, a quote doubled, no '=' (the guidelines allow
 * neither in a label). */
static void label(FILE *out, const char *s)
{
	char *e = ac_text_escape(s ? s : "");
	fputc('\'', out);
	for (const char *p = e; *p; p++) {
		if (*p == '\'')
			fputs("''", out);
		else if (*p == '=' || *p == '|')
			fputc('_', out);
		else
			fputc(*p, out);
	}
	fputc('\'', out);
	free(e);
}

/* A perfdata number: plain decimal (no exponent), false when it has none. */
static bool number(char *buf, size_t n, double v)
{
	if (!isfinite(v) || fabs(v) >= 1e15)
		return false;
	snprintf(buf, n, "%.6f", v);
	char *dot = strchr(buf, '.');
	if (dot) {
		char *end = buf + strlen(buf) - 1;
		while (end > dot && *end == '0')
			*end-- = '\0';
		if (end == dot)
			*end = '\0';
	}
	if (strcmp(buf, "-0") == 0)
		snprintf(buf, n, "0");
	return true;
}

/* The first check in state st, in recovery order (area, then file order). */
static const struct ac_check_result *first_in(const struct ac_result *r, bool measured_fail)
{
	int areas = ac_report_area_count(r);
	for (int a = 0; a < areas; a++)
		for (size_t i = 0; i < r->nchecks; i++) {
			const struct ac_check_result *cr = &r->checks[i];
			if (cr->area_order != a)
				continue;
			if (measured_fail
				? cr->state == AC_STATE_FAIL
				: cr->state == AC_STATE_ERROR || cr->state == AC_STATE_PENDING)
				return cr;
		}
	return NULL;
}

static void first(FILE *out, const struct ac_check_result *cr)
{
	if (!cr)
		return;
	fputs(" (first: ", out);
	plain(out, cr->id, 120);
	if (cr->reason) {
		fputs(": ", out);
		plain(out, cr->reason, 200);
	}
	fputc(')', out);
}

static int write_nagios(FILE *out, const struct ac_result *r, const struct ac_report_opts *o)
{
	size_t failed = 0, unmeasured = 0, passed = 0;
	for (size_t i = 0; i < r->nchecks; i++) {
		enum ac_state s = r->checks[i].state;
		if (s == AC_STATE_FAIL)
			failed++;
		else if (s == AC_STATE_PASS)
			passed++;
		else
			unmeasured++;
	}
	const char *status = r->verdict == AC_RESTORED	     ? "OK"
			     : r->verdict == AC_INCONCLUSIVE ? "UNKNOWN"
							     : "CRITICAL";
	fprintf(out, "ALLCLEAR %s - %s: ", status, ac_verdict_name(r->verdict));
	if (r->verdict == AC_RESTORED) {
		fprintf(out, "%zu of %zu checks passed", passed, r->nchecks);
	} else if (r->verdict == AC_NOT_RESTORED && failed) {
		fprintf(out, "%zu of %zu checks failed", failed, r->nchecks);
		first(out, first_in(r, true));
	} else if (r->verdict == AC_INCONCLUSIVE && unmeasured) {
		fprintf(out, "%zu of %zu checks not measured", unmeasured, r->nchecks);
		first(out, first_in(r, false));
	} else {
		/* The verdict rests on something else (agreement, coverage). */
		plain(out, r->verdict_reason ? r->verdict_reason : "see the full report", 300);
	}
	if (r->insecure_tls)
		fputs(", TLS verification OFF", out);
	fprintf(
	    out,
	    " | checks=%zu;;;0 failed=%zu;;;0 not_measured=%zu;;;0 passed=%zu;;;0 rounds=%d;;;0",
	    r->nchecks, failed, unmeasured, passed, r->rounds);
	if (r->ended_wall_ms > r->started_wall_ms) {
		char d[48];
		if (number(d, sizeof(d), (double)(r->ended_wall_ms - r->started_wall_ms) / 1000.0))
			fprintf(out, " duration=%ss;;;0", d);
	}
	for (size_t i = 0; i < r->nchecks; i++) {
		const struct ac_check_result *cr = &r->checks[i];
		char v[48];
		if (!cr->has_last || !cr->last.has_value || !number(v, sizeof(v), cr->last.value))
			continue;
		fputc(' ', out);
		label(out, cr->id);
		fprintf(out, "=%s", v);
		char lim[48];
		if (cr->last.has_limit && number(lim, sizeof(lim), cr->last.limit))
			fprintf(out, ";;%s", lim);
	}
	fputc('\n', out);
	return 0;
}

const struct ac_writer ac_writer_nagios = {
    "nagios",
    "one line and perfdata for Nagios, Icinga and Sensu (exit 0 OK, 2 CRITICAL, 3 UNKNOWN)",
    write_nagios,
};
