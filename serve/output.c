/* serve/output.c — writing summary.json, requests.csv, scenario.json, plots
 * and cluster.dot (see output.h). Also the text summary printed on stdout.
 */
#include "config.h"

#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include "plots/plot.h"
#include "sim/util.h"
#include "serve/metrics.h"
#include "serve/output.h"

struct ServeOutput {
  const ServeScenario *sc;
  char          *dir;
  gboolean       created_dir;
  SimAtomicFile  csv;
  gboolean       csv_open;
  GString       *notes;
};

ServeOutput *
serve_output_new (const ServeScenario *sc, GError **error)
{
  ServeOutput *o = g_new0 (ServeOutput, 1);
  o->sc = sc;
  o->dir = g_strdup (sc->out_dir);
  o->notes = g_string_new (NULL);
  if (!o->dir)
    return o; /* in-memory run: no files */
  if (!g_file_test (o->dir, G_FILE_TEST_IS_DIR)) {
    if (g_mkdir_with_parents (o->dir, 0755) != 0) {
      g_set_error (error, SERVE_ERROR, SERVE_ERROR_RUN, "output.dir: cannot create '%s': %s",
                   o->dir, g_strerror (errno));
      serve_output_free (o);
      return NULL;
    }
    o->created_dir = TRUE;
  }
  if (sc->write_requests) {
    char *p = g_build_filename (o->dir, "requests.csv", NULL);
    gboolean ok = sim_atomic_file_open (&o->csv, p, error);
    g_free (p);
    if (!ok) {
      serve_output_abort (o);
      serve_output_free (o);
      return NULL;
    }
    o->csv_open = TRUE;
    fputs ("id,replica,arrival_s,prompt_tokens,output_tokens,first_scheduled_s,first_token_s,"
           "completion_s,ttft_s,tpot_s,e2e_s,queue_s,preemptions,status\n", o->csv.fp);
  }
  return o;
}

static void
put_time (FILE *fp, SimTime t)
{
  /* exact: nanoseconds as seconds with 9 decimals */
  if (t < 0)
    fputs (",", fp);
  else
    fprintf (fp, ",%" G_GINT64_FORMAT ".%09" G_GINT64_FORMAT, t / SIM_S, t % SIM_S);
}

void
serve_output_request (ServeOutput *out, const struct ServeRequest *r, const char *why)
{
  if (!out || !out->csv_open)
    return;
  FILE *fp = out->csv.fp;
  fprintf (fp, "%" G_GUINT64_FORMAT ",%u", r->id, r->replica);
  put_time (fp, r->arrival);
  fprintf (fp, ",%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT, r->prompt, r->output);
  put_time (fp, r->first_scheduled);
  put_time (fp, r->first_token);
  put_time (fp, r->completion);
  if (why) {
    fprintf (fp, ",,,,,%u,rejected\n", r->preemptions);
    return;
  }
  put_time (fp, r->first_token - r->arrival);
  if (r->output > 1)
    fprintf (fp, ",%.9f", SIM_TIME_TO_S (r->completion - r->first_token) / (double) (r->output - 1));
  else
    fputs (",", fp);
  put_time (fp, r->completion - r->arrival);
  put_time (fp, r->first_scheduled - r->arrival);
  fprintf (fp, ",%u,ok\n", r->preemptions);
}

void
serve_output_abort (ServeOutput *out)
{
  if (!out)
    return;
  if (out->csv_open)
    sim_atomic_file_abort (&out->csv);
  out->csv_open = FALSE;
  if (out->created_dir && out->dir)
    g_rmdir (out->dir); /* only succeeds when empty */
}

void
serve_output_free (ServeOutput *out)
{
  if (!out)
    return;
  if (out->csv_open)
    sim_atomic_file_abort (&out->csv);
  g_free (out->dir);
  g_string_free (out->notes, TRUE);
  g_free (out);
}

void
serve_output_add_note (ServeOutput *out, const char *text)
{
  g_return_if_fail (out != NULL && text != NULL);
  g_string_append_printf (out->notes, "  note: %s\n", text);
}

const char *
serve_output_notes (const ServeOutput *out)
{
  return out ? out->notes->str : "";
}

/* ---- summary ------------------------------------------------------------ */

/* summary.json's account of where a GPU's times come from. */
static json_t *
cost_model_json (const ModelGpu *gpu)
{
  json_t *cm = json_object ();
  json_object_set_new (cm, "profile", gpu->profile_gpu ? json_string (gpu->profile_gpu) : json_null ());
  json_object_set_new (cm, "carried_over", json_boolean (model_gpu_profile_carried (gpu)));
  json_object_set_new (cm, "provenance", json_string (gpu->profile_from ? gpu->profile_from : ""));
  return cm;
}

/* The text summary's line on where a GPU's times come from. */
static void
cost_model_line (GString *s, const ModelGpu *gpu)
{
  if (!gpu->profile_gpu)
    g_string_append_printf (s, "  cost model: generic defaults (no calibrated GPU loaded)\n");
  else if (!model_gpu_profile_carried (gpu))
    g_string_append_printf (s, "  cost model: %s's calibrated profile (its data: 'servesim describe gpus')\n",
                            gpu->id);
  else
    /* a GPU nobody measured: say so, as plainly as the calibrated case */
    g_string_append_printf (s, "  cost model: %s's profile, carried over (no %s measurements: expect larger "
                            "errors,\n              docs/cost-model.md \"GPUs not in the data\")\n",
                            gpu->profile_gpu, gpu->id);
}

json_t *
serve_world_summary_json (ServeWorld *w)
{
  const ServeScenario *sc = serve_world_scenario (w);
  ServeMetrics *m = serve_world_metrics (w);
  const ModelGpu *gpu = serve__world_gpu (w);
  guint nrep = serve_world_n_replicas (w);
  double dur = m->first_arrival >= 0 ? SIM_TIME_TO_S (m->last_event - m->first_arrival) : 0;
  json_t *o = json_object ();
  json_object_set_new (o, "servesim_version", json_string (PACKAGE_VERSION));
  json_object_set_new (o, "scenario", json_string (sc->name));
  json_object_set_new (o, "scenario_file", json_string (sc->origin));
  json_object_set_new (o, "seed", json_integer ((json_int_t) sc->seed));
  json_object_set_new (o, "model", json_string (sc->model));
  json_object_set_new (o, "gpu", json_string (sc->gpu));
  /* which measurements the cost model's times come from */
  json_object_set_new (o, "cost_model", cost_model_json (gpu));
  json_object_set_new (o, "replicas", json_integer (sc->replicas));
  json_object_set_new (o, "tp", json_integer (sc->tp));
  json_object_set_new (o, "pp", json_integer (sc->pp));
  json_object_set_new (o, "network", sc->network ? json_string (sc->network) : json_null ());
  json_object_set_new (o, "scheduler", json_string (sc->scheduler));
  json_object_set_new (o, "router", json_string (sc->router));
  json_object_set_new (o, "cpu_overlap", json_boolean (sc->cpu_overlap));
  json_object_set_new (o, "workload", json_string (serve__world_workload (w)));
  json_t *req = json_object ();
  json_object_set_new (req, "arrived", json_integer ((json_int_t) m->arrived));
  json_object_set_new (req, "completed", json_integer ((json_int_t) m->completed));
  json_object_set_new (req, "rejected", json_integer ((json_int_t) m->rejected));
  json_object_set_new (o, "requests", req);
  json_object_set_new (o, "duration_s", json_real (dur));
  json_t *tp = json_object ();
  json_object_set_new (tp, "requests_per_s", json_real (dur > 0 ? m->completed / dur : 0));
  json_object_set_new (tp, "input_tokens_per_s", json_real (dur > 0 ? m->input_tokens / dur : 0));
  json_object_set_new (tp, "output_tokens_per_s", json_real (dur > 0 ? m->output_tokens / dur : 0));
  json_object_set_new (o, "throughput", tp);
  json_object_set_new (o, "ttft_s", serve_metrics_dist_json (m->ttft));
  json_object_set_new (o, "tpot_s", serve_metrics_dist_json (m->tpot));
  json_object_set_new (o, "inter_token_s", serve_metrics_dist_json (m->itl));
  json_object_set_new (o, "e2e_s", serve_metrics_dist_json (m->e2e));
  json_object_set_new (o, "queue_s", serve_metrics_dist_json (m->queue));
  if (sc->slo_ttft > 0 || sc->slo_tpot > 0) {
    json_t *slo = json_object ();
    double n = (double) (m->completed + m->rejected);
    json_object_set_new (slo, "ttft_s", sc->slo_ttft > 0 ? json_real (sc->slo_ttft) : json_null ());
    json_object_set_new (slo, "tpot_s", sc->slo_tpot > 0 ? json_real (sc->slo_tpot) : json_null ());
    json_object_set_new (slo, "attainment", json_real (n > 0 ? m->slo_met / n : 0));
    json_object_set_new (slo, "ttft_attainment", json_real (n > 0 ? m->slo_ttft_met / n : 0));
    json_object_set_new (slo, "tpot_attainment", json_real (n > 0 ? m->slo_tpot_met / n : 0));
    json_object_set_new (slo, "goodput_requests_per_s", json_real (dur > 0 ? m->slo_met / dur : 0));
    json_object_set_new (o, "slo", slo);
  } else
    json_object_set_new (o, "slo", json_null ());
  json_object_set_new (o, "preemptions", json_integer ((json_int_t) m->preemptions));

  double busy = 0, kv_mean = 0, kv_peak = 0;
  guint64 iters = 0;
  SimTime end = m->last_event;
  for (guint i = 0; i < nrep; i++) {
    struct ServeReplica *rep = serve_world_replica (w, i);
    busy += end > 0 ? (double) rep->busy_ns / (double) end : 0;
    kv_mean += sim_time_avg_mean (&rep->kv_used, end);
    kv_peak = MAX (kv_peak, rep->kv_used.max);
    iters += rep->iterations;
  }
  struct ServeReplica *r0 = serve_world_replica (w, 0);
  json_t *kv = json_object ();
  json_object_set_new (kv, "block_size", json_integer (r0->mem.block_size));
  /* a replica at pp > 1: its virtual engines' blocks together */
  json_object_set_new (kv, "blocks_per_replica", json_integer (r0->mem.num_blocks * sc->pp));
  json_object_set_new (kv, "tokens_per_replica",
                       json_integer (r0->mem.num_blocks * sc->pp * r0->mem.block_size));
  json_object_set_new (kv, "mean_utilisation", json_real (kv_mean / nrep));
  json_object_set_new (kv, "peak_utilisation", json_real (kv_peak));
  json_object_set_new (o, "kv_cache", kv);
  json_t *mem = json_object ();
  json_object_set_new (mem, "gpu_memory_gib", json_real (gpu->mem_bytes / (1 << 30)));
  json_object_set_new (mem, "weights_gib_per_gpu", json_real (r0->mem.weight_bytes / (1 << 30)));
  json_object_set_new (mem, "activation_gib_per_gpu", json_real (r0->mem.activation_bytes / (1 << 30)));
  json_object_set_new (mem, "kv_gib_per_gpu", json_real (r0->mem.kv_bytes / (1 << 30)));
  json_object_set_new (o, "memory", mem);
  json_object_set_new (o, "batch_size", serve_metrics_dist_json (m->batch_size));
  json_object_set_new (o, "batch_tokens", serve_metrics_dist_json (m->batch_tokens));
  json_object_set_new (o, "iterations", json_integer ((json_int_t) iters));
  json_object_set_new (o, "gpu_busy_fraction", json_real (busy / nrep));
  json_object_set_new (o, "events", json_integer ((json_int_t) serve__world_events (w)));
  /* Keys below appear only when the feature is in use. */
  if (sc->priority_fraction > 0 || sc->priority_max_prompt > 0
      || sim_quantiles_count (m->ttft_high) > 0) {
    json_t *pr = json_object (), *hi = json_object (), *lo = json_object ();
    json_object_set_new (hi, "ttft_s", serve_metrics_dist_json (m->ttft_high));
    json_object_set_new (hi, "e2e_s", serve_metrics_dist_json (m->e2e_high));
    json_object_set_new (lo, "ttft_s", serve_metrics_dist_json (m->ttft_normal));
    json_object_set_new (lo, "e2e_s", serve_metrics_dist_json (m->e2e_normal));
    json_object_set_new (pr, "high", hi);
    json_object_set_new (pr, "normal", lo);
    json_object_set_new (o, "priority", pr);
  }
  if (sc->swap || sc->swap_conversation) {
    json_t *sw = json_object ();
    json_object_set_new (sw, "swap_outs", json_integer ((json_int_t) m->swap_outs));
    json_object_set_new (sw, "swap_ins", json_integer ((json_int_t) m->swap_ins));
    json_object_set_new (sw, "blocks_copied", json_integer ((json_int_t) m->swap_blocks));
    json_object_set_new (sw, "gib_copied_per_gpu",
                         json_real (m->swap_blocks * r0->mem.kv_bytes_per_block / 1073741824.0));
    json_object_set_new (sw, "copy_time_s", json_real (SIM_TIME_TO_S (m->swap_ns)));
    json_object_set_new (sw, "overlap", json_boolean (sc->swap_overlap));
    if (sc->swap_conversation) {
      /* re-use of a finished turn's KV by the next turn (per-GPU bytes, as above) */
      double bpb = r0->mem.kv_bytes_per_block;
      json_object_set_new (sw, "conversation_hits", json_integer ((json_int_t) m->conv_hits));
      json_object_set_new (sw, "conversation_tokens_reused",
                           json_integer ((json_int_t) m->conv_tokens));
      json_object_set_new (sw, "conversation_bytes_copied_per_gpu",
                           json_real ((double) (m->conv_blocks_in + m->conv_blocks_out) * bpb));
      json_object_set_new (sw, "conversation_bytes_in_per_gpu", json_real ((double) m->conv_blocks_in * bpb));
      json_object_set_new (sw, "conversation_bytes_out_per_gpu", json_real ((double) m->conv_blocks_out * bpb));
      json_object_set_new (sw, "conversation_saves", json_integer ((json_int_t) m->conv_saves));
      json_object_set_new (sw, "conversation_evictions", json_integer ((json_int_t) m->conv_evictions));
      json_object_set_new (sw, "conversation_skipped", json_integer ((json_int_t) m->conv_skipped));
    }
    json_object_set_new (o, "swap", sw);
  }
  if (sc->prefill_replicas > 0) {
    json_t *d = json_object ();
    json_object_set_new (d, "prefill_replicas", json_integer (sc->prefill_replicas));
    json_object_set_new (d, "decode_replicas", json_integer (sc->replicas - sc->prefill_replicas));
    const struct ServeReplica *rd = serve_world_replica (w, nrep - 1);
    json_object_set_new (d, "decode_gpu", json_string (rd->gpu->id));
    json_object_set_new (d, "decode_tp", json_integer (rd->tp));
    json_object_set_new (d, "decode_blocks_per_replica", json_integer (rd->mem.num_blocks));
    json_object_set_new (d, "decode_cost_model", cost_model_json (rd->gpu));
    json_object_set_new (d, "kv_transfer", json_string (sc->kv_transfer_nvlink ? "nvlink" : "network"));
    json_object_set_new (d, "transfers", json_integer ((json_int_t) m->kv_xfers));
    json_object_set_new (d, "gib_per_gpu", json_real (m->kv_xfer_bytes / 1073741824.0));
    json_object_set_new (d, "transfer_time_mean_s",
                         json_real (m->kv_xfers ? SIM_TIME_TO_S (m->kv_xfer_ns) / (double) m->kv_xfers : 0.0));
    json_object_set_new (o, "disaggregation", d);
  }
  if (sc->prefix_caching) {
    json_t *pc = json_object ();
    json_object_set_new (pc, "block_tokens", json_integer ((json_int_t) sc->prefix_block_tokens));
    json_object_set_new (pc, "lookups", json_integer ((json_int_t) m->pc_lookups));
    json_object_set_new (pc, "lookup_tokens", json_integer ((json_int_t) m->pc_lookup_tokens));
    json_object_set_new (pc, "hit_tokens", json_integer ((json_int_t) m->pc_hit_tokens));
    json_object_set_new (pc, "hit_rate", json_real (m->pc_lookup_tokens
                                                      ? (double) m->pc_hit_tokens / (double) m->pc_lookup_tokens
                                                      : 0.0));
    json_object_set_new (pc, "inserted_units", json_integer ((json_int_t) m->pc_inserted_units));
    json_object_set_new (pc, "evicted_units", json_integer ((json_int_t) m->pc_evicted_units));
    if (sc->prefix_host_gib > 0) {
      json_object_set_new (pc, "host_gib", json_real (sc->prefix_host_gib));
      json_object_set_new (pc, "offloaded_units", json_integer ((json_int_t) m->pc_offloaded_units));
      json_object_set_new (pc, "host_dropped_units", json_integer ((json_int_t) m->pc_host_dropped_units));
      json_object_set_new (pc, "host_hit_tokens", json_integer ((json_int_t) m->pc_host_hit_tokens));
    }
    json_object_set_new (o, "prefix_cache", pc);
  }
  guint64 prop = 0, acc = 0;
  for (guint i = 0; i < nrep; i++) {
    prop += serve_world_replica (w, i)->spec_proposed;
    acc += serve_world_replica (w, i)->spec_accepted;
  }
  if (prop > 0) {
    json_t *sp = json_object ();
    json_object_set_new (sp, "draft", json_string (sc->spec_draft));
    json_object_set_new (sp, "proposed_tokens", json_integer ((json_int_t) prop));
    json_object_set_new (sp, "accepted_tokens", json_integer ((json_int_t) acc));
    json_object_set_new (sp, "acceptance", json_real ((double) acc / (double) prop));
    json_object_set_new (o, "speculation", sp);
  }
  return o;
}

static void
dist_line (GString *s, const char *label, SimQuantiles *q, double scale, const char *unit)
{
  if (sim_quantiles_count (q) == 0) {
    g_string_append_printf (s, "  %-16s (no samples)\n", label);
    return;
  }
  g_string_append_printf (s, "  %-16s %9.2f %9.2f %9.2f %9.2f %9.2f %9.2f  %s\n", label,
                          sim_quantiles_mean (q) * scale, sim_quantiles_get (q, 0.5) * scale,
                          sim_quantiles_get (q, 0.9) * scale, sim_quantiles_get (q, 0.95) * scale,
                          sim_quantiles_get (q, 0.99) * scale, sim_quantiles_max (q) * scale, unit);
}

char *
serve_world_summary_text (ServeWorld *w)
{
  const ServeScenario *sc = serve_world_scenario (w);
  ServeMetrics *m = serve_world_metrics (w);
  json_t *j = serve_world_summary_json (w);
  GString *s = g_string_new (NULL);
#define JN(path) json_number_value (json_object_get (json_object_get (j, path[0]), path[1]))
  double dur = json_number_value (json_object_get (j, "duration_s"));
  g_string_append_printf (s, "servesim %s  scenario '%s' (%s)  seed %" G_GUINT64_FORMAT "\n",
                          PACKAGE_VERSION, sc->name, sc->origin, sc->seed);
  const int np = sc->prefill_replicas, nd = sc->replicas - np;
  const int ngpu = serve_scenario_gpus (sc);
  if (np > 0)
    g_string_append_printf (s, "  model %s on %d x %s (TP %d) prefilling + %d x %s (TP %d) decoding, %d GPUs, "
                            "scheduler %s, router %s\n", sc->model, np, sc->gpu, sc->tp, nd,
                            sc->decode_gpu, sc->decode_tp, ngpu, sc->scheduler, sc->router);
  else if (sc->pp > 1)
    g_string_append_printf (s, "  model %s on %d x %s (TP %d x PP %d per replica: %d virtual engines each, "
                            "%d GPUs), scheduler %s, router %s\n", sc->model, sc->replicas, sc->gpu,
                            sc->tp, sc->pp, sc->pp, ngpu, sc->scheduler, sc->router);
  else
    g_string_append_printf (s, "  model %s on %d x %s (TP %d per replica, %d GPU%s), scheduler %s, router %s\n",
                            sc->model, sc->replicas, sc->gpu, sc->tp, ngpu, ngpu > 1 ? "s" : "",
                            sc->scheduler, sc->router);
  const ModelGpu *gpu = serve__world_gpu (w);
  cost_model_line (s, gpu);
  const ModelGpu *dgpu = serve_world_replica (w, serve_world_n_replicas (w) - 1)->gpu;
  if (dgpu != gpu)
    cost_model_line (s, dgpu);
  if (sc->cpu_overlap)
    g_string_append (s, "  engine: CPU work overlapped with the GPU (engine.cpu_overlap)\n");
  if (sc->network)
    g_string_append_printf (s, "  network between nodes %s\n", sc->network);
  g_string_append_printf (s, "  workload %s\n\n", serve__world_workload (w));
  g_string_append_printf (s, "  requests  %" G_GUINT64_FORMAT " completed, %" G_GUINT64_FORMAT
                          " rejected, over %.1f s simulated\n", m->completed, m->rejected, dur);
  g_string_append_printf (s, "  throughput %.2f req/s, %.0f input tok/s, %.0f output tok/s\n\n",
                          dur > 0 ? m->completed / dur : 0, dur > 0 ? m->input_tokens / dur : 0,
                          dur > 0 ? m->output_tokens / dur : 0);
  g_string_append_printf (s, "  %-16s %9s %9s %9s %9s %9s %9s\n", "latency", "mean", "p50", "p90",
                          "p95", "p99", "max");
  dist_line (s, "TTFT", m->ttft, 1e3, "ms");
  dist_line (s, "TPOT", m->tpot, 1e3, "ms");
  dist_line (s, "inter-token", m->itl, 1e3, "ms");
  dist_line (s, "end-to-end", m->e2e, 1, "s");
  dist_line (s, "queueing", m->queue, 1e3, "ms");
  dist_line (s, "batch size", m->batch_size, 1, "seqs");
  if (sc->slo_ttft > 0 || sc->slo_tpot > 0) {
    json_t *slo = json_object_get (j, "slo");
    g_string_append_printf (s, "\n  SLO (TTFT <= %g s, TPOT <= %g s): %.1f%% attained, goodput %.2f req/s\n",
                            sc->slo_ttft, sc->slo_tpot,
                            100 * json_number_value (json_object_get (slo, "attainment")),
                            json_number_value (json_object_get (slo, "goodput_requests_per_s")));
  }
  g_string_append_printf (s, "\n  preemptions %" G_GUINT64_FORMAT ", KV cache %.1f%% mean / %.1f%% peak of %"
                          G_GINT64_FORMAT " blocks per replica, GPU busy %.1f%%\n",
                          m->preemptions, 100 * JN (((const char *[]) { "kv_cache", "mean_utilisation" })),
                          100 * JN (((const char *[]) { "kv_cache", "peak_utilisation" })),
                          (gint64) JN (((const char *[]) { "kv_cache", "blocks_per_replica" })),
                          100 * json_number_value (json_object_get (j, "gpu_busy_fraction")));
#undef JN
  json_t *pr = json_object_get (j, "priority");
  if (pr) {
    json_t *hi = json_object_get (json_object_get (pr, "high"), "ttft_s");
    json_t *lo = json_object_get (json_object_get (pr, "normal"), "ttft_s");
    g_string_append_printf (s, "  priority classes: TTFT p99 high %.2f ms (%" G_GINT64_FORMAT
                            " requests), normal %.2f ms\n",
                            1e3 * json_number_value (json_object_get (hi, "p99")),
                            (gint64) json_integer_value (json_object_get (hi, "count")),
                            1e3 * json_number_value (json_object_get (lo, "p99")));
  }
  json_t *sw = json_object_get (j, "swap");
  if (sw)
    g_string_append_printf (s, "  swapping: %" G_GINT64_FORMAT " out, %" G_GINT64_FORMAT
                            " in, %.2f GiB per GPU over the host link, %.3f s of copies (%s)\n",
                            (gint64) json_integer_value (json_object_get (sw, "swap_outs")),
                            (gint64) json_integer_value (json_object_get (sw, "swap_ins")),
                            json_number_value (json_object_get (sw, "gib_copied_per_gpu")),
                            json_number_value (json_object_get (sw, "copy_time_s")),
                            json_is_true (json_object_get (sw, "overlap")) ? "overlapped" : "blocking");
  if (sw && json_object_get (sw, "conversation_hits"))
    g_string_append_printf (s, "  conversation re-use: %" G_GINT64_FORMAT " turns found KV on the "
                            "host, %" G_GINT64_FORMAT " prompt tokens not prefilled, %.2f GiB per "
                            "GPU copied\n",
                            (gint64) json_integer_value (json_object_get (sw, "conversation_hits")),
                            (gint64) json_integer_value (json_object_get (sw, "conversation_tokens_reused")),
                            json_number_value (json_object_get (sw, "conversation_bytes_copied_per_gpu"))
                              / 1073741824.0);
  json_t *dg = json_object_get (j, "disaggregation");
  if (dg)
    g_string_append_printf (s, "  disaggregated: %" G_GINT64_FORMAT " prefill + %" G_GINT64_FORMAT
                            " decode replicas (%s, TP %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
                            " KV blocks each); %" G_GINT64_FORMAT " KV transfers over %s, %.2f GiB "
                            "per sending GPU, %.3f ms each on average\n",
                            (gint64) json_integer_value (json_object_get (dg, "prefill_replicas")),
                            (gint64) json_integer_value (json_object_get (dg, "decode_replicas")),
                            json_string_value (json_object_get (dg, "decode_gpu")),
                            (gint64) json_integer_value (json_object_get (dg, "decode_tp")),
                            (gint64) json_integer_value (json_object_get (dg, "decode_blocks_per_replica")),
                            (gint64) json_integer_value (json_object_get (dg, "transfers")),
                            json_string_value (json_object_get (dg, "kv_transfer")),
                            json_number_value (json_object_get (dg, "gib_per_gpu")),
                            1e3 * json_number_value (json_object_get (dg, "transfer_time_mean_s")));
  json_t *pc = json_object_get (j, "prefix_cache");
  if (pc && json_integer_value (json_object_get (pc, "lookups")) == 0)
    g_string_append (s, "  prefix cache: no request's prompt had block hashes (a Mooncake-format "
                        "trace gives them), so nothing was shared\n");
  else if (pc)
    g_string_append_printf (s, "  prefix cache: %.1f%% of prompt tokens found cached (%" G_GINT64_FORMAT
                            " of %" G_GINT64_FORMAT " over %" G_GINT64_FORMAT " admissions), %"
                            G_GINT64_FORMAT " units of %" G_GINT64_FORMAT " tokens cached, %"
                            G_GINT64_FORMAT " evicted\n",
                            100 * json_number_value (json_object_get (pc, "hit_rate")),
                            (gint64) json_integer_value (json_object_get (pc, "hit_tokens")),
                            (gint64) json_integer_value (json_object_get (pc, "lookup_tokens")),
                            (gint64) json_integer_value (json_object_get (pc, "lookups")),
                            (gint64) json_integer_value (json_object_get (pc, "inserted_units")),
                            (gint64) json_integer_value (json_object_get (pc, "block_tokens")),
                            (gint64) json_integer_value (json_object_get (pc, "evicted_units")));
  if (pc && json_object_get (pc, "host_gib"))
    g_string_append_printf (s, "  prefix cache host tier (%g GiB): %" G_GINT64_FORMAT " units offloaded, %"
                            G_GINT64_FORMAT " dropped, %" G_GINT64_FORMAT " hit tokens copied back\n",
                            json_number_value (json_object_get (pc, "host_gib")),
                            (gint64) json_integer_value (json_object_get (pc, "offloaded_units")),
                            (gint64) json_integer_value (json_object_get (pc, "host_dropped_units")),
                            (gint64) json_integer_value (json_object_get (pc, "host_hit_tokens")));
  json_t *sp = json_object_get (j, "speculation");
  if (sp)
    g_string_append_printf (s, "  speculation (%s): %" G_GINT64_FORMAT " draft tokens, %.1f%% accepted\n",
                            json_string_value (json_object_get (sp, "draft")),
                            (gint64) json_integer_value (json_object_get (sp, "proposed_tokens")),
                            100 * json_number_value (json_object_get (sp, "acceptance")));
  json_decref (j);
  return g_string_free (s, FALSE);
}

/* ---- files ---------------------------------------------------------------- */

static gboolean
write_text (const char *dir, const char *name, const char *text, GError **error)
{
  char *p = g_build_filename (dir, name, NULL);
  gboolean ok = g_file_set_contents (p, text, -1, error); /* temp + rename */
  g_free (p);
  return ok;
}

static gboolean
write_json (const char *dir, const char *name, json_t *j, GError **error)
{
  char *s = json_dumps (j, JSON_INDENT (2) | JSON_REAL_PRECISION (10));
  char *t = g_strconcat (s, "\n", NULL);
  gboolean ok = write_text (dir, name, t, error);
  free (s);
  g_free (t);
  return ok;
}

/* A CDF from the quantile summary: 201 points, so memory stays bounded. */
static void
cdf_points (SimQuantiles *q, double scale, double *out, gsize *n)
{
  *n = 0;
  if (sim_quantiles_count (q) == 0)
    return;
  for (int i = 0; i <= 200; i++)
    out[(*n)++] = sim_quantiles_get (q, i / 200.0) * scale;
}

static gboolean
write_plots (ServeOutput *o, ServeWorld *w, GError **error)
{
  ServeMetrics *m = serve_world_metrics (w);
  const ServeScenario *sc = o->sc;
  double a[201], b[201];
  gsize na, nb;
  char *title = g_strdup_printf ("%s: %s on %d x %s, %s, seed %" G_GUINT64_FORMAT, sc->name,
                                 sc->model, sc->replicas, sc->gpu, sc->scheduler, sc->seed);
  cdf_points (m->ttft, 1e3, a, &na);
  PlotSeries ttft = { "TTFT", a, na };
  gboolean ok = plot_write_cdf (o->dir, "ttft_cdf", title, "time to first token (ms)", &ttft, 1, error);
  cdf_points (m->tpot, 1e3, a, &na);
  cdf_points (m->itl, 1e3, b, &nb);
  PlotSeries tpot[2] = { { "TPOT (per request)", a, na }, { "inter-token gap", b, nb } };
  ok = ok && plot_write_cdf (o->dir, "tpot_cdf", title, "time per output token (ms)", tpot, 2, error);

  GArray *tl = m->timeline;
  double *t = g_new (double, tl->len + 1), *v = g_new (double, 3 * tl->len + 1);
  for (guint i = 0; i < tl->len; i++) {
    ServeTimelineRow *r = &g_array_index (tl, ServeTimelineRow, i);
    t[i] = r->t_s;
    v[3 * i] = r->queued;
    v[3 * i + 1] = r->running;
    v[3 * i + 2] = 100 * r->kv_used;
  }
  const char *cols[] = { "queued requests", "running batch size", "KV cache used (%)" };
  ok = ok && plot_write_timeline (o->dir, "timeline", title, t, v, tl->len, cols, 3, error);
  g_free (t);
  g_free (v);
  g_free (title);
  if (!ok)
    return FALSE;

  /* cluster.dot: router -> replicas, each a cluster of its GPUs with links. */
  PlotGraph *g = plot_graph_new ("cluster");
  char *lbl = g_strdup_printf ("router\n%s", sc->router);
  plot_graph_node (g, "router", lbl, "diamond");
  g_free (lbl);
  const ModelNetwork *net = serve__world_network (w);
  const int node_gpus = net ? net->gpus_per_node : MODEL_NODE_GPUS;   /* as the cost model's all-reduce */
  /* disaggregated: the router feeds the prefill replicas, whose KV goes
   * through one "KV transfer" node to the decode replicas */
  const int np = sc->prefill_replicas;
  if (np > 0) {
    char *kl = g_strdup_printf ("KV transfer\n%s", sc->kv_transfer_nvlink ? "NVLink" : "network");
    plot_graph_node (g, "kv", kl, "ellipse");
    g_free (kl);
  }
  for (int i = 0; i < sc->replicas; i++) {
    char *cid = g_strdup_printf ("replica%d", i);
    /* at pp > 1 replica i is virtual engines i * pp .. i * pp + pp - 1, on
     * pp stages of tp GPUs each (GPU k is stage k / tp) */
    const int pp = sc->pp;
    const struct ServeReplica *rep = serve_world_replica (w, (guint) (i * pp));
    const ModelGpu *rg = rep->gpu;
    char *ppl = pp > 1 ? g_strdup_printf (" x PP %d (%d virtual engines)", pp, pp) : g_strdup ("");
    char *clabel = g_strdup_printf ("%sreplica %d: %s, TP %d%s, scheduler %s",
                                    np == 0 ? "" : i < np ? "prefill " : "decode ", i, sc->model,
                                    rep->tp, ppl, sc->scheduler);
    g_free (ppl);
    plot_graph_begin_cluster (g, cid, clabel);
    for (int k = 0; k < rep->tp * pp; k++) {
      char *nid = g_strdup_printf ("r%dg%d", i, k);
      char *stage = pp > 1 ? g_strdup_printf (" (stage %d)", k / rep->tp) : g_strdup ("");
      char *nl = g_strdup_printf ("GPU %d%s\n%s\n%.0f GiB", k, stage, rg->id, rg->mem_bytes / (1 << 30));
      plot_graph_node (g, nid, nl, "box");
      g_free (stage);
      g_free (nid);
      g_free (nl);
    }
    plot_graph_end_cluster (g);
    char *first = g_strdup_printf ("r%dg0", i);
    if (np == 0 || i < np)
      plot_graph_edge (g, "router", first, NULL);
    if (np > 0)
      plot_graph_edge (g, i < np ? first : "kv", i < np ? "kv" : first, NULL);
    g_free (first);
    const gboolean rnvlink = rg->nvlink_bw > 0;
    for (int s = 0; s + 1 < pp; s++) {
      char *x = g_strdup_printf ("r%dg%d", i, s * rep->tp), *y = g_strdup_printf ("r%dg%d", i, (s + 1) * rep->tp);
      plot_graph_edge (g, x, y, rep->tp * pp <= node_gpus ? "PP send/recv" : "PP send/recv\n(network)");
      g_free (x);
      g_free (y);
    }
    for (int k = 0; k + 1 < rep->tp * pp; k++) {
      if ((k + 1) % rep->tp == 0)
        continue;   /* the next stage's first GPU: linked above */
      char *x = g_strdup_printf ("r%dg%d", i, k), *y = g_strdup_printf ("r%dg%d", i, k + 1);
      /* a TP group wider than a node crosses the network between nodes */
      char *el = (k + 1) % node_gpus == 0
                   ? g_strdup_printf ("network %s\n%.0f GB/s per GPU", net ? net->id : "(GPU profile's)",
                                      (net ? net->params[MODEL_NET_BW_INTER] : rg->profile.comm_bw_frac[MODEL_HOP_INTER]) / 1e9)
                   : g_strdup_printf ("%s %.0f GB/s", rnvlink ? "NVLink" : "PCIe",
                                      (rnvlink ? rg->nvlink_bw : rg->pcie_bw) / 1e9);
      plot_graph_edge (g, x, y, el);
      g_free (x);
      g_free (y);
      g_free (el);
    }
    g_free (cid);
    g_free (clabel);
  }
  ok = plot_graph_write (g, o->dir, "cluster", error);
  plot_graph_free (g);
  if (!ok || !sc->render)
    return ok;

  /* Rendering is optional: a missing tool is a note, not a failure. */
  const char *scripts[] = { "ttft_cdf.gp", "tpot_cdf.gp", "timeline.gp" };
  for (guint i = 0; i < G_N_ELEMENTS (scripts); i++) {
    GError *e = NULL;
    if (!plot_render_gnuplot (o->dir, scripts[i], &e)) {
      g_string_append_printf (o->notes, "  note: %s\n", e->message);
      gboolean missing = e->code == PLOT_ERROR_TOOL_MISSING;
      g_error_free (e);
      if (missing)
        break;
    }
  }
  GError *e = NULL;
  if (!plot_render_dot (o->dir, "cluster", &e)) {
    g_string_append_printf (o->notes, "  note: %s\n", e->message);
    g_error_free (e);
  }
  return TRUE;
}

gboolean
serve_output_commit (ServeOutput *o, ServeWorld *w, GError **error)
{
  if (!o->dir)
    return TRUE;
  json_t *summary = serve_world_summary_json (w);
  gboolean ok = write_json (o->dir, "summary.json", summary, error);
  json_decref (summary);
  char *scen = ok ? serve_scenario_dump (o->sc) : NULL;
  ok = ok && write_text (o->dir, "scenario.json", scen, error);
  g_free (scen);
  ok = ok && (!o->sc->write_plots || write_plots (o, w, error));
  if (ok && o->csv_open) {
    o->csv_open = FALSE;
    ok = sim_atomic_file_commit (&o->csv, error);
  }
  if (!ok) {
    /* All or nothing: remove what this commit had already put in place. */
    static const char *const names[] = {
      "summary.json", "scenario.json", "requests.csv", "ttft_cdf.dat", "ttft_cdf.gp",
      "ttft_cdf.png", "tpot_cdf.dat", "tpot_cdf.gp", "tpot_cdf.png", "timeline.dat",
      "timeline.gp", "timeline.png", "cluster.dot", "cluster.svg",
    };
    for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
      char *p = g_build_filename (o->dir, names[i], NULL);
      g_unlink (p);
      g_free (p);
    }
    serve_output_abort (o);
  }
  return ok;
}
