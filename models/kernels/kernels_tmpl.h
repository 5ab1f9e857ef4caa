/* models/kernels/kernels_tmpl.h — typed kernel prototypes, included by
 * kernels.h once with KR = double / KS(x) = x##_d and once with KR = float /
 * KS(x) = x##_f. No include guard on purpose. Conventions for every function:
 * arrays are row-major and caller-owned; `c` is a KernCount or NULL (nothing
 * counted); outputs must not alias inputs unless stated; bad shapes are
 * programmer errors (g_return_if_fail, nothing written). What each counts is
 * in docs/kernels.md.
 */

/* C[M,N] = A[M,K] B[K,N] with leading dimensions lda, ldb, ldc (>= the row
 * lengths). Blocked (N in 256-column panels, K in 128-row panels, 4 rows at a
 * time); every C element accumulates over k in increasing order, so the result
 * of a row does not depend on M. Counts 2MNK FLOPs, (MK + KN + MN)·wb bytes. */
void KS (kern_gemm) (int M, int N, int K, const KR *A, int lda, const KR *B, int ldb,
                     KR *C, int ldc, KernCount *c);
/* Column-parallel shard of Y[M,N] = X[M,K] W[K,N] (rank r of P, P | N):
 * Y_r[M,N/P] = X W[:, r·N/P : (r+1)·N/P]. */
void KS (kern_gemm_col_shard) (int M, int N, int K, const KR *X, const KR *W, int r, int P,
                               KR *Y_r, KernCount *c);
/* Row-parallel shard (P | K): partial Y_r[M,N] = X[:, r·K/P ..] W[r·K/P .., :];
 * the full product is the sum over ranks (an all-reduce). */
void KS (kern_gemm_row_shard) (int M, int N, int K, const KR *X, const KR *W, int r, int P,
                               KR *Y_r, KernCount *c);

/* y[T,h] = x / rms(x) * w. 4 FLOPs per element; 2·T·h·ab + h·wb bytes. */
void KS (kern_rmsnorm) (int T, int h, const KR *x, const KR *w, double eps, KR *y, KernCount *c);
/* Per-head RMSNorm in place (Qwen3's q_norm, k_norm): each of the nheads
 * d-element rows of token t (at x + t·ldx) is divided by its rms and scaled
 * by w[d]. One kernel: 4 FLOPs per element; 2·T·nheads·d·ab + d·wb bytes. */
void KS (kern_rmsnorm_heads) (int T, int nheads, int d, KR *x, int ldx, const KR *w, double eps,
                              KernCount *c);
/* y = (x - mean) / std * gamma + beta. 7 FLOPs per element; 2·T·h·ab + 2h·wb. */
void KS (kern_layernorm) (int T, int h, const KR *x, const KR *gamma, const KR *beta, double eps,
                          KR *y, KernCount *c);
/* Rotary embedding (NeoX halves) in place on q[T][nh][d] and k[T][nkv][d]
 * (rows ldq, ldk elements apart) at positions pos[T], over the first rot
 * elements of each head (rot = d: the whole head; phi-2: 32 of 80), pairs
 * (i, i + rot/2); angles pos·theta^(-2i/rot) are computed, not counted. 3
 * FLOPs and 2·ab bytes per rotated element. */
void KS (kern_rope) (int T, int nh, int nkv, int d, int rot, KR *q, int ldq, KR *k, int ldk,
                     const int *pos, double theta, KernCount *c);
/* MLP activation: in[T][g·f] (gated: gate in columns [0,f), up in [f,2f)),
 * out[T][f] = act(gate) * up, or act(in) when not gated.
 * (act FLOPs + gated)·T·f FLOPs; (g + 1)·T·f·ab bytes. */
void KS (kern_act) (int T, int f, gboolean gated, KernAct act, const KR *in, KR *out,
                    KernCount *c);
/* out[n] = a + b (out may alias a or b). n FLOPs, 3n·ab bytes. */
void KS (kern_add) (gsize n, const KR *a, const KR *b, KR *out, KernCount *c);
/* out[T][h] = table[ids[t]] (ids in [0, V)). 0 FLOPs; T·h·(wb + ab) bytes. */
void KS (kern_embed) (int T, int h, int V, const KR *table, const int *ids, KR *out, KernCount *c);
/* ids[i] = argmax of logits row i (first maximum). Greedy sampling is not
 * priced by the cost model; nothing counted. */
void KS (kern_argmax) (int n, int V, const KR *logits, int *ids);

/* Paged KV cache of one layer: blocks [num_blocks][block_size][nkv][d] for K and V.
 * Owned by the caller (kern_kv_cache_new allocates zeroed storage). */
typedef struct {
  KR *k, *v;
  int num_blocks, block_size, nkv, d;
} KS (KernKvCache);
KS (KernKvCache) *KS (kern_kv_cache_new) (int num_blocks, int block_size, int nkv, int d);
void KS (kern_kv_cache_free) (KS (KernKvCache) *kv);
/* Writes the K and V rows of the batch's new tokens (rows of qkv: [T][(nh+2nkv)·d],
 * K at column nh·d, V after it) into the cache at positions ctx .. ctx+q-1 of
 * each sequence. 0 FLOPs; T·2·nkv·d·(ab + kvb) bytes. */
void KS (kern_kv_write) (KS (KernKvCache) *kv, const KernSeq *seqs, int n, int nh,
                         const KR *qkv, KernCount *c);

/* Reference attention for one sequence on contiguous K,V [n_keys][nkv][d]
 * (n_keys = ctx + q): scores, max, exp, sum, weighted V, in that order,
 * causal with query j seeing keys < ctx + j + 1. q, out: [q][nh][d] with rows
 * ld apart. nh % nkv == 0 (grouped-query: head i reads KV head i / (nh/nkv)).
 * 4·d FLOPs per (query, key, head); bytes 2·q·nh·d·ab + n_keys·2·nkv·d·kvb. */
void KS (kern_attn_plain) (int q, int ctx, int nh, int nkv, int d, const KR *Q, int ldq,
                           const KR *K, const KR *V, double scale, KR *out, int ldo, KernCount *c);
/* The same computation, same order, for a batch of sequences whose K,V live in
 * a paged cache (block tables in seqs); Q and out are the batch's rows
 * concatenated ([Σq][..], rows ld apart). One kernel call. */
void KS (kern_attn_paged) (const KS (KernKvCache) *kv, const KernSeq *seqs, int n, int nh,
                           const KR *Q, int ldq, double scale, KR *out, int ldo, KernCount *c);
/* FlashAttention-style: query tiles of bq, key tiles of bk, online softmax
 * (running max and sum, rescaling). Paged like kern_attn_paged. Both honour
 * a sequence's sliding window (KernSeq.window): FLOPs count the pairs inside
 * it, bytes the keys from the first query's window on. */
void KS (kern_attn_flash) (const KS (KernKvCache) *kv, const KernSeq *seqs, int n, int nh,
                           const KR *Q, int ldq, double scale, int bq, int bk, KR *out, int ldo,
                           KernCount *c);
/* Flash-decoding: each (sequence, head)'s keys split into `splits` contiguous
 * parts, each reduced to (max, sum, unnormalised output), then a final
 * reduction. Any q per sequence (each query row is split the same way). */
void KS (kern_attn_split_k) (const KS (KernKvCache) *kv, const KernSeq *seqs, int n, int nh,
                             const KR *Q, int ldq, double scale, int splits, KR *out, int ldo,
                             KernCount *c);
/* Stream-K (LeanAttention) decode: the work of all (sequence, head, key tile of
 * bk) units is cut into `workers` equal ranges regardless of head boundaries;
 * partials are merged per (sequence, head). Decode only (q == 1 for all). */
void KS (kern_attn_stream_k) (const KS (KernKvCache) *kv, const KernSeq *seqs, int n, int nh,
                              const KR *Q, int ldq, double scale, int bk, int workers, KR *out,
                              int ldo, KernCount *c);
/* Single-query attention restricted to the keys with keep[j] (a decode step of
 * an evicting cache): out[nh][d]; probs (may be NULL) receives, per key, the
 * attention probability summed over heads (0 for evicted keys). Contiguous K,V. */
void KS (kern_attn_decode_masked) (int n_keys, int nh, int nkv, int d, const KR *q, const KR *K,
                                   const KR *V, const gboolean *keep, double scale, KR *out,
                                   double *probs, KernCount *c);

/* MoE router: logits = x[T,h] Wg[h,E] (a GEMM, counted in c), then, as
 * vLLM's topk_softmax kernel (counted in c_topk), softmax, top-k ids (ties:
 * lower id) and weights renormalised over the k chosen: 0 FLOPs counted (like
 * attention's softmax), bytes T·E·ab (the logits) + 8·T·k (fp32 weights and
 * int32 ids written). */
void KS (kern_moe_gate) (int T, int h, int E, int k, const KR *x, const KR *Wg, int *ids,
                         KR *weights, KernCount *c, KernCount *c_topk);
/* Experts grouped by expert, the way vLLM's fused MoE runs them:
 *  1. moe_align (c_align): the T·k (token, choice) rows sorted by expert, a
 *     counting sort: 0 FLOPs, 8·T·k bytes (int32 ids in, int32 row order out);
 *  2. per expert, its rows gathered, up GEMM with Wup[e] [h][g·f] (c_up),
 *     activation (c_act), down GEMM with Wdown[e] [f][h] times each row's
 *     routing weight (c_down), into a [T·k][h] buffer;
 *  3. moe_sum (c_sum): out[t] = the sum of token t's k rows: (k − 1)·T·h
 *     FLOPs, (k + 1)·T·h·ab bytes.
 * Up and down charge FLOPs of the executed rows and bytes (rows in + weights
 * of the experts touched + rows out)·wb; act as kern_act over T·k rows. Any
 * counter may be NULL. */
void KS (kern_moe_experts) (int T, int h, int f, int E, int k, gboolean gated, KernAct act,
                            const KR *x, const int *ids, const KR *weights,
                            const KR *const *Wup, const KR *const *Wdown, KR *out,
                            KernCount *c_align, KernCount *c_up, KernCount *c_act,
                            KernCount *c_down, KernCount *c_sum);
