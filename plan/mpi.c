/* plan/mpi.c — the sweep over MPI ranks (`mpirun -n N servesim plan ...`).
 *
 * Rank 0 is the master: it owns the list of configurations still to run,
 * the log and the results. Workers ask for work with a message carrying the
 * result of their previous configuration (empty the first time); the master
 * stores and logs that result and answers with the next configuration index,
 * or -1 when none is left. Whoever is free gets the next configuration, so
 * slow configurations do not hold up the rest (dynamic load balancing).
 * Rank 0 also evaluates configurations on `local` threads of its own, pulling
 * from the same list; only its main thread calls MPI (MPI_THREAD_FUNNELED),
 * polling with MPI_Iprobe and a 1 ms sleep so it does not spin a core.
 * Results travel as the same JSON text the log holds (reals print with 17
 * significant digits and parse back exactly), so the table is byte-identical
 * to a single-process one. Built only with MPI (HAVE_MPI); otherwise these
 * functions say so. Does not own evaluating configurations (plan/search.c).
 */
#include "config.h"

#include <string.h>

#include "plan/plan-private.h"

#ifdef HAVE_MPI
#include <mpi.h>

enum { TAG_REQ = 1, TAG_WORK = 2 };

gboolean
plan_mpi_available (void)
{
  return TRUE;
}

gboolean
plan_mpi_init (int *rank, int *size, GError **error)
{
  int provided = 0;
  if (MPI_Init_thread (NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
    g_set_error (error, PLAN_ERROR, PLAN_ERROR_MPI, "MPI_Init_thread failed");
    return FALSE;
  }
  MPI_Comm_rank (MPI_COMM_WORLD, rank);
  MPI_Comm_size (MPI_COMM_WORLD, size);
  if (provided < MPI_THREAD_FUNNELED && *rank == 0)
    g_warning ("MPI provides thread level %d < FUNNELED; rank 0 will not evaluate locally", provided);
  return TRUE;
}

void
plan_mpi_finalize (void)
{
  int fin = 0;
  MPI_Finalized (&fin);
  if (!fin)
    MPI_Finalize ();
}

gboolean
plan_mpi_all_ok (gboolean ok)
{
  int mine = ok != FALSE, all = 0;
  MPI_Allreduce (&mine, &all, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
  return all != 0;
}

/* ---- rank 0 ---------------------------------------------------------------- */

typedef struct {
  const PlanSpec *spec;
  PolicyRegistry *reg;
  GPtrArray      *results;
  PlanLog        *log;
  GMutex          lock;
  guint          *todo;     /* configuration indices still to hand out */
  guint           n_todo, next;
  PlanProgress    prog;
  guint           outstanding; /* handed out, result not yet in */
  GError         *error;
} Master;

/* Next configuration index, or -1; under m->lock. */
static int
take (Master *m)
{
  if (m->next >= m->n_todo)
    return -1;
  m->outstanding++;
  return (int) m->todo[m->next++];
}

/* Store and log one result; under m->lock. Takes ownership of r. */
static void
store (Master *m, json_t *r)
{
  json_t *ix = json_object_get (r, "index");
  guint i = (guint) json_integer_value (ix);
  if (!json_is_integer (ix) || i >= m->results->len || g_ptr_array_index (m->results, i)) {
    if (!m->error)
      g_set_error (&m->error, PLAN_ERROR, PLAN_ERROR_MPI, "a rank sent a result for an unexpected "
                   "configuration index");
    json_decref (r);
    return;
  }
  GError *e = NULL;
  if (m->log && !plan_log_append (m->log, r, &e) && !m->error)
    m->error = e;
  else if (e)
    g_error_free (e);
  g_ptr_array_index (m->results, i) = r;
  m->outstanding--;
  m->prog.done++;
  m->prog.sims += (guint64) json_integer_value (json_object_get (r, "sims"));
  if (g_strcmp0 (json_string_value (json_object_get (r, "status")), "pruned") == 0)
    m->prog.pruned++;
}

static gpointer
local_worker (gpointer data)
{
  Master *m = data;
  ServeCostCache *cache = serve_cost_cache_new ();   /* the thread's, across configurations */
  for (;;) {
    g_mutex_lock (&m->lock);
    int i = take (m);
    g_mutex_unlock (&m->lock);
    if (i < 0) {
      serve_cost_cache_free (cache);
      return NULL;
    }
    json_t *r = plan_evaluate (m->spec, m->reg, (guint) i, cache, NULL);
    g_mutex_lock (&m->lock);
    store (m, r);
    g_mutex_unlock (&m->lock);
  }
}

static gboolean
master (const PlanSpec *spec, PolicyRegistry *reg, GPtrArray *results, PlanLog *log, int size,
        guint local, PlanProgressFn progress, gpointer user, PlanProgress *final, GError **error)
{
  Master m = { 0 };
  m.spec = spec;
  m.reg = reg;
  m.results = results;
  m.log = log;
  g_mutex_init (&m.lock);
  m.prog.total = spec->n_configs;
  plan__count_done (results, &m.prog);
  m.todo = g_new (guint, spec->n_configs + 1);
  for (guint i = 0; i < spec->n_configs; i++)
    if (!g_ptr_array_index (results, i))
      m.todo[m.n_todo++] = i;
  gint64 t0 = g_get_monotonic_time (), last = t0;
  GPtrArray *threads = g_ptr_array_new ();
  for (guint k = 0; k < local; k++)
    g_ptr_array_add (threads, g_thread_new ("plan-local", local_worker, &m));
  int stopped = 0;
  GByteArray *buf = g_byte_array_new ();
  while (stopped < size - 1) {
    int flag = 0;
    MPI_Status st;
    MPI_Iprobe (MPI_ANY_SOURCE, TAG_REQ, MPI_COMM_WORLD, &flag, &st);
    if (!flag) {
      g_usleep (1000);
    } else {
      int len = 0;
      MPI_Get_count (&st, MPI_CHAR, &len);
      g_byte_array_set_size (buf, len + 1);
      MPI_Recv (buf->data, len, MPI_CHAR, st.MPI_SOURCE, TAG_REQ, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      buf->data[len] = 0;
      g_mutex_lock (&m.lock);
      if (len > 0) {
        json_error_t je;
        json_t *r = json_loads ((const char *) buf->data, 0, &je);
        if (r)
          store (&m, r);
        else if (!m.error)
          g_set_error (&m.error, PLAN_ERROR, PLAN_ERROR_MPI, "rank %d sent an unreadable result: %s",
                       st.MPI_SOURCE, je.text);
      }
      int next = take (&m);
      g_mutex_unlock (&m.lock);
      MPI_Send (&next, 1, MPI_INT, st.MPI_SOURCE, TAG_WORK, MPI_COMM_WORLD);
      if (next < 0)
        stopped++;
    }
    gint64 now = g_get_monotonic_time ();
    if (progress && now - last >= 250000) {
      last = now;
      g_mutex_lock (&m.lock);
      PlanProgress p = m.prog;
      g_mutex_unlock (&m.lock);
      p.elapsed_s = (now - t0) / 1e6;
      progress (&p, user);
    }
  }
  for (guint k = 0; k < threads->len; k++)
    g_thread_join (g_ptr_array_index (threads, k));
  g_ptr_array_free (threads, TRUE);
  g_byte_array_free (buf, TRUE);
  m.prog.elapsed_s = (g_get_monotonic_time () - t0) / 1e6;
  if (progress)
    progress (&m.prog, user);
  if (final)
    *final = m.prog;
  g_free (m.todo);
  g_mutex_clear (&m.lock);
  if (!m.error && size == 1 && local == 0 && m.n_todo > 0)
    g_set_error (&m.error, PLAN_ERROR, PLAN_ERROR_MPI, "one rank and no local threads: nothing "
                 "would run (use --jobs 1 or more ranks)");
  if (m.error) {
    g_propagate_error (error, m.error);
    return FALSE;
  }
  return TRUE;
}

/* ---- ranks > 0 ---------------------------------------------------------------- */

static void
worker (const PlanSpec *spec, PolicyRegistry *reg)
{
  char *prev = NULL;
  ServeCostCache *cache = serve_cost_cache_new ();   /* across this rank's configurations */
  for (;;) {
    int len = prev ? (int) strlen (prev) : 0;
    MPI_Send (prev ? prev : "", len, MPI_CHAR, 0, TAG_REQ, MPI_COMM_WORLD);
    free (prev);
    prev = NULL;
    int idx = -1;
    MPI_Recv (&idx, 1, MPI_INT, 0, TAG_WORK, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    if (idx < 0)
      break;
    json_t *r = plan_evaluate (spec, reg, (guint) idx, cache, NULL);
    prev = json_dumps (r, JSON_COMPACT);
    json_decref (r);
  }
  serve_cost_cache_free (cache);
}

gboolean
plan_sweep_mpi (const PlanSpec *spec, PolicyRegistry *reg, GPtrArray *results, PlanLog *log,
                guint local, PlanProgressFn progress, gpointer user, PlanProgress *final,
                GError **error)
{
  g_return_val_if_fail (spec != NULL && reg != NULL, FALSE);
  int rank = 0, size = 1;
  MPI_Comm_rank (MPI_COMM_WORLD, &rank);
  MPI_Comm_size (MPI_COMM_WORLD, &size);
  /* every rank loaded the plan itself: make sure they loaded the same one */
  char fp[65] = { 0 };
  if (rank == 0)
    g_strlcpy (fp, spec->fingerprint, sizeof fp);
  MPI_Bcast (fp, sizeof fp, MPI_CHAR, 0, MPI_COMM_WORLD);
  int same = strcmp (fp, spec->fingerprint) == 0 && plan_spec_n_configs (spec) > 0, all = 0;
  MPI_Allreduce (&same, &all, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
  if (!all) {
    g_set_error (error, PLAN_ERROR, PLAN_ERROR_MPI,
                 "the ranks loaded different plans (fingerprints differ): run every rank with the "
                 "same plan file, options and data directory");
    return FALSE;
  }
  gboolean ok = TRUE;
  if (rank == 0) {
    g_return_val_if_fail (results != NULL, FALSE);
    ok = master (spec, reg, results, log, size, local, progress, user, final, error);
  } else
    worker (spec, reg);
  /* rank 0 tells the others whether the sweep succeeded */
  int okint = ok;
  MPI_Bcast (&okint, 1, MPI_INT, 0, MPI_COMM_WORLD);
  if (!okint && rank != 0)
    g_set_error (error, PLAN_ERROR, PLAN_ERROR_MPI, "rank 0 reported an error (see its message)");
  return okint;
}

#else /* !HAVE_MPI */

gboolean
plan_mpi_available (void)
{
  return FALSE;
}

gboolean
plan_mpi_init (int *rank, int *size, GError **error)
{
  *rank = 0;
  *size = 1;
  g_set_error (error, PLAN_ERROR, PLAN_ERROR_MPI,
               "this servesim was built without MPI: install Open MPI or MPICH (e.g. apt-get install "
               "openmpi-bin libopenmpi-dev) and re-run configure");
  return FALSE;
}

void
plan_mpi_finalize (void)
{
}

gboolean
plan_mpi_all_ok (gboolean ok)
{
  return ok;
}

gboolean
plan_sweep_mpi (const PlanSpec *spec, PolicyRegistry *reg, GPtrArray *results, PlanLog *log,
                guint local, PlanProgressFn progress, gpointer user, PlanProgress *final,
                GError **error)
{
  g_set_error (error, PLAN_ERROR, PLAN_ERROR_MPI, "this servesim was built without MPI");
  return FALSE;
}

#endif

gboolean
plan_mpi_launched (void)
{
  return g_getenv ("OMPI_COMM_WORLD_SIZE") || g_getenv ("PMI_SIZE") || g_getenv ("PMIX_RANK");
}
