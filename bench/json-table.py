#!/usr/bin/env python3
"""Turn the JSON files of one bench/gpu-table.sh run into RESULTS.md's
table: per workload, raw, sync and ring once, then gpupipe with each wait
strategy at every batch size run, adaptive, and with full checks; raw's
figure from the same run beside each.

usage: bench/json-table.py DIR   (the files of table.tgz)
"""
import glob
import json
import os
import sys

ORDER = ["tiny", "balanced", "sgemm", "stream"]
CHECK = {0: "auto", 1: "sampled", 2: "full"}


def mode(d, name):
    for m in d["modes"]:
        if m["mode"] == name:
            return m
    return None


def cpu(m):
    return sum(m["cpu_us_per_item_by_thread"].values())


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


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    runs = []
    for f in glob.glob(os.path.join(sys.argv[1], "*.json")):
        with open(f) as fh:
            runs.append(json.load(fh))
    if not runs:
        sys.exit("no JSON files in " + sys.argv[1])
    r0 = runs[0]
    print("Renderer \"%s\", version \"%s\"." % (r0["renderer"], r0["version"]))
    print()
    print("| workload | mode | wait | batch (at the end) | µs/item median "
          "(min–max) | raw µs/item, same run | × raw | GPU util | CPU "
          "µs/item, all threads (raw's) | readback+post CPU µs/item | "
          "latency p50 / p99 µs | fences/item | check |")
    print("| --- " * 13 + "|")

    def key(d):
        p = d["params"]
        return (ORDER.index(p["workload"]) if p["workload"] in ORDER
                else 99, p["check"] == 2, p["batch"] != 0, p["batch"],
                len(d["modes"]) < 4, p["wait"] != "signalled")

    for d in sorted(runs, key=key):
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


if __name__ == "__main__":
    main()
