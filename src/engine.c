/*
 * engine.c: rounds of probes on one loop, judged as they come in.
 */
#include "engine.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loop.h"
#include "mask.h"
#include "probe.h"
#include "samples.h"
#include "verdict.h"

struct slot {
	struct ac_probe_run run;
	struct ac_timer timer;
	struct engine *e;
	struct ac_mask *learnt; /* run->mask: the plan's secrets and this run's */
	bool started;
};

struct engine {
	struct ac_plan *plan;
	const struct ac_run_opts *opts;
	struct ac_loop *loop;
	const struct ac_clock *clock;
	struct ac_services services;
	struct ac_result *res;
	void **memory; /* per check, across rounds */
	struct slot *slots;
	/* A journey with samples runs several times a round: slots
	 * first_slot[c] .. first_slot[c] + nsamples[c] - 1 are check c's,
	 * slot_check[s] is slot s's check. */
	size_t nslots;
	size_t *slot_check, *first_slot;
	int *nsamples;
	size_t nextstart, active, finished;
	bool critical_failed;
	/* Report timestamps: one wall-clock reading at the start plus monotonic
	 * offsets, so a wall clock stepped back mid-run (NTP, an operator) can
	 * never make a sample or the end earlier than the start. */
	int64_t wall0_ms, mono0_ms;
};

static int64_t engine_wall_ms(const struct engine *e, int64_t mono_ms)
{
	return e->wall0_ms + (mono_ms - e->mono0_ms);
}

void ac_services_release(struct ac_services *sv)
{
	for (int i = AC_SERVICE_COUNT - 1; i >= 0; i--) {
		if (sv->slot[i] && sv->destroy[i])
			sv->destroy[i](sv->slot[i]);
		sv->slot[i] = NULL;
		sv->destroy[i] = NULL;
	}
}

void ac_probe_finish(struct ac_probe_run *run)
{
	if (run->finished)
		return;
	run->finished = true;
	if (run->on_finish)
		run->on_finish(run);
}

static void remask(const struct ac_mask *m, char **text)
{
	ac_mask_inplace(m, text);
}

static void mask_sample(const struct ac_mask *m, struct ac_sample *s)
{
	remask(m, &s->reason);
	remask(m, &s->evidence);
	remask(m, &s->observed);
	for (size_t i = 0; i < s->nsteps; i++) {
		struct ac_step_result *st = &s->steps[i];
		remask(m, &st->name);
		remask(m, &st->method);
		remask(m, &st->url);
		remask(m, &st->reason);
		remask(m, &st->excerpt);
		remask(m, &st->served_by);
		for (size_t j = 0; j < st->nasserts; j++) {
			remask(m, &st->asserts[j].what);
			remask(m, &st->asserts[j].expected);
			remask(m, &st->asserts[j].actual);
		}
	}
	for (size_t i = 0; i < s->nfigures; i++) {
		remask(m, &s->figures[i].name);
		remask(m, &s->figures[i].note);
	}
}

/* A copy of plan text for the result tree, masked; NULL stays NULL. */
static char *masked(const struct ac_mask *m, const char *text)
{
	return text ? ac_mask_apply(m, text) : NULL;
}

/* Everything the writers show about a check, copied into its result, so
 * the tree stands on its own (writers never read the plan). */
static void describe_check(struct ac_check_result *cr, const struct ac_check *c,
			   const struct ac_mask *m)
{
	cr->check = c;
	cr->id = masked(m, c->id);
	cr->name = masked(m, c->name);
	cr->path = masked(m, c->path);
	cr->kind = ac_strdup(c->kind->name);
	cr->area = ac_strdup(ac_area_name(c->area));
	cr->area_order = (int)c->area;
	cr->owner = masked(m, c->owner);
	cr->description = masked(m, c->description);
	cr->impact = masked(m, c->impact);
	cr->persona = masked(m, c->persona);
	if (c->target) {
		cr->target.name = masked(m, c->target->name);
		cr->target.url = masked(m, c->target->url);
		cr->target.role = masked(m, c->target->role);
		cr->target.region = masked(m, c->target->region);
	}
	cr->critical = c->critical;
	cr->agree = c->agree;
	cr->agree_group = masked(m, c->agree_group);
	cr->state = AC_STATE_PENDING;
}

static void on_finish(struct ac_probe_run *run)
{
	struct slot *sl = run->engine_ud;
	struct engine *e = sl->e;
	ac_loop_timer_stop(e->loop, &sl->timer);
	int64_t now = ac_loop_update_now(e->loop);
	run->sample.round = run->round;
	run->sample.t_ms = now;
	run->sample.wall_ms = engine_wall_ms(e, now);
	run->sample.duration_ms = now - run->started_ms;
	if (run->sample.state == AC_STATE_PENDING) {
		/* A kind that finished without saying how it went measured nothing. */
		ac_sample_set(&run->sample, AC_STATE_ERROR, "probe finished without a result");
	}
	/* Everything the sample says may quote what the product said, and a
	 * secret learnt at a later step was not known when an earlier step was
	 * written down: mask the whole sample once more with what this run
	 * learnt, before the run's mask goes away with it. */
	mask_sample(run->mask, &run->sample);
	/* What the run learnt (session cookies, tokens) goes now, not at the
	 * round's end: a round of 10,000 journeys would otherwise hold 10,000
	 * masks. Every kind finishes last; should anything still be masked
	 * with run->mask, the plan's secrets are the least it gets. */
	run->mask = e->plan->mask;
	ac_mask_destroy(sl->learnt);
	sl->learnt = NULL;
	/* Fleet agreement compares observations: a value is one. */
	if (!run->sample.observed && run->sample.has_value)
		run->sample.observed = ac_asprintf("%.15g", run->sample.value);
	if (run->check->critical && run->sample.state == AC_STATE_FAIL)
		e->critical_failed = true;
	e->active--;
	e->finished++;
}

/* cut_short: stopped from outside (signal, --fail-fast), not by a deadline. */
static void abort_run(struct slot *sl, const char *why, bool cut_short)
{
	struct ac_probe_run *run = &sl->run;
	if (run->finished || !sl->started)
		return;
	run->interrupted = cut_short ? why : NULL;
	if (run->check->kind->abort)
		run->check->kind->abort(run);
	if (!run->finished) {
		ac_sample_set(&run->sample, AC_STATE_ERROR, "%s", why);
		ac_probe_finish(run);
	}
}

static void on_deadline(void *ud)
{
	struct slot *sl = ud;
	char why[96];
	snprintf(why, sizeof(why), "timed out after %lld ms",
		 (long long)(sl->run.deadline_ms - sl->run.started_ms));
	abort_run(sl, why, false);
}

static void start_more(struct engine *e, int64_t round_deadline, int round)
{
	const struct ac_settings *st = &e->plan->settings;
	while (e->active < (size_t)st->concurrency && e->nextstart < e->nslots) {
		if (e->critical_failed && e->opts->fail_fast)
			return;
		size_t si = e->nextstart++;
		size_t i = e->slot_check[si];
		struct slot *sl = &e->slots[si];
		struct ac_probe_run *run = &sl->run;
		const struct ac_check *c = &e->plan->checks[i];
		ac_mask_destroy(sl->learnt);
		memset(sl, 0, sizeof(*sl));
		sl->e = e;
		sl->learnt = ac_mask_create_scoped(e->plan->mask);
		run->check = c;
		run->plan = e->plan;
		run->loop = e->loop;
		run->mask = sl->learnt;
		run->services = &e->services;
		run->memory = &e->memory[i];
		run->round = round;
		run->started_ms = ac_loop_update_now(e->loop);
		int64_t timeout = c->timeout_ms ? c->timeout_ms : st->round_timeout_ms;
		run->deadline_ms = run->started_ms + timeout;
		if (run->deadline_ms > round_deadline) {
			run->deadline_ms = round_deadline;
			run->deadline_is_budget = true;
		}
		run->sample.state = AC_STATE_PENDING;
		run->on_finish = on_finish;
		run->engine_ud = sl;
		sl->started = true;
		e->active++;
		ac_loop_timer_start(e->loop, &sl->timer, run->deadline_ms, on_deadline, sl);
		c->kind->start(run);
	}
}

static bool stop_requested(const struct engine *e)
{
	return e->opts->stop && *e->opts->stop;
}

/* "interrupted (SIGTERM)": the stop flag holds the signal when one set it. */
static const char *interrupted_why(const struct engine *e)
{
	int sig = e->opts->stop ? (int)*e->opts->stop : 0;
	return sig == SIGTERM  ? "interrupted (SIGTERM)"
	       : sig == SIGINT ? "interrupted (SIGINT)"
			       : "interrupted";
}

/* The runs of check i this round, folded into the one sample its history
 * keeps (src/samples.c); runs never started count as not measured. */
static void record_check(struct engine *e, size_t i)
{
	size_t first = e->first_slot[i], n = (size_t)e->nsamples[i];
	if (e->nextstart <= first)
		return; /* never started this round: stays unsampled */
	struct ac_sample *runs = ac_calloc(n, sizeof(*runs));
	for (size_t k = 0; k < n; k++) {
		struct slot *sl = &e->slots[first + k];
		if (first + k < e->nextstart) {
			runs[k] = sl->run.sample;
			memset(&sl->run.sample, 0, sizeof(sl->run.sample));
		} else {
			ac_sample_set(&runs[k], AC_STATE_ERROR, "not started: %s",
				      stop_requested(e) ? interrupted_why(e)
				      : e->opts->fail_fast && e->critical_failed
					  ? "stopped by --fail-fast"
					  : "the round ran out of time");
		}
	}
	struct ac_check_result *cr = &e->res->checks[i];
	struct ac_sample folded;
	for (size_t k = 0; k < cr->nobservations; k++)
		free(cr->observations[k].value);
	free(cr->observations);
	ac_samples_fold(&folded, runs, n, &cr->observations, &cr->nobservations);
	free(runs);
	ac_judge_record(cr, &folded);
	ac_sample_release(&folded);
}

static void run_round(struct engine *e, int round, int64_t round_deadline)
{
	size_t n = e->nslots;
	e->nextstart = 0;
	e->active = 0;
	e->finished = 0;
	start_more(e, round_deadline, round);
	while (e->finished < e->nextstart || e->nextstart < n) {
		if (stop_requested(e) || (e->opts->fail_fast && e->critical_failed)) {
			const char *why =
			    stop_requested(e) ? interrupted_why(e) : "stopped by --fail-fast";
			for (size_t i = 0; i < e->nextstart; i++)
				abort_run(&e->slots[i], why, true);
			break;
		}
		int64_t now = ac_loop_update_now(e->loop);
		if (now >= round_deadline) {
			for (size_t i = 0; i < e->nextstart; i++)
				abort_run(&e->slots[i], "the round ran out of time", false);
			/* Checks never started this round stay unsampled. */
			break;
		}
		ac_loop_run_once(e->loop, round_deadline);
		start_more(e, round_deadline, round);
	}
	for (size_t i = 0; i < e->nextstart; i++) {
		struct slot *sl = &e->slots[i];
		ac_loop_timer_stop(e->loop, &sl->timer);
		if (!sl->run.finished)
			abort_run(sl, interrupted_why(e), true);
		/* What the run learnt (session cookies, tokens) goes with it: its
		 * sample is masked already, and a watch must not collect them. */
		ac_mask_destroy(sl->learnt);
		sl->learnt = NULL;
		sl->run.mask = NULL;
	}
	for (size_t i = 0; i < e->plan->nchecks; i++)
		record_check(e, i);
	for (size_t i = 0; i < e->nextstart; i++)
		ac_sample_release(&e->slots[i].run.sample);
}

static void judge_all(struct engine *e, bool final, bool interrupted)
{
	struct ac_result *r = e->res;
	const struct ac_settings *st = &e->plan->settings;
	struct ac_judge_opts o = {
	    .confirm = r->confirm,
	    .min_samples = st->min_samples,
	    .coverage = st->coverage,
	    .flake_budget = st->flake_budget,
	    .rounds = r->rounds,
	    .interrupted = interrupted,
	    .final = final,
	};
	for (size_t i = 0; i < r->nchecks; i++)
		ac_judge_check(&r->checks[i], &o);
	ac_judge_fleet(r);
	for (size_t i = 0; i < r->nchecks; i++)
		ac_judge_strength(&r->checks[i], r->confirm);
	ac_judge_overall(r, &o);
	/* The judge words its reasons from the plan's ids and the samples:
	 * masked like everything else in the tree, before anyone reads it. */
	for (size_t i = 0; i < r->nchecks; i++) {
		remask(e->plan->mask, &r->checks[i].reason);
		remask(e->plan->mask, &r->checks[i].note);
		remask(e->plan->mask, &r->checks[i].strength.text);
	}
	remask(e->plan->mask, &r->verdict_reason);
}

/* Wait until `until` on the loop's clock, waking for the stop flag. */
static void wait_until(struct engine *e, int64_t until)
{
	for (;;) {
		int64_t now = ac_loop_update_now(e->loop);
		if (now >= until || stop_requested(e))
			return;
		int64_t step = until - now;
		if (step > 200)
			step = 200;
		ac_loop_run_once(e->loop, now + step);
	}
}

/* Runs per round of each check: "samples", or as detect_share (the
 * journey's, else the scenario's) sizes them over the judged window;
 * every other check runs once. The sizing goes into the result tree. */
static void plan_samples(struct engine *e, int confirm)
{
	const struct ac_plan *plan = e->plan;
	e->nsamples = ac_calloc(plan->nchecks, sizeof(int));
	e->first_slot = ac_calloc(plan->nchecks, sizeof(size_t));
	e->nslots = 0;
	for (size_t i = 0; i < plan->nchecks; i++) {
		const struct ac_check *c = &plan->checks[i];
		struct ac_strength *st = &e->res->checks[i].strength;
		int n = 1;
		if (c->kind->per_target) {
			double p = c->detect_share > 0 ? c->detect_share
				   : c->samples > 0    ? 0
						       : plan->settings.detect_share;
			if (c->samples > 0) {
				n = c->samples;
			} else if (p > 0) {
				bool capped = false;
				n = ac_samples_per_round(p, confirm, &capped);
				st->detect_share = p;
				st->needed = ac_samples_needed(p);
				st->sizing = ac_samples_sizing(p, confirm, n, capped);
			}
			st->samples = n;
		}
		e->nsamples[i] = n;
		e->first_slot[i] = e->nslots;
		e->nslots += (size_t)n;
	}
	e->slot_check = ac_calloc(e->nslots, sizeof(size_t));
	e->slots = ac_calloc(e->nslots, sizeof(struct slot));
	for (size_t i = 0; i < plan->nchecks; i++)
		for (int k = 0; k < e->nsamples[i]; k++)
			e->slot_check[e->first_slot[i] + (size_t)k] = i;
}

struct ac_result *ac_engine_run(struct ac_plan *plan, const struct ac_run_opts *opts,
				struct ac_error *err)
{
	if (!plan || plan->nchecks == 0) {
		ac_error_set(err, "no checks to run");
		return NULL;
	}
	if (plan->lint_only) {
		/* Placeholders stand in for missing secrets: never probe with them. */
		ac_error_set(err, "a scenario loaded for lint is never run");
		return NULL;
	}
	const struct ac_settings *st = &plan->settings;
	struct engine e = {.plan = plan, .opts = opts};
	e.clock = opts->clock ? opts->clock : ac_clock_system();
	e.loop = ac_loop_create(e.clock);
	e.services.loop = e.loop;
	e.services.plan = plan;
	e.services.mask = plan->mask;
	e.memory = ac_calloc(plan->nchecks, sizeof(void *));

	struct ac_result *r = ac_calloc(1, sizeof(*r));
	e.res = r;
	r->schema_version = AC_RESULT_SCHEMA_VERSION;
	r->scenario_path = masked(plan->mask, plan->path);
	r->scenario_name = masked(plan->mask, plan->name);
	r->scenario_description = masked(plan->mask, plan->description);
	r->customer_product = masked(plan->mask, plan->customer.product);
	r->customer_next_update = masked(plan->mask, plan->customer.next_update);
	r->customer_contact = masked(plan->mask, plan->customer.contact);
	r->mode = ac_strdup(opts->mode == AC_MODE_WATCH ? "watch" : "check");
	r->insecure_tls = st->insecure || plan->tls_unverified;
	r->interval_ms = st->interval_ms;
	r->window_ms = st->window_ms;
	r->deadline_ms = st->deadline_ms;
	r->min_samples = st->min_samples;
	r->verdict = AC_NOT_RESTORED;
	r->nchecks = plan->nchecks;
	r->checks = ac_calloc(plan->nchecks, sizeof(*r->checks));
	for (size_t i = 0; i < plan->nchecks; i++)
		describe_check(&r->checks[i], &plan->checks[i], plan->mask);
	struct ac_notifier *notifier = opts->notify && opts->notify->nurls
					   ? ac_notifier_create(opts->notify, &e.services)
					   : NULL;
	int64_t start = ac_loop_update_now(e.loop);
	e.mono0_ms = start;
	e.wall0_ms = e.clock->wall_ms(e.clock);
	r->started_wall_ms = e.wall0_ms;
	int max_rounds = opts->mode == AC_MODE_CHECK && !opts->until_restored ? st->rounds : 0;
	int64_t window_end = 0;
	if (opts->until_restored)
		window_end = start + st->deadline_ms;
	else if (opts->mode == AC_MODE_WATCH)
		window_end = start + st->window_ms;
	r->confirm = st->confirm;
	if (max_rounds && r->confirm > max_rounds)
		r->confirm = max_rounds;
	plan_samples(&e, r->confirm);
	int64_t run_deadline;
	if (st->run_timeout_ms)
		run_deadline = start + st->run_timeout_ms;
	else if (window_end)
		run_deadline = window_end + st->round_timeout_ms;
	else
		run_deadline =
		    start + (int64_t)max_rounds * (st->interval_ms + st->round_timeout_ms);

	if (opts->on_start)
		opts->on_start(e.loop, opts->ud);
	bool interrupted = false;
	for (int round = 1;; round++) {
		int64_t round_start = ac_loop_update_now(e.loop);
		int64_t round_deadline = round_start + st->round_timeout_ms;
		if (round_deadline > run_deadline)
			round_deadline = run_deadline;
		run_round(&e, round, round_deadline);
		r->rounds = round;
		interrupted = stop_requested(&e);
		judge_all(&e, false, interrupted);
		int64_t now = ac_loop_update_now(e.loop);
		int64_t next = round_start + st->interval_ms;
		if (now > next)
			r->slow_rounds++;
		ac_notifier_round(notifier, r);
		if (opts->on_round)
			opts->on_round(r, window_end ? window_end - now : 0, opts->ud);
		if (interrupted)
			break;
		if (opts->fail_fast && e.critical_failed) {
			r->stopped_early = true;
			break;
		}
		if (opts->until_restored && r->verdict == AC_RESTORED) {
			r->stopped_early = true;
			break;
		}
		if (max_rounds && round >= max_rounds)
			break;
		if (window_end && (next >= window_end || now >= window_end))
			break;
		if (now >= run_deadline || next >= run_deadline)
			break;
		wait_until(&e, next);
		if (stop_requested(&e)) {
			interrupted = true;
			break;
		}
	}
	judge_all(&e, true, interrupted);
	r->interrupted = interrupted;
	r->ended_wall_ms = engine_wall_ms(&e, ac_loop_update_now(e.loop));
	if (notifier) {
		/* The last posts get a bounded while on the loop: a webhook
		 * that hangs cannot hold the run (3 s after a signal). */
		ac_notifier_end(notifier, r);
		int64_t until = ac_loop_update_now(e.loop) + (interrupted ? 3000 : 10000);
		while (ac_notifier_busy(notifier) && ac_loop_update_now(e.loop) < until)
			ac_loop_run_once(e.loop, until);
		ac_notifier_finish(notifier, r);
		ac_notifier_destroy(notifier);
	}

	if (opts->on_end)
		opts->on_end(e.loop, opts->ud);
	for (size_t i = 0; i < plan->nchecks; i++)
		if (e.memory[i] && plan->checks[i].kind->memory_destroy)
			plan->checks[i].kind->memory_destroy(e.memory[i]);
	ac_services_release(&e.services);
	ac_loop_destroy(e.loop);
	free(e.memory);
	for (size_t i = 0; i < e.nslots; i++)
		ac_mask_destroy(e.slots[i].learnt);
	free(e.slots);
	free(e.slot_check);
	free(e.first_slot);
	free(e.nsamples);
	return r;
}
