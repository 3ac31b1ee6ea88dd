/*
 * markdown.c: a report to paste into the incident channel or a pull
 * request: the verdict, then a table of what is not restored, in recovery
 * order, with owners.
 */
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "result.h"
#include "util.h"

void ac_report_md(FILE *out, const char *s)
{
	/* C1 controls and bytes that are not UTF-8 escaped too: the report is
	 * pasted into terminals and chats. */
	char *ex = ac_text_escape(s ? s : "");
	for (const char *p = ex; *p; p++) {
		if (*p == '|')
			fputs("\\|", out);
		else if (*p == '`' || *p == '<' || *p == '>' || *p == '*' || *p == '[' ||
			 *p == ']' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p == '\n' || *p == '\r')
			fputc(' ', out);
		else
			fputc(*p, out);
	}
	free(ex);
}

/* Table cells: at most 300 bytes (cut whole characters), escaped. */
static void cell(FILE *out, const char *s)
{
	const char *m = s ? s : "";
	char *cut = ac_excerpt(m, strlen(m), 300);
	ac_report_md(out, cut);
	free(cut);
}

static bool same_text(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static bool same_strength(const struct ac_check_result *a, const struct ac_check_result *b)
{
	return same_text(a->strength.text, b->strength.text) &&
	       same_text(a->strength.sizing, b->strength.sizing);
}

static bool passes_with_strength(const struct ac_check_result *cr)
{
	return cr->state == AC_STATE_PASS && cr->strength.text;
}

/* A passing journey's strength is listed once per distinct sentence, at
 * the first journey that has it. */
static bool strength_listed(const struct ac_result *r, size_t i)
{
	const struct ac_check_result *cr = &r->checks[i];
	if (!passes_with_strength(cr))
		return false;
	for (size_t k = 0; k < i; k++)
		if (passes_with_strength(&r->checks[k]) && same_strength(cr, &r->checks[k]))
			return false;
	return true;
}

static int markdown_write(FILE *out, const struct ac_result *r, const struct ac_report_opts *o)
{
	(void)o;
	fprintf(out, "## allclear: %s\n\n", ac_verdict_name(r->verdict));
	cell(out, r->verdict_reason);
	fputs("\n\n", out);
	if (r->restore_text[0]) {
		cell(out, r->restore_text);
		fputs("\n\n", out);
	}
	if (r->insecure_tls)
		fputs(
		    "**Warning: TLS verification was off for this run (\"insecure\": true).**\n\n",
		    out);
	char a[32];
	ac_format_utc(a, sizeof(a), r->started_wall_ms);
	fputs("Scenario *", out);
	cell(out, r->scenario_name);
	fprintf(out, "*, %s mode, %d round%s from %s%s.\n\n", r->mode ? r->mode : "?", r->rounds,
		r->rounds == 1 ? "" : "s", a, r->interrupted ? ", interrupted" : "");
	ac_report_note_users(out, r);
	size_t bad = 0;
	for (size_t i = 0; i < r->nchecks; i++)
		bad += r->checks[i].state != AC_STATE_PASS;
	if (bad) {
		fputs("### Still wrong, in recovery order\n\n", out);
		fputs("| state | area | check | owner | why |\n|---|---|---|---|---|\n", out);
		int nareas = ac_report_area_count(r);
		for (int area = 0; area < nareas; area++) {
			for (size_t i = 0; i < r->nchecks; i++) {
				const struct ac_check_result *cr = &r->checks[i];
				if (cr->state == AC_STATE_PASS || cr->area_order != area)
					continue;
				fprintf(out, "| %s | ", ac_state_name(cr->state));
				cell(out, ac_report_area_name(cr));
				fputs(" | ", out);
				cell(out, cr->id);
				fputs(" | ", out);
				cell(out, ac_report_owner(cr));
				fputs(" | ", out);
				cell(out, cr->reason);
				if (cr->part) {
					fputs(" [part: ", out);
					cell(out, cr->part);
					fputs("]", out);
				}
				if (cr->note) {
					fputs(" (", out);
					cell(out, cr->note);
					fputs(")", out);
				}
				if (cr->rate.text[0]) {
					fputs("; rate: ", out);
					cell(out, cr->rate.text);
				}
				if (cr->strength.text) {
					fputs(cr->state == AC_STATE_FAIL ? " (observed share: "
									 : " (strength: ",
					      out);
					cell(out, cr->strength.text);
					fputs(")", out);
				}
				fputs(" |\n", out);
			}
		}
		fputc('\n', out);
	}
	ac_report_next_steps_markdown(out, r);
	ac_report_note_timeline(out, r);
	ac_report_note_drafts(out, r);
	fprintf(out, "%zu of %zu checks passed.\n", r->nchecks - bad, r->nchecks);
	bool listed = false;
	for (size_t i = 0; i < r->nchecks; i++) {
		const struct ac_check_result *cr = &r->checks[i];
		if (!strength_listed(r, i))
			continue;
		fputs(listed ? "\n- " : "\nHow sure the passing journeys are:\n\n- ", out);
		listed = true;
		size_t n = 0;
		for (size_t k = i; k < r->nchecks; k++)
			n +=
			    passes_with_strength(&r->checks[k]) && same_strength(cr, &r->checks[k]);
		if (n == 1) {
			cell(out, cr->id);
			fputs(": ", out);
		}
		cell(out, cr->strength.text);
		if (cr->strength.sizing) {
			fputs(" (", out);
			cell(out, cr->strength.sizing);
			fputs(")", out);
		}
		if (n > 1) {
			fprintf(out, ": %zu journeys (", n);
			bool first = true;
			for (size_t k = i; k < r->nchecks; k++) {
				if (!passes_with_strength(&r->checks[k]) ||
				    !same_strength(cr, &r->checks[k]))
					continue;
				fputs(first ? "" : "; ", out);
				cell(out, r->checks[k].id);
				first = false;
			}
			fputs(")", out);
		}
	}
	if (listed)
		fputc('\n', out);
	return ferror(out) ? -1 : 0;
}

const struct ac_writer ac_writer_markdown = {
    .name = "markdown",
    .summary = "verdict and a table of what is not restored, for chat or a pull request",
    .write = markdown_write,
};
