/*
 * junit.c: JUnit XML for deploy pipelines.
 *
 * One testcase per check, grouped by area as the class name; FAIL becomes
 * <failure>, anything not measured becomes <error>, and one more testcase,
 * "verdict", fails unless the verdict is RESTORED, so a gate that only
 * counts failures cannot pass an INCONCLUSIVE run.
 */
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "result.h"
#include "util.h"

static void xml_text(FILE *out, const char *s)
{
	ac_report_markup(out, s, true);
}

static void detail(FILE *out, const struct ac_check_result *cr)
{
	fputs("area: ", out);
	xml_text(out, ac_report_area_name(cr));
	fputs("\nowner: ", out);
	xml_text(out, ac_report_owner(cr));
	if (cr->target.name) {
		fputs("\ntarget: ", out);
		xml_text(out, cr->target.name);
	}
	if (cr->persona) {
		fputs("\npersona: ", out);
		xml_text(out, cr->persona);
	}
	if (cr->note) {
		fputs("\nnote: ", out);
		xml_text(out, cr->note);
	}
	const struct ac_sample *s = cr->has_last_bad ? &cr->last_bad : &cr->last;
	for (size_t i = 0; i < s->nsteps; i++) {
		const struct ac_step_result *st = &s->steps[i];
		if (st->state == AC_STATE_PASS)
			continue;
		fputs("\nstep: ", out);
		xml_text(out, st->name);
		for (size_t k = 0; k < st->nasserts; k++) {
			if (st->asserts[k].ok)
				continue;
			fputs("\n  ", out);
			xml_text(out, st->asserts[k].what);
			fputs(": expected ", out);
			xml_text(out, st->asserts[k].expected);
			fputs(", got ", out);
			xml_text(out, st->asserts[k].actual);
		}
		if (st->excerpt) {
			fputs("\n  body: ", out);
			xml_text(out, st->excerpt);
		}
	}
	if (s->evidence) {
		fputs("\nevidence: ", out);
		xml_text(out, s->evidence);
	}
	fputc('\n', out);
}

static int junit_write(FILE *out, const struct ac_result *r, const struct ac_report_opts *o)
{
	(void)o;
	size_t fails = 0, errors = 0;
	for (size_t i = 0; i < r->nchecks; i++) {
		fails += r->checks[i].state == AC_STATE_FAIL;
		errors +=
		    r->checks[i].state != AC_STATE_FAIL && r->checks[i].state != AC_STATE_PASS;
	}
	if (r->verdict == AC_NOT_RESTORED)
		fails++;
	else if (r->verdict == AC_INCONCLUSIVE)
		errors++;
	double secs = (double)(r->ended_wall_ms - r->started_wall_ms) / 1000.0;
	char ts[32];
	ac_format_utc(ts, sizeof(ts), r->started_wall_ms);
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", out);
	fprintf(out,
		"<testsuites name=\"allclear\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" "
		"time=\"%.3f\">\n",
		r->nchecks + 1, fails, errors, secs);
	fputs("  <testsuite name=\"", out);
	xml_text(out, r->scenario_name);
	fprintf(
	    out,
	    "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" time=\"%.3f\" timestamp=\"%s\">\n",
	    r->nchecks + 1, fails, errors, secs, ts);
	fprintf(out,
		"    <properties>\n      <property name=\"verdict\" value=\"%s\"/>\n"
		"      <property name=\"rounds\" value=\"%d\"/>\n"
		"      <property name=\"insecure_tls\" value=\"%s\"/>\n    </properties>\n",
		ac_verdict_name(r->verdict), r->rounds, r->insecure_tls ? "true" : "false");
	fputs("    <testcase classname=\"allclear\" name=\"verdict\">\n", out);
	if (r->verdict != AC_RESTORED) {
		fprintf(out, "      <%s message=\"",
			r->verdict == AC_NOT_RESTORED ? "failure" : "error");
		xml_text(out, ac_verdict_name(r->verdict));
		fprintf(out, "\" type=\"%s\">", ac_verdict_name(r->verdict));
		xml_text(out, r->verdict_reason);
		fprintf(out, "</%s>\n", r->verdict == AC_NOT_RESTORED ? "failure" : "error");
	}
	fputs("    </testcase>\n", out);
	for (size_t i = 0; i < r->nchecks; i++) {
		const struct ac_check_result *cr = &r->checks[i];
		double t = cr->has_last ? (double)cr->last.duration_ms / 1000.0 : 0;
		fputs("    <testcase classname=\"allclear.", out);
		xml_text(out, ac_report_area_name(cr));
		fputs("\" name=\"", out);
		xml_text(out, cr->id);
		fprintf(out, "\" time=\"%.3f\">\n", t);
		if (cr->state != AC_STATE_PASS) {
			const char *tag = cr->state == AC_STATE_FAIL ? "failure" : "error";
			fprintf(out, "      <%s message=\"", tag);
			xml_text(out, cr->reason ? cr->reason : ac_state_name(cr->state));
			if (cr->part) {
				fputs(" [part: ", out);
				xml_text(out, cr->part);
				fputc(']', out);
			}
			fprintf(out, "\" type=\"%s\">", ac_state_name(cr->state));
			detail(out, cr);
			fprintf(out, "</%s>\n", tag);
		} else if (cr->note) {
			fputs("      <system-out>", out);
			xml_text(out, cr->note);
			fputs("</system-out>\n", out);
		}
		fputs("    </testcase>\n", out);
	}
	fputs("  </testsuite>\n</testsuites>\n", out);
	return ferror(out) ? -1 : 0;
}

const struct ac_writer ac_writer_junit = {
    .name = "junit",
    .summary = "JUnit XML for CI systems; the verdict is a testcase of its own",
    .write = junit_write,
};
