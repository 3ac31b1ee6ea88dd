/*
 * shard.c: slicing a plan's checks into N stable shards, and the run's
 * identity (run id, scenario fingerprint) that `allclear merge` reads.
 */
#include "shard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "release.h"
#include "util.h"

int ac_shard_parse(const char *s, int *index, int *count)
{
	if (!s)
		return -1;
	const char *slash = strchr(s, '/');
	if (!slash || slash == s || !slash[1] || (size_t)(slash - s) > 8)
		return -1;
	char a[16];
	memcpy(a, s, (size_t)(slash - s));
	a[slash - s] = '\0';
	long i, n;
	if (ac_parse_long(a, &i) < 0 || ac_parse_long(slash + 1, &n) < 0)
		return -1;
	if (n < 1 || n > AC_SHARD_MAX || i < 1 || i > n)
		return -1;
	*index = (int)i;
	*count = (int)n;
	return 0;
}

uint64_t ac_fnv1a64(const void *data, size_t n)
{
	const unsigned char *p = data;
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

int ac_shard_of(const struct ac_check *c, int count)
{
	const char *key = c->id ? c->id : "";
	if (c->agree_group)
		key = c->agree_group;
	else if (c->agree && c->name)
		key = c->name;
	if (count < 1)
		return 1;
	return (int)(ac_fnv1a64(key, strlen(key)) % (uint64_t)count) + 1;
}

static void free_check(struct ac_check *c)
{
	free(c->id);
	free(c->name);
	free(c->path);
	free(c->persona);
	free(c->owner);
	free(c->description);
	free(c->impact);
	free(c->agree_group);
}

void ac_plan_shard(struct ac_plan *plan, int index, int count)
{
	size_t n = plan->nchecks;
	size_t *map = ac_calloc(n + 1, sizeof(*map)); /* old index -> new + 1, 0: dropped */
	size_t kept = 0;
	for (size_t i = 0; i < n; i++) {
		if (ac_shard_of(&plan->checks[i], count) == index) {
			if (kept != i)
				plan->checks[kept] = plan->checks[i];
			map[i] = ++kept;
		} else {
			free_check(&plan->checks[i]);
		}
	}
	plan->nchecks = kept;
	struct ac_release *rel = plan->release;
	if (rel) {
		for (size_t p = 0; p < rel->nparts; p++) {
			struct ac_release_part *rp = &rel->parts[p];
			size_t m = 0;
			for (size_t k = 0; k < rp->ncheck_idx; k++)
				if (map[rp->check_idx[k]])
					rp->check_idx[m++] = map[rp->check_idx[k]] - 1;
			rp->ncheck_idx = m;
		}
		if (rel->name_first) {
			/* The first kept check of each name. */
			for (size_t k = 0; k < kept; k++) {
				size_t j = 0;
				while (j < k &&
				       strcmp(plan->checks[j].name, plan->checks[k].name) != 0)
					j++;
				rel->name_first[k] = j;
			}
		}
	}
	free(map);
}

int ac_file_fingerprint(const char *path, char out[17])
{
	struct ac_buf b;
	struct ac_error err = {0};
	if (ac_read_file(path, 64 * 1024 * 1024, &b, &err) < 0)
		return -1;
	uint64_t h = ac_fnv1a64(b.buf, b.len);
	ac_buf_release(&b);
	snprintf(out, 17, "%016llx", (unsigned long long)h);
	return 0;
}

void ac_run_id(char out[17])
{
	uint64_t v = 0;
	if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v)) {
		/* No entropy source: time and pid still tell two runs apart. */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		uint64_t parts[3] = {(uint64_t)ts.tv_sec, (uint64_t)ts.tv_nsec, (uint64_t)getpid()};
		v = ac_fnv1a64(parts, sizeof(parts));
	}
	snprintf(out, 17, "%016llx", (unsigned long long)v);
}
