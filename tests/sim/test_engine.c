/* tests/sim/test_engine.c — the discrete-event core (sim/engine.c) through its
 * public API: firing order by time, ties in scheduling order, cancellation,
 * run(until)/stop()/step() and the clock, programmer errors, and a randomised
 * comparison against a reference sort. Does not measure speed (bench/ does).
 */
#include "config.h"

#include <string.h>

#include "sim/engine.h"
#include "sim/rng.h"
#include "tests/testutil.h"

/* ------------------------------------------------------------- helpers --- */

static guint n_criticals;

static void
count_criticals (const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer user)
{
  if (level & G_LOG_LEVEL_CRITICAL)
    n_criticals++;
  else
    g_log_default_handler (domain, level, msg, user);
}

typedef struct {
  SimTime time;
  guint tag;
} Fired;

/* What the recording handler appends to, plus optional actions. */
typedef struct {
  GArray *fired;          /* Fired */
  SimEventType type;
  guint stop_after;       /* call sim_engine_stop() when this many have fired (0: never) */
  SimEventId cancel_id;   /* cancel this id from the next handler call */
  gboolean cancel_result;
  gboolean did_cancel;
  SimEventId *self_ids;   /* tag -> id, to try cancelling the firing event */
  guint n_self_ids;
  gboolean self_cancel_succeeded; /* any such cancel returned TRUE */
  guint reschedule_tag;   /* when non-zero, the first call schedules this tag at now */
} Rec;

static void
rec_init (Rec *r)
{
  memset (r, 0, sizeof *r);
  r->fired = g_array_new (FALSE, FALSE, sizeof (Fired));
}

static void
rec_clear (Rec *r)
{
  g_array_free (r->fired, TRUE);
}

static void
on_record (SimEngine *e, gpointer user, gpointer target, gpointer data)
{
  Rec *r = user;
  Fired f = { sim_engine_now (e), GPOINTER_TO_UINT (data) };
  g_array_append_val (r->fired, f);
  CU_ASSERT_PTR_EQUAL (target, r);
  if (r->self_ids && f.tag < r->n_self_ids)
    r->self_cancel_succeeded |= sim_engine_cancel (e, r->self_ids[f.tag]);
  if (r->cancel_id && !r->did_cancel) {
    r->cancel_result = sim_engine_cancel (e, r->cancel_id);
    r->did_cancel = TRUE;
  }
  if (r->reschedule_tag) {
    guint t = r->reschedule_tag;
    r->reschedule_tag = 0;
    CU_ASSERT_NOT_EQUAL (sim_engine_schedule (e, sim_engine_now (e), r->type, r,
                                              GUINT_TO_POINTER (t)), 0);
  }
  if (r->stop_after && r->fired->len == r->stop_after)
    sim_engine_stop (e);
}

static SimEventId
sched (SimEngine *e, Rec *r, SimTime at, guint tag)
{
  return sim_engine_schedule (e, at, r->type, r, GUINT_TO_POINTER (tag));
}

static guint
tag_at (const Rec *r, guint i)
{
  return g_array_index (r->fired, Fired, i).tag;
}

static SimTime
time_at (const Rec *r, guint i)
{
  return g_array_index (r->fired, Fired, i).time;
}

/* --------------------------------------------------------------- cases --- */

static void
test_order_by_time (void)
{
  SimEngine *e = sim_engine_new ();
  Rec r;
  rec_init (&r);
  r.type = sim_engine_register (e, "record", on_record, &r);
  CU_ASSERT_EQUAL (sim_engine_now (e), 0);
  CU_ASSERT_EQUAL (sim_engine_peek_time (e), SIM_TIME_MAX);
  const SimTime times[] = { 50, 10, 30, 20, 40, 0, 45 };
  for (guint i = 0; i < G_N_ELEMENTS (times); i++)
    CU_ASSERT_NOT_EQUAL (sched (e, &r, times[i], (guint) times[i]), 0);
  CU_ASSERT_EQUAL (sim_engine_pending (e), G_N_ELEMENTS (times));
  CU_ASSERT_EQUAL (sim_engine_peek_time (e), 0);
  CU_ASSERT_EQUAL (sim_engine_run (e, SIM_TIME_MAX), G_N_ELEMENTS (times));
  const guint expect[] = { 0, 10, 20, 30, 40, 45, 50 };
  CU_ASSERT_EQUAL_FATAL (r.fired->len, G_N_ELEMENTS (expect));
  for (guint i = 0; i < G_N_ELEMENTS (expect); i++) {
    CU_ASSERT_EQUAL (tag_at (&r, i), expect[i]);
    CU_ASSERT_EQUAL (time_at (&r, i), (SimTime) expect[i]); /* now() inside the handler */
  }
  CU_ASSERT_EQUAL (sim_engine_now (e), 50); /* run(forever) leaves the clock at the last event */
  CU_ASSERT_EQUAL (sim_engine_pending (e), 0);
  CU_ASSERT_EQUAL (sim_engine_events_fired (e), G_N_ELEMENTS (times));
  CU_ASSERT_EQUAL (sim_engine_peek_time (e), SIM_TIME_MAX);
  sim_engine_free (e);
  rec_clear (&r);
}

static void
test_ties_in_schedule_order (void)
{
  SimEngine *e = sim_engine_new ();
  Rec r;
  rec_init (&r);
  r.type = sim_engine_register (e, "record", on_record, &r);
  /* 200 events on three instants, interleaved; tags count up in scheduling order */
  for (guint i = 0; i < 200; i++)
    sched (e, &r, (SimTime) (i % 3) * 7, i);
  /* the first event fired (tag 0, time 0) schedules tag 1000 at time 0: it
   * must come after the time-0 events already pending */
  r.reschedule_tag = 1000;
  CU_ASSERT_EQUAL (sim_engine_run (e, SIM_TIME_MAX), 201);
  CU_ASSERT_EQUAL_FATAL (r.fired->len, 201);
  guint k = 0;
  for (guint t = 0; t < 3; t++) {
    for (guint i = t; i < 200; i += 3)
      CU_ASSERT_EQUAL (tag_at (&r, k++), i);
    if (t == 0)
      CU_ASSERT_EQUAL (tag_at (&r, k++), 1000);
  }
  sim_engine_free (e);
  rec_clear (&r);
}

static void
test_cancel (void)
{
  SimEngine *e = sim_engine_new ();
  Rec r;
  rec_init (&r);
  r.type = sim_engine_register (e, "record", on_record, &r);
  SimEventId ids[16];
  for (guint i = 0; i < 16; i++)
    ids[i] = sched (e, &r, 100 + (SimTime) i * 10, i);
  for (guint i = 0; i < 16; i++)
    for (guint j = 0; j < i; j++)
      CU_ASSERT_NOT_EQUAL (ids[i], ids[j]);

  CU_ASSERT_FALSE (sim_engine_cancel (e, 0));                 /* never valid */
  CU_ASSERT_FALSE (sim_engine_cancel (e, G_MAXUINT64));       /* never existed */
  CU_ASSERT_FALSE (sim_engine_cancel (e, (ids[3] + 1000) & 0xffffffffu)); /* slot out of range */
  CU_ASSERT_FALSE (sim_engine_cancel (e, ids[3] + (G_GUINT64_CONSTANT (7) << 32))); /* wrong generation */

  CU_ASSERT_TRUE (sim_engine_cancel (e, ids[0]));             /* the heap minimum */
  CU_ASSERT_EQUAL (sim_engine_peek_time (e), 110);
  CU_ASSERT_TRUE (sim_engine_cancel (e, ids[7]));             /* the middle */
  CU_ASSERT_TRUE (sim_engine_cancel (e, ids[15]));            /* the last */
  CU_ASSERT_FALSE (sim_engine_cancel (e, ids[7]));            /* double cancel */
  CU_ASSERT_EQUAL (sim_engine_pending (e), 13);

  /* a cancelled event's slot is reused; its old id must not cancel the new one */
  SimEventId again = sched (e, &r, 500, 100);
  CU_ASSERT_NOT_EQUAL (again, ids[15]);
  CU_ASSERT_FALSE (sim_engine_cancel (e, ids[15]));
  CU_ASSERT_FALSE (sim_engine_cancel (e, ids[7]));
  CU_ASSERT_FALSE (sim_engine_cancel (e, ids[0]));
  CU_ASSERT_EQUAL (sim_engine_pending (e), 14);

  /* fire up to 130: tags 1, 2, 3 */
  CU_ASSERT_EQUAL (sim_engine_run (e, 130), 3);
  CU_ASSERT_FALSE (sim_engine_cancel (e, ids[2]));            /* already fired */
  CU_ASSERT_EQUAL (sim_engine_pending (e), 11);

  /* from inside a handler: the firing event's own id is already stale; another
   * pending one can be cancelled */
  r.self_ids = ids;
  r.n_self_ids = G_N_ELEMENTS (ids);
  r.cancel_id = ids[6];
  CU_ASSERT_EQUAL (sim_engine_run (e, SIM_TIME_MAX), 10);
  CU_ASSERT_FALSE (r.self_cancel_succeeded);
  CU_ASSERT_TRUE (r.cancel_result);
  const guint expect[] = { 1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 13, 14, 100 };
  CU_ASSERT_EQUAL_FATAL (r.fired->len, G_N_ELEMENTS (expect));
  for (guint i = 0; i < G_N_ELEMENTS (expect); i++)
    CU_ASSERT_EQUAL (tag_at (&r, i), expect[i]);
  CU_ASSERT_FALSE (sim_engine_cancel (e, again));
  CU_ASSERT_EQUAL (sim_engine_pending (e), 0);
  sim_engine_free (e);
  rec_clear (&r);
}

static void
test_cancel_every_position (void)
{
  /* cancel each position of a 100-event heap in turn (fresh heap each time)
   * and check the rest fire in order */
  for (guint victim = 0; victim < 100; victim++) {
    SimEngine *e = sim_engine_new ();
    Rec r;
    rec_init (&r);
    r.type = sim_engine_register (e, "record", on_record, &r);
    SimEventId ids[100];
    for (guint i = 0; i < 100; i++) /* a scrambled order of times */
      ids[i] = sched (e, &r, (SimTime) ((i * 37) % 100), (i * 37) % 100);
    guint victim_tag = (victim * 37) % 100;
    CU_ASSERT_TRUE (sim_engine_cancel (e, ids[victim]));
    sim_engine_run (e, SIM_TIME_MAX);
    CU_ASSERT_EQUAL_FATAL (r.fired->len, 99);
    guint k = 0;
    for (guint t = 0; t < 100; t++)
      if (t != victim_tag)
        CU_ASSERT_EQUAL (tag_at (&r, k++), t);
    sim_engine_free (e);
    rec_clear (&r);
  }
}

static void
test_run_until (void)
{
  SimEngine *e = sim_engine_new ();
  Rec r;
  rec_init (&r);
  r.type = sim_engine_register (e, "record", on_record, &r);
  sched (e, &r, 10, 10);
  sched (e, &r, 20, 20);
  sched (e, &r, 30, 30);
  CU_ASSERT_EQUAL (sim_engine_run (e, 20), 2);   /* time == until fires */
  CU_ASSERT_EQUAL (sim_engine_now (e), 20);
  CU_ASSERT_EQUAL (sim_engine_pending (e), 1);
  CU_ASSERT_EQUAL (sim_engine_run (e, 25), 0);   /* nothing due: the clock moves to until */
  CU_ASSERT_EQUAL (sim_engine_now (e), 25);
  CU_ASSERT_EQUAL (sim_engine_run (e, 5), 0);    /* until in the past: nothing, clock stays */
  CU_ASSERT_EQUAL (sim_engine_now (e), 25);
  /* scheduling before now is refused; at now is fine */
  n_criticals = 0;
  CU_ASSERT_EQUAL (sched (e, &r, 24, 24), 0);
  CU_ASSERT_EQUAL (n_criticals, 1);
  CU_ASSERT_NOT_EQUAL (sched (e, &r, 25, 25), 0);
  CU_ASSERT_EQUAL (sim_engine_run (e, 29), 1);
  CU_ASSERT_EQUAL (sim_engine_now (e), 29);
  CU_ASSERT_EQUAL (sim_engine_run (e, SIM_TIME_MAX), 1);
  CU_ASSERT_EQUAL (sim_engine_now (e), 30);
  CU_ASSERT_EQUAL (sim_engine_run (e, 1000), 0);  /* empty: the clock still moves to until */
  CU_ASSERT_EQUAL (sim_engine_now (e), 1000);
  CU_ASSERT_EQUAL (r.fired->len, 4);
  CU_ASSERT_EQUAL (time_at (&r, 2), 25);
  CU_ASSERT_EQUAL (sim_engine_events_fired (e), 4);
  sim_engine_free (e);
  rec_clear (&r);
}

static void
test_stop (void)
{
  SimEngine *e = sim_engine_new ();
  Rec r;
  rec_init (&r);
  r.type = sim_engine_register (e, "record", on_record, &r);
  for (guint i = 1; i <= 6; i++)
    sched (e, &r, (SimTime) i * 100, i);
  sim_engine_stop (e); /* outside a run: no effect on the next run */
  r.stop_after = 3;
  CU_ASSERT_EQUAL (sim_engine_run (e, 450), 3);
  CU_ASSERT_EQUAL (sim_engine_now (e), 300);      /* stopped: the clock stays at the event */
  CU_ASSERT_EQUAL (sim_engine_pending (e), 3);
  r.stop_after = 0;
  CU_ASSERT_EQUAL (sim_engine_run (e, 450), 1);   /* resumes where it stopped */
  CU_ASSERT_EQUAL (sim_engine_now (e), 450);
  CU_ASSERT_EQUAL (sim_engine_run (e, SIM_TIME_MAX), 2);
  CU_ASSERT_EQUAL (r.fired->len, 6);
  sim_engine_free (e);
  rec_clear (&r);
}

static void
test_step (void)
{
  SimEngine *e = sim_engine_new ();
  Rec r;
  rec_init (&r);
  r.type = sim_engine_register (e, "record", on_record, &r);
  CU_ASSERT_FALSE (sim_engine_step (e));
  sched (e, &r, 7, 1);
  sched (e, &r, 3, 2);
  CU_ASSERT_TRUE (sim_engine_step (e));
  CU_ASSERT_EQUAL (sim_engine_now (e), 3);
  CU_ASSERT_EQUAL (r.fired->len, 1);
  CU_ASSERT_EQUAL (tag_at (&r, 0), 2);
  CU_ASSERT_TRUE (sim_engine_step (e));
  CU_ASSERT_EQUAL (sim_engine_now (e), 7);
  CU_ASSERT_FALSE (sim_engine_step (e));
  CU_ASSERT_EQUAL (sim_engine_events_fired (e), 2);
  sim_engine_free (e);
  rec_clear (&r);
}

static void
on_count (SimEngine *e, gpointer user, gpointer target, gpointer data)
{
  (*(guint *) user)++;
}

static void
on_nested_run (SimEngine *e, gpointer user, gpointer target, gpointer data)
{
  *(guint64 *) user = sim_engine_run (e, SIM_TIME_MAX);
}

static void
test_run_not_reentrant (void)
{
  SimEngine *e = sim_engine_new ();
  guint64 nested = 99;
  SimEventType t = sim_engine_register (e, "nested", on_nested_run, &nested);
  sim_engine_schedule (e, 1, t, NULL, NULL);
  sim_engine_schedule (e, 2, t, NULL, NULL);
  n_criticals = 0;
  CU_ASSERT_EQUAL (sim_engine_run (e, 1), 1);
  CU_ASSERT_EQUAL (nested, 0);
  CU_ASSERT_EQUAL (n_criticals, 1);
  CU_ASSERT_EQUAL (sim_engine_pending (e), 1);
  sim_engine_free (e);
}

static void
test_types_and_errors (void)
{
  SimEngine *e = sim_engine_new ();
  char name[] = "arrival";
  guint a_count = 0, b_count = 0;
  SimEventType a = sim_engine_register (e, name, on_count, &a_count);
  SimEventType b = sim_engine_register (e, "departure", on_count, &b_count);
  name[0] = 'X'; /* the engine keeps its own copy */
  CU_ASSERT_NOT_EQUAL (a, 0);
  CU_ASSERT_NOT_EQUAL (a, b);
  CU_ASSERT_STRING_EQUAL (sim_engine_type_name (e, a), "arrival");
  CU_ASSERT_STRING_EQUAL (sim_engine_type_name (e, b), "departure");

  n_criticals = 0;
  CU_ASSERT_PTR_NULL (sim_engine_type_name (e, 0));
  CU_ASSERT_PTR_NULL (sim_engine_type_name (e, b + 1));
  CU_ASSERT_EQUAL (sim_engine_schedule (e, 5, b + 1, NULL, NULL), 0); /* unknown type */
  CU_ASSERT_EQUAL (sim_engine_schedule (e, 5, 0, NULL, NULL), 0);
  CU_ASSERT_EQUAL (sim_engine_schedule_in (e, -1, a, NULL, NULL), 0); /* negative delay */
  CU_ASSERT_EQUAL (sim_engine_register (e, "nofn", NULL, NULL), 0);
  CU_ASSERT_EQUAL (n_criticals, 6);
  CU_ASSERT_EQUAL (sim_engine_pending (e), 0);

  CU_ASSERT_NOT_EQUAL (sim_engine_schedule_in (e, 10, a, NULL, NULL), 0);
  CU_ASSERT_NOT_EQUAL (sim_engine_schedule_in (e, 20, b, NULL, NULL), 0);
  CU_ASSERT_NOT_EQUAL (sim_engine_schedule_in (e, 0, a, NULL, NULL), 0);
  CU_ASSERT_NOT_EQUAL (sim_engine_schedule (e, SIM_TIME_MAX, b, NULL, NULL), 0);
  CU_ASSERT_EQUAL (sim_engine_run (e, 15), 2);
  CU_ASSERT_EQUAL (a_count, 2);
  CU_ASSERT_EQUAL (b_count, 0);
  /* schedule_in counts from now; an overflowing delay is refused */
  CU_ASSERT_NOT_EQUAL (sim_engine_schedule_in (e, 1, a, NULL, NULL), 0);
  CU_ASSERT_EQUAL (sim_engine_peek_time (e), 16);
  n_criticals = 0;
  CU_ASSERT_EQUAL (sim_engine_schedule_in (e, SIM_TIME_MAX, a, NULL, NULL), 0);
  CU_ASSERT_EQUAL (n_criticals, 1);
  CU_ASSERT_EQUAL (sim_engine_run (e, SIM_TIME_MAX), 3); /* includes the one at SIM_TIME_MAX */
  CU_ASSERT_EQUAL (b_count, 2);
  CU_ASSERT_EQUAL (sim_engine_now (e), SIM_TIME_MAX);
  sim_engine_free (e);
  sim_engine_free (NULL); /* allowed */
}

/* Static stress: N events at random times (many ties), a random third
 * cancelled, compared with a reference sort by (time, scheduling order). */
typedef struct {
  SimTime time;
  guint tag;
} Ref;

static int
ref_cmp (const void *pa, const void *pb)
{
  const Ref *a = pa, *b = pb;
  if (a->time != b->time)
    return a->time < b->time ? -1 : 1;
  return (a->tag > b->tag) - (a->tag < b->tag);
}

static void
test_stress_reference (void)
{
  const guint n = 100000;
  SimRng *rng = sim_rng_new (42, "test-engine-stress", 0);
  SimEngine *e = sim_engine_new ();
  Rec r;
  rec_init (&r);
  r.type = sim_engine_register (e, "record", on_record, &r);
  Ref *ref = g_new (Ref, n);
  SimEventId *ids = g_new (SimEventId, n);
  gboolean *cancelled = g_new0 (gboolean, n);
  guint n_ref = 0;
  for (guint i = 0; i < n; i++) {
    SimTime t = sim_rng_int_range (rng, 0, 20000); /* ~5 events per instant */
    ids[i] = sched (e, &r, t, i);
    ref[i].time = t;
    ref[i].tag = i;
    /* cancel a random earlier event now and then, interleaved with scheduling */
    if (sim_rng_double (rng) < 0.35) {
      guint v = (guint) sim_rng_int_range (rng, 0, i);
      gboolean ok = sim_engine_cancel (e, ids[v]);
      CU_ASSERT_EQUAL (ok, !cancelled[v]);
      cancelled[v] = TRUE;
    }
  }
  for (guint i = 0; i < n; i++)
    if (!cancelled[i])
      ref[n_ref++] = ref[i];
  CU_ASSERT_EQUAL (sim_engine_pending (e), n_ref);
  qsort (ref, n_ref, sizeof (Ref), ref_cmp);
  /* fire in chunks of simulated time to mix run(until) in */
  guint64 total = 0;
  for (SimTime until = 0; until <= 20000; until += 997)
    total += sim_engine_run (e, until);
  total += sim_engine_run (e, SIM_TIME_MAX);
  CU_ASSERT_EQUAL (total, n_ref);
  CU_ASSERT_EQUAL_FATAL (r.fired->len, n_ref);
  guint bad = 0;
  for (guint i = 0; i < n_ref; i++)
    if (tag_at (&r, i) != ref[i].tag || time_at (&r, i) != ref[i].time)
      bad++;
  CU_ASSERT_EQUAL (bad, 0);
  for (guint i = 0; i < n; i++)
    CU_ASSERT_FALSE (sim_engine_cancel (e, ids[i]));
  g_free (ref);
  g_free (ids);
  g_free (cancelled);
  sim_rng_free (rng);
  sim_engine_free (e);
  rec_clear (&r);
}

/* Dynamic stress: handlers schedule and cancel as they fire (a hold model
 * with random cancellations); checks the invariants a reference sort would:
 * time never decreases, equal times fire in scheduling order, every event not
 * cancelled fires exactly once and no cancelled one fires. */
typedef struct {
  SimRng *rng;
  SimEventType type;
  GArray *ids;        /* tag -> id */
  GArray *state;      /* tag -> 0 pending, 1 fired, 2 cancelled */
  GArray *live;       /* tags believed pending (lazily pruned) */
  guint budget;       /* schedulings left */
  SimTime last_time;
  guint last_tag;
  guint errors;
} Dyn;

static void
dyn_schedule (SimEngine *e, Dyn *d, SimTime at)
{
  guint tag = d->ids->len;
  SimEventId id = sim_engine_schedule (e, at, d->type, d, GUINT_TO_POINTER (tag));
  guchar st = 0;
  g_array_append_val (d->ids, id);
  g_array_append_val (d->state, st);
  g_array_append_val (d->live, tag);
  d->budget--;
}

static void
on_dyn (SimEngine *e, gpointer user, gpointer target, gpointer data)
{
  Dyn *d = user;
  guint tag = GPOINTER_TO_UINT (data);
  SimTime now = sim_engine_now (e);
  guchar *st = &g_array_index (d->state, guchar, tag);
  if (*st != 0)
    d->errors++;
  *st = 1;
  if (now < d->last_time || (now == d->last_time && tag < d->last_tag))
    d->errors++;
  d->last_time = now;
  d->last_tag = tag;
  /* schedule 0..2 new events (mean ~1), some at now exactly */
  guint k = (guint) sim_rng_int_range (d->rng, 0, 2);
  for (guint i = 0; i < k && d->budget > 0; i++)
    dyn_schedule (e, d, now + (sim_rng_double (d->rng) < 0.2 ? 0 : sim_rng_int_range (d->rng, 0, 500)));
  /* cancel a random live event now and then */
  if (d->live->len && sim_rng_double (d->rng) < 0.3) {
    guint j = (guint) sim_rng_int_range (d->rng, 0, d->live->len - 1);
    guint victim = g_array_index (d->live, guint, j);
    g_array_remove_index_fast (d->live, j);
    guchar *vs = &g_array_index (d->state, guchar, victim);
    gboolean ok = sim_engine_cancel (e, g_array_index (d->ids, SimEventId, victim));
    if (ok != (*vs == 0))
      d->errors++;
    if (ok)
      *vs = 2;
  }
}

static void
test_stress_dynamic (void)
{
  SimEngine *e = sim_engine_new ();
  Dyn d = { 0 };
  d.rng = sim_rng_new (7, "test-engine-dynamic", 0);
  d.type = sim_engine_register (e, "dyn", on_dyn, &d);
  d.ids = g_array_new (FALSE, FALSE, sizeof (SimEventId));
  d.state = g_array_new (FALSE, FALSE, sizeof (guchar));
  d.live = g_array_new (FALSE, FALSE, sizeof (guint));
  d.budget = 200000;
  for (guint i = 0; i < 2000; i++)
    dyn_schedule (e, &d, sim_rng_int_range (d.rng, 0, 1000));
  guint64 fired = sim_engine_run (e, SIM_TIME_MAX);
  CU_ASSERT_EQUAL (d.errors, 0);
  CU_ASSERT_EQUAL (sim_engine_pending (e), 0);
  guint n_fired = 0, n_pending = 0;
  for (guint i = 0; i < d.state->len; i++) {
    guchar s = g_array_index (d.state, guchar, i);
    n_fired += s == 1;
    n_pending += s == 0;
  }
  CU_ASSERT_EQUAL (n_pending, 0);
  CU_ASSERT_EQUAL (fired, n_fired);
  CU_ASSERT (d.ids->len > 100000); /* the run did exercise the engine */
  g_array_free (d.ids, TRUE);
  g_array_free (d.state, TRUE);
  g_array_free (d.live, TRUE);
  sim_rng_free (d.rng);
  sim_engine_free (e);
}

int
main (void)
{
  g_log_set_default_handler (count_criticals, NULL);
  static const TestCase cases[] = {
    { "order by time", test_order_by_time },
    { "ties fire in scheduling order", test_ties_in_schedule_order },
    { "cancel", test_cancel },
    { "cancel at every heap position", test_cancel_every_position },
    { "run until", test_run_until },
    { "stop", test_stop },
    { "step", test_step },
    { "run is not re-entrant", test_run_not_reentrant },
    { "types and programmer errors", test_types_and_errors },
    { "stress vs reference sort", test_stress_reference },
    { "dynamic stress invariants", test_stress_dynamic },
    { NULL, NULL },
  };
  return test_run_suite ("sim/engine", cases);
}
