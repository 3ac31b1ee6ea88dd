#!/usr/bin/env python3
"""allclear benchmarks, run by bench/run.sh (which starts the target, PostgreSQL
and Redis and installs the peers). Every figure is a whole process measured with
wait4(): wall time, CPU time (user + system, children included) and peak RSS.
Runs are paired and alternating: each repetition runs every contender once, in an
order rotated from one repetition to the next, so that noise from the other
sessions on the machine falls on all of them alike and the ratios stay honest.

Cases (numbers or names for --only):
  1 journeys  200 journeys in sequence and at once (64 in flight): allclear,
              newman, Step CI, the curl command line
  2 ceiling   10,000 journeys at 64 and 256 in flight against wrk on the same
              target and request mix: requests/s and memory per journey in flight
  3 slow      a round of 100 SQL + 50 queue checks with 1 and 5 slow queries
              (pg_sleep(0.35)) against the slowest query alone (goal: 1.5x)
  4 watch     a watch at a short interval with a cookie-capturing journey: CPU
              per round and RSS at the start and at the end
  5 lint      lint of 1,000 and 10,000 checks
  6 startup   allclear check of a 1-step journey against one curl
"""
import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = "http://127.0.0.1:47090"
CASES = ["journeys", "ceiling", "slow", "watch", "lint", "startup"]
NICE = ["nice", "-n", "5"]


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


class RunFailed(Exception):
    pass


MEASURE = os.environ.get("BENCH_MEASURE", "")


def child_of(pid, wait=2.0):
    """The pid of the process that bench/measure started (its only child)."""
    end = time.monotonic() + wait
    while time.monotonic() < end:
        try:
            with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
                kids = f.read().split()
            if kids:
                return int(kids[0])
        except OSError:
            return None
        time.sleep(0.005)
    return None


def run(cmd, env=None, timeout=600, ok=(0,), stdout_path=None, stderr_path=None, sample=None):
    """Run cmd under nice through bench/measure (wait4 of the command itself);
    return {wall, cpu, rss_mib, rc}. Raise RunFailed with the last lines of
    stderr when the exit code is not in ok. sample(pid, t0) is called in a
    thread while the process runs (for the watch case)."""
    err = open(stderr_path, "w+b") if stderr_path else tempfile.TemporaryFile()
    out = open(stdout_path, "w+b") if stdout_path else tempfile.TemporaryFile()
    fig = tempfile.NamedTemporaryFile(prefix="measure-", delete=False)
    fig.close()
    full_env = dict(os.environ, **(env or {}))
    t0 = time.monotonic()
    p = subprocess.Popen([MEASURE, fig.name] + NICE + cmd, stdout=out, stderr=err, env=full_env, start_new_session=True)
    timer = threading.Timer(timeout, lambda: os.killpg(p.pid, signal.SIGKILL))
    timer.daemon = True
    timer.start()
    sampler = None
    if sample:
        sampler = threading.Thread(target=lambda: sample(child_of(p.pid), t0), daemon=True)
        sampler.start()
    try:
        p.wait()
    except BaseException:  # interrupted: take the run down with us
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        raise
    finally:
        timer.cancel()
    if sampler:
        sampler.join(5)
    with open(fig.name) as f:
        figs = f.read().split()
    os.unlink(fig.name)
    if len(figs) < 5:
        raise RunFailed("%s: killed after %ds" % (os.path.basename(cmd[0]), timeout) if p.returncode < 0 else
                        "%s: bench/measure wrote no figures (exit %d)" % (os.path.basename(cmd[0]), p.returncode))
    wall, user, sys_, rss, rc = float(figs[0]), float(figs[1]), float(figs[2]), int(figs[3]), int(figs[4])
    if rc not in ok:
        err.seek(0)
        out.seek(0)
        text = err.read().decode("utf-8", "replace").strip().splitlines()
        text += [l for l in out.read().decode("utf-8", "replace").strip().splitlines() if l.strip()][-2:]
        tail = " | ".join(text[-3:]) if text else "(no output)"
        why = "killed by signal %d" % -rc if rc < 0 else "exit %d" % rc
        raise RunFailed("%s: %s: %s" % (os.path.basename(cmd[0]), why, tail[:600]))
    err.close()
    out.close()
    return {"wall": wall, "cpu": user + sys_, "rss_mib": rss / 1024.0, "rc": rc}


def spread(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return None
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "n": len(xs), "runs": xs}


def paired(contenders, reps, warmup=True):
    """contenders: [(key, fn)] where fn() returns a run() result. Returns
    {key: [results or failure string]} with reps runs each, alternating."""
    res = {k: [] for k, _ in contenders}
    failed = {}
    if warmup:
        for k, fn in contenders:
            try:
                fn()
            except RunFailed as e:
                failed[k] = str(e)
                log("%s failed: %s" % (k, e))
    for r in range(reps):
        order = contenders[r % len(contenders):] + contenders[: r % len(contenders)]
        for k, fn in order:
            if k in failed:
                continue
            try:
                res[k].append(fn())
            except RunFailed as e:
                failed[k] = str(e)
                log("%s failed: %s" % (k, e))
    return res, failed


def row(what, key, runs, failed, base=None):
    """A table row: spreads of wall, cpu, rss and the paired ratios to base (the
    allclear runs of the same repetitions)."""
    r = {"what": what, "contender": key}
    if key in failed:
        why = failed[key]
        r["status"] = why if why.startswith(("n/a:", "skipped:")) else "failed: " + why
        return r
    r["status"] = "ok"
    for m in ("wall", "cpu", "rss_mib"):
        r[m] = spread([x[m] for x in runs])
    if base is not None and base is not runs and base:
        n = min(len(base), len(runs))
        r["ratio_to_allclear"] = {}
        for m in ("wall", "cpu", "rss_mib"):
            ratios = [runs[i][m] / base[i][m] for i in range(n) if base[i][m] > 0]
            r["ratio_to_allclear"][m] = spread(ratios)
    return r


def fmt_s(s):
    if s is None:
        return "-"
    if s["median"] < 0.1:
        return "%.1f ms (%.1f-%.1f)" % (1000 * s["median"], 1000 * s["min"], 1000 * s["max"])
    f = "%.3f" if s["median"] < 1 else "%.2f"
    return (f + " s (" + f + "-" + f + ")") % (s["median"], s["min"], s["max"])


def fmt_m(s):
    return "-" if s is None else "%.1f MiB (%.1f-%.1f)" % (s["median"], s["min"], s["max"])


def fmt_ratio(r):
    if not r:
        return ""
    parts = []
    for m in ("wall", "cpu", "rss_mib"):
        s = r.get(m)
        parts.append("-" if s is None else "%.1fx" % s["median"])
    return " / ".join(parts)


def table(rows):
    lines = ["| what | wall | CPU (user+sys) | peak RSS | x allclear (wall / CPU / RSS) |", "|---|---|---|---|---|"]
    for r in rows:
        if r["status"] != "ok":
            lines.append("| %s | %s | | | |" % (r["what"], r["status"].replace("|", "/")))
            continue
        lines.append("| %s | %s | %s | %s | %s |" % (r["what"], fmt_s(r["wall"]), fmt_s(r["cpu"]), fmt_m(r["rss_mib"]), fmt_ratio(r.get("ratio_to_allclear"))))
    return "\n".join(lines)


def dump(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)


class Bench:
    def __init__(self, a):
        self.a = a
        self.ac = a.allclear
        self.work = os.environ.get("BENCH_WORK") or tempfile.mkdtemp(prefix="allclear-bench-py-")
        cache = os.environ.get("BENCH_CACHE", os.path.expanduser("~/.cache/allclear-bench"))
        self.newman = os.path.join(cache, "node_modules/.bin/newman")
        self.stepci = os.path.join(cache, "node_modules/.bin/stepci")
        self.wrk = shutil.which("wrk")
        self.pg_port = os.environ.get("BENCH_PG_PORT", "48510")
        self.redis_port = os.environ.get("BENCH_REDIS_PORT", "48511")
        self.journey = json.load(open(os.path.join(ROOT, "bench/journey.json")))
        self.shared = "/work/shared/bench"

    def path(self, name):
        return os.path.join(self.work, name)

    def ac_check(self, scen, *extra, ok=(0,), **kw):
        return run([self.ac, "check", scen, "--confirm", "1", "-q"] + list(extra), ok=ok, **kw)

    def journeys(self, n, concurrency, name):
        s = json.loads(json.dumps(self.journey))
        j = s["journeys"][0]
        s["journeys"] = [dict(j, name="journey %d" % i) for i in range(n)]
        s["settings"].update(concurrency=concurrency, round_timeout="10m")
        p = self.path(name)
        dump(p, s)
        return p

    # ---- case 1 -------------------------------------------------------
    def case_journeys(self):
        n = self.a.journeys
        reps = self.a.reps
        one = os.path.join(ROOT, "bench/journey.json")
        many = self.journeys(n, 64, "many.json")
        # In sequence: n journeys one after another in one round (concurrency
        # 1), each a fresh run with an empty cookie jar, as newman's
        # iterations are. (Rounds back to back are refused: an interval is at
        # least 100 ms, so a watch cannot hammer what it probes.)
        seq_one = self.journeys(n, 1, "sequence.json")
        # The curl command line: one journey as a script (cookie jar, the
        # cart assertion, the captured product id), run n times in a row or
        # by xargs with 64 in flight.
        j1 = self.path("journey1.sh")
        with open(j1, "w") as f:
            f.write(
                """c=$(mktemp)
curl -sf -c "$c" -b "$c" -X POST -H 'Content-Type: application/json' -d '{"user":"alice","password":"alice-pw"}' %(t)s/login >/dev/null || exit 1
r=$(curl -sf -b "$c" %(t)s/cart/total) || exit 1
[[ $r == *'"total_cents":1200'* ]] || exit 1
r=$(curl -sf -b "$c" '%(t)s/search?q=teapot') || exit 1
pid=${r#*'"id":'}; pid=${pid%%%%[,\\}]*}
curl -sf -b "$c" %(t)s/products/$pid >/dev/null || exit 1
rm -f "$c"
""" % {"t": TARGET})
        seq = self.path("curl-seq.sh")
        with open(seq, "w") as f:
            f.write('for i in $(seq %d); do bash %s || exit 1; done\n' % (n, j1))
        conc = self.path("curl-conc.sh")
        with open(conc, "w") as f:
            f.write("seq %d | xargs -P 64 -n 1 bash %s\n" % (n, j1))
        # Step CI: the shared journey as n tests (each test has its own cookie
        # jar, as each allclear journey run does), one at a time or 64 at once.
        wf = self.path("stepci.yml")
        with open(os.path.join(self.shared, "journey.stepci.yml")) as f:
            src = f.read()
        head, body = src.split("tests:\n", 1)
        body = body.split("\n", 1)[1]  # drop the "  signed_in:" line
        with open(wf, "w") as f:
            f.write(head + "tests:\n")
            for i in range(n):
                f.write("  journey%d:\n%s" % (i, body if body.endswith("\n") else body + "\n"))
        sci_env = {"STEPCI_DISABLE_ANALYTICS": "1"}
        have_newman = os.access(self.newman, os.X_OK)
        have_stepci = os.access(self.stepci, os.X_OK)
        postman = os.path.join(self.shared, "journey.postman.json")

        out = {"journeys": n, "reps": reps, "tables": {}}
        for mode in ("sequence", "concurrent"):
            c = []
            if mode == "sequence":
                c.append(("allclear", lambda: self.ac_check(seq_one, "--rounds", "1")))
                if have_newman:
                    c.append(("newman", lambda: run([self.newman, "run", postman, "-n", str(n), "--silent"])))
                if have_stepci:
                    c.append(("stepci", lambda: run([self.stepci, "run", wf, "--concurrency", "1"], env=sci_env)))
                c.append(("curl", lambda: run(["bash", seq])))
            else:
                c.append(("allclear", lambda: self.ac_check(many, "--rounds", "1")))
                if have_stepci:
                    c.append(("stepci", lambda: run([self.stepci, "run", wf, "--concurrency", "64"], env=sci_env)))
                c.append(("curl", lambda: run(["bash", conc])))
            log("case 1: %d journeys %s, %d paired runs of %s" % (n, mode, reps, ", ".join(k for k, _ in c)))
            res, failed = paired(c, reps)
            if not have_newman:
                failed["newman"] = "skipped: newman not installed (npm)"
            if not have_stepci:
                failed["stepci"] = "skipped: Step CI not installed (npm)"
            if mode == "concurrent":
                failed["newman"] = "n/a: newman runs iterations one at a time"
            labels = {
                "allclear": "allclear" + (", %d journeys, 1 round, concurrency 1" % n if mode == "sequence" else ", 1 round, concurrency 64"),
                "newman": "newman" + (", -n %d" % n if mode == "sequence" else ""),
                "stepci": "Step CI, %d tests, --concurrency %s" % (n, "1" if mode == "sequence" else "64"),
                "curl": "curl command line, %d x 4 processes%s" % (n, "" if mode == "sequence" else ", xargs -P 64"),
            }
            base = res.get("allclear") if "allclear" not in failed else None
            rows = [row(labels[k], k, res.get(k, []), failed, base) for k in ("allclear", "newman", "stepci", "curl")]
            out["tables"][mode] = rows
        out["note"] = "peak RSS is the largest single process: for curl and xargs the processes of one run are many, up to 64 at once"
        return out

    # ---- case 2 -------------------------------------------------------
    def case_ceiling(self):
        n = self.a.ceiling_journeys
        reps = max(1, min(self.a.reps, 3))
        dur = self.a.wrk_seconds
        lua = self.path("mix.lua")
        with open(lua, "w") as f:
            f.write("""-- the journey's four requests in turn: log in, cart (with the session cookie), search, product
local reqs, i = {}, 0
function init(args)
  reqs[1] = wrk.format("POST", "/login", {["Content-Type"] = "application/json"}, '{"user":"alice","password":"alice-pw"}')
  reqs[2] = wrk.format("GET", "/cart/total", {["Cookie"] = "sid=abc123"})
  reqs[3] = wrk.format("GET", "/search?q=teapot")
  reqs[4] = wrk.format("GET", "/products/10")
end
function request()
  i = i % 4 + 1
  return reqs[i]
end
""")
        scen = {c: self.journeys(n, c, "ceiling-%d.json" % c) for c in (64, 256)}
        wrk_out = {}

        def wrk(c):
            if not self.wrk:
                raise RunFailed("wrk: not installed (apt-get install -y wrk)")
            o = self.path("wrk-%d.txt" % c)
            r = run([self.wrk, "-t1", "-c%d" % c, "-d%ds" % dur, "-s", lua, TARGET + "/"], stdout_path=o, timeout=dur + 60)
            text = open(o).read()
            rps = None
            for line in text.splitlines():
                if line.startswith("Requests/sec:"):
                    rps = float(line.split()[1])
                if "Non-2xx" in line or "Socket errors" in line:
                    raise RunFailed("wrk: " + line.strip())
            if rps is None:
                raise RunFailed("wrk: no Requests/sec in its output: " + text[-300:])
            r["rps"] = rps
            wrk_out[c] = text
            return r

        def ac(c):
            r = self.ac_check(scen[c], "--rounds", "1", timeout=600)
            r["rps"] = 4 * n / r["wall"]
            return r

        c = []
        for conc in (64, 256):
            c.append(("allclear-%d" % conc, lambda conc=conc: ac(conc)))
            c.append(("wrk-%d" % conc, lambda conc=conc: wrk(conc)))
        c.append(("lint", lambda: run([self.ac, "lint", scen[64]])))
        log("case 2: %d journeys (%d requests) at 64 and 256 in flight vs wrk -t1 -d%ds, %d paired runs" % (n, 4 * n, dur, reps))
        res, failed = paired(c, reps, warmup=True)
        out = {"journeys": n, "requests": 4 * n, "reps": reps, "wrk": "wrk -t1 -cC -d%ds, the 4 requests of the journey in turn (bench mix.lua)" % dur, "rows": []}
        lint_wall = spread([x["wall"] for x in res["lint"]]) if "lint" not in failed else None
        lint_rss = spread([x["rss_mib"] for x in res["lint"]]) if "lint" not in failed else None
        out["lint_of_the_same_file"] = {"wall": lint_wall, "rss_mib": lint_rss} if lint_wall else {"status": "failed: " + failed["lint"]}
        rss = {}
        for conc in (64, 256):
            a_k, w_k = "allclear-%d" % conc, "wrk-%d" % conc
            r = {"in_flight": conc}
            if a_k in failed:
                r["allclear"] = "failed: " + failed[a_k]
            else:
                ar = res[a_k]
                r["allclear"] = {"wall": spread([x["wall"] for x in ar]), "cpu": spread([x["cpu"] for x in ar]),
                                 "rss_mib": spread([x["rss_mib"] for x in ar]), "rps": spread([x["rps"] for x in ar])}
                if lint_wall:
                    r["allclear"]["rps_without_load"] = spread([4 * n / max(1e-3, x["wall"] - lint_wall["median"]) for x in ar])
                rss[conc] = r["allclear"]["rss_mib"]["median"]
                r["allclear"]["rss_kib_per_in_flight"] = rss[conc] * 1024 / conc
            if w_k in failed:
                r["wrk"] = "failed: " + failed[w_k]
            else:
                wr = res[w_k]
                r["wrk"] = {"rps": spread([x["rps"] for x in wr]), "cpu_per_request_us": spread([x["cpu"] / (x["rps"] * dur) * 1e6 for x in wr]),
                            "rss_mib": spread([x["rss_mib"] for x in wr])}
            if a_k not in failed and w_k not in failed:
                n_pairs = min(len(res[a_k]), len(res[w_k]))
                r["allclear_pct_of_wrk"] = spread([100 * res[a_k][i]["rps"] / res[w_k][i]["rps"] for i in range(n_pairs)])
                r["allclear"]["cpu_per_request_us"] = spread([x["cpu"] / (4 * n) * 1e6 for x in res[a_k]])
            out["rows"].append(r)
        if 64 in rss and 256 in rss:
            out["kib_per_extra_in_flight_journey"] = (rss[256] - rss[64]) * 1024 / 192
        if 64 in rss and lint_rss:
            # Where the memory goes: the loaded scenario (lint's peak) and what a run adds (results, samples).
            out["kib_per_journey_loaded"] = lint_rss["median"] * 1024 / n
            out["kib_per_journey_run"] = (rss[64] - lint_rss["median"]) * 1024 / n
        return out

    # ---- case 3 -------------------------------------------------------
    def case_slow(self):
        reps = self.a.reps
        subprocess.run(["redis-cli", "-p", self.redis_port, "DEL", "queue:default"], check=True, stdout=subprocess.DEVNULL)
        now = time.time()
        for i in range(20):
            job = json.dumps({"class": "BenchJob", "jid": "%024x" % i, "queue": "default", "args": [i], "enqueued_at": now - 5 + i * 0.1})
            subprocess.run(["redis-cli", "-p", self.redis_port, "RPUSH", "queue:default", job], check=True, stdout=subprocess.DEVNULL)

        def scenario(n_sql, n_queue, n_slow, name):
            s = {
                "allclear": 1, "name": "bench: %d SQL + %d queue checks, %d slow" % (n_sql, n_queue, n_slow),
                "settings": {"rounds": 1, "confirm": 1, "timeout": "10s", "concurrency": 16},
                "databases": {"bench": {"dsn": "host=127.0.0.1 port=%s dbname=bench user=allclear_ro password=${env:BENCH_PG_PASSWORD}" % self.pg_port,
                                        "statement_timeout": "5s"}},
                "redis": {"jobs": {"url": "redis://127.0.0.1:%s/0" % self.redis_port}},
                "checks": [],
            }
            slow = {(k * n_sql) // n_slow + n_sql // (2 * n_slow) for k in range(n_slow)} if n_slow else set()
            for i in range(n_sql):
                if i in slow:  # spread over the list, not all first
                    q, e = "SELECT 1 FROM pg_sleep(0.35)", {"==": 1}
                else:
                    q, e = "SELECT count(*) FROM generate_series(1, %d)" % (100 + i), {"==": 100 + i}
                s["checks"].append({"kind": "sql", "name": "sql %d" % i, "area": "data", "owner": "bench", "database": "bench", "query": q, "expect": e})
            for i in range(n_queue):
                s["checks"].append({"kind": "queue", "name": "queue %d" % i, "area": "jobs", "owner": "bench", "preset": "sidekiq",
                                    "queue": "default", "redis": "jobs", "expect": {"max_depth": 1000, "max_oldest_age": "10m"}})
            p = self.path(name)
            dump(p, s)
            return p

        scen = {
            "alone": scenario(1, 0, 1, "slow-alone.json"),
            "none": scenario(100, 50, 0, "slow-0.json"),
            "1slow": scenario(100, 50, 1, "slow-1.json"),
            "5slow": scenario(100, 50, 5, "slow-5.json"),
        }
        labels = {
            "alone": "the slow query alone (1 SQL check, pg_sleep(0.35))",
            "none": "100 SQL + 50 queue checks, none slow",
            "1slow": "100 SQL + 50 queue checks, 1 slow",
            "5slow": "100 SQL + 50 queue checks, 5 slow",
        }
        c = [(k, lambda k=k: self.ac_check(scen[k], "--rounds", "1", timeout=120)) for k in ("alone", "none", "1slow", "5slow")]
        log("case 3: rounds of 100 SQL + 50 queue checks with 0, 1, 5 slow queries vs the slow one alone, %d paired runs" % reps)
        res, failed = paired(c, reps)
        rows = []
        base = res.get("alone") if "alone" not in failed else None
        for k, _ in c:
            r = row(labels[k], k, res.get(k, []), failed, base)
            if r["status"] == "ok" and base and k != "alone":
                r["wall_vs_slowest_alone"] = r.pop("ratio_to_allclear")["wall"]
                r["meets_goal_1_5x"] = r["wall_vs_slowest_alone"]["median"] <= 1.5
            r.pop("ratio_to_allclear", None)
            rows.append(r)
        return {"reps": reps, "slow_query": "SELECT 1 FROM pg_sleep(0.35)", "goal": "a round's wall within 1.5x the slowest query alone", "rows": rows}

    # ---- case 4 -------------------------------------------------------
    def case_watch(self):
        window = self.a.watch
        interval = self.a.watch_interval
        s = {
            "allclear": 1, "name": "bench: watch with a cookie-capturing journey",
            "settings": {"interval": interval, "confirm": 1, "timeout": "5s", "concurrency": 4},
            "targets": {"bench": TARGET},
            "personas": {"session": {"login": [
                {"name": "session", "url": "/session", "assert": {"status": 200}, "capture": {"sid": {"cookie": "sid"}}}]}},
            "journeys": [{"name": "signed in", "persona": "session", "area": "code", "owner": "bench", "steps": [
                {"name": "me", "url": "/me", "headers": {"X-Session": "${sid}"},
                 "assert": {"status": 200, "json": {"$.signed_in": True}}}]}],
        }
        scen = self.path("watch.json")
        dump(scen, s)
        samples = []
        progress = self.path("watch-progress.txt")
        every = self.a.sample_every
        tick = os.sysconf("SC_CLK_TCK")

        def sample(pid, t0):
            if pid is None:
                return
            # CPU and RSS from /proc; rounds done so far from the progress lines
            # ("allclear: round N: ...") that allclear writes to stderr, one a round.
            while True:
                try:
                    with open("/proc/%d/stat" % pid) as f:
                        st = f.read().rsplit(")", 1)[1].split()
                    with open("/proc/%d/status" % pid) as f:
                        rss = [int(l.split()[1]) for l in f if l.startswith("VmRSS:")]
                    ns = 0
                    try:
                        for t in os.listdir("/proc/%d/task" % pid):
                            with open("/proc/%d/task/%s/schedstat" % (pid, t)) as f:
                                ns += int(f.read().split()[0])
                    except OSError:
                        ns = None
                    if st[0] == "Z" or not rss:
                        return
                    cpu = (int(st[11]) + int(st[12])) / tick
                    with open(progress, "rb") as f:
                        done = f.read().count(b"allclear: round ")
                    samples.append({"t": time.monotonic() - t0, "cpu_s": cpu, "sched_cpu_s": None if ns is None else ns / 1e9,
                                    "rss_kib": rss[0], "rounds": done})
                except (OSError, IndexError, ValueError):
                    return
                time.sleep(every)

        report = self.path("watch-report.json")
        log("case 4: watch for %s at interval %s, sampling every %.1fs" % (window, interval, every))
        try:
            r = run([self.ac, "watch", scen, "--window", window, "--interval", interval, "--json", report],
                    sample=sample, stderr_path=progress, timeout=self.a.watch_s + 120)
        except RunFailed as e:
            return {"status": "failed: " + str(e)}
        rep = json.load(open(report))
        n_rounds = rep["rounds"]
        chk = rep["checks"][0]
        out = {"window": window, "interval": interval, "rounds": n_rounds, "slow_rounds": rep.get("slow_rounds"),
               "verdict": rep["verdict"], "check": {"samples": chk.get("samples"), "passes": chk.get("passes"), "fails": chk.get("fails"), "errors": chk.get("errors")},
               "wall_s": r["wall"], "cpu_s": r["cpu"], "peak_rss_mib": r["rss_mib"], "cpu_ms_per_round_overall": 1000 * r["cpu"] / max(1, n_rounds),
               "samples": samples}
        # Segments: the first and the last 20% of the watch, from the sample after the first
        # round (start-up excluded) to the last sample; CPU per round = CPU used / rounds done.
        live = [x for x in samples if x["rounds"] >= 1]
        if len(live) >= 4:
            t_a, t_b = live[0]["t"], live[-1]["t"]
            span = t_b - t_a
            first = [x for x in live if x["t"] <= t_a + 0.2 * span]
            last = [x for x in live if x["t"] >= t_b - 0.2 * span]
            for key, seg_s in (("first_20pct", first), ("last_20pct", last)):
                if len(seg_s) < 2:
                    continue
                p, q = seg_s[0], seg_s[-1]
                nr = q["rounds"] - p["rounds"]
                seg = {"from_s": p["t"], "to_s": q["t"], "rounds": nr}
                if nr > 0:
                    seg["cpu_ms_per_round"] = 1000 * (q["cpu_s"] - p["cpu_s"]) / nr
                    if p["sched_cpu_s"] is not None and q["sched_cpu_s"] is not None:
                        seg["cpu_ms_per_round_schedstat"] = 1000 * (q["sched_cpu_s"] - p["sched_cpu_s"]) / nr
                out[key] = seg
            out["rss_start_mib"] = live[0]["rss_kib"] / 1024
            out["rss_end_mib"] = live[-1]["rss_kib"] / 1024
            out["rss_start_to_end_kib"] = live[-1]["rss_kib"] - live[0]["rss_kib"]
        return out

    # ---- case 5 -------------------------------------------------------
    def case_lint(self):
        reps = self.a.reps
        files = {}
        for n in (1000, 10000):
            s = json.loads(json.dumps(self.journey))
            j = s["journeys"][0]
            s["databases"] = {"shop": {"dsn": "host=127.0.0.1 port=%s dbname=bench user=allclear_ro password=${env:BENCH_PG_PASSWORD}" % self.pg_port}}
            s["journeys"] = [dict(j, name="journey %d" % i) for i in range(n // 2)]
            s["checks"] = [{"kind": "sql", "name": "sql %d" % i, "area": "data", "owner": "bench", "database": "shop",
                            "query": "SELECT count(*) FROM orders WHERE status = 'paid' AND id > %d" % i, "expect": {"==": 0}} for i in range(n - n // 2)]
            p = self.path("lint-%d.json" % n)
            dump(p, s)
            files[n] = p
        env = {"BENCH_PG_PASSWORD": os.environ.get("BENCH_PG_PASSWORD", "bench-password")}
        c = [("lint-%d" % n, lambda n=n: run([self.ac, "lint", files[n]], env=env)) for n in (1000, 10000)]
        log("case 5: lint of 1,000 and 10,000 checks, %d paired runs" % reps)
        res, failed = paired(c, reps)
        rows = []
        for n in (1000, 10000):
            r = row("allclear lint, %d checks (%d journeys + %d sql), %.1f MiB file" % (n, n // 2, n - n // 2, os.path.getsize(files[n]) / 1048576), "lint-%d" % n, res.get("lint-%d" % n, []), failed)
            rows.append(r)
        return {"reps": reps, "rows": rows}

    # ---- case 6 -------------------------------------------------------
    def case_startup(self):
        reps = self.a.startup_reps
        s = {"allclear": 1, "name": "bench: one step", "settings": {"rounds": 1, "confirm": 1, "timeout": "5s"},
             "targets": {"bench": TARGET},
             "journeys": [{"name": "search", "area": "code", "owner": "bench", "steps": [{"url": "/search?q=teapot", "assert": {"status": 200}}]}]}
        p = self.path("one-step.json")
        dump(p, s)
        c = [("allclear", lambda: self.ac_check(p)), ("curl", lambda: run(["curl", "-sf", "-o", "/dev/null", TARGET + "/search?q=teapot"]))]
        log("case 6: start-up, allclear check of a 1-step journey vs one curl, %d paired runs" % reps)
        res, failed = paired(c, reps)
        base = res.get("allclear") if "allclear" not in failed else None
        return {"reps": reps, "rows": [row("allclear check, 1-step journey, 1 round", "allclear", res.get("allclear", []), failed, base),
                                       row("curl -sf, the same URL", "curl", res.get("curl", []), failed, base)]}


def parse_ms(d):
    d = str(d)
    total, num = 0.0, ""
    i = 0
    units = {"ms": 1, "s": 1000, "m": 60000, "h": 3600000}
    while i < len(d):
        if d[i].isdigit() or d[i] == ".":
            num += d[i]
            i += 1
            continue
        u = "ms" if d[i:i + 2] == "ms" else d[i]
        total += float(num) * units[u]
        num = ""
        i += len(u)
    if num:
        total += float(num)
    return total


def machine():
    m = {"nproc": os.cpu_count(), "kernel": platform.release()}
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                m["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                m["memory_gib"] = round(int(line.split()[1]) / 1048576, 1)
    except OSError:
        pass
    return m


def render(res):
    out = []
    c = res["cases"]
    if "journeys" in c:
        x = c["journeys"]
        out.append("### 1. %s journeys (4 requests each), paired runs" % x.get("journeys", "?"))
        if "status" in x:
            out.append(x["status"])
        else:
            for mode, rows in x["tables"].items():
                out.append("\n%s:\n" % ("In sequence" if mode == "sequence" else "At once, 64 in flight"))
                out.append(table(rows))
    if "ceiling" in c:
        x = c["ceiling"]
        out.append("\n### 2. %s journeys (%s requests) against wrk's ceiling" % (x.get("journeys", "?"), x.get("requests", "?")))
        if "status" in x:
            out.append(x["status"])
        else:
            out.append("\n| in flight | allclear req/s | allclear wall / CPU / peak RSS | allclear CPU per request | wrk req/s | wrk CPU per request | allclear % of wrk |")
            out.append("|---|---|---|---|---|---|---|")
            for r in x["rows"]:
                a, w = r["allclear"], r["wrk"]
                acol = a if isinstance(a, str) else None
                wcol = w if isinstance(w, str) else None
                out.append("| %d | %s | %s | %s | %s | %s | %s |" % (
                    r["in_flight"],
                    acol or "%.0f (%.0f-%.0f)" % (a["rps"]["median"], a["rps"]["min"], a["rps"]["max"]),
                    "" if acol else "%.2f s / %.2f s / %.1f MiB" % (a["wall"]["median"], a["cpu"]["median"], a["rss_mib"]["median"]),
                    "" if acol or "cpu_per_request_us" not in a else "%.0f us" % a["cpu_per_request_us"]["median"],
                    wcol or "%.0f (%.0f-%.0f)" % (w["rps"]["median"], w["rps"]["min"], w["rps"]["max"]),
                    "" if wcol else "%.1f us" % w["cpu_per_request_us"]["median"],
                    "%.0f%% (%.0f-%.0f)" % (r["allclear_pct_of_wrk"]["median"], r["allclear_pct_of_wrk"]["min"], r["allclear_pct_of_wrk"]["max"]) if "allclear_pct_of_wrk" in r else ""))
            lw = x.get("lint_of_the_same_file", {})
            if "wall" in lw:
                out.append("\nLoading the file (allclear lint of it): %.2f s; allclear req/s without it: %s." % (
                    lw["wall"]["median"], ", ".join("%.0f at %d" % (r["allclear"]["rps_without_load"]["median"], r["in_flight"]) for r in x["rows"] if isinstance(r["allclear"], dict) and "rps_without_load" in r["allclear"])))
            if "kib_per_journey_loaded" in x:
                out.append("Peak RSS of lint of the file: %.1f MiB (%.1f KiB per journey loaded); a check run adds %.1f KiB per journey (results and samples)." % (
                    x["lint_of_the_same_file"]["rss_mib"]["median"], x["kib_per_journey_loaded"], x["kib_per_journey_run"]))
            if "kib_per_extra_in_flight_journey" in x:
                out.append("Memory per journey in flight: %.1f KiB (peak RSS at 256 in flight minus at 64, over 192)." % x["kib_per_extra_in_flight_journey"])
    if "slow" in c:
        x = c["slow"]
        out.append("\n### 3. A round of SQL and queue checks with slow queries (goal: within 1.5x the slowest query alone)\n")
        if "status" in x:
            out.append(x["status"])
        else:
            out.append("| what | wall | CPU | peak RSS | wall / slowest alone |")
            out.append("|---|---|---|---|---|")
            for r in x["rows"]:
                if r["status"] != "ok":
                    out.append("| %s | %s | | | |" % (r["what"], r["status"].replace("|", "/")))
                    continue
                v = r.get("wall_vs_slowest_alone")
                vs = "" if not v else "%.2fx (%.2f-%.2f) %s" % (v["median"], v["min"], v["max"], "meets" if r["meets_goal_1_5x"] else "MISSES the goal")
                out.append("| %s | %s | %s | %s | %s |" % (r["what"], fmt_s(r["wall"]), fmt_s(r["cpu"]), fmt_m(r["rss_mib"]), vs))
    if "watch" in c:
        x = c["watch"]
        out.append("\n### 4. Watch with a cookie-capturing journey\n")
        if "status" in x:
            out.append(x["status"])
        else:
            out.append("%s window at %s: %d rounds (%s slow), verdict %s; wall %.1f s, CPU %.2f s (%.2f ms per round overall), peak RSS %.1f MiB" % (
                x["window"], x["interval"], x["rounds"], x["slow_rounds"], x["verdict"], x["wall_s"], x["cpu_s"], x["cpu_ms_per_round_overall"], x["peak_rss_mib"]))
            for k, name in (("first_20pct", "first 20%"), ("last_20pct", "last 20%")):
                if k in x:
                    s = x[k]
                    out.append("- CPU per round, %s (%.0f-%.0f s): %.2f ms (/proc stat ticks), %s ms (schedstat)" % (
                        name, s["from_s"], s["to_s"], s.get("cpu_ms_per_round", float("nan")),
                        "%.2f" % s["cpu_ms_per_round_schedstat"] if "cpu_ms_per_round_schedstat" in s else "-"))
            if "rss_end_mib" in x:
                out.append("- RSS (VmRSS): %.1f MiB after the first round (%.0f s), %.1f MiB at the end (%+d KiB)" % (
                    x["rss_start_mib"], x["first_20pct"]["from_s"] if "first_20pct" in x else 0, x["rss_end_mib"], x["rss_start_to_end_kib"]))
    if "lint" in c:
        x = c["lint"]
        out.append("\n### 5. Lint\n")
        out.append(x["status"] if "status" in x else table(x["rows"]))
    if "startup" in c:
        x = c["startup"]
        out.append("\n### 6. Start-up\n")
        out.append(x["status"] if "status" in x else table(x["rows"]))
    return "\n".join(out)


def main():
    # bench/run.sh stops the harness with SIGTERM: unwind, so that run() takes the
    # command in progress down with it.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer repetitions, smaller sizes, a 30 s watch")
    ap.add_argument("--only", default="", help="cases to run, e.g. 1,3 or journeys,slow")
    ap.add_argument("--json", default=os.path.join(ROOT, "bench/results/latest.json"), help="where to write the figures")
    ap.add_argument("--allclear", default=os.path.join(os.environ.get("AC_BUILD_DIR", os.path.join(ROOT, "build")), "allclear"), help="the binary to measure")
    ap.add_argument("--reps", type=int, help="paired runs per case (default 5, quick 2)")
    ap.add_argument("--watch", help="watch window (default 2m, quick 30s)")
    ap.add_argument("--watch-interval", default="200ms")
    a = ap.parse_args()
    a.reps = a.reps or (2 if a.quick else 5)
    a.watch = a.watch or ("30s" if a.quick else "2m")
    a.watch_s = parse_ms(a.watch) / 1000
    a.sample_every = 1.0 if a.watch_s <= 60 else 2.0
    a.journeys = 50 if a.quick else 200
    a.ceiling_journeys = 2000 if a.quick else 10000
    a.wrk_seconds = 2 if a.quick else 5
    a.startup_reps = 5 if a.quick else 20
    sel = []
    for w in filter(None, a.only.split(",")):
        w = w.strip()
        if w.isdigit() and 1 <= int(w) <= len(CASES):
            sel.append(CASES[int(w) - 1])
        elif w in CASES:
            sel.append(w)
        else:
            ap.error("unknown case %r (cases: 1-6 or %s)" % (w, ", ".join(CASES)))
    sel = sel or CASES
    if not os.access(MEASURE, os.X_OK):
        ap.error("BENCH_MEASURE is not set to the built bench/measure.c: run bench/run.sh, not bench.py")
    if not os.access(a.allclear, os.X_OK):
        ap.error("no allclear binary at %s (build it, or --allclear PATH)" % a.allclear)

    b = Bench(a)
    version = subprocess.run([a.allclear, "--version"], capture_output=True, text=True).stdout.strip()
    build = {}
    try:
        with open(os.path.join(os.path.dirname(a.allclear), "meson-info/intro-buildoptions.json")) as f:
            build = {o["name"]: o["value"] for o in json.load(f) if o["name"] in ("buildtype", "optimization", "b_sanitize", "b_lto")}
    except (OSError, ValueError, KeyError):
        pass
    try:
        commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = ""
    # A binary from elsewhere (--allclear, e.g. the engine before a change)
    # is not this checkout's commit: say nothing rather than something wrong.
    if not os.path.realpath(a.allclear).startswith(ROOT + os.sep):
        commit = ""
    res = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "command": " ".join(["bench/run.sh"] + sys.argv[1:]),
           "allclear": a.allclear, "allclear_version": version, "allclear_build": build, "commit": commit,
           "quick": a.quick, "machine": machine(),
           "loadavg_start": open("/proc/loadavg").read().split()[:3], "cases": {}}
    t0 = time.monotonic()
    for name in CASES:
        if name not in sel:
            continue
        t = time.monotonic()
        try:
            res["cases"][name] = getattr(b, "case_" + name)()
        except Exception as e:  # a case that cannot run is reported, and the others still run
            log("case %s failed: %s: %s" % (name, type(e).__name__, e))
            res["cases"][name] = {"status": "failed: %s: %s" % (type(e).__name__, e)}
        res["cases"][name]["seconds"] = round(time.monotonic() - t, 1)
    res["seconds"] = round(time.monotonic() - t0, 1)
    res["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    os.makedirs(os.path.dirname(os.path.abspath(a.json)), exist_ok=True)
    dump(a.json, res)
    m = res["machine"]
    if build.get("buildtype") not in (None, "debugoptimized", "release"):
        log("warning: %s is a %s build; figures are not comparable with an optimized one" % (a.allclear, build.get("buildtype")))
    print("allclear benchmarks, %s, %s (%s, commit %s); %s cores (%s), %s GiB; load average %s at the start, %s at the end; %.0f s" % (
        res["date"], version, build.get("buildtype", "build type unknown"), commit or "?", m.get("nproc"), m.get("cpu", "?"), m.get("memory_gib", "?"), " ".join(res["loadavg_start"]), " ".join(res["loadavg_end"]), res["seconds"]))
    print("Figures: median (min-max) of paired, alternating runs; ratios are medians of the per-pair ratios.\n")
    print(render(res))
    print("\nJSON: %s" % a.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
