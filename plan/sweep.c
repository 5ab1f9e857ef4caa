/* plan/sweep.c — running many configurations: result slots, the resumable
 * log, and the multi-threaded sweep on one machine.
 *
 * Each configuration is evaluated by one of `jobs` GLib threads taking the
 * next configuration from a shared atomic counter (worlds are independent; the PlanSpec and PolicyRegistry are shared read-only). A
 * finished result goes into its slot and is appended to results.jsonl at
 * once, so a killed sweep loses at most the configurations in flight and a
 * rerun skips what is logged. Does not own evaluating a configuration
 * (plan/search.c), MPI (plan/mpi.c) or the table (plan/report.c).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <glib/gstdio.h>

#include "plan/plan-private.h"

GPtrArray *
plan_results_new (const PlanSpec *spec)
{
  g_return_val_if_fail (spec != NULL, NULL);
  GPtrArray *a = g_ptr_array_new_with_free_func ((GDestroyNotify) json_decref);
  g_ptr_array_set_size (a, spec->n_configs);
  return a;
}

static char *
key_string (const json_t *key)
{
  char *s = json_dumps (key, JSON_COMPACT);
  char *r = g_strdup (s);
  free (s);
  return r;
}

int
plan_results_resume (const PlanSpec *spec, const char *out_dir, GPtrArray *results, GError **error)
{
  g_return_val_if_fail (spec != NULL && out_dir != NULL && results != NULL, -1);
  char *path = g_build_filename (out_dir, "results.jsonl", NULL);
  char *text = NULL;
  GError *e = NULL;
  if (!g_file_test (path, G_FILE_TEST_EXISTS)) {
    g_free (path);
    return 0;
  }
  if (!g_file_get_contents (path, &text, NULL, &e)) {
    g_set_error (error, PLAN_ERROR, PLAN_ERROR_IO, "%s: cannot read the sweep log: %s", path,
                 e->message);
    g_error_free (e);
    g_free (path);
    return -1;
  }
  /* configuration key -> index, so a result is found again even when the
   * space grew or was reordered */
  GHashTable *by_key = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < spec->n_configs; i++) {
    json_t *k = plan__config_key (spec, i);
    g_hash_table_insert (by_key, key_string (k), GUINT_TO_POINTER (i + 1));
    json_decref (k);
  }
  int filled = 0;
  char **lines = g_strsplit (text, "\n", -1);
  for (char **l = lines; *l; l++) {
    if (!**l)
      continue;
    json_t *r = json_loads (*l, 0, NULL);
    json_t *fp = r ? json_object_get (r, "fingerprint") : NULL;
    json_t *key = r ? json_object_get (r, "config") : NULL;
    guint idx = 0;
    if (json_is_string (fp) && strcmp (json_string_value (fp), spec->fingerprint) == 0 && key) {
      char *ks = key_string (key);
      idx = GPOINTER_TO_UINT (g_hash_table_lookup (by_key, ks));
      g_free (ks);
    }
    /* a configuration that failed to run is tried again (the failure may
     * have been transient: a data file being rewritten, a full disk) */
    if (idx && g_strcmp0 (json_string_value (json_object_get (r, "status")), "error") == 0)
      idx = 0;
    if (idx == 0) { /* torn, stale, failed or from another space */
      json_decref (r);
      continue;
    }
    json_object_set_new (r, "index", json_integer (idx - 1));
    char *label = plan_spec_config_label (spec, idx - 1);
    json_object_set_new (r, "label", json_string (label));
    g_free (label);
    if (!g_ptr_array_index (results, idx - 1))
      filled++;
    json_decref (g_ptr_array_index (results, idx - 1));
    g_ptr_array_index (results, idx - 1) = r;
  }
  g_strfreev (lines);
  g_hash_table_destroy (by_key);
  g_free (text);
  g_free (path);
  return filled;
}

/* ---- the log ------------------------------------------------------------- */

struct PlanLog {
  FILE  *fp;
  char  *path;
  GMutex lock;
};

PlanLog *
plan_log_open (const char *out_dir, GError **error)
{
  g_return_val_if_fail (out_dir != NULL, NULL);
  if (g_mkdir_with_parents (out_dir, 0755) != 0) {
    g_set_error (error, PLAN_ERROR, PLAN_ERROR_IO, "%s: cannot create the output directory: %s",
                 out_dir, g_strerror (errno));
    return NULL;
  }
  char *path = g_build_filename (out_dir, "results.jsonl", NULL);
  FILE *fp = fopen (path, "a+");
  if (!fp) {
    g_set_error (error, PLAN_ERROR, PLAN_ERROR_IO, "%s: cannot open the sweep log: %s", path,
                 g_strerror (errno));
    g_free (path);
    return NULL;
  }
  /* a line torn by a kill must not swallow the next one */
  if (fseek (fp, 0, SEEK_END) == 0 && ftell (fp) > 0) {
    fseek (fp, -1, SEEK_END);
    int c = fgetc (fp);
    fseek (fp, 0, SEEK_END);
    if (c != '\n')
      fputc ('\n', fp);
  }
  PlanLog *log = g_new0 (PlanLog, 1);
  log->fp = fp;
  log->path = path;
  g_mutex_init (&log->lock);
  return log;
}

gboolean
plan_log_append (PlanLog *log, const json_t *result, GError **error)
{
  g_return_val_if_fail (log != NULL && result != NULL, FALSE);
  char *s = json_dumps (result, JSON_COMPACT);
  g_mutex_lock (&log->lock);
  gboolean ok = fputs (s, log->fp) >= 0 && fputc ('\n', log->fp) != EOF && fflush (log->fp) == 0;
  g_mutex_unlock (&log->lock);
  free (s);
  if (!ok)
    g_set_error (error, PLAN_ERROR, PLAN_ERROR_IO, "%s: cannot append to the sweep log: %s",
                 log->path, g_strerror (errno));
  return ok;
}

void
plan_log_close (PlanLog *log)
{
  if (!log)
    return;
  fclose (log->fp);
  g_mutex_clear (&log->lock);
  g_free (log->path);
  g_free (log);
}

/* ---- threads --------------------------------------------------------------- */

typedef struct {
  const PlanSpec *spec;
  PolicyRegistry *reg;
  GPtrArray      *results;
  PlanLog        *log;
  GMutex          lock;
  GCond           cond;
  guint          *todo;       /* empty slots, in configuration order */
  guint           n_todo;
  gint            next;       /* atomic: next position in todo */
  PlanProgress    prog;
  guint           pending;
  GError         *error;
} Sweep;

/* One worker thread: takes the next configuration until none is left. The
 * shared counter gives dynamic load balancing without a queue. */
static gpointer
work (gpointer user)
{
  Sweep *sw = user;
  /* the thread's cost model, kept across its configurations */
  ServeCostCache *cache = serve_cost_cache_new ();
  for (;;) {
    gint k = g_atomic_int_add (&sw->next, 1);
    if (k >= (gint) sw->n_todo) {
      serve_cost_cache_free (cache);
      return NULL;
    }
    guint i = sw->todo[k];
    guint sims = 0;
    json_t *r = plan_evaluate (sw->spec, sw->reg, i, cache, &sims);
    GError *e = NULL;
    gboolean logged = !sw->log || plan_log_append (sw->log, r, &e);
    g_mutex_lock (&sw->lock);
    g_ptr_array_index (sw->results, i) = r;
    sw->prog.done++;
    sw->prog.sims += sims;
    if (g_strcmp0 (json_string_value (json_object_get (r, "status")), "pruned") == 0)
      sw->prog.pruned++;
    if (!logged && !sw->error)
      sw->error = e;
    else if (e)
      g_error_free (e);
    sw->pending--;
    g_cond_signal (&sw->cond);
    g_mutex_unlock (&sw->lock);
  }
}

void
plan__count_done (const GPtrArray *results, PlanProgress *p)
{
  for (guint i = 0; i < results->len; i++) {
    json_t *r = g_ptr_array_index (results, i);
    if (!r)
      continue;
    p->done++;
    p->resumed++;
    if (g_strcmp0 (json_string_value (json_object_get (r, "status")), "pruned") == 0)
      p->pruned++;
  }
}

gboolean
plan_sweep_local (const PlanSpec *spec, PolicyRegistry *reg, GPtrArray *results, PlanLog *log,
                  guint jobs, PlanProgressFn progress, gpointer user, PlanProgress *final,
                  GError **error)
{
  g_return_val_if_fail (spec != NULL && reg != NULL && results != NULL, FALSE);
  g_return_val_if_fail (results->len == spec->n_configs, FALSE);
  Sweep sw = { 0 };
  sw.spec = spec;
  sw.reg = reg;
  sw.results = results;
  sw.log = log;
  g_mutex_init (&sw.lock);
  g_cond_init (&sw.cond);
  sw.prog.total = spec->n_configs;
  plan__count_done (results, &sw.prog);
  gint64 t0 = g_get_monotonic_time ();
  if (jobs == 0)
    jobs = g_get_num_processors ();
  sw.todo = g_new (guint, spec->n_configs + 1);
  for (guint i = 0; i < spec->n_configs; i++)
    if (!g_ptr_array_index (results, i))
      sw.todo[sw.n_todo++] = i;
  sw.pending = sw.n_todo;
  GPtrArray *threads = g_ptr_array_new ();
  for (guint k = 0; k < MIN (jobs, sw.n_todo); k++)
    g_ptr_array_add (threads, g_thread_new ("plan-worker", work, &sw));
  g_mutex_lock (&sw.lock);
  while (sw.pending > 0) {
    g_cond_wait_until (&sw.cond, &sw.lock, g_get_monotonic_time () + 250000);
    if (progress) {
      PlanProgress p = sw.prog;
      p.elapsed_s = (g_get_monotonic_time () - t0) / 1e6;
      g_mutex_unlock (&sw.lock);
      progress (&p, user);
      g_mutex_lock (&sw.lock);
    }
  }
  g_mutex_unlock (&sw.lock);
  for (guint k = 0; k < threads->len; k++)
    g_thread_join (g_ptr_array_index (threads, k));
  g_ptr_array_free (threads, TRUE);
  g_free (sw.todo);
  sw.prog.elapsed_s = (g_get_monotonic_time () - t0) / 1e6;
  if (progress)
    progress (&sw.prog, user);
  if (final)
    *final = sw.prog;
  g_mutex_clear (&sw.lock);
  g_cond_clear (&sw.cond);
  if (sw.error) {
    g_propagate_error (error, sw.error);
    return FALSE;
  }
  return TRUE;
}
