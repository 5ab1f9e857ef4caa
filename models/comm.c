/* models/comm.c — NCCL-style collective cost: every (algorithm, protocol)
 * priced as latency + bytes / bandwidth, the cheapest kept.
 *
 * Bus bytes follow nccl-tests' definitions (all-reduce 2(n-1)/n x size, all-gather,
 * reduce-scatter and all-to-all (n-1)/n x size, send/recv size). Ring steps are
 * 2(n-1) for all-reduce and n-1 for the others; a tree all-reduce moves the
 * same bus bytes but takes only 2 log2(nodes) inter-node steps plus
 * 2 (per_node - 1) intra-node ones, so it wins on latency; NVLS (NVSwitch
 * in-network reduction / multicast: all-reduce, all-gather, reduce-scatter,
 * Hopper and later) is one step at its own bandwidth, inside one node. Across
 * nodes all-to-all goes through the NICs. Parameters are the profile's
 * comm_* fields, fitted by models/calibrate.c. It allocates nothing and owns
 * no state.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "models/comm.h"

static const char *const coll_names[MODEL_COLL_COUNT] = {
  "all_reduce", "all_gather", "reduce_scatter", "alltoall", "send_recv",
};
static const char *const algo_names[MODEL_ALGO_COUNT] = { "ring", "tree", "nvls" };
static const char *const proto_names[MODEL_PROTO_COUNT] = { "LL", "LL128", "Simple" };

const char *
model_coll_name (ModelCollective c)
{
  g_return_val_if_fail ((int) c >= 0 && c < MODEL_COLL_COUNT, NULL);
  return coll_names[c];
}

const char *
model_algo_name (ModelAlgo a)
{
  g_return_val_if_fail ((int) a >= 0 && a < MODEL_ALGO_COUNT, NULL);
  return algo_names[a];
}

const char *
model_proto_name (ModelProto p)
{
  g_return_val_if_fail ((int) p >= 0 && p < MODEL_PROTO_COUNT, NULL);
  return proto_names[p];
}

static double
proto_lat (const ModelCostParams *p, int pr)
{
  return pr == MODEL_PROTO_LL ? 1.0 : p->comm_proto_lat[pr];
}

double
model_comm_time (const ModelCostParams *p, const ModelGpu *g, ModelCollective coll,
                 double bytes, int nranks, int per_node, ModelCommChoice *choice)
{
  g_return_val_if_fail (p != NULL && g != NULL, 0);
  g_return_val_if_fail ((int) coll >= 0 && coll < MODEL_COLL_COUNT, 0);
  if (choice) {
    choice->algo = MODEL_ALGO_RING;
    choice->proto = MODEL_PROTO_SIMPLE;
  }
  if (nranks < 2 || !(bytes > 0))
    return 0;
  if (per_node < 1)
    per_node = 1;
  if (per_node > nranks)
    per_node = nranks;
  const double n = nranks;
  const double link = g->nvlink_bw > 0 ? g->nvlink_bw : g->pcie_bw;
  const double bw_intra = link * p->comm_bw_frac[MODEL_HOP_INTRA];
  const double bw_inter = p->comm_bw_frac[MODEL_HOP_INTER];
  const gboolean multi = per_node < nranks;
  const double nodes = ceil (n / per_node);
  /* A ring crossing nodes goes at its slowest hop; NCCL runs one ring per
   * NIC, so a node's GPUs (one NIC each) share the ring traffic. */
  double bw_ring = multi ? fmin (bw_intra, bw_inter * per_node) : bw_intra;
  const double hop_ring = multi ? p->comm_hop_lat_s[MODEL_HOP_INTER] : p->comm_hop_lat_s[MODEL_HOP_INTRA];

  double bus, steps;
  switch (coll) {
  case MODEL_COLL_ALLREDUCE:
    bus = 2 * (n - 1) / n * bytes;
    steps = 2 * (n - 1);
    break;
  case MODEL_COLL_SENDRECV:
    bus = bytes;
    steps = 1;
    bw_ring = multi ? bw_inter : link * p->comm_p2p_frac;
    break;
  case MODEL_COLL_ALLTOALL:
    /* every pair exchanges directly: across nodes each GPU's NIC carries the
     * share of its buffer bound for other nodes */
    bus = multi ? (n - per_node) / n * bytes : (n - 1) / n * bytes;
    steps = n - 1;
    if (multi)
      bw_ring = bw_inter;
    break;
  default:
    bus = (n - 1) / n * bytes;
    steps = n - 1;
    break;
  }

  double best = INFINITY;
  for (int pr = 0; pr < MODEL_PROTO_COUNT; pr++) {
    double frac = p->comm_proto_frac[pr] > 0 ? p->comm_proto_frac[pr] : 1;
    double lat = p->comm_base_lat_s[pr];
    double t = lat + steps * hop_ring * proto_lat (p, pr) + bus / (bw_ring * frac);
    if (t < best) {
      best = t;
      if (choice)
        *choice = (ModelCommChoice) { MODEL_ALGO_RING, pr };
    }
    if (coll == MODEL_COLL_ALLREDUCE && multi) {
      /* tree across nodes, chain inside: latency grows with log2(nodes) */
      double tsteps = 2 * log2 (nodes);
      double tt = lat + (tsteps * p->comm_hop_lat_s[MODEL_HOP_INTER]
                         + 2 * (per_node - 1) * p->comm_hop_lat_s[MODEL_HOP_INTRA])
                        * proto_lat (p, pr)
                  + bus / (fmin (bw_intra, bw_inter * per_node) * frac);
      if (tt < best) {
        best = tt;
        if (choice)
          *choice = (ModelCommChoice) { MODEL_ALGO_TREE, pr };
      }
    }
  }
  /* NVLS needs NVSwitch with in-network reduction: Hopper and later; NCCL
   * uses it for all-reduce, all-gather and reduce-scatter inside a node */
  gboolean nvls = g->nvlink_bw > 0 && g->arch
                  && (strcmp (g->arch, "hopper") == 0 || strcmp (g->arch, "blackwell") == 0);
  gboolean nvls_coll = coll == MODEL_COLL_ALLREDUCE || coll == MODEL_COLL_ALLGATHER
                       || coll == MODEL_COLL_REDUCESCATTER;
  if (nvls_coll && !multi && nvls && p->comm_nvls_frac > 0) {
    double t = p->comm_nvls_lat_s + bus / (link * p->comm_nvls_frac);
    if (t < best) {
      best = t;
      if (choice)
        *choice = (ModelCommChoice) { MODEL_ALGO_NVLS, MODEL_PROTO_SIMPLE };
    }
  }
  return best;
}
