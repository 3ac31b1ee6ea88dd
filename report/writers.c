/*
 * writers.c: the table of report writers.
 *
 * Adding an output format: one file under report/, one row here, and
 * golden-file tests.
 */
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "util.h"

extern const struct ac_writer ac_writer_terminal;
extern const struct ac_writer ac_writer_html;
extern const struct ac_writer ac_writer_json;
extern const struct ac_writer ac_writer_junit;
extern const struct ac_writer ac_writer_markdown;
extern const struct ac_writer ac_writer_nagios;
extern const struct ac_writer ac_writer_prometheus;

const struct ac_writer *const ac_writers[] = {
    &ac_writer_html,	 &ac_writer_json,   &ac_writer_junit,	   &ac_writer_markdown,
    &ac_writer_terminal, &ac_writer_nagios, &ac_writer_prometheus,
};
const size_t ac_nwriters = sizeof(ac_writers) / sizeof(ac_writers[0]);

const struct ac_writer *ac_writer_find(const char *name)
{
	for (size_t i = 0; i < ac_nwriters; i++)
		if (strcmp(ac_writers[i]->name, name) == 0)
			return ac_writers[i];
	return NULL;
}

const char *ac_report_area_name(const struct ac_check_result *cr)
{
	return cr->area ? cr->area : "?";
}

const char *ac_report_owner(const struct ac_check_result *cr)
{
	return cr->owner && *cr->owner ? cr->owner : "unassigned";
}

int ac_report_area_count(const struct ac_result *r)
{
	int n = 0;
	for (size_t i = 0; i < r->nchecks; i++)
		if (r->checks[i].area_order >= n)
			n = r->checks[i].area_order + 1;
	return n;
}

struct ac_persona_stat *ac_report_persona_stats(const struct ac_result *r, size_t *np)
{
	/* At most one persona a check: every one is counted, none dropped. */
	struct ac_persona_stat *out = ac_calloc(r->nchecks + 1, sizeof(*out));
	size_t n = 0;
	for (size_t i = 0; i < r->nchecks; i++) {
		const struct ac_check_result *cr = &r->checks[i];
		const char *p = cr->persona;
		if (!p)
			continue;
		size_t k;
		for (k = 0; k < n; k++)
			if (strcmp(out[k].persona, p) == 0)
				break;
		if (k == n)
			out[n++] = (struct ac_persona_stat){p, 0, 0, 0};
		/* Every run of a sampled journey is a visitor's run. */
		out[k].runs += cr->history.runs;
		out[k].failed += cr->history.runs_bad;
		out[k].unmeasured += cr->history.runs_unmeasured;
	}
	*np = n;
	return out;
}

void ac_report_markup(FILE *out, const char *s, bool lines)
{
	/* Controls (newline and tab kept for lines), DEL, C1 and bytes that
	 * are not UTF-8 become visible escapes first: they are illegal in XML
	 * 1.0 or only drive terminals. Then the five characters of markup. */
	char *m = lines ? ac_text_escape_lines(s ? s : "") : ac_text_escape(s ? s : "");
	for (const unsigned char *p = (const unsigned char *)m; *p; p++) {
		switch (*p) {
		case '<':
			fputs("&lt;", out);
			break;
		case '>':
			fputs("&gt;", out);
			break;
		case '&':
			fputs("&amp;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		case '\'':
			fputs("&#39;", out);
			break;
		case '\n':
		case '\t':
			fputc(*p, out);
			break;
		default:
			fputc(*p < 0x20 ? ' ' : *p, out);
		}
	}
	free(m);
}
