/* tests/sim/test_engine_renumber.c — the sequence-number renumbering of
 * sim/engine.c. The real counter runs out after 2^32 schedulings, too many for
 * a test, so this program compiles sim/engine.c itself with a limit of 2048
 * and checks that ties still fire in scheduling order, and ids stay valid,
 * across many renumberings. Does not test the rest of the engine (test_engine
 * does, against the library build).
 */
#define SIM__ENGINE_SEQ_LIMIT 2048
#include "sim/engine.c"

#include "sim/rng.h"
#include "tests/testutil.h"

typedef struct {
  GArray *tags;
} Rec;

static void
on_record (SimEngine *e, gpointer user, gpointer target, gpointer data)
{
  Rec *r = user;
  guint tag = GPOINTER_TO_UINT (data);
  g_array_append_val (r->tags, tag);
}

static void
on_stop (SimEngine *e, gpointer user, gpointer target, gpointer data)
{
  on_record (e, user, target, data);
  sim_engine_stop (e);
}

static void
test_ties_across_renumbering (void)
{
  SimEngine *e = sim_engine_new ();
  Rec r = { g_array_new (FALSE, FALSE, sizeof (guint)) };
  SimEventType rec = sim_engine_register (e, "record", on_record, &r);
  SimEventType stop = sim_engine_register (e, "stop", on_stop, &r);
  /* 1500 events at t=5 (seq 0..1499), the 1000th one stops the run */
  for (guint i = 0; i < 1500; i++)
    sim_engine_schedule (e, 5, i == 999 ? stop : rec, NULL, GUINT_TO_POINTER (i));
  CU_ASSERT_EQUAL (sim_engine_run (e, SIM_TIME_MAX), 1000);
  CU_ASSERT_EQUAL (e->next_seq, 1500);
  /* 600 more at t=5: the 549th crosses the limit and renumbers the 1048 pending */
  SimEventId ids[600];
  for (guint i = 0; i < 600; i++)
    ids[i] = sim_engine_schedule (e, 5, rec, NULL, GUINT_TO_POINTER (1500 + i));
  CU_ASSERT_EQUAL (e->next_seq, 1100);
  /* ids issued before renumbering still cancel */
  CU_ASSERT_TRUE (sim_engine_cancel (e, ids[0]));
  CU_ASSERT_TRUE (sim_engine_cancel (e, ids[599]));
  CU_ASSERT_FALSE (sim_engine_cancel (e, ids[0]));
  CU_ASSERT_EQUAL (sim_engine_run (e, SIM_TIME_MAX), 1098);
  CU_ASSERT_EQUAL_FATAL (r.tags->len, 2098);
  guint bad = 0, k = 0;
  for (guint i = 0; i < 2100; i++) {
    if (i == 1500 || i == 2099)
      continue;
    if (g_array_index (r.tags, guint, k++) != i)
      bad++;
  }
  CU_ASSERT_EQUAL (bad, 0);
  g_array_free (r.tags, TRUE);
  sim_engine_free (e);
}

/* A hold model with at most ~500 pending, many ties and cancellations: a few
 * hundred renumberings; time never goes back and ties keep scheduling order. */
typedef struct {
  SimRng *rng;
  SimEventType type;
  guint next_tag;
  GArray *ids;     /* tag -> id */
  guint budget;
  SimTime last_time;
  guint last_tag;
  guint errors;
  guint cancels;
} Hold;

static void
on_hold (SimEngine *e, gpointer user, gpointer target, gpointer data)
{
  Hold *h = user;
  guint tag = GPOINTER_TO_UINT (data);
  SimTime now = sim_engine_now (e);
  if (now < h->last_time || (now == h->last_time && tag < h->last_tag))
    h->errors++;
  h->last_time = now;
  h->last_tag = tag;
  if (h->budget == 0)
    return;
  h->budget--;
  guint t = h->next_tag++;
  SimEventId id = sim_engine_schedule (e, now + sim_rng_int_range (h->rng, 0, 3), h->type,
                                       NULL, GUINT_TO_POINTER (t));
  g_array_append_val (h->ids, id);
  /* cancel a recent event now and then, and schedule a replacement */
  if (sim_rng_double (h->rng) < 0.1 && h->ids->len > 10) {
    guint v = h->ids->len - 1 - (guint) sim_rng_int_range (h->rng, 0, 9);
    if (sim_engine_cancel (e, g_array_index (h->ids, SimEventId, v))) {
      h->cancels++;
      guint t2 = h->next_tag++;
      SimEventId id2 = sim_engine_schedule (e, now + sim_rng_int_range (h->rng, 0, 3),
                                            h->type, NULL, GUINT_TO_POINTER (t2));
      g_array_append_val (h->ids, id2);
    }
  }
}

static void
test_hold_with_renumbering (void)
{
  SimEngine *e = sim_engine_new ();
  Hold h = { 0 };
  h.rng = sim_rng_new (3, "test-engine-renumber", 0);
  h.type = sim_engine_register (e, "hold", on_hold, &h);
  h.ids = g_array_new (FALSE, FALSE, sizeof (SimEventId));
  h.budget = 300000;
  for (guint i = 0; i < 500; i++) {
    guint t = h.next_tag++;
    SimEventId id = sim_engine_schedule (e, sim_rng_int_range (h.rng, 0, 3), h.type, NULL,
                                         GUINT_TO_POINTER (t));
    g_array_append_val (h.ids, id);
  }
  guint64 fired = sim_engine_run (e, SIM_TIME_MAX);
  CU_ASSERT_EQUAL (h.errors, 0);
  CU_ASSERT (h.cancels > 1000);
  CU_ASSERT_EQUAL (fired, h.next_tag - h.cancels);
  CU_ASSERT_EQUAL (sim_engine_pending (e), 0);
  g_array_free (h.ids, TRUE);
  sim_rng_free (h.rng);
  sim_engine_free (e);
}

int
main (void)
{
  static const TestCase cases[] = {
    { "ties across renumbering", test_ties_across_renumbering },
    { "hold model with renumbering", test_hold_with_renumbering },
    { NULL, NULL },
  };
  return test_run_suite ("sim/engine renumbering", cases);
}
