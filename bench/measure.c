/* measure OUT CMD [ARG...]: run CMD, wait for it with wait4() and write to OUT
 * "wall_s user_s sys_s maxrss_kib exit_code pid" (microsecond resolution; the
 * exit code is negative for a signal). Exits with CMD's exit code.
 *
 * A small C launcher rather than Python's subprocess: a child's peak RSS
 * includes the memory of the process it was forked from up to its exec, so a
 * child of the Python harness would never show less than the interpreter's
 * 20 MiB. Built by bench/run.sh (cc -O2). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: measure OUT CMD [ARG...]\n");
		return 127;
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid_t pid = fork();
	if (pid < 0) {
		perror("measure: fork");
		return 127;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		perror("measure: exec");
		_exit(127);
	}
	int status = 0;
	struct rusage ru;
	while (wait4(pid, &status, 0, &ru) < 0) {
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
	FILE *f = fopen(argv[1], "w");
	if (!f) {
		perror("measure: OUT");
		return 127;
	}
	fprintf(f, "%.6f %ld.%06ld %ld.%06ld %ld %d %ld\n",
		(double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
		(long)ru.ru_utime.tv_sec, (long)ru.ru_utime.tv_usec, (long)ru.ru_stime.tv_sec,
		(long)ru.ru_stime.tv_usec, ru.ru_maxrss, code, (long)pid);
	fclose(f);
	return code < 0 ? 128 - code : code;
}
