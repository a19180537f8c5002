#!/usr/bin/env python3
"""Static cycle estimates (llvm-mca) of the innermost loops of AArch64 (or, with --arch a32,
32-bit ARM A32) micro-kernels.

    arm_mca.py --objdump aarch64-linux-gnu-objdump --mca llvm-mca-19 \
        --ours target/aarch64-unknown-linux-gnu/release/kbench \
        [--published LABEL=FILE.o:SYMBOL_REGEX ...] --json mca.json --md mca.md

For each function (ours: every symbol whose last path component ends in __neon, __neondot or
__neoni8mm; published: the given objects' symbols matching the regex) the disassembly is parsed,
loops are found from backward branches, and the innermost loops (no other loop inside) are kept.
The loop reported for a function is its innermost loop with the most multiply-accumulate lane
products per iteration ("MACs": SDOT/UDOT = 16, SMMLA = 32, SMLAL/SMULL .4s = 4, .8h = 8,
MLA/MUL/FMLA = one per lane); loops without any are reported by size only. Each loop body is
fed to llvm-mca (-iterations=200) for every -mcpu, giving cycles per iteration and per MAC.

With --arch a32 (objdump arm-linux-gnueabihf-objdump, llvm-mca -mtriple=armv7-linux-gnueabihf
-mattr=+neon): ours are the symbols ending in __aarch32_neon; branches are b<cond>/bx/pop {..pc};
MACs: VMLAL/VMLSL/VMULL (one per destination lane: .s16 -> 4, .s8 -> 8), VMLA/VMUL/VFMA .f32
(4 on a q register, 2 on a d register).
"""
import argparse
import json
import os
import re
import subprocess
import sys

BRANCH = re.compile(r"^(b|b\.[a-z]+|cbz|cbnz|tbz|tbnz)$")
# A32 (objdump's spelling): b, b<cond> (with .n/.w in Thumb), cbz/cbnz.
COND = "eq|ne|cs|hs|cc|lo|mi|pl|vs|vc|hi|ls|ge|lt|gt|le|al"
BRANCH_A32 = re.compile(rf"^(b(?:{COND})?(?:\.[nw])?|cbz|cbnz)$")
ARCH = {"a": "a64"}
CRATES = {"qgemm", "qconv_direct", "depthwise", "winograd", "fft_conv", "quant_params", "ops"}
OURS_NAME = re.compile(r"(?:^|::)([a-z0-9_]+__neon(?:dot|i8mm)?)(?:::h[0-9a-f]{16})?$")
OURS_NAME_A32 = re.compile(r"(?:^|::)([a-z0-9_]+__aarch32_neon)(?:::h[0-9a-f]{16})?$")


def is_branch(mn):
    return bool((BRANCH_A32 if ARCH["a"] == "a32" else BRANCH).match(mn))


def is_return(mn, op):
    """An unconditional exit from the function (no fall-through)."""
    if ARCH["a"] == "a32":
        return mn in ("bx", "b", "b.w", "b.n") or (mn in ("pop", "ldm", "ldmia") and "pc" in op)
    return mn in ("b", "ret", "br")


def disassemble(objdump, path):
    """{start address: (symbol, [(addr, mnemonic, operands, target symbol or None)])}."""
    out = subprocess.run([objdump, "-d", "--no-show-raw-insn", "-C", path],
                         capture_output=True, text=True, check=True).stdout
    funcs, cur = {}, None
    head = re.compile(r"^([0-9a-f]+) <(.+)>:$")
    ins = re.compile(r"^\s+([0-9a-f]+):\s+(\S+)\s*(.*)$")
    sym = re.compile(r"<([^>+]+)(?:\+0x[0-9a-f]+)?>")
    for line in out.splitlines():
        m = head.match(line)
        if m:
            cur = []
            funcs[int(m.group(1), 16)] = (m.group(2), cur)
            continue
        m = ins.match(line)
        if m and cur is not None:
            raw = m.group(3)
            t = sym.search(raw)
            op = re.sub(r"\s*//.*$", "", raw)
            op = re.sub(r"\s*<[^>]*>", "", op).strip()
            cur.append((int(m.group(1), 16), m.group(2), op, t.group(1) if t else None))
    return funcs


def branch_target(mn, op):
    if not is_branch(mn) and mn not in ("bl", "blx"):
        return None
    t = op.split(",")[-1].strip()
    try:
        return int(t, 16)
    except ValueError:
        return None


def blocks_of(code):
    """Basic blocks: [(first index, last index)] and successor lists (block indices)."""
    at = {c[0]: i for i, c in enumerate(code)}
    leaders = {0}
    for i, (addr, mn, op, _) in enumerate(code):
        if is_branch(mn) or is_return(mn, op) or mn in ("ret", "br"):
            t = branch_target(mn, op)
            if t is not None and t in at:
                leaders.add(at[t])
            if i + 1 < len(code):
                leaders.add(i + 1)
    starts = sorted(leaders)
    blocks = [(a, (starts[k + 1] - 1) if k + 1 < len(starts) else len(code) - 1)
              for k, a in enumerate(starts)]
    first = {a: k for k, (a, _) in enumerate(blocks)}
    succ = []
    for k, (a, e) in enumerate(blocks):
        addr, mn, op, _ = code[e]
        out = []
        t = branch_target(mn, op) if is_branch(mn) else None
        if t is not None and t in at:
            out.append(first[at[t]])
        if not is_return(mn, op) and k + 1 < len(blocks):
            out.append(k + 1)
        succ.append(out)
    return blocks, succ


def innermost_loops(code):
    """Natural loops with no other loop inside: [(header block, body blocks, latches)], plus the
    blocks and successors."""
    blocks, succ = blocks_of(code)
    pred = [[] for _ in blocks]
    for u, vs in enumerate(succ):
        for v in vs:
            pred[v].append(u)
    # Dominators (iterative; block 0 is the entry): a back edge is u -> v with v dominating u.
    n = len(blocks)
    reach, stack = {0}, [0]
    while stack:
        x = stack.pop()
        for y in succ[x]:
            if y not in reach:
                reach.add(y)
                stack.append(y)
    dom = [set(reach) for _ in range(n)]
    dom[0] = {0}
    changed = True
    while changed:
        changed = False
        for k in sorted(reach):
            if k == 0:
                continue
            ps = [p for p in pred[k] if p in reach]
            new = set.intersection(*(dom[p] for p in ps)) if ps else set()
            new = new | {k}
            if new != dom[k]:
                dom[k] = new
                changed = True
    loops = {}
    for u, vs in enumerate(succ):
        if u not in reach:
            continue
        for v in vs:
            if v in dom[u]:  # back edge u -> v
                body, stack = {v, u}, [u]
                while stack:
                    x = stack.pop()
                    if x == v:
                        continue
                    for p in pred[x]:
                        if p not in body:
                            body.add(p)
                            stack.append(p)
                h = loops.setdefault(v, [set(), set()])
                h[0] |= body
                h[1].add(u)
    inner = [(h, b, l) for h, (b, l) in loops.items()
             if not any(h2 != h and h2 in b for h2 in loops)]
    return inner, blocks, succ


def best_path(code, blocks, succ, header, body, latches):
    """The path header -> latch inside the loop body (back edges removed) with no calls if
    possible, then the most MACs, then the most instructions: one iteration of the hot path."""
    memo = {}

    def score(k):
        a, e = blocks[k]
        ins = code[a:e + 1]
        return (-sum(1 for c in ins if c[1] in ("bl", "blr", "blx")), sum(macs_of(c[1], c[2]) for c in ins), len(ins))

    def go(k, depth=0):
        if k in memo:
            return memo[k]
        memo[k] = None  # cycle guard (irreducible bodies)
        best = None
        if k in latches:
            best = ((0, 0, 0), [])
        for v in succ[k]:
            if v == header or v not in body or depth > 500:
                continue
            r = go(v, depth + 1)
            if r is not None and (best is None or r[0] > best[0]):
                best = r
        if best is not None:
            s0 = score(k)
            best = (tuple(x + y for x, y in zip(s0, best[0])), [k] + best[1])
        memo[k] = best
        return best

    r = go(header)
    if r is None:
        return None
    return [i for k in r[1] for i in range(blocks[k][0], blocks[k][1] + 1)]


def lanes(arr):
    m = re.match(r"(\d+)([bhsd])", arr)
    return int(m.group(1)) if m else 0


def macs_of(mn, op):
    """Multiply-accumulate lane products of one instruction (0 if none)."""
    mn = mn.lower()
    if ARCH["a"] == "a32":
        m = re.match(r"^v(mlal|mlsl|mull|qdmlal|qdmull)\.[su]?(8|16|32)$", mn)
        if m:
            return 64 // int(m.group(2))
        m = re.match(r"^v(mla|mls|mul|fma|fms)\.[fiu]?(8|16|32)$", mn)
        if m:
            reg = op.split(",")[0].strip()
            return (128 if reg.startswith("q") else 64) // int(m.group(2))
        return 0
    ops = [o.strip() for o in op.split(",")]
    dest = ops[0].split(".")[-1] if ops and "." in ops[0] else ""
    if mn in ("sdot", "udot", "usdot", "sudot"):
        return 4 * lanes(dest)
    if mn in ("smmla", "ummla", "usmmla"):
        return 32
    if re.match(r"^(s|u)(mlal|mlsl|mull)2?$", mn):
        return lanes(dest)
    if mn in ("mla", "mls", "mul", "fmla", "fmls", "fmul") and dest:
        return lanes(dest)
    return 0


def loop_asm(code, idx):
    lines = [".Lloop:"]
    for i in idx:
        addr, mn, op, _ = code[i]
        t = branch_target(mn, op) if is_branch(mn) else None
        if t is not None:
            parts = op.split(",")
            parts[-1] = " .Lloop" if t == code[idx[0]][0] else " .Lexit"
            op = ",".join(parts).strip()
        elif mn == "bl":
            op = ".Lexit"
        lines.append(f"\t{mn}\t{op}")
    lines.append(".Lexit:")
    return "\n".join(lines) + "\n"


def run_mca(mca, cpu, asm, iterations=200):
    """(cycles per iteration, dropped lines) or (None, error)."""
    lines = asm.splitlines()
    dropped = []
    for _ in range(8):
        target = (["-mtriple=armv7-linux-gnueabihf", "-mattr=+neon"] if ARCH["a"] == "a32"
                  else ["-mtriple=aarch64", "-mattr=+neon,+dotprod,+i8mm,+fullfp16,+rdm"])
        p = subprocess.run([mca, target[0], f"-mcpu={cpu}", target[1], f"-iterations={iterations}"],
                           input="\n".join(lines) + "\n", capture_output=True, text=True)
        if p.returncode == 0:
            m = re.search(r"Total Cycles:\s+(\d+)", p.stdout)
            it = re.search(r"Iterations:\s+(\d+)", p.stdout)
            if m and it:
                return int(m.group(1)) / int(it.group(1)), dropped
            return None, "no cycle count in llvm-mca output"
        m = re.search(r"<stdin>:(\d+):\d+: error", p.stderr)
        if not m:
            return None, p.stderr.strip()[:200]
        ln = int(m.group(1)) - 1
        if ln < 0 or ln >= len(lines):
            return None, p.stderr.strip()[:200]
        dropped.append(lines[ln].strip())
        lines[ln] = ""
    return None, "too many unparseable lines: " + "; ".join(dropped)


def closure(funcs, start, follow, limit=3):
    """start and the functions it calls or tail-calls that follow(name) accepts, depth <= limit."""
    seen, todo = [start], [(start, 0)]
    while todo:
        a, d = todo.pop()
        if d >= limit:
            continue
        for _, mn, op, _ in funcs[a][1]:
            if mn not in ("b", "bl", "blx"):
                continue
            t = branch_target(mn, op)
            if t in funcs and t not in seen and follow(funcs[t][0]):
                seen.append(t)
                todo.append((t, d + 1))
    return seen


def analyse(funcs, select, follow, mca, cpus):
    """One row per (selected function, function of its call closure holding a loop)."""
    rows, done = [], set()
    for start, (name, code) in sorted(funcs.items()):
        label = select(name)
        if not label:
            continue
        cands = []
        for f in closure(funcs, start, follow):
            fname, fcode = funcs[f]
            inner, blocks, succ = innermost_loops(fcode)
            for h, body, latches in inner:
                idx = best_path(fcode, blocks, succ, h, body, latches)
                if not idx:
                    continue
                body_ins = [fcode[i] for i in idx]
                cands.append({"via": None if f == start else f"{fname.split('::')[-1]}@{f:#x}",
                              "f": f, "start": hex(fcode[idx[0]][0]), "insns": len(idx),
                              "macs": sum(macs_of(c[1], c[2]) for c in body_ins),
                              "calls": sum(1 for c in body_ins if c[1] in ("bl", "blr", "blx")),
                              "asm": loop_asm(fcode, idx), "code": fcode, "idx": idx})
        if not cands:
            key = (label, "none")
            if key not in done:
                done.add(key)
                rows.append({"function": label, "symbol": name, "size_insns": len(code)})
            continue
        # Per function of the closure: its hot loop, the one with no calls (a loop calling
        # memcpy is a tail's), then the most MACs, then the largest.
        def hot(c):
            return (c["calls"] == 0, c["macs"])
        by_f = {}
        for c in cands:
            b = by_f.get(c["f"])
            if b is None or (*hot(c), c["insns"]) > (*hot(b), b["insns"]):
                by_f[c["f"]] = c
        picks = [c for c in by_f.values() if c["macs"]] or [max(cands, key=lambda c: c["insns"])]
        # Every variant of it (as many MACs, call-free like it): the kernels keep several
        # variants of their loop inlined in one function (with and without the activations'
        # xor, one per output form), each a row.
        top = {f: hot(c) for f, c in by_f.items()}
        picks = [c for c in cands if c["macs"] and hot(c) == top[c["f"]]] or picks
        for main in picks:
            # Same instruction sequence up to addresses and registers: a copy of the same code.
            key = (label, main["macs"], tuple(main["code"][i][1] for i in main["idx"]))
            if key in done:  # an identical copy (another codegen unit / crate instance)
                continue
            done.add(key)
            body = [main["code"][i] for i in main["idx"]]
            mns = {c[1] for c in body}
            isa = "i8mm" if mns & {"smmla", "ummla", "usmmla"} else \
                "dotprod" if mns & {"sdot", "udot", "usdot", "sudot"} else "neon"
            # The activations' xor (u8 activations into a signed kernel, or i8 into an unsigned
            # one): an `eor` of vector registers in the loop.
            xor = any(c[1] == "eor" and c[2].lstrip().startswith("v") for c in body)
            row = {"function": label, "symbol": name, "address": hex(start), "via": main["via"],
                   "variant": "eor" if xor else "",
                   "loop": {k: main[k] for k in ("start", "insns", "macs", "calls")},
                   "loop_asm": main["asm"], "isa": isa, "mca": {}}
            for cpu in cpus:
                cyc, extra = run_mca(mca, cpu, main["asm"])
                ent = {"cycles_per_iter": cyc}
                if cyc is None:
                    ent["error"] = extra
                else:
                    if extra:
                        ent["dropped"] = extra
                    if main["macs"]:
                        ent["cycles_per_mac"] = cyc / main["macs"]
                lacks = []
                if isa in ("dotprod", "i8mm") and cpu == "cortex-a53":
                    lacks.append("dotprod")
                if isa == "i8mm" and cpu in ("cortex-a53", "cortex-a55", "cortex-a76", "neoverse-n1"):
                    lacks.append("i8mm")
                ent["core_lacks"] = " ".join(lacks)
                row["mca"][cpu] = ent
            rows.append(row)
    rows.sort(key=lambda r: (r["function"], r.get("via") or ""))
    return rows


def fmt_cell(ent, per_mac):
    if not ent or ent.get("cycles_per_iter") is None:
        return "err"
    v = ent.get("cycles_per_mac") if per_mac else ent["cycles_per_iter"]
    if v is None:
        return "-"
    s = f"{v:.4f}" if per_mac else f"{v:.1f}"
    if ent.get("core_lacks", "").strip():
        s = f"({s})"
    if ent.get("dropped"):
        s += "*"
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="a64", choices=["a64", "a32"])
    ap.add_argument("--objdump")
    ap.add_argument("--mca", default="llvm-mca")
    ap.add_argument("--cpus", default="cortex-a53,cortex-a55,cortex-a76,neoverse-n1")
    ap.add_argument("--ours", required=True)
    ap.add_argument("--published", action="append", default=[],
                    help="LABEL=FILE:SYMBOL_REGEX (a published kernel's object and its function)")
    ap.add_argument("--json", required=True)
    ap.add_argument("--md", required=True)
    ap.add_argument("--command", default="scripts/arm-mca.sh")
    ap.add_argument("--note", action="append", default=[])
    a = ap.parse_args()
    ARCH["a"] = a.arch
    if not a.objdump:
        a.objdump = "arm-linux-gnueabihf-objdump" if a.arch == "a32" else "aarch64-linux-gnu-objdump"
    ours_name = OURS_NAME_A32 if a.arch == "a32" else OURS_NAME
    cpus = a.cpus.split(",")
    ver = subprocess.run([a.mca, "--version"], capture_output=True, text=True).stdout
    ver = next((l.strip() for l in ver.splitlines() if "version" in l.lower()), ver.strip())

    def ours_sel(name):
        if name.startswith("_") or "{{closure}}" in name:
            return None
        m = ours_name.search(name)
        if not m:
            return None
        # The crate: first path component.
        return f"{name.split('::')[0]}::{m.group(1)}"

    def ours_follow(name):
        # Helpers of the same crates (the table entry is often a thin wrapper of a generic or
        # #[target_feature] body); not other table entries (fallbacks) and not std/core.
        return name.split("::")[0] in CRATES and not ours_name.search(name)

    ours = analyse(disassemble(a.objdump, a.ours), ours_sel, ours_follow, a.mca, cpus)
    pub = []
    for spec in a.published:
        label, rest = spec.split("=", 1)
        path, rx = rest.rsplit(":", 1)
        if not os.path.isfile(path):
            pub.append({"function": label, "error": f"{path} missing"})
            continue
        r = re.compile(rx)
        rows = analyse(disassemble(a.objdump, path), lambda n, r=r, label=label: label if r.search(n) else None,
                       lambda n: False, a.mca, cpus)
        pub.extend(rows or [{"function": label, "error": f"no symbol matching {rx} in {path}"}])
    out = {"meta": {"command": a.command, "llvm_mca": ver, "cpus": cpus, "iterations": 200,
                    "notes": a.note}, "ours": ours, "published": pub}
    with open(a.json, "w") as f:
        json.dump(out, f, indent=1)

    if a.arch == "a32":
        md = ["# llvm-mca static cycle estimates of 32-bit ARM (A32) inner loops", ""]
        md.append(f"Generated by `{a.command}` with {ver} (`-mtriple=armv7-linux-gnueabihf -mattr=+neon "
                  "-iterations=200`), from the disassembled innermost loop (objdump) of each micro-kernel: "
                  "ours from the release armv7 `kbench` binary, the published ones assembled from "
                  "their public sources with the Debian cross toolchain in a temporary directory (not in the "
                  "repository). MACs: VMLAL.S16 4 per instruction (one per destination lane).")
    else:
        md = ["# llvm-mca static cycle estimates of AArch64 inner loops", ""]
        md.append(f"Generated by `{a.command}` with {ver} (`-mtriple=aarch64 -mattr=+neon,+dotprod,+i8mm "
                  "-iterations=200`), from the disassembled innermost loop (objdump) of each micro-kernel: "
                  "ours from the release aarch64 `kbench` binary, the published ones assembled/compiled from "
                  "their public sources with the Debian cross toolchain in a temporary directory (not in the repository).")
    md.append("")
    if a.arch == "a32":
        md.append("Loop = an innermost natural loop (no other loop inside it) of the function or of a "
                  "helper of the same crate it calls, the one with the most multiply-accumulate lane "
                  "products per iteration; of its paths, the hot one, as one straight sequence. cyc/MAC = "
                  "llvm-mca cycles per iteration / MACs per iteration. `*`: llvm-mca rejected a line, dropped "
                  "(see the JSON). LLVM has no scheduling model of the Cortex-A7 (nor of the A8 or A53 in "
                  "AArch32): the columns are the A32 models it has (Cortex-A9, Swift, Cortex-A57), all "
                  "out-of-order cores, so they rank the loops' instruction mixes, not an A7's in-order "
                  "stalls. Static estimates: no cache misses, perfect branch prediction, the loop body only.")
    else:
        md.append("Loop = an innermost natural loop (no other loop inside it) of the function, or of a "
                  "helper of the same crate it calls (`→ helper@address`: the table entry is often a thin "
                  "wrapper of a generic body, one row per instantiation), the one with the most "
                  "multiply-accumulate lane products per iteration; of its paths, the hot one (no calls "
                  "such as a tail's memcpy if possible, then the most MACs), as one straight sequence "
                  "(MACs: SDOT/UDOT 16, SMMLA 32, "
                  "SMLAL/SMULL/MLA/FMLA one per destination lane). cyc/MAC = llvm-mca cycles per iteration / MACs per "
                  "iteration. In parentheses: the core lacks the extension (A53: no dot product; A53/A55/A76/N1: "
                  "no i8mm), so the number is the model's guess, not a real core's. `*`: llvm-mca rejected a line, "
                  "dropped (see the JSON). LLVM's `-mcpu=cortex-a76` schedules with its Cortex-A57 model; "
                  "`neoverse-n1` (the A76's server sibling) has its own model. Static estimates: no cache misses, "
                  "perfect branch prediction, the loop body only (no prologue, epilogue or tails).")
    for n in a.note:
        md.append("")
        md.append(n)
    for title, rows in (("Published kernels (the comparison)", pub), ("Ours", ours)):
        md.append("")
        md.append(f"## {title}")
        md.append("")
        md.append("| function | loop insns | MACs/iter | " + " | ".join(f"{c} cyc/iter" for c in cpus) + " | "
                  + " | ".join(f"{c} cyc/MAC" for c in cpus) + " |")
        md.append("|---|---:|---:|" + "---:|" * (2 * len(cpus)))
        for r in rows:
            if "error" in r:
                md.append(f"| {r['function']} | {r['error']} |" + " |" * (2 * len(cpus) + 1))
                continue
            if "loop" not in r:
                md.append(f"| `{r['function']}` | no loop ({r['size_insns']} insns, straight-line) | - |"
                          + " - |" * (2 * len(cpus)))
                continue
            via = f" → `{r['via']}`" if r.get("via") else ""
            if sum(1 for x in rows if x.get("function") == r["function"] and x.get("via") == r.get("via")) > 1:
                via += f" (loop @{r['loop']['start']})"
            if r.get("variant"):
                via += " [eor]"
            md.append(f"| `{r['function']}`{via} | {r['loop']['insns']} | {r['loop']['macs'] or '-'} | "
                      + " | ".join(fmt_cell(r["mca"].get(c), False) for c in cpus) + " | "
                      + " | ".join(fmt_cell(r["mca"].get(c), True) for c in cpus) + " |")
    with open(a.md, "w") as f:
        f.write("\n".join(md) + "\n")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
