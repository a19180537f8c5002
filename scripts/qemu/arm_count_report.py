#!/usr/bin/env python3
"""Host side of scripts/arm-count.sh: turns the plugin's counts and kbench's reports into
instructions per run and per MAC, with the shared ARM anchors' fewest exact count beside ours.

    arm_count_report.py --raw DIR --out DIR [--anchors arm-anchors.json] [--command "..."]
                        [--qemu qemu-aarch64|qemu-arm]

DIR holds, per (CPU model, workload file) run: NAME.counts (scripts/qemu/qemu-insncount.c
output, percpu=on), NAME.json (kbench bench --iterations N --json) and NAME.meta (cpu, file),
plus probe-CPU.json (kbench probe --json under that CPU model).

Per run = median(run intervals) - median(empty intervals), on the marking thread's own counters
(the anchors' rule: ../shared/anchors/arm/count_anchors.py); work other threads did meanwhile is
reported as other_threads. Writes counts.json and counts.md into --out.
"""
import argparse
import datetime
import glob
import json
import os
import statistics
import subprocess
import sys

CPUS_ORDER = ["cortex-a53", "neoverse-n1", "max,sve=off,sme=off", "cortex-a7", "cortex-a15"]


def parse_counts(path):
    classes, glob_marks, own_marks, vcpus = None, {}, {}, None
    with open(path) as f:
        for line in f:
            p = line.split()
            if not p:
                continue
            if p[0] == "classes":
                classes = p[1:]
            elif p[0] == "vcpus":
                vcpus = int(p[1])
            elif p[0] == "mark":
                glob_marks[int(p[1])] = [int(x) for x in p[2:]]
            elif p[0] == "markvcpu":
                own_marks[int(p[1])] = [int(x) for x in p[3:]]
    return classes, glob_marks, own_marks, vcpus


def intervals(marks, start, n):
    out = []
    for i in range(n):
        a, b = marks.get(start + i), marks.get(start + i + 1)
        if a is None or b is None:
            return None
        out.append([y - x for x, y in zip(a, b)])
    return out


def per_run(classes, gm, om, base, n):
    src = om if om else gm
    run = intervals(src, base + 1000, n)
    empty = intervals(src, base + 10, n)
    first = intervals(src, base + 1, 1)
    if not run or not empty:
        return None
    med = lambda rows, c: statistics.median(r[c] for r in rows)  # noqa: E731
    d = {
        "per_run": {cl: med(run, c) - med(empty, c) for c, cl in enumerate(classes)},
        "empty_interval": med(empty, 0),
        "runs_total": [r[0] for r in run],
        "warm_up_total": first[0][0] - med(empty, 0) if first else None,
        "counted": "marking thread only (percpu)" if om else "all threads (global counters)",
    }
    if om:
        grun = intervals(gm, base + 1000, n)
        if grun:
            d["other_threads"] = sum(r[0] for r in grun) - sum(r[0] for r in run)
    return d


def anchors_index(paths):
    """(workload, cpu) -> fewest exact anchor row, over every anchor results file given."""
    results, meta = [], None
    for path in paths or []:
        if not os.path.isfile(path):
            continue
        with open(path) as f:
            a = json.load(f)
        results += a.get("results", [])
        meta = meta or a.get("meta", {})
    if meta is None:
        return {}, None
    a = {"results": results, "meta": meta}
    best = {}
    for r in a.get("results", []):
        if r.get("status") != "ok" or not (r.get("check") or {}).get("ok"):
            continue
        if r.get("insns_per_call") is None or r.get("workload") in (None, "floor"):
            continue
        key = (r["workload"], r["cpu"])
        if key not in best or r["insns_per_call"] < best[key]["insns_per_call"]:
            best[key] = r
    return best, a.get("meta", {})


def short_backend(b):
    return {
        "ort.MatMulInteger": "ORT MatMulInteger (MLAS)",
        "ort.QLinearMatMul": "ORT QLinearMatMul (MLAS)",
        "ort.QLinearConv[NHWC]": "ORT QLinearConv NHWC (MLAS)",
        "ort.QLinearConv[NCHW]": "ORT QLinearConv NCHW (MLAS)",
        "ort.Conv[NCHW]": "ORT Conv (MLAS)",
        "torch.q.qnnpack": "QNNPACK",
        "torch.q.qnnpack[s8->xnnpack]": "XNNPACK qs8",
        "xnnpack.fp32": "XNNPACK f32",
    }.get(b, b)


def fmt_m(x):
    return "-" if x is None else f"{x / 1e6:.3f} M"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--anchors", action="append",
                    help="anchor results (count_anchors.py --json); repeatable, merged")
    ap.add_argument("--command", default="scripts/arm-count.sh")
    ap.add_argument("--qemu", default="qemu-aarch64",
                    help="the QEMU user binary that ran the guest (qemu-arm: 32-bit ARM, A32 classes)")
    args = ap.parse_args()

    best, ameta = anchors_index(args.anchors)
    rows, runs, probes = [], [], {}
    for pf in sorted(glob.glob(os.path.join(args.raw, "probe-*.json"))):
        with open(pf) as f:
            try:
                pj = json.load(f)
            except json.JSONDecodeError:
                continue
        probes[pj.get("_cpu", os.path.basename(pf))] = pj.get("probe", {})
    # A run's MatMulInteger pass (NAME-mmi) after the run itself.
    for meta_path in sorted(glob.glob(os.path.join(args.raw, "*.meta")),
                            key=lambda p: p.replace("-mmi.meta", ".meta~")):
        stem = meta_path[:-5]
        with open(meta_path) as f:
            meta = json.load(f)
        cpu, wfile = meta["cpu"], meta["file"]
        run_info = {"cpu": cpu, "file": wfile, "rc": meta.get("rc"), "wall_s": meta.get("wall_s")}
        if not (os.path.isfile(stem + ".json") and os.path.isfile(stem + ".counts")):
            run_info["error"] = "kbench report or counts missing (see the .log)"
            runs.append(run_info)
            continue
        with open(stem + ".json") as f:
            rep = json.load(f)
        classes, gm, om, vcpus = parse_counts(stem + ".counts")
        run_info.update({"vcpus": vcpus, "machine": rep.get("machine"),
                         "dispatch_features": rep.get("dispatch_features"),
                         "skipped": rep.get("skipped"), "failures": rep.get("failures")})
        runs.append(run_info)
        for r in rep["rows"]:
            d = per_run(classes, gm, om, r["tag_base"], r["iterations"])
            row = {"workload": r["id"], "file": wfile, "cpu": cpu, "kind": r["kind"],
                   "dtype": r["dtype"], "shape": r["shape"], "algorithm": r["algorithm"],
                   "macs": r["macs"], "check": r["check"], "ok": r["ok"],
                   "iterations": r["iterations"]}
            if d:
                row.update(d)
                row["insns_per_run"] = d["per_run"]["total"]
                row["insns_per_mac"] = d["per_run"]["total"] / r["macs"] if r["macs"] else None
            else:
                row["insns_per_run"] = None
                row["error"] = "markers missing in the counts"
            a = best.get((r["id"], cpu))
            if a and row["insns_per_run"]:
                row["anchor"] = {"backend": a["backend"], "insns_per_call": a["insns_per_call"],
                                 "insns_per_mac": a["insns_per_mac"]}
                row["ratio"] = row["insns_per_run"] / a["insns_per_call"]
            rows.append(row)

    order = {c: i for i, c in enumerate(CPUS_ORDER)}
    files = []
    for r in rows:
        if r["file"] not in files:
            files.append(r["file"])
    rows.sort(key=lambda r: (files.index(r["file"]), r["dtype"] != "int8", order.get(r["cpu"], 9)))
    try:
        qv = subprocess.run([args.qemu, "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    except OSError:
        qv = "?"
    out = {
        "meta": {
            "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M"),
            "command": args.command,
            "qemu": qv,
            "plugin": "scripts/qemu/qemu-insncount.c, percpu=on"
                      + (", arch=a32" if args.qemu == "qemu-arm" else ""),
            "counting": "kbench bench --iterations N: one warm-up (checked against the reference), "
                        "then N runs with a marker syscall after each, and N empty intervals; per run = "
                        "median(run intervals) - median(empty intervals), the marking thread's own counters",
            "anchors": args.anchors if best else None,
            "anchors_meta": {k: ameta.get(k) for k in ("date_utc", "qemu", "guest_libs", "reps")} if ameta else None,
        },
        "probe": probes,
        "runs": runs,
        "rows": rows,
    }
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "counts.json"), "w") as f:
        json.dump(out, f, indent=1)

    if args.qemu == "qemu-arm":
        md = ["# 32-bit ARM (armv7) instruction counts under qemu-arm", ""]
    else:
        md = ["# AArch64 instruction counts under qemu-aarch64 (ours vs the ARM anchors)", ""]
    md.append(f"Generated {out['meta']['date_utc']} UTC by `{args.command}` ({qv}; plugin "
              f"`{out['meta']['plugin']}`). " + out["meta"]["counting"] + ".")
    md.append("")
    if best:
        md.append("Anchor = the fewest instructions per call among the anchors' rows whose output "
                  "checked exact (`../shared/anchors/arm/results/arm-anchors.json`; for `bench/mobile-int8.json`, "
                  "`bench-results/aarch64-qemu/anchors-mobile/`, the same harness: ONNX Runtime 1.32 "
                  "MLAS, PyTorch 2.8 QNNPACK and XNNPACK, same QEMU CPU model). The anchors' counts include "
                  "Python + framework dispatch (~22k instructions per ORT call, ~0.2M per torch call); "
                  "ours include `ops`'s dispatch. ratio = ours / anchor (< 1: we execute fewer).")
    else:
        md.append("No anchor rows for these runs (the shared ARM anchors are aarch64 only).")
    md.append("")
    md.append("## What dispatch sees per CPU model")
    md.append("")
    md.append("| QEMU CPU | dispatch features (kbench bench) | kbench probe: dispatch features | "
              "kbench probe: ISA flags |")
    md.append("|---|---|---|---|")
    seen = set()
    for ri in runs:
        if ri["cpu"] in seen or ri.get("dispatch_features") is None:
            continue
        seen.add(ri["cpu"])
        p = probes.get(ri["cpu"], {})
        pd = p.get("dispatch_features") or []
        pf = p.get("isa") or {}
        if isinstance(pf, dict):
            pf = [k for k, v in pf.items() if v]
        md.append(f"| `{ri['cpu']}` | {' '.join(ri['dispatch_features']) or 'none (scalar)'} | {' '.join(pd) or '-'} | "
                  f"{' '.join(pf) if isinstance(pf, list) else (pf or '-')} |")
    md.append("")
    for wf in files:
        md.append(f"## {wf}")
        md.append("")
        md.append("| workload | shape | MMAC | QEMU CPU | ours: what ran | insns/run | insn/MAC | "
                  "fewest exact anchor | anchor insns | anchor insn/MAC | ratio |")
        md.append("|---|---|---:|---|---|---:|---:|---|---:|---:|---:|")
        for r in rows:
            if r["file"] != wf:
                continue
            a = r.get("anchor")
            chk = "" if r["ok"] else " **check failed**"
            md.append("| {} | {} {} | {:.1f} | `{}` | {}{} | {} | {} | {} | {} | {} | {} |".format(
                r["workload"], r["shape"], r["dtype"], r["macs"] / 1e6, r["cpu"],
                r["algorithm"].replace("|", "/"), chk, fmt_m(r.get("insns_per_run")),
                "-" if r.get("insns_per_mac") is None else f"{r['insns_per_mac']:.3f}",
                short_backend(a["backend"]) if a else "-", fmt_m(a["insns_per_call"]) if a else "-",
                f"{a['insns_per_mac']:.3f}" if a else "-",
                f"{r['ratio']:.2f}x" if r.get("ratio") else "-"))
        md.append("")
    # Per workload and CPU model, our fewest over the forms counted (an int8 GEMM runs as
    # QLinearMatMul and as MatMulInteger, like the anchors' two ONNX forms) vs the fewest anchor.
    best_ours = {}
    for r in rows:
        if r.get("insns_per_run") is None or not r["ok"]:
            continue
        key = (r["file"], r["workload"], r["cpu"])
        if key not in best_ours or r["insns_per_run"] < best_ours[key]["insns_per_run"]:
            best_ours[key] = r
    multi = {k for k in best_ours if sum(1 for r in rows if (r["file"], r["workload"], r["cpu"]) == k) > 1}
    if multi:
        md.append("## Workloads counted in more than one form: the fewer of ours vs the fewest anchor")
        md.append("")
        md.append("| workload | QEMU CPU | ours: fewest form | insns/run | fewest exact anchor | anchor insns | ratio |")
        md.append("|---|---|---|---:|---|---:|---:|")
        for k in sorted(multi, key=lambda k: (files.index(k[0]), k[1], order.get(k[2], 9))):
            r = best_ours[k]
            a = r.get("anchor")
            md.append("| {} | `{}` | {} | {} | {} | {} | {} |".format(
                r["workload"], r["cpu"], r["algorithm"].replace("|", "/"), fmt_m(r["insns_per_run"]),
                short_backend(a["backend"]) if a else "-", fmt_m(a["insns_per_call"]) if a else "-",
                f"{r['ratio']:.2f}x" if r.get("ratio") else "-"))
        md.append("")
    out["fewest_of_ours"] = [
        {"file": k[0], "workload": k[1], "cpu": k[2], "algorithm": r["algorithm"],
         "insns_per_run": r["insns_per_run"], "ratio": r.get("ratio")}
        for k, r in best_ours.items()
    ]
    bad = [ri for ri in runs if ri.get("error") or ri.get("rc") not in (0, None)]
    skipped = [(ri["cpu"], s) for ri in runs for s in (ri.get("skipped") or [])]
    if bad or skipped:
        md.append("## Not counted")
        md.append("")
        for ri in bad:
            md.append(f"- `{ri['cpu']}` {ri['file']}: exit {ri.get('rc')} {ri.get('error', '')}")
        for cpu, s in skipped:
            md.append(f"- `{cpu}` {s['id']}: {s['error']}")
        md.append("")
    with open(os.path.join(args.out, "counts.json"), "w") as f:
        json.dump(out, f, indent=1)
    with open(os.path.join(args.out, "counts.md"), "w") as f:
        f.write("\n".join(md))
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
