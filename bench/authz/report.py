#!/usr/bin/python3
"""The summary of bench/authz_vs_oidc_provider.sh: means over the rounds, the
ratios and the goals of the issue's "Bar".

  report.py RESULTS_FILE

RESULTS_FILE lines, written by the script:
  run TEST SERVER ROUND cpu_pct=.. wrk_cpu_pct=.. requests=.. rps=.. p50_ms=.. p99_ms=.. non200=.. ...
  limit sign_per_s=.. cores=.. sigs_per_refresh=..   (one per openssl speed run; the mean is the limit)
  fail SERVER WHAT...          (a server that could not be measured, and why)

Exits 1 when a run had answers other than the expected 200 (or socket errors,
or ran out of refresh tokens) or a server could not be measured; missing a goal
is reported, not a failure.
"""
import collections
import statistics
import sys

TESTS = ("client_credentials", "introspection", "refresh")
SERVERS = ("ucedge", "oidc-provider")
GOALS = {"client_credentials": 1.5, "introspection": 3.0}
REFRESH_GOAL = 0.8
FAILURES = ("non200", "unexpected", "socket_errors", "exhausted")


def fields(words):
    return {k: float(v) for k, v in (w.split("=", 1) for w in words)}


def mean(values):
    return sum(values) / len(values) if values else float("nan")


def verdict(ok):
    return "met" if ok else "NOT met"


def main():
    runs = collections.defaultdict(list)
    limits, failed = [], []
    with open(sys.argv[1]) as f:
        for line in f:
            words = line.split()
            if not words:
                continue
            if words[0] == "run":
                runs[(words[1], words[2])].append(fields(words[4:]))
            elif words[0] == "limit":
                limits.append(fields(words[1:]))
            elif words[0] == "fail":
                failed.append(" ".join(words[1:]))

    bad_runs = 0
    summary = {}
    print("summary: req/s and CPU are the means of the rounds, p50/p99 the medians of the rounds' percentiles")
    print(f"{'test':<19} {'server':<14} {'rounds':>6} {'req/s':>10} {'p50_ms':>9} {'p99_ms':>9} {'cpu%':>6} "
          f"{'wrk%':>6} {'bad':>6} {'timeouts':>8}")
    for test in TESTS:
        for server in SERVERS:
            rs = runs.get((test, server))
            if not rs:
                continue
            bad = sum(int(r[k]) for r in rs for k in FAILURES)
            bad_runs += sum(1 for r in rs if any(r[k] for k in FAILURES))
            s = {k: mean([r[k] for r in rs]) for k in ("rps", "cpu_pct", "wrk_cpu_pct")}
            # A round disturbed by the machine's other load moves a mean of percentiles far more.
            s.update({k: statistics.median([r[k] for r in rs]) for k in ("p50_ms", "p99_ms")})
            summary[(test, server)] = s
            print(f"{test:<19} {server:<14} {len(rs):>6} {s['rps']:>10.0f} {s['p50_ms']:>9.2f} {s['p99_ms']:>9.2f} "
                  f"{s['cpu_pct']:>6.0f} {s['wrk_cpu_pct']:>6.0f} {bad:>6} {sum(int(r['timeouts']) for r in rs):>8}")
    print("(bad: answers other than the expected 200, bodies without the expected token or \"active\":true,\n"
          " socket errors, requests sent without a refresh token; cpu%, wrk%: the server's and the load\n"
          " generator's CPU, 100 = one core)")
    print()

    for test, goal in GOALS.items():
        u, n = summary.get((test, "ucedge")), summary.get((test, "oidc-provider"))
        if u and n:
            ratio = u["rps"] / n["rps"]
            line = f"{test}: ucedge/oidc-provider {ratio:.2f}x req/s (goal >= {goal}x: {verdict(ratio >= goal)})"
            if test == "client_credentials":
                line += (f"; p99 {u['p99_ms']:.2f} ms against {n['p99_ms']:.2f} ms "
                         f"(goal lower: {verdict(u['p99_ms'] < n['p99_ms'])})")
            print(line)
    u = summary.get(("refresh", "ucedge"))
    if u and limits:
        limit = limits[-1]
        signs = [m["sign_per_s"] for m in limits]
        sign_per_s = mean(signs)
        physical = sign_per_s / limit["sigs_per_refresh"]
        share = u["rps"] / physical
        print(f"refresh: ucedge {u['rps']:.0f} req/s = {100 * share:.1f}% of the physical limit {physical:.0f}/s "
              f"(openssl speed -multi {limit['cores']:.0f} rsa2048: {sign_per_s:.0f} sign/s, the mean of "
              f"{len(signs)} measurement(s) from {min(signs):.0f} to {max(signs):.0f}; "
              f"{limit['sigs_per_refresh']:.0f} signature(s) a refresh) "
              f"(goal >= {100 * REFRESH_GOAL:.0f}%: {verdict(share >= REFRESH_GOAL)})")
        # Context, not the goal: the limit is the whole machine, which ucedge
        # shares with wrk (and the kernel's work for both).
        used = u["cpu_pct"] / 100
        print(f"  ucedge used {used:.2f} of the {limit['cores']:.0f} cores, wrk {u['wrk_cpu_pct'] / 100:.2f}; "
              f"per core it used, ucedge refreshed at {100 * share * limit['cores'] / used:.1f}% of one core's limit")
    for what in failed:
        print(f"not measured: {what}")
    if bad_runs:
        print(f"FAILED: {bad_runs} run(s) had wrong answers or errors; their numbers are not a benchmark")
    sys.exit(1 if bad_runs or failed else 0)


if __name__ == "__main__":
    main()
