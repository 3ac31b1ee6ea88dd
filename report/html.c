/*
 * html.c: one self-contained HTML page of a run, for a browser or a CI
 * artifact: the verdict banner and counts, the checks grouped by area in
 * recovery order, an SVG chart of every check with a value over the
 * window (the value line, each round marked pass, fail or not measured),
 * a strip of rounds for checks without values, and the evidence folded in
 * <details>. No network: inline CSS and SVG, no script, no external URL.
 * Works in a narrow window and in print.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "result.h"
#include "util.h"

/* Text as HTML, on one line. */
static void text(FILE *out, const char *s)
{
	ac_report_markup(out, s, false);
}

/* Text of several lines (for <pre>): the line breaks kept, the last ones
 * dropped. */
static void text_lines(FILE *out, const char *s)
{
	size_t len = s ? strlen(s) : 0;
	while (len && s[len - 1] == '\n')
		len--;
	char *t = ac_strndup(s ? s : "", len);
	ac_report_markup(out, t, true);
	free(t);
}

static const char *state_class(enum ac_state s)
{
	switch (s) {
	case AC_STATE_PASS:
		return "pass";
	case AC_STATE_FAIL:
		return "fail";
	case AC_STATE_ERROR:
		return "error";
	case AC_STATE_PENDING:
		break;
	}
	return "pending";
}

static const char *verdict_class(enum ac_verdict v)
{
	return v == AC_RESTORED	      ? "restored"
	       : v == AC_NOT_RESTORED ? "not-restored"
				      : "inconclusive";
}

static const char css[] =
    "*{box-sizing:border-box}"
    "body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#1b1f24;"
    "background:#fff}"
    "header.verdict{padding:1rem 1.5rem;color:#fff}"
    "header.restored{background:#1a7f37}header.not-restored{background:#cf222e}"
    "header.inconclusive{background:#9a6700}"
    "header h1{margin:0;font-size:1.8rem}header p{margin:.3rem 0 0}"
    "main{padding:0 1.5rem 2rem;max-width:70rem}"
    ".warn{background:#fff8c5;border:1px solid #d4a72c;padding:.5rem 1rem;margin:1rem 0}"
    "h2{border-bottom:1px solid #d0d7de;padding-bottom:.2rem;margin-top:1.6rem;"
    "text-transform:capitalize}"
    "article{border:1px solid #d0d7de;border-left-width:6px;border-radius:6px;padding:.6rem "
    ".9rem;margin:.7rem 0;break-inside:avoid}"
    "article.pass{border-left-color:#1a7f37}article.fail{border-left-color:#cf222e}"
    "article.error,article.pending{border-left-color:#9a6700}"
    "article h3{margin:0;font-size:1.05rem;overflow-wrap:anywhere}"
    ".meta{color:#57606a;font-size:.9rem}.why{margin:.3rem 0}"
    ".badge{display:inline-block;font-weight:600;font-size:.8rem;padding:0 .4rem;"
    "border-radius:4px;color:#fff;margin-right:.4rem}"
    ".badge.pass{background:#1a7f37}.badge.fail{background:#cf222e}"
    ".badge.error,.badge.pending{background:#9a6700}"
    "svg{display:block;width:100%;max-width:40rem;height:auto;margin:.4rem 0}"
    "svg .line{fill:none;stroke:#0969da;stroke-width:2}"
    "svg .axis{stroke:#d0d7de;stroke-width:1}"
    "svg .pass{fill:#1a7f37}svg .fail{fill:#cf222e}svg .error,svg .pending{fill:#9a6700}"
    "svg .retried{fill:#8ddb8c}svg .limit{stroke:#cf222e;stroke-width:1.5;stroke-dasharray:6 4}"
    "svg text{font-size:11px;fill:#57606a}"
    "details{margin:.3rem 0}pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f6f8fa;"
    "padding:.5rem;font-size:.85rem}"
    "footer{color:#57606a;font-size:.85rem;padding:1rem 1.5rem;border-top:1px solid #d0d7de}"
    "@media print{header.verdict{color:#000;background:none;border-bottom:3px solid}"
    "details>*{display:block}}";

/* The chart area inside the SVG's view box. */
#define CH_W 600.0
#define CH_H 140.0
#define CH_LEFT 56.0
#define CH_RIGHT 8.0
#define CH_TOP 8.0
#define CH_BOTTOM 22.0

static void num(FILE *out, double v)
{
	fprintf(out, "%.1f", v);
}

/* A chart of the check's values over the window: one circle per round
 * with a value (class "v" and the round's state), the line through them,
 * and a tick at the bottom for each round without a value. */
static void chart(FILE *out, const struct ac_check_result *cr)
{
	const struct ac_history *h = &cr->history;
	size_t nvalues = 0;
	double lo = 0, hi = 0;
	for (size_t i = 0; i < h->len; i++) {
		const struct ac_point *p = ac_history_at(h, i);
		if (!p->has_value || !isfinite(p->value))
			continue;
		if (nvalues == 0 || p->value < lo)
			lo = p->value;
		if (nvalues == 0 || p->value > hi)
			hi = p->value;
		nvalues++;
	}
	if (nvalues == 0)
		return;
	/* The limit a value passes at or below (a queue's max_depth), or the
	 * level a draining trend aims for: a dashed line, inside the range. */
	bool has_limit = false;
	double limit = 0;
	const char *limit_name = "limit";
	if (cr->has_last && cr->last.has_limit && isfinite(cr->last.limit)) {
		has_limit = true;
		limit = cr->last.limit;
	} else if (cr->rate.has_target && isfinite(cr->rate.target)) {
		has_limit = true;
		limit = cr->rate.target;
		limit_name = "target";
	}
	if (has_limit) {
		lo = limit < lo ? limit : lo;
		hi = limit > hi ? limit : hi;
	}
	if (hi == lo) {
		hi += fabs(hi) > 0 ? fabs(hi) * 0.1 : 1;
		lo -= fabs(lo) > 0 ? fabs(lo) * 0.1 : 1;
	}
	double pw = CH_W - CH_LEFT - CH_RIGHT, ph = CH_H - CH_TOP - CH_BOTTOM;
	size_t n = h->len;
	fprintf(out,
		"<svg class=\"chart\" data-points=\"%zu\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" "
		"aria-label=\"values of ",
		nvalues, CH_W, CH_H);
	text(out, cr->id);
	fputs("\">", out);
	fprintf(out, "<line class=\"axis\" x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\"/>",
		CH_LEFT, CH_TOP + ph, CH_W - CH_RIGHT, CH_TOP + ph);
	fprintf(out, "<text x=\"2\" y=\"%.0f\">%.6g</text>", CH_TOP + 10, hi);
	fprintf(out, "<text x=\"2\" y=\"%.0f\">%.6g</text>", CH_TOP + ph, lo);
	fprintf(out, "<text x=\"%.0f\" y=\"%.0f\">rounds %d to %d</text>", CH_LEFT, CH_H - 4,
		n ? ac_history_at(h, 0)->round : 0, n ? ac_history_at(h, n - 1)->round : 0);
	if (has_limit) {
		double y = CH_TOP + ph - ph * (limit - lo) / (hi - lo);
		fprintf(out, "<line class=\"limit\" x1=\"%.0f\" x2=\"%.0f\" y1=\"", CH_LEFT,
			CH_W - CH_RIGHT);
		num(out, y);
		fputs("\" y2=\"", out);
		num(out, y);
		fprintf(out, "\"><title>%s %.6g</title></line>", limit_name, limit);
		fprintf(out, "<text x=\"%.0f\" y=\"", CH_W - CH_RIGHT - 80);
		num(out, y - 3);
		fprintf(out, "\">%s %.6g</text>", limit_name, limit);
	}
	/* x by position in the window, y by value */
	fputs("<polyline class=\"line\" points=\"", out);
	bool first = true;
	for (size_t i = 0; i < n; i++) {
		const struct ac_point *p = ac_history_at(h, i);
		if (!p->has_value || !isfinite(p->value))
			continue;
		double x = CH_LEFT + (n > 1 ? pw * (double)i / (double)(n - 1) : pw / 2);
		double y = CH_TOP + ph - ph * (p->value - lo) / (hi - lo);
		if (!first)
			fputc(' ', out);
		num(out, x);
		fputc(',', out);
		num(out, y);
		first = false;
	}
	fputs("\"/>", out);
	for (size_t i = 0; i < n; i++) {
		const struct ac_point *p = ac_history_at(h, i);
		double x = CH_LEFT + (n > 1 ? pw * (double)i / (double)(n - 1) : pw / 2);
		const char *sc = state_class((enum ac_state)p->state);
		if (p->has_value && isfinite(p->value)) {
			double y = CH_TOP + ph - ph * (p->value - lo) / (hi - lo);
			fprintf(out, "<circle class=\"v %s\" cx=\"", sc);
			num(out, x);
			fputs("\" cy=\"", out);
			num(out, y);
			fprintf(out, "\" r=\"3.5\"><title>round %d: %.6g (%s)</title></circle>",
				p->round, p->value, ac_state_name((enum ac_state)p->state));
		} else {
			fprintf(out, "<rect class=\"nv %s\" x=\"", sc);
			num(out, x - 2);
			fprintf(out,
				"\" y=\"%.0f\" width=\"4\" height=\"8\"><title>round %d: no value "
				"(%s)</title></rect>",
				CH_TOP + ph - 4, p->round, ac_state_name((enum ac_state)p->state));
		}
	}
	fputs("</svg>\n", out);
}

/* A strip of rounds for a check without values: one mark per round. */
static void strip(FILE *out, const struct ac_check_result *cr)
{
	const struct ac_history *h = &cr->history;
	if (h->len == 0)
		return;
	double w = 600.0 / (double)(h->len > 60 ? h->len : 60);
	fprintf(out,
		"<svg class=\"strip\" data-rounds=\"%zu\" viewBox=\"0 0 600 16\" role=\"img\" "
		"aria-label=\"rounds of ",
		h->len);
	text(out, cr->id);
	fputs("\">", out);
	for (size_t i = 0; i < h->len; i++) {
		const struct ac_point *p = ac_history_at(h, i);
		fprintf(out, "<rect class=\"%s%s\" x=\"", state_class((enum ac_state)p->state),
			p->retried ? " retried" : "");
		num(out, w * (double)i);
		fputs("\" y=\"0\" width=\"", out);
		num(out, w > 2 ? w - 1 : w);
		fprintf(out, "\" height=\"16\"><title>round %d: %s%s</title></rect>", p->round,
			ac_state_name((enum ac_state)p->state), p->retried ? " after a retry" : "");
	}
	fputs("</svg>\n", out);
}

static void evidence(FILE *out, const struct ac_check_result *cr)
{
	const struct ac_sample *s = cr->has_last_bad ? &cr->last_bad
				    : cr->has_last   ? &cr->last
						     : NULL;
	if (!s || (!s->evidence && !s->nsteps && !s->nfigures))
		return;
	fprintf(out, "<details><summary>evidence from round %d</summary>", s->round);
	if (s->nsteps) {
		fputs("<ol>", out);
		for (size_t i = 0; i < s->nsteps; i++) {
			const struct ac_step_result *st = &s->steps[i];
			fprintf(out, "<li><span class=\"badge %s\">%s</span>",
				state_class(st->state), ac_state_name(st->state));
			text(out, st->name);
			if (st->method || st->url) {
				fputs(" <code>", out);
				text(out, st->method);
				fputc(' ', out);
				text(out, st->url);
				fputs("</code>", out);
			}
			if (st->status)
				fprintf(out, " status %ld", st->status);
			fprintf(out, ", %lld ms", (long long)st->duration_ms);
			if (st->reason) {
				fputs(": ", out);
				text(out, st->reason);
			}
			if (st->served_by) {
				fputs(" (served by ", out);
				text(out, st->served_by);
				fputc(')', out);
			}
			fputs("</li>", out);
		}
		fputs("</ol>", out);
	}
	if (s->nfigures) {
		fputs("<ul>", out);
		for (size_t i = 0; i < s->nfigures; i++) {
			const struct ac_figure *fg = &s->figures[i];
			fputs("<li>", out);
			text(out, fg->name);
			if (fg->has_value)
				fprintf(out, ": %.15g", fg->value);
			else {
				fputs(": unavailable (", out);
				text(out, fg->note);
				fputc(')', out);
			}
			fputs("</li>", out);
		}
		fputs("</ul>", out);
	}
	if (s->evidence) {
		fputs("<pre>", out);
		text_lines(out, s->evidence);
		fputs("</pre>", out);
	}
	fputs("</details>\n", out);
}

static void check(FILE *out, const struct ac_check_result *cr, size_t index)
{
	const char *sc = state_class(cr->state);
	fprintf(
	    out,
	    "<article class=\"check %s\" id=\"check-%zu\"><h3><span class=\"badge %s\">%s</span>",
	    sc, index, sc, ac_state_name(cr->state));
	text(out, cr->id);
	fputs("</h3>\n<p class=\"meta\">", out);
	text(out, cr->kind);
	fputs(" &middot; owner ", out);
	text(out, ac_report_owner(cr));
	if (cr->persona) {
		fputs(" &middot; persona ", out);
		text(out, cr->persona);
	}
	if (cr->target.name) {
		fputs(" &middot; target ", out);
		text(out, cr->target.name);
		if (cr->target.region && *cr->target.region) {
			fputs(" (", out);
			text(out, cr->target.region);
			fputc(')', out);
		}
	}
	if (cr->critical)
		fputs(" &middot; critical", out);
	fprintf(out, " &middot; %zu of %zu rounds passed", cr->history.passes, cr->history.total);
	fputs("</p>\n", out);
	if (cr->description) {
		fputs("<p>", out);
		text(out, cr->description);
		fputs("</p>\n", out);
	}
	if (cr->reason) {
		fputs("<p class=\"why\">", out);
		text(out, cr->reason);
		fputs("</p>\n", out);
	}
	if (cr->note) {
		fputs("<p class=\"note\">", out);
		text(out, cr->note);
		fputs("</p>\n", out);
	}
	if (cr->part) {
		fputs("<p class=\"meta\">release map part: ", out);
		text(out, cr->part);
		fputs("</p>\n", out);
	}
	if (cr->rate.text[0]) {
		/* the trend in words, beside its chart */
		fputs("<p class=\"rate\">rate: ", out);
		text(out, cr->rate.text);
		fputs("</p>\n", out);
	}
	if (cr->strength.text) {
		fputs(cr->state == AC_STATE_FAIL ? "<p class=\"strength\">observed share: "
						 : "<p class=\"strength\">strength: ",
		      out);
		text(out, cr->strength.text);
		fputs("</p>\n", out);
	}
	bool valued = false;
	for (size_t i = 0; i < cr->history.len && !valued; i++)
		valued = ac_history_at(&cr->history, i)->has_value;
	if (valued)
		chart(out, cr);
	else
		strip(out, cr);
	evidence(out, cr);
	fputs("</article>\n", out);
}

/* Next steps from the release map, in its order: what to do, who does it,
 * and the evidence; parts done with when they went green. */
static void next_steps(FILE *out, const struct ac_result *r)
{
	if (!r->nparts)
		return;
	fputs("<section id=\"next-steps\"><h2>Next steps</h2>\n", out);
	if (r->release_version) {
		fputs("<p class=\"meta\">release ", out);
		text(out, r->release_version);
		fputs(", in the release map's order</p>\n", out);
	}
	fputs("<ol class=\"parts\">\n", out);
	for (size_t i = 0; i < r->nparts; i++) {
		const struct ac_result_part *p = &r->parts[i];
		int64_t green = 0;
		enum ac_part_status st = ac_report_part_status(r, p, &green);
		const char *cls = st == AC_PART_DONE   ? "pass"
				  : st == AC_PART_TODO ? "fail"
						       : "error";
		fprintf(out, "<li class=\"part %s\"><span class=\"badge %s\">%s</span><strong>",
			cls, cls, ac_report_part_status_name(st));
		text(out, p->name);
		fputs("</strong> [", out);
		text(out, p->area);
		fputs("]", out);
		if (st == AC_PART_DONE && green) {
			char t[32];
			ac_format_utc(t, sizeof(t), green);
			fprintf(out, ": green since %s", t);
		}
		if (st != AC_PART_DONE) {
			fputs("<ul>", out);
			for (size_t k = 0; k < p->nundo; k++) {
				fputs("<li>undo: ", out);
				text(out, p->undo[k]);
				fputs("</li>", out);
			}
			fputs("<li>owner: ", out);
			text(out, p->owner);
			if (p->backup) {
				fputs(", backup: ", out);
				text(out, p->backup);
			}
			fputs("</li>", out);
			if (p->restart) {
				fputs("<li>then restart: ", out);
				text(out, p->restart);
				fputs("</li>", out);
			}
			char *ev = ac_report_part_evidence(r, p, "");
			if (ev && *ev) {
				fputs("<li>evidence:<pre>", out);
				text_lines(out, ev);
				fputs("</pre></li>", out);
			}
			free(ev);
			fputs("</ul>", out);
		}
		fputs("</li>\n", out);
	}
	fputs("</ol></section>\n", out);
}

static int html_write(FILE *out, const struct ac_result *r, const struct ac_report_opts *o)
{
	(void)o;
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, "
	      "initial-scale=1\">\n<title>allclear: ",
	      out);
	fputs(ac_verdict_name(r->verdict), out);
	fputs(" &middot; ", out);
	text(out, r->scenario_name);
	fprintf(out, "</title>\n<style>%s</style>\n</head>\n<body>\n", css);
	size_t pass = 0, fail = 0, other = 0;
	for (size_t i = 0; i < r->nchecks; i++) {
		pass += r->checks[i].state == AC_STATE_PASS;
		fail += r->checks[i].state == AC_STATE_FAIL;
		other += r->checks[i].state != AC_STATE_PASS && r->checks[i].state != AC_STATE_FAIL;
	}
	fprintf(out, "<header class=\"verdict %s\"><h1 id=\"verdict\">%s</h1>\n<p>",
		verdict_class(r->verdict), ac_verdict_name(r->verdict));
	text(out, r->verdict_reason);
	char a[32], b[32];
	ac_format_utc(a, sizeof(a), r->started_wall_ms);
	ac_format_utc(b, sizeof(b), r->ended_wall_ms);
	fprintf(out,
		"</p>\n<p id=\"counts\">%zu passed, %zu failed, %zu not measured, of %zu checks; "
		"%d round%s",
		pass, fail, other, r->nchecks, r->rounds, r->rounds == 1 ? "" : "s");
	fputs(" &middot; scenario ", out);
	text(out, r->scenario_name);
	fprintf(out, " &middot; %s mode, %s to %s%s</p></header>\n<main>\n",
		r->mode ? r->mode : "?", a, b, r->interrupted ? ", interrupted" : "");
	if (r->restore_text[0]) {
		fputs("<p id=\"restore-estimate\">", out);
		text(out, r->restore_text);
		fputs("</p>\n", out);
	}
	if (r->insecure_tls)
		fputs("<p class=\"warn\"><strong>TLS verification was off for this run "
		      "(\"insecure\": true).</strong></p>\n",
		      out);
	next_steps(out, r);
	/* Checks by area, in recovery order; within an area, the ones that
	 * need a hand first. */
	int nareas = ac_report_area_count(r);
	for (int area = 0; area < nareas; area++) {
		bool any = false;
		for (int pass_first = 0; pass_first < 2; pass_first++) {
			for (size_t i = 0; i < r->nchecks; i++) {
				const struct ac_check_result *cr = &r->checks[i];
				if (cr->area_order != area ||
				    (cr->state == AC_STATE_PASS) != (pass_first == 1))
					continue;
				if (!any) {
					fputs("<section><h2>", out);
					text(out, ac_report_area_name(cr));
					fputs("</h2>\n", out);
					any = true;
				}
				check(out, cr, i);
			}
		}
		if (any)
			fputs("</section>\n", out);
	}
	fputs("</main>\n<footer>Written by allclear from the result of the run; every secret was "
	      "masked before it reached this page.</footer>\n</body>\n</html>\n",
	      out);
	return ferror(out) ? -1 : 0;
}

const struct ac_writer ac_writer_html = {
    .name = "html",
    .summary = "one self-contained HTML page with a chart per valued check",
    .write = html_write,
};
