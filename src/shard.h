/*
 * shard.h: running a slice of a scenario (--shard I/N), and what a report
 * records so that `allclear merge` can put the slices back together: a run
 * id, the shard, the agent and a fingerprint of the scenario file.
 */
#ifndef AC_SHARD_H
#define AC_SHARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scenario.h"

/* At most this many shards: more would leave most of them empty. */
#define AC_SHARD_MAX 1000

/* "I/N": I from 1 to N, N from 1 to AC_SHARD_MAX. 0, or -1 when malformed. */
int ac_shard_parse(const char *s, int *index, int *count);

/* FNV-1a, 64 bits: a content fingerprint, not a security hash. */
uint64_t ac_fnv1a64(const void *data, size_t n);

/* The key a check is sliced by: its id ("checkout @ edge-eu"), so the
 * same check lands in the same shard wherever it is in the file; checks
 * that have to agree with each other share one key (the agree group's
 * name, or the definition's name) so that their agreement is judged in one
 * run. The shard (1..count) that runs the check. */
int ac_shard_of(const struct ac_check *c, int count);

/* Keep only the plan's checks of shard index/count (the release map's
 * references follow). */
void ac_plan_shard(struct ac_plan *plan, int index, int count);

/* The fingerprint of the file's bytes as 16 hex digits into out[17];
 * -1 when it cannot be read. */
int ac_file_fingerprint(const char *path, char out[17]);

/* A random run id: 16 hex digits into out[17] (getrandom). */
void ac_run_id(char out[17]);

#endif
