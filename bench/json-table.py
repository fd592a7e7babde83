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


def main():
    args = sys.argv[1:]
    forms = {"table": table, "summary": summary, "devices": devices,
             "timeout": timeout}
    if len(args) == 1:
        args = ["table"] + args
    if len(args) != 2 or args[0] not in forms:
        sys.exit(__doc__)
    forms[args[0]](args[1] if args[0] == "timeout" else load(args[1]))


if __name__ == "__main__":
    main()
