#!/usr/bin/env python3
"""Compare two bench/run.sh JSON results (before and after an engine change):

    python3 bench/compare.py BEFORE.json AFTER.json

prints every allclear figure both runs have, with the change in percent. The
machine is shared and noisy: a change inside the min-max spread of either run
is marked "~" (within noise)."""
import json
import sys


def figures(res):
    """(name, spread) for every allclear figure in a result file."""
    out = []
    c = res.get("cases", {})
    for mode, rows in c.get("journeys", {}).get("tables", {}).items():
        for r in rows:
            if r.get("contender") == "allclear" and r.get("status") == "ok":
                for m in ("wall", "cpu", "rss_mib"):
                    out.append(("1 journeys %s %s" % (mode, m), r[m]))
    for r in c.get("ceiling", {}).get("rows", []):
        a = r.get("allclear")
        if isinstance(a, dict):
            for m in ("rps", "wall", "cpu", "rss_mib"):
                out.append(("2 ceiling %d in flight %s" % (r["in_flight"], m), a[m]))
        if "allclear_pct_of_wrk" in r:
            out.append(("2 ceiling %d in flight %% of wrk" % r["in_flight"], r["allclear_pct_of_wrk"]))
    for r in c.get("slow", {}).get("rows", []):
        if r.get("status") == "ok":
            out.append(("3 slow %s wall" % r["contender"], r["wall"]))
            if "wall_vs_slowest_alone" in r:
                out.append(("3 slow %s x slowest" % r["contender"], r["wall_vs_slowest_alone"]))
    w = c.get("watch", {})
    for k in ("first_20pct", "last_20pct"):
        if k in w and "cpu_ms_per_round_schedstat" in w[k]:
            v = w[k]["cpu_ms_per_round_schedstat"]
            out.append(("4 watch CPU ms/round %s" % k, {"median": v, "min": v, "max": v}))
    if "rss_end_mib" in w:
        out.append(("4 watch RSS at the end", {"median": w["rss_end_mib"], "min": w["rss_end_mib"], "max": w["rss_end_mib"]}))
    for case in ("lint", "startup"):
        for r in c.get(case, {}).get("rows", []):
            if r.get("status") == "ok" and r["contender"] != "curl":
                for m in ("wall", "cpu", "rss_mib"):
                    out.append(("%s %s %s" % ("5" if case == "lint" else "6", r["contender"], m), r[m]))
    return out


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 3
    a, b = (json.load(open(p)) for p in sys.argv[1:])
    fa, fb = dict(figures(a)), dict(figures(b))
    print("| figure | before | after | change |")
    print("|---|---|---|---|")
    for name, _ in figures(a):
        if name not in fb:
            print("| %s | %.4g | (not measured) | |" % (name, fa[name]["median"]))
            continue
        x, y = fa[name], fb[name]
        ch = 100 * (y["median"] - x["median"]) / x["median"] if x["median"] else float("nan")
        noise = y["median"] >= x["min"] and y["median"] <= x["max"] or x["median"] >= y["min"] and x["median"] <= y["max"]
        print("| %s | %.4g | %.4g | %+.0f%%%s |" % (name, x["median"], y["median"], ch, " ~" if noise else ""))
    for name in fb:
        if name not in fa:
            print("| %s | (not measured) | %.4g | |" % (name, fb[name]["median"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
