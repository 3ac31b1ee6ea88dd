#!/usr/bin/env python3
"""Check the deployment examples in examples/ (no cluster or CI here).

Parses every YAML file (python3-yaml) and checks the fields that matter:
the Indexed Job's completions, parallelism and --shard N agree, each pod's
shell turns JOB_COMPLETION_INDEX into its own --shard I/N and report, the
merge reads exactly the shards' reports, the CI matrices have N entries,
and the merge jobs run after every shard and gate the pipeline. The shell
snippets are run for real, with a stand-in `allclear` on PATH that records its
arguments and exits with a chosen code. Every option the examples pass to
allclear must be one `allclear --help` lists.

usage: examples_check.py SOURCE_ROOT ALLCLEAR_BIN
"""
import os
import re
import shlex
import subprocess
import sys
import tempfile

import yaml

ROOT, BIN = sys.argv[1], sys.argv[2]
EX = os.path.join(ROOT, "examples")
problems = []
used_options = set()


def need(cond, what):
    if not cond:
        problems.append(what)
    return cond


def load(rel):
    with open(os.path.join(EX, rel)) as f:
        return list(yaml.safe_load_all(f))


STUB = """#!/bin/sh
for a in "$@"; do printf '%s\\n' "$a"; done >> "$STUB_OUT"
printf -- '--\\n' >> "$STUB_OUT"
exit "${STUB_RC:-0}"
"""


def run_shell(script, env, rc=0):
    """Run script with the stand-in allclear; (exit code, [argv of each call])."""
    with tempfile.TemporaryDirectory() as d:
        fake = os.path.join(d, "allclear")
        with open(fake, "w") as f:
            f.write(STUB)
        os.chmod(fake, 0o755)
        out = os.path.join(d, "calls")
        e = dict(os.environ, PATH=d + ":" + os.environ["PATH"], STUB_OUT=out, STUB_RC=str(rc))
        e.update(env)
        p = subprocess.run(["sh", "-c", script], env=e, capture_output=True, text=True)
        calls = []
        if os.path.exists(out):
            cur = []
            for line in open(out).read().splitlines():
                if line == "--":
                    calls.append(cur)
                    cur = []
                else:
                    cur.append(line)
        for c in calls:
            used_options.update(a for a in c if a.startswith("--"))
        return p.returncode, calls


def opt(argv, name):
    return argv[argv.index(name) + 1] if name in argv and argv.index(name) + 1 < len(argv) else None


def shard_exit_codes(script, env):
    """A shard passes when it wrote a report (0, 1, 2) and fails on 3."""
    for rc, want in ((0, 0), (1, 0), (2, 0), (3, 3)):
        got, _ = run_shell(script, env, rc)
        need(got == want, f"shard script: allclear exit {rc} gives {got}, want {want}")


def merge_reports(argv):
    """The report files a merge command reads."""
    need(argv[:1] == ["merge"], f"merge command is not 'allclear merge': {argv}")
    out, skip = [], False
    for a in argv[1:]:
        if skip:
            skip = False
        elif a.startswith("--"):
            skip = a in ("--json", "--junit", "--markdown", "--html", "--format")
        else:
            out.append(a)
    return out


# Kubernetes: the Indexed Job and the merge Job.
job = load("kubernetes/shards-job.yaml")[0]
need(job["apiVersion"] == "batch/v1" and job["kind"] == "Job", "shards: not a batch/v1 Job")
spec = job["spec"]
N = spec.get("completions")
need(spec.get("completionMode") == "Indexed", "shards: completionMode is not Indexed")
need(isinstance(N, int) and N >= 2, "shards: completions is not a number of shards")
need(spec.get("parallelism") == N, "shards: parallelism != completions")
pod = spec["template"]["spec"]
need(pod.get("restartPolicy") == "Never", "shards: restartPolicy is not Never")
c = pod["containers"][0]
script = " ".join(c["command"][2:] + c["args"]) if c["command"][:2] == ["/bin/sh", "-c"] else None
need(script is not None, "shards: the container is not a /bin/sh -c script")
mounts = {m["name"]: m["mountPath"] for m in c.get("volumeMounts", [])}
vols = {v["name"]: v for v in pod.get("volumes", [])}
shard_reports = []
for k in range(N):
    rc, calls = run_shell(script, {"JOB_COMPLETION_INDEX": str(k)})
    need(rc == 0 and len(calls) == 1, f"shards: pod {k} ran {len(calls)} allclear calls, exit {rc}")
    argv = calls[0]
    need(argv[0] == "check", f"shards: pod {k} does not run check: {argv}")
    need(opt(argv, "--shard") == f"{k + 1}/{N}", f"shards: pod {k} runs --shard {opt(argv, '--shard')}")
    rep = opt(argv, "--json")
    need(rep and rep.startswith(mounts.get("reports", "?") + "/"), f"shards: pod {k} report {rep} not on the shared volume")
    shard_reports.append(rep)
need(len(set(shard_reports)) == N, "shards: two pods write the same report")
shard_exit_codes(script, {"JOB_COMPLETION_INDEX": "0"})
need(vols.get("reports", {}).get("persistentVolumeClaim", {}).get("claimName") == "allclear-reports",
     "shards: reports are not on the shared claim")

docs = load("kubernetes/merge-job.yaml")
mjob = next(d for d in docs if d["kind"] == "Job")
pvc = next(d for d in docs if d["kind"] == "PersistentVolumeClaim")
need(mjob["apiVersion"] == "batch/v1", "merge: not batch/v1")
need("ReadWriteMany" in pvc["spec"]["accessModes"], "merge: the claim is not ReadWriteMany")
mc = mjob["spec"]["template"]["spec"]["containers"][0]
need(mc["command"] == ["allclear"], "merge: command is not allclear")
used_options.update(a for a in mc["args"] if a.startswith("--"))
need(sorted(merge_reports(mc["args"])) == sorted(shard_reports),
     f"merge: reads {merge_reports(mc['args'])}, the shards write {shard_reports}")
mvol = mjob["spec"]["template"]["spec"]["volumes"][0]
need(mvol["persistentVolumeClaim"]["claimName"] == "allclear-reports", "merge: another volume")
need(mjob["spec"].get("backoffLimit") == 0, "merge: a failed verdict must not be retried")

# Kubernetes: the CronJob.
cj = load("kubernetes/cronjob.yaml")[0]
need(cj["apiVersion"] == "batch/v1" and cj["kind"] == "CronJob", "cronjob: not a batch/v1 CronJob")
need(len(cj["spec"]["schedule"].split()) == 5, "cronjob: schedule is not 5 fields")
need(cj["spec"].get("concurrencyPolicy") == "Forbid", "cronjob: watches may overlap")
cc = cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
need(cc["command"] == ["allclear"] and cc["args"][0] == "watch", "cronjob: does not run allclear watch")
need("--window" in cc["args"], "cronjob: no --window")
used_options.update(a for a in cc["args"] if a.startswith("--"))


def gh_expand(text, matrix):
    return re.sub(r"\$\{\{\s*matrix\.(\w+)\s*\}\}", lambda m: str(matrix[m.group(1)]), text)


def gh_run(job, step_name_part):
    return next(s["run"] for s in job["steps"] if "run" in s and step_name_part in s.get("name", ""))


# GitHub Actions: the shard matrix and the merge job.
gh = load("ci/github-actions.yml")[0]
jobs = gh["jobs"]
n = int(gh["env"]["SHARDS"])
shards = jobs["shard"]["strategy"]["matrix"]["shard"]
need(n == N and len(shards) == n and sorted(shards) == list(range(1, n + 1)),
     f"github: matrix {shards} for {n} shards")
need(jobs["shard"]["strategy"].get("fail-fast") is False, "github: fail-fast would cancel shards")
gh_reports = []
for s in shards:
    script = gh_expand(gh_run(jobs["shard"], "allclear"), {"shard": s})
    rc, calls = run_shell(script, {"SHARDS": str(n)})
    need(rc == 0 and len(calls) == 1, f"github: shard {s} exit {rc}")
    need(opt(calls[0], "--shard") == f"{s}/{n}", f"github: shard {s} runs --shard {opt(calls[0], '--shard')}")
    gh_reports.append(opt(calls[0], "--json"))
shard_exit_codes(gh_expand(gh_run(jobs["shard"], "allclear"), {"shard": 1}), {"SHARDS": str(n)})
m = jobs["merge"]
need(m.get("needs") == "shard" and "always()" in m.get("if", ""), "github: merge does not run after every shard")
rc, calls = run_shell(gh_run(m, "merge"), {}, 1)
need(rc == 1, "github: the merge's exit code does not gate the job")
need(sorted(merge_reports(calls[0])) == sorted(gh_reports), f"github: merge reads {calls[0]}")

# GitLab CI: parallel: N with CI_NODE_INDEX/CI_NODE_TOTAL.
gl = load("ci/gitlab-ci.yml")[0]
sj, mj = gl["allclear-shard"], gl["allclear-merge"]
need(sj["parallel"] == N, f"gitlab: parallel {sj['parallel']}, the Job has {N}")
need(gl["stages"].index(sj["stage"]) < gl["stages"].index(mj["stage"]), "gitlab: merge before shards")
gl_reports = []
for i in range(1, sj["parallel"] + 1):
    rc, calls = run_shell("\n".join(sj["script"]), {"CI_NODE_INDEX": str(i), "CI_NODE_TOTAL": str(sj["parallel"])})
    need(rc == 0 and len(calls) == 1, f"gitlab: node {i} exit {rc}")
    need(opt(calls[0], "--shard") == f"{i}/{N}", f"gitlab: node {i} runs --shard {opt(calls[0], '--shard')}")
    gl_reports.append(opt(calls[0], "--json"))
shard_exit_codes("\n".join(sj["script"]), {"CI_NODE_INDEX": "1", "CI_NODE_TOTAL": str(N)})
need(sj["artifacts"].get("when") == "always", "gitlab: reports kept only on success")
need(mj.get("when") == "always", "gitlab: merge skipped when a shard failed")
need(any(x.get("job") == "allclear-shard" for x in mj["needs"]), "gitlab: merge does not need the shards")
rc, calls = run_shell("\n".join(mj["script"]), {}, 2)
need(rc == 2, "gitlab: the merge's exit code does not gate the pipeline")
need(sorted(merge_reports(calls[0])) == sorted(gl_reports), f"gitlab: merge reads {calls[0]}")
need(mj["artifacts"]["reports"]["junit"] in calls[0], "gitlab: junit report not written by merge")

# Regions: one agent per region, the merge reads each region's report.
rg = load("regions/github-regions.yml")[0]
inc = rg["jobs"]["region"]["strategy"]["matrix"]["include"]
need(len(inc) >= 2, "regions: fewer than two regions")
rg_reports = []
for row in inc:
    script = gh_expand(gh_run(rg["jobs"]["region"], "allclear"), row)
    rc, calls = run_shell(script, {})
    need(rc == 0 and len(calls) == 1, f"regions: {row['region']} exit {rc}")
    need(opt(calls[0], "--agent") == row["region"], f"regions: {row['region']} runs as {opt(calls[0], '--agent')}")
    need("--shard" not in calls[0], "regions: an agent runs the whole scenario")
    rg_reports.append(opt(calls[0], "--json"))
need(len(set(rg_reports)) == len(inc), "regions: two regions write one report name")
rc, calls = run_shell(gh_run(rg["jobs"]["merge"], "merge"), {})
need(sorted(merge_reports(calls[0])) == sorted(rg_reports), f"regions: merge reads {calls[0]}")

# Every option the examples use is one allclear has.
helptext = subprocess.run([BIN, "--help"], capture_output=True, text=True).stdout
known = set(re.findall(r"--[a-z][a-z-]*", helptext))
for o in sorted(used_options):
    need(o in known, f"option {o} is not in allclear --help")

if problems:
    for p in problems:
        print("examples: " + p)
    sys.exit(1)
print(f"examples ok: {N} shards, {len(inc)} regions, {len(used_options)} options checked")
