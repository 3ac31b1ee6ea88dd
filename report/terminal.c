/*
 * terminal.c: the report people read at 2 a.m.
 *
 * The verdict comes first, then what failed in recovery order (flags and
 * config, jobs, data, cache, code) with the reason, owner, persona and
 * target, then what could not be measured; the verdict is repeated last
 * so it is the final line of a pipeline log.
 */
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "result.h"
#include "util.h"

struct term {
	FILE *out;
	bool color;
};

static const char *col(const struct term *t, const char *code)
{
	return t->color ? code : "";
}

#define RED "\033[1;31m"
#define GREEN "\033[1;32m"
#define YELLOW "\033[1;33m"
#define BOLD "\033[1m"
#define DIM "\033[2m"
#define RESET "\033[0m"

static const char *verdict_color(enum ac_verdict v)
{
	return v == AC_RESTORED ? GREEN : v == AC_NOT_RESTORED ? RED : YELLOW;
}

static const char *state_color(enum ac_state s)
{
	return s == AC_STATE_PASS ? GREEN : s == AC_STATE_FAIL ? RED : YELLOW;
}

/* Text for a terminal, with control characters escaped, so that no name,
 * reason or quoted server text can move the cursor, clear the screen, set
 * the window title or start a line that looks like a verdict. The caller
 * frees it. */
static char *safe(const char *text)
{
	return ac_text_escape(text ? text : "");
}

static void put_safe(FILE *out, const char *prefix, const char *text)
{
	char *e = safe(text);
	fprintf(out, "%s%s\n", prefix, e);
	free(e);
}

static void print_sample_detail(const struct term *t, const struct ac_sample *s)
{
	for (size_t i = 0; i < s->nsteps; i++) {
		const struct ac_step_result *st = &s->steps[i];
		if (st->state == AC_STATE_PASS)
			continue;
		char *name = safe(st->name);
		fprintf(t->out, "      %sstep \"%s\"", st->cleanup ? "cleanup " : "", name);
		free(name);
		if (st->status)
			fprintf(t->out, " -> %ld", st->status);
		if (st->tries > 1) {
			char w[32];
			ac_format_duration(w, sizeof(w), st->waited_ms);
			fprintf(t->out, " (%d tries over %s)", st->tries, w);
		}
		fputc('\n', t->out);
		for (size_t k = 0; k < st->nasserts; k++) {
			const struct ac_assertion_result *a = &st->asserts[k];
			if (a->ok)
				continue;
			char *l = ac_asprintf("        %s: expected %s, got %s", a->what,
					      a->expected, a->actual);
			put_safe(t->out, "", l);
			free(l);
		}
		if (st->reason && st->nasserts == 0)
			put_safe(t->out, "        ", st->reason);
		if (st->served_by)
			put_safe(t->out, "        served by: ", st->served_by);
		if (st->excerpt)
			put_safe(t->out, "        body: ", st->excerpt);
	}
	if (s->nfigures) {
		struct ac_buf b = AC_BUF_INIT;
		for (size_t i = 0; i < s->nfigures; i++) {
			const struct ac_figure *f = &s->figures[i];
			if (f->has_value)
				ac_buf_addf(&b, "%s%s %.15g", b.len ? ", " : "", f->name, f->value);
			else
				ac_buf_addf(&b, "%s%s n/a", b.len ? ", " : "", f->name);
		}
		put_safe(t->out, "      figures: ", b.buf);
		ac_buf_release(&b);
	}
	if (s->evidence && s->nsteps == 0) {
		/* Evidence may span lines (sample rows): indent each. */
		char *m = ac_strdup(s->evidence);
		char *p = m, *nl;
		fprintf(t->out, "      evidence:\n");
		while (p && *p) {
			nl = strchr(p, '\n');
			if (nl)
				*nl = '\0';
			put_safe(t->out, "        ", p);
			p = nl ? nl + 1 : NULL;
		}
		free(m);
	}
}

/* A sampled journey: how its runs were sized, and how sure the verdict
 * is ("0 of 60 runs took the bad path: ...") or what share failed. */
static void print_strength(FILE *out, const struct ac_check_result *cr, const char *indent)
{
	const struct ac_strength *st = &cr->strength;
	if (st->text) {
		char *l = ac_asprintf("%s%s: ", indent,
				      cr->state == AC_STATE_FAIL ? "observed share" : "strength");
		put_safe(out, l, st->text);
		free(l);
	}
	if (st->sizing) {
		char *l = ac_asprintf("%ssizing: ", indent);
		put_safe(out, l, st->sizing);
		free(l);
	}
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

/* Passing journeys' strength, one line per distinct sentence: "id: text"
 * for one journey, the sentence and then the journeys it holds for when
 * several share it (ten journeys of three single runs say the same). */
static void print_pass_strengths(FILE *out, const struct ac_result *r)
{
	for (size_t i = 0; i < r->nchecks; i++) {
		const struct ac_check_result *cr = &r->checks[i];
		if (cr->state != AC_STATE_PASS || !cr->strength.text)
			continue;
		bool seen = false;
		size_t n = 0;
		for (size_t k = 0; k < r->nchecks && !seen; k++) {
			const struct ac_check_result *o = &r->checks[k];
			if (o->state != AC_STATE_PASS || !o->strength.text || !same_strength(cr, o))
				continue;
			if (k < i)
				seen = true;
			n++;
		}
		if (seen)
			continue;
		if (n == 1) {
			char *l = ac_asprintf("  %s: ", cr->id);
			put_safe(out, l, cr->strength.text);
			free(l);
		} else {
			put_safe(out, "  ", cr->strength.text);
			struct ac_buf ids = AC_BUF_INIT;
			for (size_t k = i; k < r->nchecks; k++) {
				const struct ac_check_result *o = &r->checks[k];
				if (o->state == AC_STATE_PASS && o->strength.text &&
				    same_strength(cr, o))
					ac_buf_addf(&ids, "%s%s", ids.len ? "; " : "", o->id);
			}
			char *l = ac_asprintf("    %zu journeys: ", n);
			put_safe(out, l, ids.buf);
			free(l);
			ac_buf_release(&ids);
		}
		if (cr->strength.sizing)
			put_safe(out, "    sizing: ", cr->strength.sizing);
	}
}

static void print_check(const struct term *t, const struct ac_check_result *cr, bool detail)
{
	char *id = safe(cr->id), *area = safe(ac_report_area_name(cr));
	fprintf(t->out, "  %s%-5s%s [%s] %s%s%s\n", col(t, state_color(cr->state)),
		ac_state_name(cr->state), col(t, RESET), area, col(t, BOLD), id, col(t, RESET));
	free(id);
	free(area);
	struct ac_buf who = AC_BUF_INIT;
	ac_buf_addf(&who, "owner: %s", ac_report_owner(cr));
	ac_buf_addf(&who, ", kind: %s", cr->kind ? cr->kind : "?");
	if (cr->persona)
		ac_buf_addf(&who, ", persona: %s", cr->persona);
	if (cr->target.name)
		ac_buf_addf(&who, ", target: %s", cr->target.name);
	if (cr->critical)
		ac_buf_adds(&who, ", critical");
	char *w = safe(who.buf);
	fprintf(t->out, "      %s%s%s\n", col(t, DIM), w, col(t, RESET));
	free(w);
	ac_buf_release(&who);
	if (cr->reason && cr->part) {
		char *l = ac_asprintf("%s [part: %s]", cr->reason, cr->part);
		put_safe(t->out, "      why: ", l);
		free(l);
	} else if (cr->reason) {
		put_safe(t->out, "      why: ", cr->reason);
	}
	if (cr->note)
		put_safe(t->out, "      note: ", cr->note);
	if (cr->rate.text[0])
		put_safe(t->out, "      rate: ", cr->rate.text);
	print_strength(t->out, cr, "      ");
	if (detail) {
		const struct ac_sample *s = cr->has_last_bad ? &cr->last_bad : &cr->last;
		print_sample_detail(t, s);
	}
}

static int terminal_write(FILE *out, const struct ac_result *r, const struct ac_report_opts *o)
{
	struct term t = {out, o->color};
	char *why = safe(r->verdict_reason);
	fprintf(out, "%sVERDICT: %s%s  %s\n", col(&t, verdict_color(r->verdict)),
		ac_verdict_name(r->verdict), col(&t, RESET), why);
	free(why);
	if (r->insecure_tls)
		fprintf(
		    out,
		    "%sWARNING: TLS verification is OFF for this scenario (\"insecure\": true)%s\n",
		    col(&t, YELLOW), col(&t, RESET));
	if (o->quiet)
		return 0;
	if (r->restore_text[0])
		put_safe(out, "", r->restore_text);
	char a[32], b[32];
	ac_format_utc(a, sizeof(a), r->started_wall_ms);
	ac_format_utc(b, sizeof(b), r->ended_wall_ms);
	char *sname = safe(r->scenario_name), *spath = safe(r->scenario_path);
	fprintf(out, "%sscenario %s (%s), %s mode, %d round%s%s%s, %s .. %s%s\n", col(&t, DIM),
		sname, spath, r->mode ? r->mode : "?", r->rounds, r->rounds == 1 ? "" : "s",
		r->slow_rounds ? ", some slow" : "", r->interrupted ? ", INTERRUPTED" : "", a, b,
		col(&t, RESET));
	free(sname);
	free(spath);
	/* Where it ran: a shard of a set, or what a merge put together. */
	if (r->shard) {
		char *ag = safe(r->agent ? r->agent : "?");
		fprintf(out, "%sshard %s, agent %s%s\n", col(&t, DIM), r->shard, ag,
			col(&t, RESET));
		free(ag);
	}
	for (size_t i = 0; i < r->nmerged_from; i++) {
		char *m = safe(r->merged_from[i]);
		fprintf(out, "%smerged %s%s\n", col(&t, DIM), m, col(&t, RESET));
		free(m);
	}

	int nareas = ac_report_area_count(r);
	size_t nfail = 0, nerr = 0, npass = 0;
	for (size_t i = 0; i < r->nchecks; i++) {
		if (r->checks[i].state == AC_STATE_FAIL)
			nfail++;
		else if (r->checks[i].state == AC_STATE_PASS)
			npass++;
		else
			nerr++;
	}
	if (nfail) {
		fprintf(
		    out,
		    "\n%sFailing%s, in recovery order (flags, config, jobs, data, cache, code):\n",
		    col(&t, BOLD), col(&t, RESET));
		for (int area = 0; area < nareas; area++)
			for (size_t i = 0; i < r->nchecks; i++)
				if (r->checks[i].state == AC_STATE_FAIL &&
				    r->checks[i].area_order == area)
					print_check(&t, &r->checks[i], true);
	}
	if (nerr) {
		fprintf(out, "\n%sCould not measure%s (never counted as a pass):\n", col(&t, BOLD),
			col(&t, RESET));
		for (int area = 0; area < nareas; area++)
			for (size_t i = 0; i < r->nchecks; i++) {
				const struct ac_check_result *cr = &r->checks[i];
				if (cr->state != AC_STATE_FAIL && cr->state != AC_STATE_PASS &&
				    cr->area_order == area)
					print_check(&t, cr, true);
			}
	}
	if (npass) {
		if (o->verbose) {
			fprintf(out, "\n%sPassing%s:\n", col(&t, BOLD), col(&t, RESET));
			for (size_t i = 0; i < r->nchecks; i++)
				if (r->checks[i].state == AC_STATE_PASS)
					print_check(&t, &r->checks[i], false);
		} else {
			fprintf(out, "\n%zu check%s passed", npass, npass == 1 ? "" : "s");
			size_t notes = 0;
			for (size_t i = 0; i < r->nchecks; i++)
				if (r->checks[i].state == AC_STATE_PASS &&
				    (r->checks[i].note || r->checks[i].strength.text))
					notes++;
			fprintf(out, "%s\n", notes ? " (notes below)" : " (--verbose lists them)");
			for (size_t i = 0; i < r->nchecks; i++)
				if (r->checks[i].state == AC_STATE_PASS && r->checks[i].note) {
					char *l = ac_asprintf("  %s: %s", r->checks[i].id,
							      r->checks[i].note);
					put_safe(out, "", l);
					free(l);
				}
			print_pass_strengths(out, r);
		}
	}
	ac_report_next_steps_terminal(out, r, t.color);
	size_t np;
	struct ac_persona_stat *ps = ac_report_persona_stats(r, &np);
	if (np) {
		struct ac_buf pl = AC_BUF_INIT;
		for (size_t i = 0; i < np; i++)
			ac_buf_addf(&pl, "%s %s %zu of %zu failed (%.0f%%)%s", i ? "," : "",
				    ps[i].persona, ps[i].failed, ps[i].runs,
				    ps[i].runs ? 100.0 * (double)ps[i].failed / (double)ps[i].runs
					       : 0.0,
				    ps[i].unmeasured ? " +unmeasured" : "");
		put_safe(out, "\njourney runs by persona:", pl.buf);
		ac_buf_release(&pl);
	}
	free(ps);
	if (r->notify_sent || r->notify_failed) {
		char line[96];
		snprintf(line, sizeof(line), "%zu sent, %zu failed%s", r->notify_sent,
			 r->notify_failed, r->notify_error ? ":" : "");
		char *all = ac_asprintf("%s%s%s", line, r->notify_error ? " " : "",
					r->notify_error ? r->notify_error : "");
		put_safe(out, "\nnotifications: ", all);
		free(all);
	}
	fprintf(out, "\n%s%s%s: %zu passed, %zu failed, %zu not measured\n",
		col(&t, verdict_color(r->verdict)), ac_verdict_name(r->verdict), col(&t, RESET),
		npass, nfail, nerr);
	return 0;
}

const struct ac_writer ac_writer_terminal = {
    .name = "terminal",
    .summary = "for people: verdict first, failures in recovery order",
    .write = terminal_write,
};
