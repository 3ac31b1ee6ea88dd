/*
 * hostile.c: forked loopback HTTP servers for tests (see hostile.h).
 */
#include "hostile.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "util.h"

void hs_reply(int fd, int status, const char *extra_headers, const char *body)
{
	char *r =
	    ac_asprintf("HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n%s",
			status, strlen(body), extra_headers, body);
	hs_write_all(fd, r, strlen(r));
	free(r);
}

void hs_ok_any(int fd, const struct hs_request *req, void *ud)
{
	(void)req;
	(void)ud;
	hs_reply(fd, 200, "", "{\"ok\":true}");
}

static bool read_request(int fd, struct hs_request *req, struct ac_buf *raw)
{
	char chunk[4096];
	char *end = NULL;
	while (!(end = strstr(raw->buf, "\r\n\r\n"))) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n <= 0)
			return false;
		ac_buf_add(raw, chunk, (size_t)n);
		if (raw->len > 1024 * 1024)
			return false;
	}
	size_t hlen = (size_t)(end - raw->buf) + 4;
	sscanf(raw->buf, "%15s %1023s", req->method, req->path);
	req->headers = ac_strndup(raw->buf, hlen);
	size_t want = 0;
	const char *cl = strcasestr(req->headers, "\r\nContent-Length:");
	if (cl) {
		long v = 0;
		if (sscanf(cl + 17, "%ld", &v) == 1 && v > 0)
			want = (size_t)v;
	}
	while (raw->len - hlen < want) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n <= 0)
			break;
		ac_buf_add(raw, chunk, (size_t)n);
	}
	req->nbody = raw->len - hlen;
	req->body = ac_strndup(raw->buf + hlen, req->nbody);
	return true;
}

static void child(int lfd, const char *logpath, hs_handler h, void *ud)
{
	signal(SIGPIPE, SIG_IGN);
	int seq = 0;
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0) {
			if (errno == EINTR)
				continue;
			_exit(0);
		}
		struct ac_buf raw = AC_BUF_INIT;
		struct hs_request req;
		memset(&req, 0, sizeof(req));
		if (read_request(fd, &req, &raw)) {
			req.seq = ++seq;
			FILE *f = fopen(logpath, "a");
			if (f) {
				fprintf(f, "=== %d %s %s\n%s%s\n", req.seq, req.method, req.path,
					req.headers, req.body);
				fclose(f);
			}
			h(fd, &req, ud);
		}
		free(req.headers);
		free(req.body);
		ac_buf_release(&raw);
		close(fd);
	}
}

void hs_spawn(struct hs_server *s, int lfd, hs_serve serve, void *arg)
{
	s->log = tu_write_temp("", ".log");
	s->pid = fork();
	ck_assert_int_ge(s->pid, 0);
	if (s->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a failed test */
		serve(lfd, s->log, arg);
		_exit(0);
	}
	close(lfd);
}

void hs_stop_free(struct hs_server *s, char *a, char *b)
{
	hs_stop(s);
	free(a);
	free(b);
}

void hs_log_append(const char *log, const char *text)
{
	FILE *f = fopen(log, "a");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

struct handler {
	hs_handler h;
	void *ud;
};

static void serve_handler(int lfd, const char *log, void *arg)
{
	const struct handler *hd = arg;
	child(lfd, log, hd->h, hd->ud);
}

void hs_start(struct hs_server *s, hs_handler h, void *ud)
{
	hs_start_at(s, "127.0.0.1", h, ud);
}

void hs_stop(struct hs_server *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
	}
	s->pid = 0;
	free(s->log);
	s->log = NULL;
}

char *hs_log(const struct hs_server *s)
{
	return tu_read_file(s->log);
}

int hs_requests(const struct hs_server *s)
{
	char *l = hs_log(s);
	int n = 0;
	for (const char *p = l; (p = strstr(p, "=== ")); p += 4)
		n++;
	free(l);
	return n;
}

/* --- more listeners and behaviours ----------------------------------------- */

void hs_start_at(struct hs_server *s, const char *addr, hs_handler h, void *ud)
{
	struct handler hd = {h, ud};
	hs_spawn(s, tu_listen_at(addr, &s->port), serve_handler, &hd);
}

static void counting_child(int lfd, const char *logpath, void *arg)
{
	(void)arg;
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0) {
			if (errno == EINTR)
				continue;
			_exit(0);
		}
		hs_log_append(logpath, "=== accept\n");
		close(fd);
	}
}

void hs_start_counting(struct hs_server *s)
{
	hs_spawn(s, tu_listen(&s->port), counting_child, NULL);
}

bool hs_write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

void hs_drip(int fd, const struct hs_request *req, void *ud)
{
	(void)req;
	(void)ud;
	const char *h = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\n";
	if (!hs_write_all(fd, h, strlen(h)))
		return;
	for (int i = 0; i < 100; i++) {
		if (!hs_write_all(fd, "x", 1))
			return;
		sleep(1);
	}
}

void hs_partial(int fd, const struct hs_request *req, void *ud)
{
	(void)req;
	(void)ud;
	const char *r = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n"
			"0123456789";
	hs_write_all(fd, r, strlen(r));
}

void hs_partial_chunked(int fd, const struct hs_request *req, void *ud)
{
	(void)req;
	(void)ud;
	const char *r = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
			"a\r\n0123456789\r\n";
	hs_write_all(fd, r, strlen(r));
}

/* --- TLS servers ------------------------------------------------------------ */

/* Run argv with stdout and stderr to logpath, stdin from /dev/null, in dir
 * (or here); returns the child's pid. */
static pid_t spawn(const char *dir, const char *logpath, const char *const *argv)
{
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* s_server must not outlive a failed test */
		int in = open("/dev/null", O_RDONLY);
		int out = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (in < 0 || out < 0 || (dir && chdir(dir) != 0))
			_exit(126);
		dup2(in, 0);
		dup2(out, 1);
		dup2(out, 2);
		execvp(argv[0], (char *const *)(uintptr_t)argv);
		_exit(127);
	}
	return pid;
}

static int run_to_end(const char *dir, const char *logpath, const char *const *argv)
{
	pid_t pid = spawn(dir, logpath, argv);
	int status = 0;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* openssl ca needs a configuration; copy_extensions carries the SAN of the
 * request into the certificate. EC keys: fast to make. */
static const char cert_script[] =
    "set -e\n"
    "cd \"$1\"\n"
    "printf '[ca]\\ndefault_ca = d\\n[d]\\ndatabase = index.txt\\nnew_certs_dir = .\\n"
    "serial = serial\\ndefault_md = sha256\\npolicy = p\\ncopy_extensions = copy\\n"
    "unique_subject = no\\n[p]\\ncommonName = supplied\\n' > ca.cnf\n"
    ": > index.txt\n"
    "echo 01 > serial\n"
    "K='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes'\n"
    "openssl req -x509 $K -keyout ca.key -out ca.pem -days 3 -subj '/CN=allclear test CA'\n"
    "leaf() {\n"
    "  n=$1; san=$2; shift 2\n"
    "  openssl req $K -keyout $n.key -out $n.csr -subj /CN=$n -addext subjectAltName=$san\n"
    "  openssl ca -batch -notext -config ca.cnf -cert ca.pem -keyfile ca.key -in $n.csr"
    " -out $n.pem \"$@\"\n"
    "}\n"
    "leaf good IP:127.0.0.1,DNS:localhost -days 3\n"
    "leaf expired IP:127.0.0.1,DNS:localhost -startdate 20200101000000Z"
    " -enddate 20200102000000Z\n"
    "leaf wronghost DNS:other.example -days 3\n"
    "openssl req -x509 $K -keyout self.key -out self.pem -days 3 -subj /CN=self"
    " -addext subjectAltName=IP:127.0.0.1,DNS:localhost\n";

char *hs_tls_certs(void)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char *dir = ac_asprintf("%s/allclear-tls-XXXXXX", tmp);
	ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp: %s", strerror(errno));
	char *log = ac_asprintf("%s/certs.log", dir);
	const char *argv[] = {"/bin/sh", "-c", cert_script, "sh", dir, NULL};
	int rc = run_to_end(NULL, log, argv);
	if (rc != 0) {
		char *text = tu_read_file(log);
		fprintf(stderr, "%s\n", text);
		free(text);
	}
	ck_assert_msg(rc == 0, "making the test certificates failed (exit %d)", rc);
	free(log);
	return dir;
}

void hs_tls_certs_remove(char *dir)
{
	if (!dir)
		return;
	const char *argv[] = {"rm", "-rf", "--", dir, NULL};
	run_to_end(NULL, "/dev/null", argv);
	free(dir);
}

void hs_tls_file(const char *dir, const char *name, const char *response)
{
	char *path = ac_asprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	ck_assert_msg(f != NULL, "cannot write %s", path);
	fputs(response, f);
	fclose(f);
	free(path);
}

void hs_tls_start(struct hs_tls *t, char *dir, const char *cert)
{
	static int n;
	memset(t, 0, sizeof(*t));
	t->dir = dir;
	t->out = ac_asprintf("%s/s_server-%s-%d.out", dir, cert, ++n);
	hs_tls_file(dir, strrchr(t->out, '/') + 1, "");
	char *crt = ac_asprintf("%s.pem", cert), *key = ac_asprintf("%s.key", cert);
	const char *argv[] = {"openssl", "s_server", "-accept", "127.0.0.1:0", "-cert",
			      crt,	 "-key",     key,	"-HTTP",       NULL};
	t->pid = spawn(dir, t->out, argv);
	free(crt);
	free(key);
	/* It says "ACCEPT 127.0.0.1:PORT" once it listens. */
	int64_t deadline = tu_now_ms() + 10000;
	while (tu_now_ms() < deadline) {
		char *text = tu_read_file(t->out);
		const char *a = strstr(text, "ACCEPT 127.0.0.1:");
		long port = 0;
		if (a && strchr(a, '\n')) {
			char *p = ac_strndup(a + 17, (size_t)(strchr(a, '\n') - a - 17));
			if (ac_parse_long(p, &port) != 0)
				port = 0;
			free(p);
		}
		free(text);
		if (port > 0) {
			t->port = (int)port;
			return;
		}
		usleep(20 * 1000);
	}
	char *text = tu_read_file(t->out);
	fprintf(stderr, "openssl s_server did not start:\n%s\n", text);
	free(text);
	hs_tls_stop(t);
	ck_abort_msg("openssl s_server did not start");
}

void hs_tls_stop(struct hs_tls *t)
{
	if (t->pid > 0) {
		kill(t->pid, SIGKILL);
		waitpid(t->pid, NULL, 0);
	}
	t->pid = 0;
	free(t->out);
	t->out = NULL;
}

int hs_tls_served(const struct hs_tls *t)
{
	char *text = tu_read_file(t->out);
	int n = 0;
	for (const char *p = text; (p = strstr(p, "FILE:")); p += 5)
		n++;
	free(text);
	return n;
}
