/* models/kernels/tiny_tmpl.h — typed tiny-transformer API, included by
 * tiny.h for double (_d) and float (_f). No include guard on purpose.
 */

typedef struct KS (KernTiny) KS (KernTiny);

/* A model with weights drawn from `seed` (the same values for double and float,
 * up to rounding) and a paged KV cache of num_blocks blocks of block_size
 * tokens per layer. shuffle_blocks: hand out blocks in a seeded random order
 * instead of 0, 1, 2, ... Free with kern_tiny_free. NULL only on bad arguments
 * (programmer error). */
KS (KernTiny) *KS (kern_tiny_new) (const KernTinyConfig *cfg, guint64 seed, int num_blocks,
                                   int block_size, gboolean shuffle_blocks);
void           KS (kern_tiny_free) (KS (KernTiny) *m);
const KernTinyConfig *KS (kern_tiny_config) (const KS (KernTiny) *m);

/* A new empty sequence; returns its id (>= 0). */
int  KS (kern_tiny_seq_new) (KS (KernTiny) *m);
/* Returns the sequence's blocks to the pool; the id is not reused. */
void KS (kern_tiny_seq_free) (KS (KernTiny) *m, int seq);
/* Tokens in the sequence's KV cache. */
int  KS (kern_tiny_seq_len) (const KS (KernTiny) *m, int seq);
/* Drops cached tokens beyond len (speculative-decoding rollback); blocks no
 * longer needed go back to the pool. */
void KS (kern_tiny_seq_truncate) (KS (KernTiny) *m, int seq, int len);

/* Runs one iteration over n sequences (each at most once): appends their
 * tokens to the KV cache and writes each sequence's greedy next token (from
 * the last of its q tokens) to next[i], and its logits to logits[i·vocab]
 * when logits is not NULL. all_logits (may be NULL) receives the logits of
 * every token, rows in work order ([Σq][vocab]); they are computed in an extra
 * LM-head call that is not counted. op (may be NULL; each kern_count_init'ed)
 * receives the counts per ModelOp. FALSE with MODEL_ERROR_NO_FIT when the KV
 * cache runs out of blocks (nothing is changed then). */
gboolean KS (kern_tiny_step) (KS (KernTiny) *m, const KernTinyWork *work, int n, int *next,
                              KR *logits, KR *all_logits, KernCount *op, GError **error);

/* Lossy-cache experiment: replaces every K and V row in the cache (groups of
 * head_dim elements) by its quantise/dequantise round trip. */
void KS (kern_tiny_kv_roundtrip) (KS (KernTiny) *m, KernQuant kind);
