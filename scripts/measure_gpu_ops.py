#!/usr/bin/env python3
"""scripts/measure_gpu_ops.py — measure bf16 GEMM and attention kernel times on
the local GPU over the shapes of the Vidur profiles, and write them in Vidur's
format so that `servesim calibrate` and `servesim validate ops` read them.

Writes, under --out DIR (name the directory after the GPU's catalog id, e.g.
measurements/h200, or pass --gpu ID to servesim):
  <org>/<model>/mlp.csv      the four GEMMs of each model shape (attn_pre_proj,
                             attn_post_proj, mlp_up_proj, mlp_down_proj) by
                             num_tokens and tensor parallelism, the residual
                             add (two for phi-2's parallel block, as Vidur),
                             and torch's RMSNorm or LayerNorm (under
                             input_layernorm only when it ran as one fused
                             kernel)
  attention/attention.csv    prefill (one chunk of C tokens over K cached
                             ones, causal inside the chunk) and decode (B
                             sequences of K cached tokens) with torch SDPA's
                             FlashAttention backend, in two head geometries
  method.txt                 GPU, driver, library versions, clocks before and
                             after, a matrix-rate and copy-rate check, and the
                             exact method

Method (Vidur's, with its kineto traces): every op is warmed up --warmup
times, then called --reps times inside a torch.profiler session, with a tiny
marker kernel (an in-place XOR of one int32) launched before each call. The
kernels between two markers are that call; the sum of their GPU durations is
the call's time, so launch gaps and Python overhead are excluded. Min, max,
mean, median and std over the calls go in `time_stats.<op>.*` in
milliseconds; `kernels.<op>` is the number of kernels per call and
`event_ms.<op>` the median of CUDA-event pairs around each call (launch gaps
included), for comparison. Inputs are reused across calls, as in Vidur, so a
weight that fits in L2 is measured warm.

Needs PyTorch with CUDA (2.5 or later for SDPA's enable_gqa). Example:
  python3 scripts/measure_gpu_ops.py --out measurements/h200 --budget-s 300
  ./servesim calibrate --profiles measurements/h200 --out models/profiles
  ./servesim validate ops --profiles measurements/h200
measurements/README.md describes the H200 (88 s) and H100 (91 s) runs made with it.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

# (org, name, n_head, n_kv_head, n_embd, n_expanded_embd, vocab, gated,
# parallel): the Vidur profile shapes
# (shared/data/profiles/vidur/compute/*/*/*/mlp.csv), the four H100 models
# first. Gated models use RMSNorm, the others (phi-2) LayerNorm; a parallel
# attention/MLP block (phi-2) adds both branch outputs to the residual, which
# Vidur times as one "add" of two kernels
MODELS = [
    ("meta-llama", "Llama-2-7b-hf", 32, 32, 4096, 11008, 32000, True, False),
    ("codellama", "CodeLlama-34b-Instruct-hf", 64, 8, 8192, 22016, 32000, True, False),
    ("internlm", "internlm-20b", 40, 40, 5120, 13824, 103168, True, False),
    ("microsoft", "phi-2", 32, 32, 2560, 10240, 51200, False, True),
    ("meta-llama", "Meta-Llama-3-8B", 32, 8, 4096, 14336, 128256, True, False),
    ("meta-llama", "Llama-2-70b-hf", 64, 8, 8192, 28672, 32000, True, False),
]
# Vidur's grid thinned: every 8 to 64, every 16 to 256, every 32 to 512, every
# 64 to 1024, every 128/256 beyond, plus off-grid counts (12, 1000, 3000)
TOKENS = ([1, 2, 4, 8, 12, 16, 24, 32, 40, 48, 56, 64] + list(range(80, 257, 16))
          + list(range(288, 513, 32)) + list(range(576, 1025, 64)) + [1000]
          + list(range(1152, 2049, 128)) + list(range(2304, 4097, 256)) + [3000])
TOKENS = sorted(set(TOKENS))
TPS = [1, 2, 4, 8]
# attention head geometries (n_embd, n_q_head, n_kv_head, tp): Llama-2-70B at
# TP 2 (as Vidur's A100 attention file) and Llama-3-8B at TP 1
ATTN_GEOS = [(8192, 64, 8, 2), (4096, 32, 8, 1)]
# --heldout-attention: geometries the fit never sees, written to their own
# file (attention-heldout/attention.csv, its own source, so that `validate ops
# --leave-one-out` predicts them from a fit on the two above): multi-head
# attention (Llama-2-7B at TP 1, internlm-20b at TP 2: 20 heads), one KV head
# per rank (Llama-2-70B at TP 8) and a head size of 80 (phi-2 at TP 1)
HELDOUT_GEOS = [(4096, 32, 32, 1), (5120, 40, 40, 2), (8192, 64, 8, 8), (2560, 32, 32, 1)]
PREFILL_CHUNKS = [64, 128, 256, 384, 512, 768, 1024, 1536, 2048]
PREFILL_CACHED = [0, 256, 1024, 2048]
DECODE_BATCH = [1, 2, 4, 8, 16, 32, 64, 128]
DECODE_CACHED = [128, 512, 1024, 2048, 4032]
STATS = ("min", "max", "mean", "median", "std")


def stats(vals):
    """min, max, mean, median, population std of a list."""
    mean = statistics.fmean(vals)
    std = statistics.pstdev(vals) if len(vals) > 1 else 0.0
    return [min(vals), max(vals), mean, statistics.median(vals), std]


def split_calls(events, n_calls):
    """Per-call (GPU milliseconds, kernel count, kernel names joined by '|')
    from a time-ordered list of (name, duration_us) device events, in which a
    marker kernel (name containing 'xor') precedes every call and ends the
    list. None when the markers do not number n_calls + 1 or a call ran no
    kernel."""
    marks = [i for i, (name, _) in enumerate(events) if "xor" in name.lower()]
    if len(marks) != n_calls + 1:
        return None
    out = []
    for a, b in zip(marks, marks[1:]):
        seg = events[a + 1:b]
        if not seg:
            return None
        out.append((sum(d for _, d in seg) / 1000.0, len(seg), "|".join(n.replace(",", ";") for n, _ in seg)))
    return out


class Timer:
    """Times groups of calls from one profiler session each (see the module
    docstring)."""

    def __init__(self, torch, warmup, reps):
        self.torch = torch
        self.warmup = warmup
        self.reps = reps
        self.marker = torch.zeros(1, dtype=torch.int32, device="cuda")
        self.fallbacks = 0

    def mark(self):
        self.marker.bitwise_xor_(1)

    def device_events(self, prof):
        fd, path = tempfile.mkstemp(suffix=".json")
        os.close(fd)
        try:
            prof.export_chrome_trace(path)
            with open(path) as fp:
                trace = json.load(fp)
        finally:
            os.unlink(path)
        evs = [e for e in trace.get("traceEvents", [])
               if e.get("cat") in ("kernel", "gpu_memset", "gpu_memcpy") and "dur" in e]
        evs.sort(key=lambda e: float(e["ts"]))
        return [(e.get("name", ""), float(e["dur"])) for e in evs]

    def event_times(self, fn):
        torch = self.torch
        pairs = []
        for _ in range(self.reps):
            a = torch.cuda.Event(enable_timing=True)
            b = torch.cuda.Event(enable_timing=True)
            a.record()
            fn()
            b.record()
            pairs.append((a, b))
        torch.cuda.synchronize()
        return [a.elapsed_time(b) for a, b in pairs]

    def measure(self, fns):
        """fns: list of callables. Returns per fn (stats list in ms,
        kernels per call, median event ms, the last call's kernel names)."""
        torch = self.torch
        from torch.profiler import ProfilerActivity, profile
        for fn in fns:
            for _ in range(self.warmup):
                fn()
        torch.cuda.synchronize()
        ev_ms = [statistics.median(self.event_times(fn)) for fn in fns]
        calls = None
        try:
            with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
                for fn in fns:
                    for _ in range(self.reps):
                        self.mark()
                        fn()
                self.mark()
                torch.cuda.synchronize()
            calls = split_calls(self.device_events(prof), len(fns) * self.reps)
        except Exception as e:  # a profiler failure must not lose the run
            print(f"  profiler failed: {e!r}", flush=True)
        out = []
        for i, fn in enumerate(fns):
            if calls is None:
                # fall back on event pairs; flagged by a kernel count of 0
                self.fallbacks += 1
                out.append((stats(self.event_times(fn)), 0, ev_ms[i], ""))
            else:
                mine = calls[i * self.reps:(i + 1) * self.reps]
                out.append((stats([c[0] for c in mine]),
                            statistics.median([c[1] for c in mine]), ev_ms[i], mine[-1][2]))
        return out


def write_csv(path, header, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as fp:
        fp.write(",".join(header) + "\n")
        for r in rows:
            fp.write(",".join(f"{x:.6g}" if isinstance(x, float) else str(x) for x in r) + "\n")
    os.replace(tmp, path)


def measure_mlp(torch, timer, args, model, deadline, log):
    org, name, nh, nkv, h, f, vocab, gated, parallel = model
    F = torch.nn.functional
    d = h // nh
    dt = torch.bfloat16
    dev = "cuda"
    ops = ["attn_pre_proj", "attn_post_proj", "mlp_up_proj", "mlp_down_proj", "add", "rms"]
    rows = []
    names = []  # the kernels each op ran: which cuBLAS kernel, split-K or not
    kern_rms = []
    rms_norm = getattr(F, "rms_norm", None)
    if rms_norm is None:  # PyTorch before 2.4: the unfused formula
        def rms_norm(x, shape, w, eps):
            v = x.float().pow(2).mean(-1, keepdim=True)
            return (x.float() * torch.rsqrt(v + eps)).to(x.dtype) * w
    norm_b = torch.zeros(h, dtype=dt, device=dev)
    if gated:
        def norm(x, w):
            return rms_norm(x, (h,), w, 1e-6)
    else:
        def norm(x, w):
            return F.layer_norm(x, (h,), w, norm_b, 1e-5)
    stopped = False
    for tp in TPS:
        if stopped:
            break
        if nh % tp or (nkv % tp and tp % nkv):
            continue
        kv_r = max(nkv // tp, 1)
        qkv_n = (nh // tp + 2 * kv_r) * d
        up_n = (2 if gated else 1) * f // tp
        # weights as nn.Linear holds them, [out, in]; F.linear as vLLM calls it
        w_qkv = torch.randn(qkv_n, h, dtype=dt, device=dev) * 0.02
        w_out = torch.randn(h, nh * d // tp, dtype=dt, device=dev) * 0.02
        w_up = torch.randn(up_n, h, dtype=dt, device=dev) * 0.02
        w_down = torch.randn(h, f // tp, dtype=dt, device=dev) * 0.02
        norm_w = torch.ones(h, dtype=dt, device=dev)
        for T in TOKENS:
            if time.monotonic() > deadline:
                log.append(f"{name}: stopped at the time budget before tp={tp} T={T}")
                print(log[-1], flush=True)
                stopped = True
                break
            x = torch.randn(T, h, dtype=dt, device=dev)
            r = torch.randn(T, h, dtype=dt, device=dev)
            r2 = torch.randn(T, h, dtype=dt, device=dev)
            xo = torch.randn(T, nh * d // tp, dtype=dt, device=dev)
            xd = torch.randn(T, f // tp, dtype=dt, device=dev)
            fns = [lambda: F.linear(x, w_qkv), lambda: F.linear(xo, w_out),
                   lambda: F.linear(x, w_up), lambda: F.linear(xd, w_down),
                   (lambda: x + r + r2) if parallel else (lambda: x + r),
                   lambda: norm(x, norm_w)]
            try:
                res = timer.measure(fns)
            except Exception as e:  # out of memory, say: log it, keep the rest
                log.append(f"{name} tp={tp} T={T}: failed: {e!r}"[:300])
                print(log[-1], flush=True)
                continue
            row = []
            for st, _, _, _ in res:
                row += st
            row += [res[i][1] for i in range(len(ops))] + [res[i][2] for i in range(len(ops))]
            row += [nh, nkv, h, f, vocab, gated, T, tp]
            rows.append(row)
            kern_rms.append(res[5][1])
            names += [[tp, T, o, res[i][3]] for i, o in enumerate(ops)]
        del w_qkv, w_out, w_up, w_down
        torch.cuda.empty_cache()
    # torch's norm counts as the model's input_layernorm only when it ran as
    # one fused kernel, as vLLM's does
    cols = list(ops)
    cols[5] = "input_layernorm" if kern_rms and max(kern_rms) == 1 else "unfused_norm"
    header = sum(([f"time_stats.{o}.{s}" for s in STATS] for o in cols), [])
    header += [f"kernels.{o}" for o in cols] + [f"event_ms.{o}" for o in cols]
    header += ["n_head", "n_kv_head", "n_embd", "n_expanded_embd", "vocab_size",
               "use_gated_mlp", "num_tokens", "num_tensor_parallel_workers"]
    if rows:
        write_csv(os.path.join(args.out, org, name, "mlp.csv"), header, rows)
        write_csv(os.path.join(args.out, org, name, "kernel_names.csv"),
                  ["num_tensor_parallel_workers", "num_tokens", "op", "kernels"],
                  [[tp, T, o, '"' + k.replace('"', "'") + '"'] for tp, T, o, k in names])
    return len(rows)


def sdpa_variants(torch, q, k, v, kind, C, K):
    """Candidate (label, fn, expanded) calls for one attention shape, best
    first: FlashAttention with grouped-query heads, then with the KV heads
    expanded, then the memory-efficient kernel."""
    F = torch.nn.functional
    from torch.nn.attention import SDPBackend, sdpa_kernel
    rep = q.shape[1] // k.shape[1]
    ke = k.repeat_interleave(rep, dim=1) if rep > 1 else k
    ve = v.repeat_interleave(rep, dim=1) if rep > 1 else v
    mask = None
    causal = False
    if kind == "prefill":
        if K == 0:
            causal = True
        else:
            from torch.nn.attention.bias import causal_lower_right
            mask = causal_lower_right(C, K + C)
    out = []
    for bname, backend in (("FLASH", SDPBackend.FLASH_ATTENTION),
                           ("EFFICIENT", SDPBackend.EFFICIENT_ATTENTION)):
        for gqa in (True, False):
            if gqa and rep == 1:
                continue
            kk, vv = (k, v) if gqa else (ke, ve)

            def fn(backend=backend, kk=kk, vv=vv, gqa=gqa):
                with sdpa_kernel([backend]):
                    if gqa:
                        return F.scaled_dot_product_attention(q, kk, vv, attn_mask=mask,
                                                              is_causal=causal, enable_gqa=True)
                    return F.scaled_dot_product_attention(q, kk, vv, attn_mask=mask,
                                                          is_causal=causal)
            out.append((f"SDPA_{bname}" + ("_GQA" if gqa else "_EXPANDED_KV"), fn, not gqa))
    return out


def measure_attention(torch, timer, args, deadline, log, geos=ATTN_GEOS, sub="attention"):
    dt = torch.bfloat16
    dev = "cuda"
    header = ([f"time_stats.attn_decode.{s}" for s in STATS]
              + [f"time_stats.attn_prefill.{s}" for s in STATS]
              + ["kernels", "event_ms", "n_embd", "n_q_head", "n_kv_head", "block_size",
                 "num_tensor_parallel_workers", "max_model_len", "batch_size",
                 "prefill_chunk_size", "kv_cache_size", "is_prefill", "attention_backend",
                 "profile_method", "kernel_names"])
    empty = [""] * 5
    rows = []
    shapes = []
    for geo in geos:
        shapes += [(geo, "prefill", 1, C, K) for C in PREFILL_CHUNKS for K in PREFILL_CACHED]
        shapes += [(geo, "decode", B, 1, K) for B in DECODE_BATCH for K in DECODE_CACHED]
    for (h, nq, nkv, tp), kind, B, C, K in shapes:
        if time.monotonic() > deadline:
            log.append(f"attention: stopped at the time budget before {kind} B={B} C={C} K={K}")
            print(log[-1], flush=True)
            break
        d = h // nq
        hq, hk = nq // tp, max(nkv // tp, 1)
        q = torch.randn(B, hq, C, d, dtype=dt, device=dev)
        k = torch.randn(B, hk, K + C, d, dtype=dt, device=dev)
        v = torch.randn(B, hk, K + C, d, dtype=dt, device=dev)
        chosen = None
        for label, fn, expanded in sdpa_variants(torch, q, k, v, kind, C, K):
            try:
                fn()
                torch.cuda.synchronize()
                chosen = (label, fn, expanded)
                break
            except Exception as e:  # backend refused the shape or the arguments
                msg = f"attention {kind} B={B} C={C} K={K}: {label} refused ({str(e)[:120]})"
                if msg not in log:
                    log.append(msg)
        if chosen is None:
            log.append(f"attention {kind} B={B} C={C} K={K}: no SDPA backend ran; skipped")
            continue
        label, fn, expanded = chosen
        try:
            st, kern, ev, knames = timer.measure([fn])[0]
        except Exception as e:
            log.append(f"attention {kind} B={B} C={C} K={K}: failed: {e!r}"[:300])
            continue
        # an expanded KV cache is read as that many KV heads: say so
        kv_heads = nq if expanded else nkv
        times = (empty + st) if kind == "prefill" else (st + empty)
        rows.append(times + [kern, ev, h, nq, kv_heads, 16, tp, "", B,
                             C if kind == "prefill" else 0, K, kind == "prefill", label,
                             "KINETO_MARKERS" if kern else "CUDA_EVENTS", '"' + knames + '"'])
        del q, k, v
    if rows:
        write_csv(os.path.join(args.out, sub, "attention.csv"), header, rows)
    return len(rows)


def smi():
    try:
        return subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version,clocks.sm,clocks.max.sm,clocks.mem,"
             "power.draw,power.limit,temperature.gpu", "--format=csv"],
            capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return "nvidia-smi not available\n"


def spec_check(torch):
    """bf16 8192^3 matrix rate and device-to-device copy rate (median of 10
    after 3 warm-ups), as checks of the catalog's peak numbers."""
    F = torch.nn.functional
    a = torch.randn(8192, 8192, dtype=torch.bfloat16, device="cuda")
    b = torch.randn(8192, 8192, dtype=torch.bfloat16, device="cuda")

    def med(fn):
        for _ in range(3):
            fn()
        torch.cuda.synchronize()
        ts = []
        for _ in range(10):
            s = torch.cuda.Event(enable_timing=True)
            e = torch.cuda.Event(enable_timing=True)
            s.record()
            fn()
            e.record()
            e.synchronize()
            ts.append(s.elapsed_time(e))
        return statistics.median(ts)
    tf = 2 * 8192 ** 3 / (med(lambda: F.linear(a, b)) * 1e-3) / 1e12
    src = torch.empty(2 ** 31, dtype=torch.uint8, device="cuda")
    dst = torch.empty_like(src)
    gbs = 2 * src.numel() / (med(lambda: dst.copy_(src)) * 1e-3) / 1e9
    del a, b, src, dst
    torch.cuda.empty_cache()
    return (f"Check: bf16 8192x8192x8192 F.linear on random data {tf:.0f} TFLOP/s; "
            f"device-to-device copy of 2 GiB {gbs:.0f} GB/s counting bytes read and written "
            f"(each the median of 10 after 3 warm-ups)\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="output directory (name it after the GPU id)")
    ap.add_argument("--warmup", type=int, default=5, help="untimed calls per op (default 5)")
    ap.add_argument("--reps", type=int, default=20, help="timed calls per op (default 20)")
    ap.add_argument("--models", default="all",
                    help="comma-separated model names (Llama-2-7b-hf, phi-2, ...), all, or none "
                         "(no mlp.csv)")
    ap.add_argument("--no-attention", action="store_true", help="skip the attention file")
    ap.add_argument("--heldout-attention", action="store_true",
                    help="also measure the held-out head geometries (HELDOUT_GEOS) into "
                         "attention-heldout/attention.csv")
    ap.add_argument("--budget-s", type=float, default=0,
                    help="stop measuring after this many seconds and write what is done "
                         "(0: no limit)")
    args = ap.parse_args()
    if args.reps < 1 or args.warmup < 0:
        sys.exit("measure_gpu_ops.py: --reps must be at least 1 and --warmup not negative")
    known = [m[1] for m in MODELS]
    if args.models not in ("all", "none"):
        bad = [n for n in args.models.split(",") if n not in known]
        if bad:
            sys.exit(f"measure_gpu_ops.py: unknown model(s) {', '.join(bad)}; known: "
                     f"{', '.join(known)}")
    try:
        import torch
    except ImportError:
        sys.exit("measure_gpu_ops.py: PyTorch is not installed (pip install torch)")
    if not torch.cuda.is_available():
        sys.exit("measure_gpu_ops.py: no CUDA GPU visible; run this on the GPU to calibrate")
    t0 = time.monotonic()
    deadline = t0 + args.budget_s if args.budget_s > 0 else float("inf")
    os.makedirs(args.out, exist_ok=True)
    smi_before = smi()
    check = spec_check(torch)
    print(check, end="", flush=True)
    timer = Timer(torch, args.warmup, args.reps)
    log = []
    want = None if args.models == "all" else set(args.models.split(",")) - {"none"}
    counts = []
    parts = [] if args.no_attention else [(ATTN_GEOS, "attention")]
    if args.heldout_attention:
        parts.append((HELDOUT_GEOS, "attention-heldout"))
    for geos, sub in parts:
        print(f"measuring {sub} ...", flush=True)
        try:
            n = measure_attention(torch, timer, args, deadline, log, geos, sub)
        except Exception as e:
            log.append(f"{sub}: failed: {e!r}"[:300])
            print(log[-1], flush=True)
            n = 0
        counts.append(f"{sub}: {n} rows")
        print(counts[-1], f"({time.monotonic() - t0:.0f} s)", flush=True)
    for m in MODELS:
        if want is None or m[1] in want:
            print(f"measuring {m[1]} ...", flush=True)
            try:
                n = measure_mlp(torch, timer, args, m, deadline, log)
            except Exception as e:  # one model's failure (memory, say) must not lose the rest
                log.append(f"{m[1]}: failed: {e!r}"[:300])
                print(log[-1], flush=True)
                n = 0
            counts.append(f"{m[1]}: {n} rows")
            print(counts[-1], f"({time.monotonic() - t0:.0f} s)", flush=True)
    p = torch.cuda.get_device_properties(0)
    with open(os.path.join(args.out, "method.txt"), "w") as fp:
        fp.write(
            f"GPU: {p.name}, {p.multi_processor_count} SMs, {p.total_memory / 2**30:.1f} GiB\n"
            f"PyTorch {torch.__version__}, CUDA {torch.version.cuda}, "
            f"cuDNN {torch.backends.cudnn.version()}, Python {platform.python_version()}\n"
            f"nvidia-smi before:\n{smi_before}nvidia-smi after:\n{smi()}{check}"
            f"Method: bf16; each op warmed up {args.warmup} times, then called {args.reps} times "
            f"in one torch.profiler session per shape (CPU and CUDA activities) with a marker "
            f"kernel (in-place XOR of one int32) before each call; a call's time is the sum of "
            f"the GPU durations of the kernels between its markers (kineto, as Vidur), median "
            f"over the calls in time_stats.*.median. GEMMs are torch.nn.functional.linear "
            f"(cuBLAS) on the per-rank shard of each weight, [out, in] as nn.Linear holds it "
            f"(tensor parallelism emulated by sharding, as Vidur does). The add is out of place "
            f"over two [T, h] tensors (x + r + r2, two kernels, for phi-2's parallel block, as "
            f"Vidur times it). The norm is F.rms_norm, or F.layer_norm for phi-2. Attention is torch SDPA with the backend named per row "
            f"(FlashAttention first), contiguous KV (no paged cache, so max_model_len is "
            f"empty); a prefill row is one sequence, a chunk of C queries over K cached keys "
            f"plus its own, causal inside the chunk (lower-right aligned); a decode row is B "
            f"sequences of one query over K+1 keys each. Inputs are reused across calls.\n"
            f"Profiler fallbacks to CUDA events: {timer.fallbacks}\n"
            f"Rows: {'; '.join(counts)}\n"
            f"Notes: {'; '.join(log) if log else 'none'}\n"
            f"Wall time: {time.monotonic() - t0:.0f} s\n"
            f"Command: {' '.join(sys.argv)}\n")
    print(f"done: {args.out} ({time.monotonic() - t0:.0f} s, {timer.fallbacks} fallbacks)",
          flush=True)


if __name__ == "__main__":
    main()
