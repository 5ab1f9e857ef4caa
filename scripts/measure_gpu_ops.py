#!/usr/bin/env python3
"""scripts/measure_gpu_ops.py — measure bf16 GEMM and attention kernel times on
the local GPU over the shapes of the Vidur profiles, and write them in Vidur's
format so that `servesim calibrate` and `servesim validate ops` read them.

Writes, under --out DIR (name the directory after the GPU's catalog id, e.g.
measurements/h200, or pass --gpu ID to servesim):
  <org>/<model>/mlp.csv      GEMMs of each model shape (attn_pre_proj,
                             attn_post_proj, mlp_up_proj, mlp_down_proj) by
                             num_tokens and tensor parallelism, plus RMSNorm,
                             SiLU-and-mul and residual add
  attention/attention.csv    causal prefill (chunk over a KV cache) and decode
                             (batch x context) with torch SDPA, Llama-2-70B
                             geometry at TP 2 (as Vidur's A100 file)
  method.txt                 GPU, driver, CUDA/PyTorch versions, clocks, and
                             the exact timing method

Method: each op is run `--warmup` times, then timed `--reps` times with CUDA
events around the single call (so the time is the GPU time of that call,
launch gaps excluded as in Vidur's kineto traces only approximately: an event
pair also counts the launch latency of a kernel that starts at once). The
median of the repetitions goes in the `.median` column; min/max/mean/std too.
Nothing here is simulated: run it on the GPU you want to calibrate.

Needs PyTorch with CUDA. Example:
  python3 scripts/measure_gpu_ops.py --out measurements/h200
  ./servesim calibrate --profiles measurements --out models/profiles
"""
import argparse
import os
import platform
import statistics
import subprocess
import sys

# (org, name, n_head, n_kv_head, n_embd, n_expanded_embd, vocab, gated):
# the Vidur profile shapes (shared/data/profiles/vidur/compute/*/*/*/mlp.csv)
MODELS = [
    ("meta-llama", "Llama-2-7b-hf", 32, 32, 4096, 11008, 32000, True),
    ("meta-llama", "Meta-Llama-3-8B", 32, 8, 4096, 14336, 128256, True),
    ("meta-llama", "Llama-2-70b-hf", 64, 8, 8192, 28672, 32000, True),
    ("codellama", "CodeLlama-34b-Instruct-hf", 64, 8, 8192, 22016, 32000, True),
    ("internlm", "internlm-20b", 40, 40, 5120, 13824, 103168, True),
    ("microsoft", "phi-2", 32, 32, 2560, 10240, 51200, False),
]
TOKENS = [1, 2, 4, 8, 16, 32, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048,
          3072, 4096]
TPS = [1, 2, 4, 8]


def stats(times_ms):
    mean = statistics.fmean(times_ms)
    std = statistics.pstdev(times_ms) if len(times_ms) > 1 else 0.0
    return min(times_ms), max(times_ms), mean, statistics.median(times_ms), std


def timed(torch, fn, warmup, reps):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    out = []
    for _ in range(reps):
        a = torch.cuda.Event(enable_timing=True)
        b = torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        out.append(a.elapsed_time(b))
    return stats(out)


def cols(op):
    return [f"time_stats.{op}.{s}" for s in ("min", "max", "mean", "median", "std")]


def measure_mlp(torch, args, model):
    org, name, nh, nkv, h, f, vocab, gated = model
    d = h // nh
    dt = torch.bfloat16
    dev = "cuda"
    ops = ["input_layernorm", "attn_pre_proj", "attn_post_proj", "mlp_up_proj", "mlp_act",
           "mlp_down_proj", "add"]
    header = sum((cols(o) for o in ops), []) + [
        "n_head", "n_kv_head", "n_embd", "n_expanded_embd", "vocab_size", "use_gated_mlp",
        "num_tokens", "num_tensor_parallel_workers"]
    rows = []
    for tp in TPS:
        if nh % tp or (nkv % tp and tp % nkv):
            continue
        qkv_n = (nh + 2 * nkv) * d // tp
        up_n = (2 if gated else 1) * f // tp
        w_qkv = torch.randn(h, qkv_n, dtype=dt, device=dev)
        w_out = torch.randn(nh * d // tp, h, dtype=dt, device=dev)
        w_up = torch.randn(h, up_n, dtype=dt, device=dev)
        w_down = torch.randn(f // tp, h, dtype=dt, device=dev)
        norm_w = torch.ones(h, dtype=dt, device=dev)
        for T in TOKENS:
            x = torch.randn(T, h, dtype=dt, device=dev)
            xo = torch.randn(T, nh * d // tp, dtype=dt, device=dev)
            xu = torch.randn(T, up_n, dtype=dt, device=dev)
            xd = torch.randn(T, f // tp, dtype=dt, device=dev)

            def rms():
                v = x.float().pow(2).mean(-1, keepdim=True)
                return (x.float() * torch.rsqrt(v + 1e-6)).to(dt) * norm_w

            def act():
                if gated:
                    g, u = xu.chunk(2, dim=-1)
                    return torch.nn.functional.silu(g) * u
                return torch.nn.functional.gelu(xu)

            fns = [rms, lambda: x @ w_qkv, lambda: xo @ w_out, lambda: x @ w_up, act,
                   lambda: xd @ w_down, lambda: x + x]
            row = []
            for fn in fns:
                row += timed(torch, fn, args.warmup, args.reps)
            row += [nh, nkv, h, f, vocab, gated, T, tp]
            rows.append(row)
        del w_qkv, w_out, w_up, w_down
        torch.cuda.empty_cache()
    path = os.path.join(args.out, org, name)
    os.makedirs(path, exist_ok=True)
    write_csv(os.path.join(path, "mlp.csv"), header, rows)


def measure_attention(torch, args):
    F = torch.nn.functional
    dt = torch.bfloat16
    dev = "cuda"
    h, nq, nkv, tp = 8192, 64, 8, 2
    d = h // nq
    hq, hk = nq // tp, nkv // tp
    header = cols("attn_decode") + cols("attn_prefill") + [
        "n_embd", "n_q_head", "n_kv_head", "block_size", "num_tensor_parallel_workers",
        "max_model_len", "batch_size", "prefill_chunk_size", "kv_cache_size", "is_prefill",
        "attention_backend", "profile_method"]
    rows = []
    empty = [""] * 5
    # prefill: one sequence, chunk C over K cached tokens (causal inside the chunk)
    for C in [64, 128, 256, 512, 1024, 2048]:
        for K in [0, 256, 1024, 2048]:
            q = torch.randn(1, hq, C, d, dtype=dt, device=dev)
            k = torch.randn(1, hq, K + C, d, dtype=dt, device=dev)   # GQA expanded
            v = torch.randn(1, hq, K + C, d, dtype=dt, device=dev)
            # causal over the chunk, full over the cache
            mask = torch.ones(C, K + C, dtype=torch.bool, device=dev).tril(diagonal=K)
            fn = (lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True)) if K == 0 \
                else (lambda: F.scaled_dot_product_attention(q, k, v, attn_mask=mask))
            rows.append(empty + list(timed(torch, fn, args.warmup, args.reps))
                        + [h, nq, nkv, 16, tp, 4096, 1, C, K, True, "SDPA", "CUDA_EVENTS"])
    # decode: B sequences of one query over K cached tokens
    for B in [1, 2, 4, 8, 16, 32, 64, 128]:
        for K in [128, 512, 1024, 2048, 3072]:
            q = torch.randn(B, hq, 1, d, dtype=dt, device=dev)
            k = torch.randn(B, hq, K + 1, d, dtype=dt, device=dev)
            v = torch.randn(B, hq, K + 1, d, dtype=dt, device=dev)
            fn = lambda: F.scaled_dot_product_attention(q, k, v)
            rows.append(list(timed(torch, fn, args.warmup, args.reps)) + empty
                        + [h, nq, nkv, 16, tp, 4096, B, 0, K, False, "SDPA", "CUDA_EVENTS"])
    path = os.path.join(args.out, "attention")
    os.makedirs(path, exist_ok=True)
    write_csv(os.path.join(path, "attention.csv"), header, rows)


def write_csv(path, header, rows):
    tmp = path + ".tmp"
    with open(tmp, "w") as fp:
        fp.write(",".join(header) + "\n")
        for r in rows:
            fp.write(",".join(str(x) for x in r) + "\n")
    os.replace(tmp, path)


def describe(torch, args):
    p = torch.cuda.get_device_properties(0)
    try:
        smi = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,clocks.sm,"
                              "clocks.max.sm,clocks.mem,power.limit", "--format=csv"],
                             capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        smi = "nvidia-smi not available\n"
    return (f"GPU: {p.name}, {p.multi_processor_count} SMs, {p.total_memory / 2**30:.1f} GiB\n"
            f"PyTorch {torch.__version__}, CUDA {torch.version.cuda}, "
            f"cuDNN {torch.backends.cudnn.version()}, Python {platform.python_version()}\n"
            f"nvidia-smi:\n{smi}"
            f"Method: bf16; each op warmed up {args.warmup} times then timed {args.reps} times "
            f"with a pair of CUDA events around one call; median reported. GEMMs are torch.matmul "
            f"(cuBLAS) on the per-rank shard of each weight (tensor parallelism emulated by "
            f"sharding, as Vidur does); attention is torch SDPA with KV heads expanded to the "
            f"query heads (no paged KV cache: a lower bound on a serving engine's kernel).\n"
            f"Command: {' '.join(sys.argv)}\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="output directory (name it after the GPU id)")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--models", default="all", help="comma-separated model names, or all")
    args = ap.parse_args()
    try:
        import torch
    except ImportError:
        sys.exit("measure_gpu_ops.py: PyTorch is not installed (pip install torch)")
    if not torch.cuda.is_available():
        sys.exit("measure_gpu_ops.py: no CUDA GPU visible; run this on the GPU to calibrate")
    os.makedirs(args.out, exist_ok=True)
    want = None if args.models == "all" else set(args.models.split(","))
    for m in MODELS:
        if want is None or m[1] in want:
            print(f"measuring {m[1]} ...", flush=True)
            measure_mlp(torch, args, m)
    print("measuring attention ...", flush=True)
    measure_attention(torch, args)
    with open(os.path.join(args.out, "method.txt"), "w") as fp:
        fp.write(describe(torch, args))
    print(f"done: {args.out}")


if __name__ == "__main__":
    main()
