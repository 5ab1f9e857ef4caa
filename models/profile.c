/* models/profile.c — device-profile parameters: defaults and the table that
 * names, bounds and documents each one.
 *
 * The table is what the catalog reader, the profile writer (`servesim
 * calibrate`), `servesim describe gpus` and the calibrator iterate over, so a
 * new parameter is added in exactly two places: the struct in profile.h and a
 * row here. It does not own the formulas that use the parameters
 * (models/cost.c, models/comm.c) nor the fits (models/calibrate.c).
 */
#include "config.h"

#include <stddef.h>

#include "models/profile.h"

static const char *const elem_names[MODEL_ELEM_COUNT] = {
  [MODEL_ELEM_EMBED] = "embed", [MODEL_ELEM_NORM] = "norm", [MODEL_ELEM_ROPE] = "rope",
  [MODEL_ELEM_ACT] = "act", [MODEL_ELEM_ADD] = "add", [MODEL_ELEM_KV_WRITE] = "kv_write",
  [MODEL_ELEM_LAYERNORM] = "layernorm", [MODEL_ELEM_ACT_PLAIN] = "act_plain",
};

const char *
model_elem_name (ModelElemClass c)
{
  g_return_val_if_fail ((int) c >= 0 && c < MODEL_ELEM_COUNT, NULL);
  return elem_names[c];
}

void
model_cost_params_default (ModelCostParams *p)
{
  g_return_if_fail (p != NULL);
  /* Generic values in the range of the A100/H100 fits (docs/cost-model.md):
   * used only for a GPU with no profile when no calibrated GPU is loaded. */
  p->gemm_eff = 0.80;
  p->gemm_small_tile = 1.15;
  p->gemm_rate_out = 1;
  p->gemm_rate_down = 1;
  p->gemm_mem_eff = 0.80;
  p->gemm_floor_s = 5e-6;
  p->gemm_sharp = 3.0;
  p->gemm_wave = 0.8;
  p->gemm_split_k = 512;
  p->gemm_k0 = 0;
  p->gemm_tile_min = 64;
  p->gemm_tile_max = 128;
  p->gemm_tile_fit = 0;
  p->gemm_cache_gain = 1;
  p->gemm_cache_bytes = 50e6;
  p->gemm_cache_sharp = 4;
  p->gemm_cta_bw = 0;
  p->gemm_clock_drop = 0;
  p->gemm_clock_tau_s = 3e-4;
  p->attn_eff = 0.45;
  p->attn_floor_s = 8e-6;
  p->attn_per_tile_s = 1e-6;
  p->attn_causal = 1.3;
  p->attn_tile_q = 64;
  p->attn_split_sms = 0;
  p->attn_pair_gain = 0;
  p->attn_combine_s = 0;
  p->dec_mem_eff = 0.9;
  p->dec_floor_s = 1e-6;
  p->dec_per_seq_s = 0;
  p->dec_per_block_s = 3e-6;
  p->dec_tail = 0;
  p->dec_split_s = 0.2e-6;
  p->dec_cta_s = 5e-6;
  p->dec_pair_gain = 1.4;
  p->dec_sharp = 2;
  p->dec_combine_s = 2e-6;
  p->dec_fwd_tile = 2;
  static const double eff[MODEL_ELEM_COUNT] = { 0.2, 0.45, 0.4, 0.5, 0.8, 0.5, 0.45, 0.5 };
  for (int i = 0; i < MODEL_ELEM_COUNT; i++) {
    p->elem_bw_eff[i] = eff[i];
    p->elem_floor_s[i] = 3e-6;
    p->elem_sharp[i] = 4;
    p->elem_cache_gain[i] = 1.0;
    p->elem_cache_bytes[i] = 32e6;
    p->elem_cache_sharp[i] = 1;
    p->elem_row_wave[i] = 0;
    p->elem_row_s[i] = 0;
    /* vLLM launches one block per token row: 1024 threads (norms, activation:
     * 2 blocks per SM), 512 for RoPE (4 per SM) */
    p->elem_wave_rows[i] = i == MODEL_ELEM_ROPE ? 4 : 2;
    p->elem_blk_bw[i] = 0;
  }
  p->rope_sector_w = 0;
  p->comm_bw_frac[MODEL_HOP_INTRA] = 0.75;
  p->comm_bw_frac[MODEL_HOP_INTER] = 20e9;
  /* NCCL: LL carries 4 data bytes per 8-byte line, LL128 120 of 128 */
  p->comm_proto_frac[MODEL_PROTO_LL] = 0.5;
  p->comm_proto_frac[MODEL_PROTO_LL128] = 0.9375;
  p->comm_proto_frac[MODEL_PROTO_SIMPLE] = 1.0;
  p->comm_base_lat_s[MODEL_PROTO_LL] = 8e-6;
  p->comm_base_lat_s[MODEL_PROTO_LL128] = 12e-6;
  p->comm_base_lat_s[MODEL_PROTO_SIMPLE] = 20e-6;
  p->comm_hop_lat_s[MODEL_HOP_INTRA] = 0.6e-6;
  p->comm_hop_lat_s[MODEL_HOP_INTER] = 5e-6;
  p->comm_proto_lat[MODEL_PROTO_LL] = 1.0;
  /* NCCL's NVLink hardware latencies per step: LL 0.6, LL128 1.25, Simple 4 us */
  p->comm_proto_lat[MODEL_PROTO_LL128] = 2.1;
  p->comm_proto_lat[MODEL_PROTO_SIMPLE] = 6.7;
  p->comm_p2p_frac = 0.8;
  p->comm_nvls_frac = 0;
  p->comm_nvls_lat_s = 20e-6;
  /* a DGX-class node: eight 200 Gb/s NICs; one-way and duplex rates equal */
  p->comm_node_bw = 200e9;
  p->comm_duplex_frac = 1.0;
  /* a tree as fast as the ring: NCCL's tuner (assuming 0.92) then leaves it
   * a little early */
  p->comm_tree_frac = 1.0;
  p->comm_a2a_lat_s = 20e-6;
  p->comm_p2p_lat_s = 0;   /* send/recv priced with the collectives' base latency */
  p->comm_a2a_frac = 1.0;
  p->comm_ll_bw_inter = 22.5e9;
  p->cpu_base_s = 0.8e-3;
  p->cpu_per_seq_s = 42e-6;
  p->cpu_tp_s = 0.4e-3;
  p->cpu_per_seq_vocab_s = 0;
  p->kv_dtype_bytes = 2;
}

#define P(field) offsetof (ModelCostParams, field)
static const ModelParamInfo params_info[] = {
  { "gemm_eff", P (gemm_eff), 0.05, 1.0, "fraction of dense peak one SM reaches on a full 128x128 GEMM tile", 0 },
  { "gemm_small_tile", P (gemm_small_tile), 1.0, 3.0, "time factor per 64-wide tile dimension (vs 128)", 0 },
  { "gemm_rate.attn_out", P (gemm_rate_out), 0.5, 2.0, "compute-rate factor of the attention output projection vs QKV/up (its input is the attention output)", 0 },
  { "gemm_rate.mlp_down", P (gemm_rate_down), 0.5, 2.0, "compute-rate factor of the MLP down projection vs QKV/up (its input is the activation output)", 0 },
  { "gemm_mem_eff", P (gemm_mem_eff), 0.05, 1.0, "fraction of memory bandwidth for GEMM compulsory traffic", 0 },
  { "gemm_floor_s", P (gemm_floor_s), 0, 1e-3, "fixed time of one GEMM kernel, s", 0 },
  { "gemm_sharp", P (gemm_sharp), 1.0, 20.0, "exponent p of the smooth max (tc^p + tm^p)^(1/p)", 0 },
  { "gemm_split_k", P (gemm_split_k), 32, 16384, "GEMM: smallest K slice of split-K (when the tile grid leaves SMs idle)", 0 },
  { "gemm_k0", P (gemm_k0), 0, 4096, "GEMM: a tile's fixed work (pipeline fill, epilogue) as extra K-steps (0 = none)", 32 },
  { "gemm_wave", P (gemm_wave), 0.0, 1.0, "GEMM: cost of the idle part of a partial last wave of tiles (1 = whole waves, 0 = perfectly balanced, e.g. stream-K)", 0 },
  { "gemm_tile_min", P (gemm_tile_min), 1, 64, "GEMM: smallest tile side; tiles are 128 or this wide in each dimension (64 on GPUs; 1 on a CPU: no tile quantisation)", 0 },
  { "gemm_clock_drop", P (gemm_clock_drop), 0, 1.0, "GEMM: fractional slowdown of a kernel long enough for the power limiter to pull the clock down from boost (0 = none)", 0.05 },
  { "gemm_clock_tau_s", P (gemm_clock_tau_s), 1e-6, 0.1, "GEMM: compute time at which a kernel suffers half of gemm_clock_drop, s", 0 },
  { "gemm_cache_gain", P (gemm_cache_gain), 1, 4, "GEMM: speed-up of a working set that stays in L2 between the measurement's repeated calls (1 = off; the simulator runs GEMMs cold)", 0 },
  { "gemm_cache_bytes", P (gemm_cache_bytes), 1e6, 1e9, "GEMM: working set (weights + activations) at which half of gemm_cache_gain is left, bytes", 0 },
  { "gemm_cache_sharp", P (gemm_cache_sharp), 0.5, 16, "GEMM: steepness of the L2 edge", 0 },
  { "gemm_cta_bw", P (gemm_cta_bw), 0, 1e13, "GEMM: memory bandwidth one thread block (tile) can draw, bytes/s: grids of few tiles are slower than the GPU's bandwidth (0 = no cap)", 0 },
  { "gemm_tile_fit", P (gemm_tile_fit), 0, 256, "GEMM: token-side tile step of kernels whose tile fits the token count (8: cuBLAS's nvjet kernels, CUDA 12.8+; 0 = fixed tile shapes, as CUDA 12.1's); chosen by the calibrator, not searched", 0 },
  { "gemm_tile_max", P (gemm_tile_max), 128, 256, "GEMM: long side of the large tile used when its grid fills the SMs (256 on Hopper and Blackwell: 128x256 wgmma tiles; 128 = none)", 0 },
  { "attn_eff", P (attn_eff), 0.02, 1.0, "prefill attention: fraction of dense peak per SM inside a tile", 0 },
  { "attn_floor_s", P (attn_floor_s), 0, 1e-3, "prefill attention: fixed time per kernel, s", 0 },
  { "attn_per_tile_s", P (attn_per_tile_s), 0, 1e-3, "prefill attention: time per (64-query tile x head) on one SM, s", 0 },
  { "attn_causal", P (attn_causal), 0.5, 4.0, "prefill attention: cost of a key inside the chunk (causal mask) relative to a cached key", 0 },
  { "attn_pair_gain", P (attn_pair_gain), 0, 2, "prefill attention: 0 = the closed form (total work over the SMs, longest tile, tile waves); > 0 = FlashAttention-2's thread blocks scheduled in launch order, two per SM, two on one SM at this throughput relative to one (attn_floor_s and attn_per_tile_s are then per kernel and per thread block)", 1.2 },
  { "attn_combine_s", P (attn_combine_s), 0, 1e-3, "prefill attention, scheduled: time of the combine kernel after a split of the keys, s", 2e-6 },
  { "attn_split_sms", P (attn_split_sms), 0, 2, "prefill attention: key splitting, 0 = units below the SM count in blocks of >= 256 keys; 1 or 2 = FlashAttention-2's num_splits heuristic against that many blocks per SM; chosen by the calibrator, not searched", 0 },
  { "attn_tile_q", P (attn_tile_q), 1, 128, "prefill attention: queries per tile of one head (64 on GPUs; 1 on a CPU)", 0 },
  { "dec_mem_eff", P (dec_mem_eff), 0.02, 1.0, "decode attention: fraction of memory bandwidth reading the KV cache", 0 },
  { "dec_floor_s", P (dec_floor_s), 0, 1e-3, "decode attention: fixed time per kernel, s", 0 },
  { "dec_per_seq_s", P (dec_per_seq_s), 0, 1e-4, "decode attention: time per sequence in the batch, s", 0 },
  { "dec_per_block_s", P (dec_per_block_s), 0, 1e-4, "decode attention: time per key tile (128 keys at head size 128) of one thread block alone on an SM, s", 0 },
  { "dec_split_s", P (dec_split_s), 0, 1e-4, "decode attention: combine kernel time per split of the keys, s", 0 },
  { "dec_tail", P (dec_tail), 0.0, 1.0, "decode attention: unused (kept so that older profiles load)", 0 },
  { "dec_cta_s", P (dec_cta_s), 0, 1e-4, "decode attention: fixed time of one thread block (sequence x KV head x split), s", 0 },
  { "dec_pair_gain", P (dec_pair_gain), 1.0, 2.0, "decode attention: throughput of two thread blocks sharing an SM relative to one (1 = none, 2 = full overlap)", 0 },
  { "dec_sharp", P (dec_sharp), 1.0, 20.0, "decode attention: exponent p of the smooth max of a wave's SM time and its bytes over bandwidth", 0 },
  { "dec_combine_s", P (dec_combine_s), 0, 1e-4, "decode attention: combine kernel time per round of its blocks over the SMs, s", 0 },
  { "dec_fwd_tile", P (dec_fwd_tile), 1.0, 4.0, "decode attention over a contiguous cache (PyTorch SDPA), unsplit: key-tile time of FlashAttention's forward kernel (128-row query tiles) relative to the split-KV kernel's (64 rows); unused over a paged cache", 0 },
#define ELEM(i, n) \
  { "elem_bw_eff." n, P (elem_bw_eff[i]), 0.01, 1.0, n ": fraction of memory bandwidth", 0 }, \
  { "elem_floor_s." n, P (elem_floor_s[i]), 0, 1e-3, n ": fixed time per kernel, s", 0 }, \
  { "elem_sharp." n, P (elem_sharp[i]), 1.0, 20.0, n ": exponent p of the smooth max of floor and transfer time", 0 }, \
  { "elem_cache_gain." n, P (elem_cache_gain[i]), 1.0, 8.0, n ": bandwidth gain while the data fit in cache (1 = none)", 0 }, \
  { "elem_cache_bytes." n, P (elem_cache_bytes[i]), 1e5, 1e10, n ": bytes at which the cache gain is half gone", 0 }, \
  { "elem_cache_sharp." n, P (elem_cache_sharp[i]), 1.0, 32.0, n ": steepness of the loss of the cache gain around elem_cache_bytes (1 = gradual)", 0 }, \
  { "elem_row_wave." n, P (elem_row_wave[i]), 0, 1.0, n ": fraction of the transfer time quantised in waves of elem_wave_rows token rows per SM (0 = none)", 0.5 }, \
  { "elem_row_s." n, P (elem_row_s[i]), 0, 1e-6, n ": time per token row beyond its bytes (a block's fixed work), amortised over the SMs, s", 1e-9 }, \
  { "elem_wave_rows." n, P (elem_wave_rows[i]), 1, 64, n ": token rows (thread blocks) resident per SM, the wave size of elem_row_wave", 0 }, \
  { "elem_blk_bw." n, P (elem_blk_bw[i]), 0, 1e12, n ": bytes/s one thread block streams through its token row; each wave of rows lasts at least a row's bytes at this rate (0 = no limit)", 1e10 }
  ELEM (MODEL_ELEM_EMBED, "embed"),
  ELEM (MODEL_ELEM_NORM, "norm"),
  ELEM (MODEL_ELEM_ROPE, "rope"),
  ELEM (MODEL_ELEM_ACT, "act"),
  ELEM (MODEL_ELEM_ADD, "add"),
  ELEM (MODEL_ELEM_KV_WRITE, "kv_write"),
  ELEM (MODEL_ELEM_LAYERNORM, "layernorm"),
  ELEM (MODEL_ELEM_ACT_PLAIN, "act_plain"),
#undef ELEM
  { "rope_sector_w", P (rope_sector_w), 0, 2.0, "rope: share of the transfer time that follows the 32-byte sectors the warps request (model_rope_sector_ratio) rather than the bytes used; 0 = bytes only", 0.5 },
  { "comm_bw_frac.intra", P (comm_bw_frac[MODEL_HOP_INTRA]), 0.01, 1.0, "ring bus bandwidth inside a node / GPU link bandwidth (NVLink, else PCIe)", 0 },
  { "comm_bw.inter", P (comm_bw_frac[MODEL_HOP_INTER]), 1e8, 1e12, "inter-node bandwidth per GPU (its NIC), bytes/s", 0 },
  { "comm_proto_frac.ll", P (comm_proto_frac[MODEL_PROTO_LL]), 0.01, 1.0, "LL protocol: bandwidth fraction of Simple", 0 },
  { "comm_proto_frac.ll128", P (comm_proto_frac[MODEL_PROTO_LL128]), 0.01, 1.0, "LL128 protocol: bandwidth fraction of Simple", 0 },
  { "comm_base_lat_s.ll", P (comm_base_lat_s[MODEL_PROTO_LL]), 0, 1e-3, "LL: fixed latency per collective, s", 0 },
  { "comm_base_lat_s.ll128", P (comm_base_lat_s[MODEL_PROTO_LL128]), 0, 1e-3, "LL128: fixed latency per collective, s", 0 },
  { "comm_base_lat_s.simple", P (comm_base_lat_s[MODEL_PROTO_SIMPLE]), 0, 1e-3, "Simple: fixed latency per collective, s", 0 },
  { "comm_hop_lat_s.intra", P (comm_hop_lat_s[MODEL_HOP_INTRA]), 0, 1e-4, "latency per algorithm step over an intra-node hop (LL), s", 0 },
  { "comm_hop_lat_s.inter", P (comm_hop_lat_s[MODEL_HOP_INTER]), 0, 1e-3, "latency per algorithm step over an inter-node hop (LL), s", 0 },
  { "comm_proto_lat.ll128", P (comm_proto_lat[MODEL_PROTO_LL128]), 1.0, 20.0, "LL128: per-step latency multiplier (LL = 1)", 0 },
  { "comm_proto_lat.simple", P (comm_proto_lat[MODEL_PROTO_SIMPLE]), 1.0, 50.0, "Simple: per-step latency multiplier (LL = 1)", 0 },
  { "comm_p2p_frac", P (comm_p2p_frac), 0.01, 1.0, "intra-node send/recv bandwidth / link bandwidth", 0 },
  { "comm_nvls_frac", P (comm_nvls_frac), 0, 4.0, "NVLS all-reduce bus bandwidth / link bandwidth; 0 = no NVLS", 0 },
  { "comm_nvls_lat_s", P (comm_nvls_lat_s), 0, 1e-3, "NVLS all-reduce fixed latency, s", 0 },
  { "comm_bw.node", P (comm_node_bw), 1e8, 1e13, "inter-node bandwidth of a whole node (all its NICs, or its one shared uplink), bytes/s per direction", 0 },
  { "comm_a2a_lat_s", P (comm_a2a_lat_s), 0, 1e-3, "all-to-all: fixed cost of launching the grouped n-1 sends and receives, s", 0 },
  { "comm_p2p_lat_s", P (comm_p2p_lat_s), 0, 1e-3, "send/recv: fixed latency of the point-to-point launch, s (0 = the collectives' comm_base_lat_s)", 1e-9 },
  { "comm_tree_frac", P (comm_tree_frac), 0.05, 1.0, "tree all-reduce bus bandwidth across nodes / the ring's (NCCL's tuner assumes 0.92 and picks the tree below the crossover that implies)", 0 },
  { "comm_duplex_frac", P (comm_duplex_frac), 0.1, 1.0, "per-GPU inter-node rate while sending and receiving at once (ring, all-to-all) / one-way send rate", 0 },
  { "comm_a2a_frac", P (comm_a2a_frac), 0.1, 1.0, "all-to-all inside a node: per-GPU NVLink rate with n-1 peers sending and receiving at once / one-way send/recv rate", 0 },
  { "comm_ll_bw_inter", P (comm_ll_bw_inter), 1e8, 1e12, "LL protocol across nodes: bus bandwidth cap (8-byte flag+data lines, each polled by the receiver through the NIC; NCCL's tuner assumes 22.5 GB/s for 2 Ampere nodes), bytes/s", 0 },
  { "cpu_base_s", P (cpu_base_s), 0, 1.0, "CPU overhead per iteration, s", 0 },
  { "cpu_per_seq_s", P (cpu_per_seq_s), 0, 1e-2, "CPU overhead per sequence in the batch, s", 0 },
  { "cpu_tp_s", P (cpu_tp_s), 0, 1e-1, "CPU overhead per iteration added by tensor parallelism, s", 0 },
  { "cpu_per_seq_vocab_s", P (cpu_per_seq_vocab_s), 0, 1e-6, "CPU overhead per sequence per vocabulary entry (sampling), s", 0 },
};
#undef P

const ModelParamInfo *
model_params_info (gsize *n)
{
  if (n)
    *n = G_N_ELEMENTS (params_info);
  return params_info;
}

double *
model_param_ptr (ModelCostParams *p, const ModelParamInfo *info)
{
  g_return_val_if_fail (p != NULL && info != NULL, NULL);
  return (double *) ((char *) p + info->offset);
}
