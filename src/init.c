/*
 * init.c: `allclear init [--from-demo] [-o FILE]`. The scenarios are
 * scenarios/starter.json and scenarios/demo.json, embedded at build time
 * (src/embed.py), so the starter is linted and schema-checked with the
 * rest of the repository's scenarios.
 */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "init_data.h"
#include "util.h"

#ifndef AC_SCHEMA_PATH
#define AC_SCHEMA_PATH "/usr/local/share/allclear/schema/scenario.schema.json"
#endif

const char ac_init_notes[] =
    "allclear init: what to fill in (JSON has no comments, so here):\n"
    "  \"$schema\"     the installed scenario schema, for editors' completion and checks\n"
    "  variables     origin: your site's base URL; build: the version that must be live "
    "again;\n"
    "                user: a test account; db_host, redis_host, metrics: your servers\n"
    "  secrets       ${env:APP_PASSWORD} (the test account's password) and\n"
    "                ${env:ALLCLEAR_DB_PASSWORD} (a read-only database role's) are read\n"
    "                from the environment at run time, never from the file; lint works\n"
    "                without them and lists what a run will need\n"
    "  targets       add each edge or region: {\"url\", \"role\": \"edge\", \"region\"}\n"
    "  personas      visitor and searcher need no definition; signed_in logs in with\n"
    "                the login steps: adjust the URL, form fields and the session cookie\n"
    "  journeys      one per thing users must be able to do again (HTTP steps, asserts)\n"
    "  checks        sql (a read-only query and its expected value), queue (a preset:\n"
    "                sidekiq, celery, bullmq, ...), redis (one read command), metric (a\n"
    "                /metrics scrape or a Prometheus query); delete the kinds you lack\n"
    "  release       each part the release touched: its undo, owner, backup, order and\n"
    "                the checks that prove it restored (allclear map prints the runbook)\n"
    "  customer      the product name and contact in the incident note's drafts\n"
    "Then: allclear lint FILE, and allclear check FILE once the secrets are set.\n";

/* The scenario text with "$schema" pointing at the installed schema. */
static char *scenario_text(bool from_demo)
{
	const char *text = from_demo ? ac_init_demo : ac_init_starter;
	static const char rel[] = "\"../schema/scenario.schema.json\"";
	const char *at = strstr(text, rel);
	if (!at)
		return ac_strdup(text);
	return ac_asprintf("%.*s\"%s\"%s", (int)(at - text), text, AC_SCHEMA_PATH,
			   at + strlen(rel));
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int ac_init_run(bool from_demo, const char *out_path, FILE *notes)
{
	char *text = scenario_text(from_demo);
	int rc = 0;
	if (!out_path) {
		if (fputs(text, stdout) < 0 || fflush(stdout) != 0) {
			fprintf(stderr, "allclear: init: writing standard output failed\n");
			rc = AC_EXIT_USAGE;
		}
	} else {
		/* Never over a scenario someone already filled in. */
		int fd = open(out_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		char *p = ac_text_escape(out_path);
		if (fd < 0) {
			fprintf(stderr, "allclear: init: cannot create %s: %s%s\n", p,
				strerror(errno),
				errno == EEXIST ? " (init never overwrites a file)" : "");
			rc = AC_EXIT_USAGE;
		} else {
			int wr = write_all(fd, text, strlen(text));
			if (close(fd) != 0)
				wr = -1;
			if (wr < 0) {
				fprintf(stderr, "allclear: init: writing %s failed: %s\n", p,
					strerror(errno));
				unlink(out_path);
				rc = AC_EXIT_USAGE;
			} else {
				fprintf(notes, "allclear: wrote %s\n", p);
			}
		}
		free(p);
	}
	if (rc == 0 && !from_demo)
		fputs(ac_init_notes, notes);
	free(text);
	return rc;
}
