/* models/catalog.h — what the world is made of: GPU, network and LLM
 * descriptions.
 *
 * Catalogs are JSON data files shipped with the program
 * (models/catalog/gpus.json, networks.json, llms.json); a user file with the
 * same shape adds entries or overrides them by id. Ids are lowercase and
 * hyphenated. This file owns parsing and lookup, not cost or scheduling.
 */
#ifndef MODEL_CATALOG_H
#define MODEL_CATALOG_H

#include <glib.h>
#include "models/profile.h"

#define MODEL_ERROR (model_error_quark ())
GQuark model_error_quark (void);
typedef enum {
  MODEL_ERROR_PARSE,     /* malformed catalog file */
  MODEL_ERROR_UNKNOWN,   /* unknown id (message lists the valid ones) */
  MODEL_ERROR_INVALID,   /* a field out of range */
  MODEL_ERROR_NO_FIT     /* model does not fit on the device at this TP */
} ModelError;

typedef struct {
  char   *id;             /* "h100-sxm" */
  char   *name;           /* "NVIDIA H100 SXM5 80GB" */
  double  flops_bf16;     /* dense bf16/fp16 tensor FLOP/s */
  double  flops_fp8;      /* dense fp8 FLOP/s; 0 when unsupported */
  double  mem_bytes;      /* device memory capacity, bytes */
  double  mem_bw;         /* device memory bandwidth, bytes/s */
  double  nvlink_bw;      /* NVLink bandwidth per GPU per direction, bytes/s; 0 = none */
  double  pcie_bw;        /* PCIe bandwidth per direction, bytes/s */
  double  tdp_w;          /* board power, W; NAN when unknown */
  double  price_per_hour; /* USD per GPU-hour on demand; NAN when unknown */
  int     num_sms;        /* streaming multiprocessors (or CUs); 0 when unknown */
  char   *vendor;         /* "nvidia", "amd" */
  char   *arch;           /* "ampere", "hopper", ...: picks the profile to carry over */
  char   *source;         /* citation for the figures */
  /* The device profile the cost model uses (models/profile.h): the GPU's own
   * calibrated one, or one carried over from the closest calibrated
   * architecture (see profile_from), or the generic defaults. */
  ModelCostParams profile;
  char   *profile_from;   /* provenance: "calibrated: <source>", "carried over from a100-80gb
                           * (ampere): <source>", or "defaults (no calibrated GPU loaded)" */
  char   *profile_gpu;    /* id of the GPU whose profile this is (own id when calibrated); NULL for defaults */
} ModelGpu;

typedef struct {
  char   *id;             /* "llama-3.1-8b" */
  char   *name;           /* "meta-llama/Llama-3.1-8B" */
  int     num_layers;
  int     hidden;         /* d_model */
  int     num_heads;      /* query heads */
  int     num_kv_heads;
  int     head_dim;
  int     ffn;            /* intermediate size (per expert for MoE) */
  int     vocab;
  gboolean gated_mlp;     /* SwiGLU-style up+gate */
  int     num_experts;    /* 0 or 1 = dense */
  int     top_k;          /* experts per token (MoE) */
  char   *norm;           /* "rmsnorm" | "layernorm" */
  char   *activation;     /* "silu" | "gelu" | "relu" */
  char   *weight_dtype;   /* "bf16" | "fp16" | "fp8" */
  int     bytes_per_param;
  int     max_context;
  gboolean tied_embeddings;
  gboolean parallel_attn_mlp; /* attention and MLP read the same normed input (falcon, phi-2) */
  int     norms_per_layer; /* norm kernels a layer runs: 2 (before attention, before the MLP);
                            * a parallel block 1 (phi-2) or 2 (Falcon-180B's ln_attn, ln_mlp) */
  gboolean qk_norm;        /* RMSNorm over each query and key head before RoPE (Qwen3) */
  int     rotary_dim;      /* RoPE rotates the first rotary_dim elements of each head (phi-2: 32
                            * of 80); 0 = the whole head */
  gboolean learned_positions; /* a learned position embedding added to the token embedding,
                               * no rotary (OPT; "positions": "learned") */
  int     sliding_window;  /* a query sees at most this many keys, itself included (Mistral-7B
                            * v0.1: 4096); 0 = the whole context */
  char   *source;
} ModelLlm;

/* The inter-node parameters of the cost model that belong to a cluster's
 * network, not to its GPUs (names as in ModelParamInfo): a GPU's profile
 * carries the ones of the network it was calibrated on, and a scenario's
 * cluster.network replaces them with another network's. */
#define MODEL_NET_NPARAMS 6
extern const char *const model_net_param_names[MODEL_NET_NPARAMS];
/* indices into ModelNetwork.params and model_net_param_names */
enum {
  MODEL_NET_BW_INTER, MODEL_NET_BW_NODE, MODEL_NET_HOP_LAT, MODEL_NET_DUPLEX, MODEL_NET_TREE,
  MODEL_NET_LL_BW
};

typedef struct {
  char   *id;             /* "dgx-h100-ndr" */
  char   *name;
  char   *kind;           /* "infiniband", "roce", "ethernet", "unknown": fitted values carry within a kind first */
  double  nic_bw;         /* NIC line rate per GPU per direction, bytes/s; 0 = unknown */
  int     gpus_per_node;  /* GPUs that share a node's NICs */
  char   *source;
  /* model_net_param_names[i]'s value: given by the entry (bit i of given),
   * else carried over from the closest network with fitted values (same
   * kind first), else derived from the line rate or the defaults;
   * params_from says which */
  double  params[MODEL_NET_NPARAMS];
  guint   given;
  char   *params_from;
} ModelNetwork;

typedef struct ModelCatalog ModelCatalog;

/* Empty catalog. Free with model_catalog_free(). */
ModelCatalog   *model_catalog_new (void);
void            model_catalog_free (ModelCatalog *cat);
/* Load the bundled gpus.json and llms.json and the device profiles in
 * models/profiles/ (found via sim_data_find()).
 * FALSE with SIM_ERROR_IO when a file is not found, MODEL_ERROR otherwise. */
gboolean        model_catalog_load_default (ModelCatalog *cat, GError **error);
/* Load a catalog file: an object with "gpus", "networks", "models" and/or
 * "profiles" arrays. Entries add to the catalog or replace the entry with the same id
 * (profiles: the one for the same "gpu"). After every load each GPU's profile
 * is re-resolved: its own if one is loaded, else the profile of the closest
 * calibrated architecture (same arch, then the nearest generation), else the
 * defaults; ModelGpu.profile_from says which. On error the
 * catalog is unchanged and the message names file and entry. Replacing an
 * entry frees the old one: pointers from earlier lookups of that id (and
 * ModelCost structs holding them) become invalid, so load before looking up. */
gboolean        model_catalog_load_file (ModelCatalog *cat, const char *path, GError **error);
gboolean        model_catalog_load_data (ModelCatalog *cat, const char *json_text,
                                         const char *origin, GError **error);

/* Lookup by id. NULL with MODEL_ERROR_UNKNOWN listing valid ids when absent.
 * The catalog owns the result. */
const ModelGpu *model_catalog_gpu (const ModelCatalog *cat, const char *id, GError **error);
const ModelLlm *model_catalog_llm (const ModelCatalog *cat, const char *id, GError **error);
const ModelNetwork *model_catalog_network (const ModelCatalog *cat, const char *id,
                                          GError **error);
/* Sorted ids; returns a NULL-terminated array the caller frees with g_free
 * (the strings belong to the catalog). */
const char    **model_catalog_gpu_ids (const ModelCatalog *cat);
const char    **model_catalog_llm_ids (const ModelCatalog *cat);
const char    **model_catalog_network_ids (const ModelCatalog *cat);

/* Writes the network's inter-node parameters into p (a GPU's profile): the
 * collectives across nodes then run on that network; inside a node nothing
 * changes. */
void            model_network_apply (const ModelNetwork *n, ModelCostParams *p);
/* The other way: n->params from a profile's inter-node parameters. */
void            model_network_take (ModelNetwork *n, const ModelCostParams *p);

/* The profile g would get without its own: the closest calibrated other
 * architecture's (TRUE, *from_id its GPU id, owned by the catalog) or the
 * defaults (FALSE, *from_id NULL). What `servesim calibrate` starts from, so
 * that parameter groups without measurements are carried over. */
gboolean        model_catalog_carried_profile (const ModelCatalog *cat, const ModelGpu *g,
                                               ModelCostParams *out, const char **from_id);

/* Whether g's cost model is not its own calibration: another GPU's profile
 * carried over (profile_gpu another id) or the generic defaults (NULL). What
 * a run's summary and a plan's recommendation say for a GPU nobody measured. */
gboolean        model_gpu_profile_carried (const ModelGpu *g);

/* Ids of the GPUs that have a calibrated profile loaded (sorted,
 * NULL-terminated; g_free the array, not the strings). */
const char    **model_catalog_profile_ids (const ModelCatalog *cat);

/* Writes a catalog file holding one "profiles" entry for `gpu_id` with the
 * parameters p, the provenance `source` and the number of measurements fitted
 * (atomically). FALSE with SIM_ERROR_IO on I/O failure. The file loads with
 * model_catalog_load_file and serves as a scenario's "catalog". */
gboolean        model_profile_write (const char *path, const char *gpu_id,
                                     const ModelCostParams *p, const char *source,
                                     int measurements, GError **error);

/* Writes a catalog file holding the networks nets[0..n-1] (the parameters
 * each gives, its line rate when known), atomically. FALSE with SIM_ERROR_IO
 * on I/O failure. */
gboolean        model_networks_write (const char *path, const ModelNetwork *const *nets, guint n,
                                      GError **error);

/* Frees a ModelLlm and its strings (for entries built outside a catalog,
 * e.g. model shapes read from measurement files). NULL is allowed. */
void            model_llm_free (gpointer llm);

/* Norm kernels a layer of llm runs (norms_per_layer, or its default when a
 * hand-built ModelLlm leaves it 0). */
int             model_llm_norms (const ModelLlm *llm);
/* Parameter count of the whole model (all experts). */
double          model_llm_params (const ModelLlm *llm);

#endif
