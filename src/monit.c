/*
 * monit.c: the Nagios exit codes, the Prometheus text as a string and the
 * atomic --prom file (src/monit.h).
 */
#include "monit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report.h"

int ac_nagios_exit_code(int rc)
{
	switch (rc) {
	case AC_EXIT_RESTORED:
		return 0; /* OK */
	case AC_EXIT_NOT_RESTORED:
		return 2; /* CRITICAL */
	default:
		return 3; /* UNKNOWN: inconclusive, bad input, a failed write */
	}
}

char *ac_prom_text(const struct ac_result *r)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		ac_die("out of memory");
	ac_writer_find("prometheus")->write(f, r, NULL);
	if (fclose(f) != 0)
		ac_die("out of memory");
	return text;
}

struct ac_promfile {
	char *path, *tmp;
	int fd;
	bool committed;
};

struct ac_promfile *ac_promfile_open(const char *path, struct ac_error *err)
{
	struct stat st;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		ac_error_set(err, "cannot write %s: it is a directory", path);
		return NULL;
	}
	/* The temporary file sits in the same directory, so the rename is
	 * atomic; its name starts with a dot and does not end in .prom, so
	 * the textfile collector never reads it half written. */
	const char *slash = strrchr(path, '/');
	char *tmp = slash ? ac_asprintf("%.*s/.%s.tmp-XXXXXX", (int)(slash - path), path, slash + 1)
			  : ac_asprintf(".%s.tmp-XXXXXX", path);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		ac_error_set(err, "cannot write %s: %s", path, strerror(errno));
		free(tmp);
		return NULL;
	}
	struct ac_promfile *pf = ac_calloc(1, sizeof(*pf));
	pf->path = ac_strdup(path);
	pf->tmp = tmp;
	pf->fd = fd;
	return pf;
}

int ac_promfile_commit(struct ac_promfile *pf, const struct ac_result *r, struct ac_error *err)
{
	char *text = ac_prom_text(r);
	size_t len = strlen(text), off = 0;
	int rc = 0;
	while (off < len) {
		ssize_t n = write(pf->fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = -1;
			break;
		}
		off += (size_t)n;
	}
	free(text);
	/* Readable by the collector (mkstemp made it 0600), on disk before
	 * the rename makes it the file. */
	if (rc == 0 && (fchmod(pf->fd, 0644) != 0 || fsync(pf->fd) != 0))
		rc = -1;
	if (close(pf->fd) != 0)
		rc = -1;
	pf->fd = -1;
	if (rc == 0 && rename(pf->tmp, pf->path) != 0)
		rc = -1;
	if (rc < 0) {
		ac_error_set(err, "writing %s failed: %s", pf->path, strerror(errno));
		return -1;
	}
	pf->committed = true;
	return 0;
}

void ac_promfile_destroy(struct ac_promfile *pf)
{
	if (!pf)
		return;
	if (pf->fd >= 0)
		close(pf->fd);
	if (!pf->committed)
		unlink(pf->tmp);
	free(pf->path);
	free(pf->tmp);
	free(pf);
}
