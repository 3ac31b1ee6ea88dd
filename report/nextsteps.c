/*
 * nextsteps.c: "Next steps" from the release map in the result tree
 * (r->parts, in the map's order): what is left to undo, who does it and
 * the evidence, and what is done and since when. Shared by the terminal
 * and Markdown writers; the JSON writer uses ac_report_part_status.
 */
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "result.h"
#include "util.h"

const char *ac_report_part_status_name(enum ac_part_status s)
{
	switch (s) {
	case AC_PART_TODO:
		return "todo";
	case AC_PART_UNMEASURED:
		return "not measured";
	case AC_PART_DONE:
		return "done";
	case AC_PART_UNPROVEN:
		break;
	}
	return "unproven";
}

enum ac_part_status ac_report_part_status(const struct ac_result *r, const struct ac_result_part *p,
					  int64_t *green_since)
{
	enum ac_state worst = AC_STATE_PASS;
	int64_t green = 0;
	size_t n = 0;
	for (size_t k = 0; k < p->nchecks; k++) {
		if (p->checks[k] >= r->nchecks)
			continue;
		const struct ac_check_result *cr = &r->checks[p->checks[k]];
		n++;
		worst = ac_state_worse(worst, cr->state);
		/* The part went green when its last check did. */
		if (cr->green_since_wall > green)
			green = cr->green_since_wall;
		if (cr->recovered_at_wall > green)
			green = cr->recovered_at_wall;
	}
	if (green_since)
		*green_since = worst == AC_STATE_PASS && n ? green : 0;
	if (n == 0)
		return AC_PART_UNPROVEN;
	if (worst == AC_STATE_FAIL)
		return AC_PART_TODO;
	if (worst != AC_STATE_PASS)
		return AC_PART_UNMEASURED; /* never counted as done */
	return AC_PART_DONE;
}

/* --- terminal ------------------------------------------------------------ */

static void put_line(FILE *out, const char *prefix, const char *text)
{
	char *e = ac_text_escape(text ? text : "");
	fprintf(out, "%s%s\n", prefix, e);
	free(e);
}

static const char *term_label(enum ac_part_status s)
{
	switch (s) {
	case AC_PART_TODO:
		return "TO DO";
	case AC_PART_UNMEASURED:
		return "UNKNOWN";
	case AC_PART_DONE:
		return "done";
	case AC_PART_UNPROVEN:
		break;
	}
	return "UNPROVEN";
}

static const struct ac_check_result *part_check(const struct ac_result *r,
						const struct ac_result_part *p, size_t k)
{
	return p->checks[k] < r->nchecks ? &r->checks[p->checks[k]] : NULL;
}

static bool same_evidence(const struct ac_check_result *a, const struct ac_check_result *b)
{
	return a->state == b->state && a->target.name && b->target.name &&
	       ac_streq(a->name, b->name) && ac_streq(a->reason, b->reason);
}

/* The part's checks that did not pass, one line each, except that one
 * journey failing the same way on several targets is one line: "FAIL
 * checkout @ edge-us, edge-eu: reason" (its checks are next to each other
 * in plan order). The caller frees it. */
char *ac_report_part_evidence(const struct ac_result *r, const struct ac_result_part *p,
			      const char *indent)
{
	struct ac_buf b = AC_BUF_INIT;
	for (size_t k = 0; k < p->nchecks; k++) {
		const struct ac_check_result *cr = part_check(r, p, k);
		if (!cr || cr->state == AC_STATE_PASS)
			continue;
		/* A journey's checks on its targets are next to each other: look
		 * within that run only (a part may hold thousands). */
		bool seen = false;
		for (size_t j = k; j-- > 0 && !seen;) {
			const struct ac_check_result *o = part_check(r, p, j);
			if (!o || !ac_streq(o->name, cr->name))
				break;
			seen = same_evidence(o, cr);
		}
		if (seen)
			continue;
		ac_buf_addf(&b, "%s%s ", indent, ac_state_name(cr->state));
		if (cr->target.name) {
			ac_buf_addf(&b, "%s @ %s", cr->name ? cr->name : "?", cr->target.name);
			for (size_t j = k + 1; j < p->nchecks; j++) {
				const struct ac_check_result *o = part_check(r, p, j);
				if (!o || !ac_streq(o->name, cr->name))
					break;
				if (same_evidence(o, cr))
					ac_buf_addf(&b, ", %s", o->target.name);
			}
		} else {
			ac_buf_adds(&b, cr->id ? cr->id : "?");
		}
		ac_buf_addf(&b, ": %s\n",
			    cr->reason			    ? cr->reason
			    : cr->state == AC_STATE_PENDING ? "no sample yet"
							    : "no reason given");
	}
	return ac_buf_detach(&b);
}

static void evidence_lines(FILE *out, const struct ac_result *r, const struct ac_result_part *p,
			   const char *indent)
{
	char *ev = ac_report_part_evidence(r, p, indent);
	char *line = ev;
	for (char *nl; line && (nl = strchr(line, '\n')); line = nl + 1) {
		*nl = '\0';
		put_line(out, "", line);
	}
	free(ev);
}

void ac_report_next_steps_terminal(FILE *out, const struct ac_result *r, bool color)
{
	if (!r->nparts)
		return;
	const char *bold = color ? "\033[1m" : "", *reset = color ? "\033[0m" : "";
	fprintf(out, "\n%sNext steps%s, in the release map's order", bold, reset);
	if (r->release_version) {
		char *v = ac_text_escape(r->release_version);
		fprintf(out, " (release %s)", v);
		free(v);
	}
	fputs(":\n", out);
	for (size_t i = 0; i < r->nparts; i++) {
		const struct ac_result_part *p = &r->parts[i];
		int64_t green = 0;
		enum ac_part_status st = ac_report_part_status(r, p, &green);
		char *head = ac_asprintf("%2zu. %-8s %s [%s]", i + 1, term_label(st), p->name,
					 p->area ? p->area : "?");
		char *e = ac_text_escape(head);
		fprintf(out, "  %s%s%s", st == AC_PART_DONE ? "" : bold, e,
			st == AC_PART_DONE ? "" : reset);
		free(e);
		free(head);
		if (st == AC_PART_DONE) {
			char ts[32];
			ac_format_utc(ts, sizeof(ts), green);
			fprintf(out, ": green since %s\n", green ? ts : "the first round");
			continue;
		}
		if (st == AC_PART_UNPROVEN) {
			fputs(": nothing proves this part restored (no checks)\n", out);
			continue;
		}
		fputc('\n', out);
		for (size_t k = 0; k < p->nundo; k++) {
			char *l = p->nundo == 1 ? ac_asprintf("        undo: %s", p->undo[k])
						: ac_asprintf("        undo %zu/%zu: %s", k + 1,
							      p->nundo, p->undo[k]);
			put_line(out, "", l);
			free(l);
		}
		char *who = ac_asprintf("        owner: %s, backup: %s", p->owner ? p->owner : "?",
					p->backup ? p->backup : "none named");
		put_line(out, "", who);
		free(who);
		if (p->restart)
			put_line(out, "        then restart: ", p->restart);
		fputs("        evidence:\n", out);
		evidence_lines(out, r, p, "          ");
	}
}

/* --- Markdown ------------------------------------------------------------ */

/* Inline text: one line, the characters that would format escaped. */
static void md(FILE *out, const char *s)
{
	char *e = ac_text_escape(s ? s : "");
	for (const char *c = e; *c; c++) {
		if (strchr("\\`*_[]<>|#", *c))
			fputc('\\', out);
		fputc(*c, out);
	}
	free(e);
}

void ac_report_next_steps_markdown(FILE *out, const struct ac_result *r)
{
	if (!r->nparts)
		return;
	fputs("### Next steps", out);
	if (r->release_version) {
		fputs(" (release ", out);
		md(out, r->release_version);
		fputc(')', out);
	}
	fputs("\n\nIn the release map's order: what must be done first, then flags, config, jobs, "
	      "data, cache, code.\n\n",
	      out);
	for (size_t i = 0; i < r->nparts; i++) {
		const struct ac_result_part *p = &r->parts[i];
		int64_t green = 0;
		enum ac_part_status st = ac_report_part_status(r, p, &green);
		fprintf(out, "%zu. ", i + 1);
		if (st == AC_PART_DONE) {
			fputs("~~", out);
			md(out, p->name);
			fputs("~~ (", out);
			md(out, p->area);
			char ts[32];
			ac_format_utc(ts, sizeof(ts), green);
			fprintf(out, "): done, green since %s\n", green ? ts : "the first round");
			continue;
		}
		fputs("**", out);
		md(out, p->name);
		fputs("** (", out);
		md(out, p->area);
		if (st == AC_PART_UNPROVEN) {
			fputs("): nothing proves this part restored\n", out);
			continue;
		}
		fprintf(out, "): %s\n", st == AC_PART_TODO ? "**to do**" : "not measured");
		for (size_t k = 0; k < p->nundo; k++) {
			fputs(p->nundo == 1 ? "   - undo: " : "   - undo step: ", out);
			md(out, p->undo[k]);
			fputc('\n', out);
		}
		fputs("   - owner: ", out);
		md(out, p->owner);
		fputs(", backup: ", out);
		md(out, p->backup ? p->backup : "none named");
		fputc('\n', out);
		if (p->restart) {
			fputs("   - then restart: ", out);
			md(out, p->restart);
			fputc('\n', out);
		}
		char *ev = ac_report_part_evidence(r, p, "");
		char *line = ev;
		for (char *nl; line && (nl = strchr(line, '\n')); line = nl + 1) {
			*nl = '\0';
			fputs("   - evidence: ", out);
			md(out, line);
			fputc('\n', out);
		}
		free(ev);
	}
	fputc('\n', out);
}
