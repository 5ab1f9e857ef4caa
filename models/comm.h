/* models/comm.h — collective-communication cost the way NCCL prices it.
 *
 * For each algorithm (ring, tree, NVLS where the profile has it) and protocol
 * (LL, LL128, Simple): time = base latency(protocol) + steps x hop latency x
 * protocol factor + bus bytes / (bus bandwidth x protocol fraction); the
 * pair NCCL's tuner rates cheapest is chosen and priced at what it really
 * reaches (they differ for the tree across nodes). Point-to-point kinds
 * (send/recv, all-to-all) use LL or Simple by NCCL's 16 KiB rule. Hops are
 * intra-node (NVLink/NVSwitch, or PCIe without NVLink) or inter-node (NIC); a
 * ring that spans nodes runs at the slower of the two, a node's NICs capped
 * by comm_bw.node. It does not own the parameters
 * (models/profile.h) nor when collectives happen (models/cost.c, serve/).
 */
#ifndef MODEL_COMM_H
#define MODEL_COMM_H

#include <glib.h>
#include "models/catalog.h"
#include "models/profile.h"

typedef enum {
  MODEL_COLL_ALLREDUCE,
  MODEL_COLL_ALLGATHER,     /* bytes = the whole gathered buffer */
  MODEL_COLL_REDUCESCATTER, /* bytes = the whole input buffer */
  MODEL_COLL_ALLTOALL,      /* bytes = each rank's whole send buffer */
  MODEL_COLL_SENDRECV,      /* one point-to-point transfer (pipeline stages) */
  MODEL_COLL_COUNT
} ModelCollective;

typedef enum { MODEL_ALGO_RING, MODEL_ALGO_TREE, MODEL_ALGO_NVLS, MODEL_ALGO_COUNT } ModelAlgo;

typedef struct {
  ModelAlgo  algo;
  ModelProto proto;
} ModelCommChoice;

const char *model_coll_name (ModelCollective c);
const char *model_algo_name (ModelAlgo a);
const char *model_proto_name (ModelProto p);

/* Whether g runs NCCL's NVLS algorithm: NVSwitch with in-network reduction,
 * Hopper and later. */
gboolean model_gpu_has_nvls (const ModelGpu *g);

/* Time in seconds of one collective of `bytes` over `nranks` GPUs, `per_node`
 * of them in each node (per_node >= nranks: one node). `choice` (nullable)
 * gets the cheapest algorithm and protocol. 0 for nranks < 2 or bytes <= 0.
 * For SENDRECV nranks is 2 and per_node 1 means the peers are on different nodes. */
double model_comm_time (const ModelCostParams *p, const ModelGpu *g, ModelCollective coll,
                        double bytes, int nranks, int per_node, ModelCommChoice *choice);

#endif
