/* models/calibrate.h — measured kernel and collective times, predictions of
 * them by the cost model, error statistics, and the fit of a GPU's device
 * profile to them.
 *
 * Reads Vidur-format profiles (mlp.csv, attention.csv, all_reduce.csv,
 * send_recv.csv, *cpu_overheads.csv) and nccl-tests output, found anywhere
 * under a directory; each file belongs to the GPU named by a component of its
 * path (a catalog id such as "h100-sxm", or the short names "a100", "h100",
 * "h200" that Vidur and most clusters use), else to the default GPU given.
 * Predictions go through the same functions the simulator uses
 * (model_time_gemm, model_time_elem, model_cost_attn_time, model_comm_time),
 * so what is validated is what is simulated. It does not own the formulas
 * (models/cost.c, models/comm.c), the parameter table (models/profile.c), or
 * any output format (cli/).
 */
#ifndef MODEL_CALIBRATE_H
#define MODEL_CALIBRATE_H

#include <glib.h>
#include "models/catalog.h"
#include "models/cost.h"

typedef enum {
  MODEL_CAL_QKV,            /* Vidur attn_pre_proj */
  MODEL_CAL_ATTN_OUT,       /* attn_post_proj */
  MODEL_CAL_MLP_UP,
  MODEL_CAL_MLP_DOWN,
  MODEL_CAL_NORM,           /* input_layernorm and post_attention_layernorm: RMSNorm */
  MODEL_CAL_LAYERNORM,      /* the same ops of a LayerNorm model */
  MODEL_CAL_ROPE,
  MODEL_CAL_ACT,            /* mlp_act of a gated MLP (SiLU-and-mul) */
  MODEL_CAL_ACT_PLAIN,      /* mlp_act of a plain MLP (GELU, ReLU) */
  MODEL_CAL_ADD,
  MODEL_CAL_EMBED,
  MODEL_CAL_ATTN_PREFILL,
  MODEL_CAL_ATTN_DECODE,
  MODEL_CAL_CPU,            /* per-iteration CPU overhead */
  MODEL_CAL_ALLREDUCE,
  MODEL_CAL_ALLGATHER,
  MODEL_CAL_REDUCESCATTER,
  MODEL_CAL_ALLTOALL,
  MODEL_CAL_SENDRECV,
  MODEL_CAL_COUNT
} ModelCalClass;

#define MODEL_CAL_FIRST_COMM MODEL_CAL_ALLREDUCE

const char *model_cal_class_name (ModelCalClass c);
/* TRUE for the collective classes. */
gboolean    model_cal_class_is_comm (ModelCalClass c);

/* One measured time. */
typedef struct {
  ModelCalClass cls;
  guint  source;     /* index into ModelCalSet.sources */
  guint  line;       /* line of the file it came from */
  double x;          /* what "small" and "large" split on: tokens (ops), batch size (cpu), bytes (comm) */
  double measured_s; /* median of the measurement */
  double a[4];       /* shape: GEMM m,n,k,weight bytes; element-wise bytes, the part not growing with T,
                      * kernels in the op (0 = 1); attention
                      * q, ctx, batch, attention-geometry index; CPU batch, tp,
                      * vocabulary (0 = unknown), model-name index; comm bytes,
                      * ranks, ranks per node */
  double res_s;      /* half-width of the interval the true time lies in, from the source's
                      * recording resolution (0.5 us for times recorded in whole
                      * microseconds; 0 = exact) */
  int    tp;         /* tensor-parallel degree of a Vidur mlp.csv or attention.csv row
                      * (0 = not recorded); for reports by configuration */
} ModelCalSample;

/* The measurements of one GPU. */
typedef struct {
  const ModelGpu *gpu;
  GArray    *samples;  /* ModelCalSample */
  GPtrArray *sources;  /* char*: the model (directory name) or file each sample came from */
  GPtrArray *source_files; /* char*: path of that source's first file */
  GPtrArray *attn;     /* ModelCost* per attention geometry (owned) */
  GPtrArray *llms;     /* ModelLlm* those geometries point at (owned) */
} ModelCalSet;

/* What to load. */
enum { MODEL_CAL_LOAD_OPS = 1, MODEL_CAL_LOAD_COMM = 2, MODEL_CAL_LOAD_ALL = 3 };

typedef struct ModelCalData ModelCalData;

ModelCalData *model_cal_data_new (void);
void          model_cal_data_free (ModelCalData *d);
/* Loads every recognised file at `path` (a file or a directory, walked
 * recursively in name order). A file whose path names no GPU goes to
 * `default_gpu` (a catalog id; NULL = such a file is an error naming it).
 * `only_gpu` (nullable) skips files of other GPUs. FALSE with an error
 * "file:line: what is wrong" on unreadable or malformed files, or
 * MODEL_ERROR_UNKNOWN when nothing was recognised. The catalog must outlive d. */
gboolean      model_cal_data_load (ModelCalData *d, const ModelCatalog *cat, const char *path,
                                   const char *default_gpu, const char *only_gpu, guint kinds,
                                   GError **error);
guint         model_cal_data_n_sets (const ModelCalData *d);
/* Set i (owned by d), ordered by decreasing sample count. */
ModelCalSet  *model_cal_data_set (ModelCalData *d, guint i);

/* Predicted time of one sample with the parameters p. */
double model_cal_predict (ModelCalSet *s, const ModelCalSample *x, const ModelCostParams *p);
/* Predictions of every sample of s into pred (s->samples->len entries). */
void   model_cal_predict_all (ModelCalSet *s, const ModelCostParams *p, double *pred);

/* Fits the parameters of every group of classes that has samples, each from
 * the defaults (model_cost_params_default); parameters of groups without
 * samples keep their value in *p, and so do the collective parameters of the
 * GPU's own links that the samples cannot tell (model_cal_carried_string);
 * other parameters the samples cannot tell get the defaults. Samples of source `exclude` are left out
 * (-1: none). Returns a bit mask of the groups fitted (for
 * model_cal_groups_string). Deterministic. */
guint  model_cal_fit (ModelCalSet *s, ModelCostParams *p, int exclude);
/* What model_cal_fit_progress reports before each search: the group's label,
 * the search's number in the group (from 1) and the most it runs (a restart
 * of a parameter the data cannot tell is skipped). */
typedef void (*ModelCalProgress) (const char *group, int search, int searches, gpointer user);
/* model_cal_fit, calling `progress` (NULL: none) before each search: a fit
 * with collectives or attention takes minutes. */
guint  model_cal_fit_progress (ModelCalSet *s, ModelCostParams *p, int exclude,
                               ModelCalProgress progress, gpointer user);
/* The inter-node parameters (bit i: model_net_param_names[i]) the set's
 * collectives can tell apart, i.e. what a fit of it says about the network
 * between its nodes; 0 when no collective crosses nodes. *gpus_per_node gets
 * the most GPUs per node among them. */
guint  model_cal_network_informative (const ModelCalSet *s, int *gpus_per_node);
/* The collective parameters of fitted groups (`mask`) that the set's data
 * cannot tell and that model_cal_fit therefore kept at the value *p had on
 * entry (the closest calibrated GPU's, as `servesim calibrate` starts),
 * comma-separated; "" when none (g_free). */
char  *model_cal_carried_string (const ModelCalSet *s, guint mask);
/* Human-readable list of what `mask` (from model_cal_fit) covers (g_free). */
char  *model_cal_groups_string (guint mask);
/* The mask of every parameter group. */
guint  model_cal_all_groups (void);
/* For each kernel class that has a measured sibling but was not fitted itself
 * (`fitted`: model_cal_fit's mask), copies the sibling's fitted parameters:
 * LayerNorm costs like RMSNorm, a plain activation like the gated one (either
 * way round). Better than the generic defaults or another GPU's values for a
 * kernel nobody measured on this GPU. Returns the mask of groups so filled. */
guint  model_cal_fill_siblings (ModelCostParams *p, guint fitted);

typedef struct {
  gsize  n;
  double median_ape, p90_ape, max_ape; /* absolute percentage errors, % */
  double bias;                         /* median signed error (predicted - measured)/measured, % */
  double median_res, p90_res;          /* APE beyond the recording resolution: a prediction
                                        * within measured +- res_s counts as exact, % */
  gssize worst;                        /* sample index of max_ape, -1 when n == 0 */
} ModelCalStats;

/* Size split of the statistics: every sample, x < the threshold, or x >= it
 * (16 tokens for operators and CPU, 1 MiB for collectives). */
typedef enum { MODEL_CAL_ALL, MODEL_CAL_SMALL, MODEL_CAL_LARGE } ModelCalSplit;
#define MODEL_CAL_SMALL_TOKENS 16
#define MODEL_CAL_SMALL_BYTES (1024.0 * 1024.0)

/* Statistics over the samples of class cls (MODEL_CAL_COUNT: every
 * operator class, or every comm class when `comm`), in split, of source `only`
 * (-1: all). */
/* The q-quantile (0..1, linear between order statistics) of v[0..n-1],
 * which it sorts; 0 when n is 0. */
double model_cal_quantile (double *v, gsize n, double q);
void model_cal_stats (const ModelCalSet *s, const double *pred, ModelCalClass cls, gboolean comm,
                      ModelCalSplit split, int only, ModelCalStats *out);

#endif
