/* models/comm.c — NCCL-style collective cost: every (algorithm, protocol)
 * priced as latency + bytes / bandwidth, the cheapest kept.
 *
 * Bus bytes follow nccl-tests' definitions (all-reduce 2(n-1)/n x size, all-gather,
 * reduce-scatter and all-to-all (n-1)/n x size, send/recv size). Ring steps are
 * 2(n-1) for all-reduce and n-1 for the others; a tree all-reduce across
 * nodes moves the same bus bytes in 2 log2(nodes) inter-node steps plus
 * 2 (per_node - 1) intra-node ones, each step and its medium-size bandwidth
 * priced with NCCL's own tree tables, and the tuner's pick kept; a send/recv
 * has its own fixed latency where the profile gives one; NVLS (NVSwitch
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

/* NCCL's tree pipeline, per its tuner's tables (src/graph/tuning.cc as of
 * the 2.10-era releases; later ones retune them):
 * a tree step's latency over the ring's, per hop type (NVLink, PCIe,
 * network) and protocol: the Simple tree's is one 256 KiB chunk's (28 vs
 * 3.4 us on NVLink, 28 vs 5.7 over PCIe, 50 vs 9.6 on the network), LL's
 * and LL128's near the ring's */
enum { TREE_NVLINK, TREE_PCIE, TREE_NET };
static const double tree_hop[3][MODEL_PROTO_COUNT] = {
  { 0.52 / 0.47, 1.2 / 1.9, 28.0 / 3.4 },
  { 1.0 / 1.0, 1.9 / 2.5, 28.0 / 5.7 },
  { 5.0 / 2.7, 8.5 / 4.0, 50.0 / 9.6 },
};

/* and the tree's bandwidth at medium sizes, below its nominal rate (NCCL's
 * treeCorrectionFactor: powers of two from 64 B; 0.5 for Simple from 128 KiB
 * to 8 MiB): what it believes and, by its authors' measurements, what runs */
static double
tree_size_factor (int pr, double bytes)
{
  static const double f[MODEL_PROTO_COUNT][22] = {
    { 1.0, 1.0, 1.0, 1.0, .9, .8, .7, .7, .7, .7, .6, .5, .4, .4, .5, .6, .7, .8, .9, 1.0, 1.0, 1.0 },
    { 1.0, 1.0, 1.0, 1.0, 1.0, .9, .8, .8, .8, .7, .6, .6, .6, .5, .6, .6, .7, .7, .8, .9, .9, 1.0 },
    { .9, .9, .9, .9, .9, .9, .9, .8, .7, .6, .6, .5, .5, .5, .5, .5, .5, .6, .6, .7, .8, .9 },
  };
  double units = floor (bytes / 64);
  if (units < 1)
    return f[pr][0];
  int i = (int) floor (log2 (units));
  return i < 22 ? f[pr][i] : 1.0;
}

gboolean
model_gpu_has_nvls (const ModelGpu *g)
{
  g_return_val_if_fail (g != NULL, FALSE);
  return g->nvlink_bw > 0 && g->arch
         && (strcmp (g->arch, "hopper") == 0 || strcmp (g->arch, "blackwell") == 0);
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
  const double bw_p2p = link * p->comm_p2p_frac;
  /* one GPU's NIC, one way (what a lone send/recv between nodes reaches) */
  const double nic = p->comm_bw_frac[MODEL_HOP_INTER];
  const gboolean multi = per_node < nranks;
  const double nodes = ceil (n / per_node);
  /* What leaves one node per second in a collective: each GPU sends and
   * receives at once (ring neighbours, all-to-all peers), which a NIC does at
   * comm_duplex_frac of its one-way rate (the Vidur A100 cluster: 5.9 GB/s
   * bus bandwidth for a 2-node all-reduce vs 7.8 GB/s for send/recv), and
   * all the node's GPUs together cannot pass more than its NICs or uplink
   * carry (comm_bw.node: the same cluster reaches 21 GB/s with 4 GPUs per
   * node and 17.5 GB/s with 8, not 4x and 8x 5.9). */
  const double duplex = p->comm_duplex_frac > 0 ? p->comm_duplex_frac : 1;
  const double node_cap = p->comm_node_bw > 0 ? p->comm_node_bw : INFINITY;
  const double node_out = fmin (per_node * nic * duplex, node_cap);
  /* A ring crossing nodes goes at its slowest hop; NCCL runs one ring per
   * NIC, and every ring crosses each node boundary once per direction, so a
   * node's egress equals the ring's bus bandwidth. */
  double bw_ring = multi ? fmin (bw_intra, node_out) : bw_intra;
  const double hop_intra = p->comm_hop_lat_s[MODEL_HOP_INTRA];
  const double hop_inter = p->comm_hop_lat_s[MODEL_HOP_INTER];

  double bus, steps;
  switch (coll) {
  case MODEL_COLL_ALLREDUCE:
    bus = 2 * (n - 1) / n * bytes;
    steps = 2 * (n - 1);
    break;
  case MODEL_COLL_SENDRECV:
    bus = bytes;
    steps = 1;
    bw_ring = multi ? nic : bw_p2p;
    break;
  case MODEL_COLL_ALLTOALL:
    /* NCCL runs an all-to-all as n-1 grouped point-to-point transfers per
     * rank, all in flight at once: one step of latency, not n-1, plus a
     * fixed cost for the grouped launch (comm_a2a_lat_s; H100 nccl-tests at
     * 32 MiB: 35 us above the bandwidth term at both 4 and 8 GPUs, where a
     * lone send/recv of 1 MB takes 10 us in all). Inside a node the NVSwitch
     * is non-blocking, so each GPU's link is the limit, at the
     * point-to-point rate (H100: 348-357 GB/s bus bandwidth at 4 and 8 GPUs,
     * like send/recv's 347-367). Across nodes each GPU's NIC carries the
     * share of its buffer bound for other nodes, at its share of the node's
     * egress. Either way the n-1 peers' flows split each GPU's channels
     * and queue pairs and load both directions of its links at once (each
     * direction also carrying the response and credit packets of the
     * opposite flow), so an all-to-all runs at comm_a2a_frac of what the
     * same links carry for one peer: the one-way send/recv rate inside a
     * node (H100 nccl-tests above 1 GiB: 348-357 GB/s with 4 and 8 GPUs vs
     * 367 for a lone send/recv, biasing the all-to-all rows -6% when priced
     * at the send/recv rate), a ring's share of the node egress across
     * nodes (ALCF 2 x 8 A100 at 1 GiB: 21.2 GB/s per GPU vs the all-reduce's
     * 22.3). */
    steps = 1;
    const double a2a_frac = p->comm_a2a_frac > 0 ? p->comm_a2a_frac : 1;
    if (multi) {
      bus = (n - per_node) / n * bytes;
      bw_ring = node_out / per_node * a2a_frac;
    } else {
      bus = (n - 1) / n * bytes;
      bw_ring = bw_p2p * a2a_frac;
    }
    break;
  default:
    bus = (n - 1) / n * bytes;
    steps = n - 1;
    break;
  }

  /* NCCL's tuner picks the (algorithm, protocol) its own cost model rates
   * fastest and then runs at whatever that pair really reaches. Its model
   * gives a tree all-reduce across nodes 0.92 of the ring's bus bandwidth
   * (src/graph/tuning.cc) and the tree's lower latency, so below a crossover
   * size it runs the tree. Where the tree really moves less than that
   * (comm_tree_frac of the ring's bandwidth: it funnels a node's traffic
   * through fewer NICs), the tree rows come out slower than a ring would
   * have been: the Vidur A100 2-node all-reduces with 2, 4 and 8 GPUs per
   * node run at about one NIC's rate below 5-13 MB and at several NICs'
   * above. `best` is the tuner's estimate, `actual` the time returned. */
  const double tree_belief = 0.92;
  /* A ring is a pipeline whose steps move in lockstep: when it crosses
   * nodes every step waits for the network hop, so each pays its latency. */
  const double ring_hops = steps * (multi ? hop_inter : hop_intra);
  double best = INFINITY, actual = INFINITY;
  /* Point-to-point kinds bypass the tuner: NCCL sends each peer's part with
   * LL up to NCCL_P2P_LL_THRESHOLD (16 KiB) and with Simple above it. */
  const gboolean p2p = coll == MODEL_COLL_SENDRECV || coll == MODEL_COLL_ALLTOALL;
  const double peer_bytes = coll == MODEL_COLL_ALLTOALL ? bytes / n : bytes;
  const int p2p_proto = peer_bytes <= 16384 ? MODEL_PROTO_LL : MODEL_PROTO_SIMPLE;
  for (int pr = 0; pr < MODEL_PROTO_COUNT; pr++) {
    if (p2p && pr != p2p_proto)
      continue;
    double frac = p->comm_proto_frac[pr] > 0 ? p->comm_proto_frac[pr] : 1;
    double bw = bw_ring * frac;
    if (pr == MODEL_PROTO_LL && multi && !p2p && p->comm_ll_bw_inter > 0)
      bw = fmin (bw, p->comm_ll_bw_inter);
    /* a send/recv is a point-to-point launch with its own fixed cost (the
     * Vidur A100 node: ~9 us against the ring's ~40; sharing one value
     * biased its 2- and 8-GPU all-reduces by -11 and +12%) */
    double lat = coll == MODEL_COLL_SENDRECV && p->comm_p2p_lat_s > 0 ? p->comm_p2p_lat_s
                 : p->comm_base_lat_s[pr] + (coll == MODEL_COLL_ALLTOALL ? p->comm_a2a_lat_s : 0);
    /* A send/recv or an all-to-all is point-to-point transfers, not a
     * ring's pipeline: its one step costs the link's latency, without the
     * protocol's per-step ratio (with Simple's 6.7x the A100 fit traded the
     * 2 x 1 network hop against the ring's steps: all-reduce p90 33.0%;
     * without, 22.5%, and its 2 x 4 configuration 41.7 -> 14.7) */
    double t = lat + ring_hops * (p2p ? 1.0 : proto_lat (p, pr)) + bus / bw;
    if (t < best) {
      best = actual = t;
      if (choice)
        *choice = (ModelCommChoice) { MODEL_ALGO_RING, pr };
    }
    if (coll == MODEL_COLL_ALLREDUCE && multi) {
      /* tree across nodes, chain inside: latency grows with log2(nodes) */
      double tsteps = 2 * log2 (nodes);
      const int intra = g->nvlink_bw > 0 ? TREE_NVLINK : TREE_PCIE;
      double tlat = lat + (tsteps * hop_inter * tree_hop[TREE_NET][pr]
                           + 2 * (per_node - 1) * hop_intra * tree_hop[intra][pr]) * proto_lat (p, pr);
      double tbw = fmin (bw_intra, node_out) * frac * tree_size_factor (pr, bytes);
      if (pr == MODEL_PROTO_LL && p->comm_ll_bw_inter > 0)
        tbw = fmin (tbw, p->comm_ll_bw_inter);
      double tt = tlat + bus / (tbw * tree_belief);
      if (tt < best) {
        best = tt;
        actual = tlat + bus / (tbw * (p->comm_tree_frac > 0 ? p->comm_tree_frac : tree_belief));
        if (choice)
          *choice = (ModelCommChoice) { MODEL_ALGO_TREE, pr };
      }
    }
  }
  /* NVLS needs NVSwitch with in-network reduction: Hopper and later; NCCL
   * uses it for all-reduce, all-gather and reduce-scatter inside a node */
  gboolean nvls = model_gpu_has_nvls (g);
  gboolean nvls_coll = coll == MODEL_COLL_ALLREDUCE || coll == MODEL_COLL_ALLGATHER
                       || coll == MODEL_COLL_REDUCESCATTER;
  if (nvls_coll && !multi && nvls && p->comm_nvls_frac > 0) {
    /* An NVLS all-reduce moves per GPU link what the switch pulls and
     * multicasts: every shard of its buffer once out (the switch reduces
     * them) and every reduced shard once in, S (n+1)/n each way, against a
     * ring's 2 (n-1)/n S. Its bus bandwidth therefore grows with n
     * (2 (n-1)/(n+1) x the link rate; nccl-tests, NCCL 2.29, 16 GiB: 367 GB/s
     * at 4 GPUs, 482 at 8, above the 450 GB/s link: ratio 1.31, the form
     * says 1.30), and at 2 GPUs it moves more than a ring. All-gather and
     * reduce-scatter keep the bus bytes: the multicast or the reduction
     * saves nothing on the link there. */
    double moved = coll == MODEL_COLL_ALLREDUCE ? bytes * (n + 1) / n : bus;
    double t = p->comm_nvls_lat_s + moved / (link * p->comm_nvls_frac);
    if (t < best) {
      actual = t;
      if (choice)
        *choice = (ModelCommChoice) { MODEL_ALGO_NVLS, MODEL_PROTO_SIMPLE };
    }
  }
  return actual;
}
