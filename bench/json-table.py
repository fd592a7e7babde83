#!/usr/bin/env python3
"""Turn the gpupipe-bench JSON of one bench/gpu/run suite into the
markdown table bench/RESULTS.md shows for it.

usage: bench/json-table.py [FORM] DIR

FORM (default table):
  table    the `table` suite: per workload, raw, sync and ring once, then
           gpupipe with each wait strategy at every batch size run,
           adaptive, and with full checks; raw's figure from the same run
           beside each
  summary  one row per workload from the runs of every mode (raw, sync,
           ring, gpupipe's defaults): the llvmpipe table
  devices  the `devices` suite: gpupipe on one device against gpupipe-all
           on several, and one process per device
  timeout  the `timeout` suite's figures.json: per wait, when item 0 was
           TIMEDOUT and how long destroy took
  targets  the `targets` suite: per row of the performance issue's
           targets, the medians of its three runs, whether they agree,
           the target and whether it was met; the CUDA anchor's pool
           (cuda.json) beside stream when the suite ran it
  runs     one row per run of gpupipe: µs per item, mean batch, median
           latency, and CPU and sleeps per item of each thread role
           (pusher, prep, submit, readback+post): what tells two runs
           of one build apart (the `ab` suite's second table)
DIR holds the JSON files (a suite's folder, or its SUITE.tgz unpacked).
"""
import glob
import json
import os
import sys

ORDER = ["tiny", "balanced", "sgemm", "stream"]


def mode(d, name):
    for m in d["modes"]:
        if m["mode"] == name:
            return m
    return None


def cpu(m):
    return sum(m["cpu_us_per_item_by_thread"].values())


def load(folder):
    runs = {}
    for f in sorted(glob.glob(os.path.join(folder, "*.json"))):
        with open(f) as fh:
            d = json.load(fh)
        name = os.path.basename(f)[:-5]
        # A traced run is for bench/plot timeline, not a table row.
        if "modes" in d and "params" in d and not name.endswith("-trace"):
            runs[name] = d
    if not runs:
        sys.exit("no gpupipe-bench JSON files in " + folder)
    return runs


def wl_rank(p):
    w = p["workload"]
    return ORDER.index(w) if w in ORDER else 99


def row(wl, what, wait, batch, m, raw, note=""):
    lat = ("%.0f / %.0f" % (m["latency_us_p50"], m["latency_us_p99"])
           if m["latency_us_p50"] else "–")
    rb = m["cpu_us_per_item_by_thread"].get("readback", 0.0)
    return ("| %s | %s | %s | %s | %.3f (%.3f–%.3f) | %s | %.2f | %.3f | "
            "%.2f (%.2f) | %s | %s | %.3f | %s |" % (
                wl, what, wait, batch, m["us_per_item"],
                m["us_per_item_min"], m["us_per_item_max"],
                "%.3f" % raw["us_per_item"] if raw else "–",
                m["us_per_item"] / raw["us_per_item"] if raw else 1.0,
                m["utilization"], cpu(m), cpu(raw) if raw else cpu(m),
                "%.2f" % rb if what == "gpupipe" else "–", lat,
                m["fences_per_item"], m["check"] + note))


def table(runs):
    r0 = next(iter(runs.values()))
    print("Renderer \"%s\", version \"%s\"." % (r0["renderer"], r0["version"]))
    print()
    print("| workload | mode | wait | batch (at the end) | µs/item median "
          "(min–max) | raw µs/item, same run | × raw | GPU util | CPU "
          "µs/item, all threads (raw's) | readback+post CPU µs/item | "
          "latency p50 / p99 µs | fences/item | check |")
    print("| --- " * 13 + "|")

    def key(d):
        p = d["params"]
        return (wl_rank(p), p["check"] == 2, p["batch"] != 0, p["batch"],
                len(d["modes"]) < 4, p["wait"] != "signalled")

    for d in sorted(runs.values(), key=key):
        p = d["params"]
        raw = mode(d, "raw")
        if len(d["modes"]) >= 4:
            for name in ("sync", "ring"):
                m = mode(d, name)
                if m:
                    print(row(p["workload"], name, "–", "–", m, raw))
        m = mode(d, "gpupipe")
        if not m:
            continue
        batch = ("auto (%d)" % p["batch_target_end"] if p["batch"] == 0
                 else "%d" % p["batch"])
        note = ", full" if p["check"] == 2 else ""
        print(row(p["workload"], "gpupipe", p["wait"], batch, m, raw, note))


def spaced(x, digits):
    """A figure with a space between thousands, as RESULTS.md writes it."""
    return ("{:,.%df}" % digits).format(x).replace(",", " ")


def us(x):
    return spaced(x, 1 if x >= 1000 else 2)


def label(p):
    w = p["workload"]
    if w == "sgemm" and p.get("n"):
        w += " %d" % p["n"]
    if p["check"] in (1, 2):
        w += " (%s checks)" % ("sampled" if p["check"] == 1 else "full")
    if p.get("post_threads"):
        w += " (%d post threads)" % p["post_threads"]
    return w


def summary(runs):
    print("| workload | raw µs/item | sync | ring | gpupipe (adaptive, "
          "signalled) | gpupipe × sync | latency p50 / p99 µs | check |")
    print("| --- " * 8 + "|")
    full = [d for d in runs.values() if len(d["modes"]) >= 4]
    for d in sorted(full, key=lambda d: wl_rank(d["params"])):
        m = {x: mode(d, x) for x in ("raw", "sync", "ring", "gpupipe")}
        g = m["gpupipe"]
        checks = {x["check"] for x in d["modes"]}
        print("| %s | %s | %s | %s | %s | %.2f | %s / %s | %s |" % (
            label(d["params"]), us(m["raw"]["us_per_item"]),
            us(m["sync"]["us_per_item"]), us(m["ring"]["us_per_item"]),
            us(g["us_per_item"]), g["ratio_to_sync"],
            spaced(g["latency_us_p50"], 0), spaced(g["latency_us_p99"], 0),
            "ok" if checks == {"ok"} else "FAILED"))


def devices(runs):
    print("| run | workload | raw µs/item (device 0) | gpupipe, device 0 "
          "| gpupipe-all µs/item (devices) | scaling | check |")
    print("| --- " * 7 + "|")
    for name, d in sorted(runs.items(),
                          key=lambda x: (wl_rank(x[1]["params"]), x[0])):
        p = d["params"]
        m = {x["mode"]: x for x in d["modes"]}
        if "gpupipe-all" not in m:
            continue
        checks = {x["check"] for x in d["modes"]}
        print("| %s | %s | %s | %s | %s (%d) | %.2f× | %s |" % (
            name, label(p), us(m["raw"]["us_per_item"]),
            us(m["gpupipe"]["us_per_item"]),
            us(m["gpupipe-all"]["us_per_item"]), p["devices"],
            p["scaling"], "ok" if checks == {"ok"} else "FAILED"))
    two_processes(runs)


def two_processes(runs):
    """tiny on device 0 alone, then one process per device at once: the
    scaling is the items per second of both over device 0 alone's."""
    for name in sorted(runs):
        if not name.endswith("-2procs-d0") or name[:-1] + "1" not in runs:
            continue
        base = name[:-len("-2procs-d0")]
        alone = runs.get(base + "-d0-alone")
        at_once = [mode(runs[name[:-1] + i], "gpupipe") for i in "01"]
        scale = "–"
        if alone:
            a = mode(alone, "gpupipe")["us_per_item"]
            scale = "%.2f×" % sum(a / m["us_per_item"] for m in at_once)
        raws = [mode(runs[name[:-1] + i], "raw") for i in "01"]
        checks = {x["check"] for i in "01" for x in runs[name[:-1] + i]["modes"]}
        print("| %s (two processes, one per device) | %s | %s | %s at once "
              "| – | %s over %s | %s |" % (
                  base + "-2procs", label(runs[name]["params"]),
                  " / ".join(us(m["us_per_item"]) for m in raws),
                  " / ".join(us(m["us_per_item"]) for m in at_once),
                  scale, "device 0 alone" if alone else "–",
                  "ok" if checks == {"ok"} else "FAILED"))


def timeout(folder):
    with open(os.path.join(folder, "figures.json")) as fh:
        figures = json.load(fh)
    print("| wait | item 0 TIMEDOUT after (ms) | destroy returned after (ms) |")
    print("| --- " * 3 + "|")
    for f in figures:
        print("| %s | %.1f | %.1f |" % (f["wait"], f["timedout_ms"],
                                        f["destroy_ms"]))
    if not figures:
        print("| – | no fence timed out (llvmpipe: every fence is born "
              "signalled) | – |")


# The targets suite's rows, in the order. Per row, each part of
# its target: the figure (a key of figures()), the comparison, the
# limit, the figure in words and the target in words.
TARGETS = {
    "tiny": [("x_raw", "≤", 1.2, "%.2f× raw", "≤ 1.2× raw"),
             ("x_cpu", "≤", 2.0, "CPU %.2f× raw's", "CPU ≤ 2× raw's")],
    "tiny-latency": [("p50", "≤", 150, "p50 %.0f µs", "p50 ≤ 150 µs"),
                     ("x_raw", "≤", 1.5, "%.2f× raw", "≤ 1.5× raw")],
    "balanced": [("ideal", "≥", 0.95, "%.2f of ideal", "≥ 0.95 of ideal")],
    "balanced-inorder": [("ideal", "≥", 0.95, "%.2f of ideal",
                          "≥ 0.95 of ideal")],
    "sgemm": [("x_raw", "≤", 1.02, "%.3f× raw", "≤ 1.02× raw"),
              ("busy", "≥", 0.99, "GPU busy %.3f", "GPU busy ≥ 0.99")],
    "stream": [("us", "≤", 50, "%.1f µs/item", "≤ 50 µs/item"),
               ("x_cuda", "≥", 1.2, "CUDA pool / gpupipe %.2f",
                "CUDA pool / gpupipe ≥ 1.2")],
}
# A figure a run may lack, in words: cuda_pool runs only on an NVIDIA
# GPU, and the ideal bound needs the sync mode's stage times.
MISSING = {"x_cuda": "no CUDA run", "ideal": "no ideal bound (no sync run)"}
TARGET_ROWS = ["tiny", "tiny-latency", "balanced", "balanced-inorder",
               "sgemm", "stream"]


def median(xs):
    """The median of the figures xs."""
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def target_groups(runs):
    """The runs of each row: ROW-1, ROW-2, ROW-3 under ROW."""
    groups = {}
    for name, d in sorted(runs.items()):
        row, _, i = name.rpartition("-")
        if i.isdigit() and row in TARGETS:
            groups.setdefault(row, []).append(d)
    return groups


def figures(ds, cuda_us):
    """A row's figures: medians over its runs (each run's own figure is
    the median of its rounds); ratios per run, against that run's raw."""
    g = [mode(d, "gpupipe") for d in ds]
    r = [mode(d, "raw") for d in ds]
    us_g = [m["us_per_item"] for m in g]
    f = {"n": len(ds), "us": median(us_g), "min": min(us_g),
         "max": max(us_g), "raw": median(m["us_per_item"] for m in r),
         "x_raw": median(a["us_per_item"] / b["us_per_item"]
                         for a, b in zip(g, r)),
         "cpu": median(cpu(m) for m in g),
         "cpu_raw": median(cpu(m) for m in r),
         "x_cpu": median(cpu(a) / cpu(b) for a, b in zip(g, r)),
         "p50": median(m["latency_us_p50"] for m in g),
         "busy": median(m["utilization"] for m in g),
         "ok": all(m["check"] == "ok" for d in ds for m in d["modes"])}
    if all(d.get("ideal_us_per_item", 0) > 0 for d in ds):
        f["ideal"] = median(m["ratio_to_ideal"] for m in g)
    if cuda_us:
        f["x_cuda"] = cuda_us / f["us"]
    return f


def stable(f):
    """The runs agree when the slowest is within 10 % of the fastest."""
    if f["n"] < 2:
        return "– (one run)"
    spread = f["max"] / f["min"]
    return "yes" if spread <= 1.10 else "no (spread %.1f %%)" % (
        100 * (spread - 1))


def verdict(row, f):
    """met, or by how much each missed part missed; the CUDA part
    without a CUDA run is not judged, any other part without its figure
    is missed."""
    if not f["ok"]:
        return "missed: an output FAILED its check"
    missed = []
    for key, op, limit, fig, words in TARGETS[row]:
        if key not in f:
            if key != "x_cuda":
                missed.append(MISSING[key])
            continue
        if (f[key] > limit) if op == "≤" else (f[key] < limit):
            missed.append("%s, target %s" % (fig % f[key], words))
    return "missed: " + "; ".join(missed) if missed else "met"


def target_row(row, f):
    """One row of the targets table from its figures."""
    ratios = [fig % f[key] if key in f else MISSING[key]
              for key, _, _, fig, _ in TARGETS[row]
              if key.startswith("x_") or key == "ideal"]
    words = "; ".join(w for _, _, _, _, w in TARGETS[row])
    return ("| %s | %s (%s–%s) | %s | %s | %s (%s) | %s | %.3f | %s | "
            "%s | %s |" % (
                row + ("" if f["n"] == 3 else " (%d runs)" % f["n"]),
                us(f["us"]), us(f["min"]), us(f["max"]), us(f["raw"]),
                "; ".join(ratios), us(f["cpu"]), us(f["cpu_raw"]),
                spaced(f["p50"], 0) if f["p50"] else "–", f["busy"],
                stable(f), words, verdict(row, f)))


def cuda_pool(folder):
    """cuda_pool's row 3a from the suite's cuda.json, or None."""
    try:
        with open(os.path.join(folder, "cuda.json")) as fh:
            c = json.load(fh)
    except OSError:
        return None
    rows = [r for r in c["rows"] if r["id"] == "3a"]
    return dict(rows[0], checks=c["checks"]) if rows else None


def targets(folder):
    """The targets suite's table: a line per row, in the issue's order,
    cuda_pool's pool after stream when the suite ran it."""
    runs = load(folder)
    groups = target_groups(runs)
    c = cuda_pool(folder)
    r0 = next(iter(runs.values()))
    print("Renderer \"%s\", version \"%s\". Per row three runs of raw, "
          "sync and gpupipe; medians over the runs, each ratio taken "
          "within a run." % (r0["renderer"], r0["version"]))
    print()
    print("| row | gpupipe µs/item, median of 3 runs (min–max) | raw µs/item "
          "(median) | ratio the target uses | CPU µs/item, all threads "
          "(raw's) | latency p50 µs | GPU busy | stable (runs within 10 %) "
          "| target | met |")
    print("| --- " * 10 + "|")
    for row in TARGET_ROWS:
        if row not in groups:
            print("| %s | not run |" % row + " – |" * 7 + " missed: not run |")
            continue
        cuda_us = c["us_median"] if c and row == "stream" else None
        print(target_row(row, figures(groups[row], cuda_us)))
        if row == "stream" and c:
            print("| cuda_pool 3a (CUDA anchor, checks %s) | %s (%s–%s) |"
                  " – | – | – | – | – | – | the pool stream is measured "
                  "against | – |" % (c["checks"], us(c["us_median"]),
                                     us(c["us_min"]), us(c["us_max"])))
    if not c:
        print()
        print("No CUDA run (no cuda.json): stream's CUDA target is not "
              "judged.")


def runs_table(runs):
    """A row per run: its gpupipe figures by thread role."""
    roles = ("main", "prep", "submit", "readback")
    print("| run | µs/item | mean batch | p50 µs | CPU µs/item: pusher, "
          "prep, submit, readback | in callbacks µs/item: prep_cb, "
          "done_cb | sleeps per item: pusher, prep, submit, readback |")
    print("| --- " * 7 + "|")
    for name, d in sorted(runs.items()):
        m = mode(d, "gpupipe")
        if not m:
            continue
        fpi = m.get("fences_per_item", 0)
        c = m.get("cpu_us_per_item_by_thread", {})
        z = m.get("sleeps_per_item_by_thread")
        cb = m.get("callback_us_per_item")
        print("| %s | %.3f | %s | %s | %s | %s | %s |" % (
            name, m["us_per_item"], "%.1f" % (1 / fpi) if fpi else "–",
            spaced(m["latency_us_p50"], 0) if m.get("latency_us_p50")
            else "–", ", ".join("%.2f" % c.get(r, 0) for r in roles),
            "%.2f, %.2f" % (cb["prep_cb"], cb["done_cb"]) if cb else "–",
            ", ".join("%.3f" % z.get(r, 0) for r in roles) if z
            else "– (this build's bench counts none)"))


def main():
    args = sys.argv[1:]
    forms = {"table": table, "summary": summary, "devices": devices,
             "timeout": timeout, "targets": targets, "runs": runs_table}
    if len(args) == 1:
        args = ["table"] + args
    if len(args) != 2 or args[0] not in forms:
        sys.exit(__doc__)
    folder_forms = ("timeout", "targets")
    forms[args[0]](args[1] if args[0] in folder_forms else load(args[1]))


if __name__ == "__main__":
    main()
