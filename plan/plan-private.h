/* plan/plan-private.h — what the files of plan/ share and nothing outside
 * plan/ may use: the PlanSpec struct. Public API is in plan/plan.h.
 */
#ifndef PLAN_PLAN_PRIVATE_H
#define PLAN_PLAN_PRIVATE_H

#include "models/catalog.h"
#include "plan/plan.h"

typedef struct {
  char   *path;       /* scenario path, e.g. "cluster.gpu" */
  char   *short_name; /* last component, e.g. "gpu" */
  GPtrArray *values;  /* json_t* (owned) */
} PlanDim;

struct PlanSpec {
  json_t       *root;        /* the resolved plan (owned) */
  char         *origin;      /* plan file path or "<data>" */
  char         *base_path;   /* base scenario file (resolved), or NULL */
  GPtrArray    *base_sets;   /* char*: "path=value", applied to every configuration */
  GPtrArray    *dims;        /* PlanDim* */
  guint         n_configs;
  /* constraints */
  int           max_gpus;         /* 0 = none */
  double        max_cost;         /* USD per hour; 0 = none */
  /* SLOs */
  double        slo_ttft, slo_tpot; /* seconds; 0 = none */
  double        percentile;         /* in (0,1) */
  double        max_drain_s;        /* queue-growth limit */
  double        max_rejected;       /* fraction of arrived requests */
  /* search */
  double        start, min_x, max_x, tol;
  double        window_s;           /* simulated arrival span per run; 0 = the whole base workload */
  GArray       *targets;            /* double */
  gboolean      targets_only;       /* "mode": "targets": no capacity search */
  /* workload at multiplier 1 */
  gboolean      synthetic;
  double        base_time_scale;    /* workload.time_scale of the base */
  gint64        base_limit;         /* workload.limit of the base */
  GArray       *arrivals;           /* double: arrival times of the base workload, seconds */
  double        base_gen_rate;      /* generator: workload.generator.rate of the base */
  double        base_rate;          /* requests/s */
  double        base_span_s;        /* first to last arrival, seconds */
  double        base_out_tok_rate;  /* output tokens asked for per second */
  guint64       base_requests;
  ModelCatalog *catalog;            /* default + base scenario's catalog, read-only */
  char         *base_gpu;           /* the base scenario's cluster.gpu (what configurations not
                                   * sweeping it run on) */
  char         *fingerprint;
};

/* The configuration's values as {"path": value, ...} in dimension order (json_decref). */
json_t *plan__config_key (const PlanSpec *spec, guint i);
/* A value as labels show it: strings bare, policy objects as name:k=v,... (g_free). */
char   *plan__value_label (const json_t *v);
/* Workload of one run at multiplier `mult`: how many requests (the first n
 * of the base workload) and the time scale that gives them an average rate of
 * mult x the base rate; *span_s receives their simulated arrival span. */
void    plan__window (const PlanSpec *spec, double mult, gint64 *n, double *time_scale,
                      double *span_s);
/* Counts the filled slots into p->done, p->resumed and p->pruned. */
void    plan__count_done (const GPtrArray *results, PlanProgress *p);

#endif
