/* sim/engine.c — the discrete-event core: simulated clock, pending-event heap,
 * handlers registered by type, and O(log n) cancellation.
 *
 * Owns the order in which events fire — (time, sequence number), so events
 * scheduled for the same nanosecond fire in the order they were scheduled —
 * and the clock, which only moves forward. Does not own the `target` and `data`
 * pointers handed to sim_engine_schedule(): it never dereferences or frees them,
 * not even for events still pending when the engine is freed. Knows nothing of
 * what handlers do, of random numbers, or of statistics.
 *
 * Data layout. The heap is hand-written for speed instead of using GSequence or
 * a GPtrArray-based heap: a 4-ary min-heap of compact 16-byte entries
 * (time, key), where key = sequence << 32 | slot, so that comparing (time, key)
 * compares (time, sequence) and the slot index rides along for free. The array
 * is offset so that every group of four siblings shares one 64-byte cache line.
 * Everything else about an event lives in a slot of a pool (type, target, data,
 * a generation), and its current heap position in a parallel array; free slots
 * form a singly linked free list. An event id is generation << 32 | slot, so
 * the id of a fired or cancelled event (its slot's generation has moved on) is
 * rejected. When the 32-bit sequence counter runs out, the pending entries are
 * renumbered 0..n-1 in their current order, which keeps the heap valid without
 * reordering it. Arrays grow by doubling and keep their high-water size until
 * the engine is freed.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "sim/engine.h"

/* Sequence numbers must stay below this (they occupy the key's high 32 bits).
 * Tests override it to exercise renumbering. */
#ifndef SIM__ENGINE_SEQ_LIMIT
#define SIM__ENGINE_SEQ_LIMIT (G_GUINT64_CONSTANT (1) << 32)
#endif

#define SLOT_NONE G_MAXUINT32 /* end of the free list; "not in the heap" */
#define HEAP_ARITY 4
#define HEAP_PAD 3            /* entries before the root so sibling groups align */
#define CACHE_LINE 64
#define HEAP_PREFETCH_MIN 16384 /* entries (256 KiB): below this the heap stays in cache */

typedef struct {
  SimTime time;
  guint64 key; /* sequence << 32 | slot */
} HeapEntry;

typedef struct {
  guint32 gen;           /* generation, never 0; bumped when the slot is freed */
  union {
    SimEventType type;   /* while pending */
    guint32 next_free;   /* while free */
  } u;
  gpointer target;
  gpointer data;
} Slot;

typedef struct {
  SimHandler fn;
  gpointer user;
  char *name;
} TypeInfo;

struct SimEngine {
  /* hot fields first */
  HeapEntry *heap;       /* heap[0] is the root; aligned, see heap_reserve() */
  Slot *slots;
  guint32 *pos;          /* slot -> heap index while pending; SLOT_NONE while free.
                          * Apart from the slots: the heap rewrites it at every move,
                          * and 4 bytes a slot stay in cache where 24 would not. */
  TypeInfo *types;       /* index 0 unused: 0 is never a valid type */
  gsize heap_len;
  SimTime now;
  guint64 next_seq;
  guint64 fired;
  guint32 free_head;
  gboolean stop;
  gboolean running;
  /* cold */
  gsize heap_cap;
  gpointer heap_raw;     /* what g_malloc returned for the heap */
  guint32 n_slots;       /* slots ever used (high-water mark) */
  guint32 slots_cap;
  guint32 n_types;       /* including the unused index 0 */
};

/* ---------------------------------------------------------------- heap ---- */

/* (time, key) lexicographic order. Times are never negative (the clock starts
 * at 0 and only moves forward), so where the compiler has 128-bit integers the
 * pair compares as one unsigned number: no branches, hence no mispredictions
 * when picking the least of four children. */
static inline gboolean
entry_before (const HeapEntry *a, const HeapEntry *b)
{
#ifdef __SIZEOF_INT128__
  __extension__ typedef unsigned __int128 u128;
  u128 x = ((u128) (guint64) a->time << 64) | a->key;
  u128 y = ((u128) (guint64) b->time << 64) | b->key;
  return x < y;
#else
  return a->time < b->time || (a->time == b->time && a->key < b->key);
#endif
}

static inline guint32
entry_slot (const HeapEntry *a)
{
  return (guint32) a->key;
}

static void
heap_reserve (SimEngine *e, gsize need)
{
  if (need <= e->heap_cap)
    return;
  gsize cap = e->heap_cap ? e->heap_cap : 64;
  while (cap < need)
    cap *= 2;
  gpointer raw = g_malloc ((cap + HEAP_PAD) * sizeof (HeapEntry) + CACHE_LINE);
  guintptr base = ((guintptr) raw + CACHE_LINE - 1) & ~(guintptr) (CACHE_LINE - 1);
  HeapEntry *heap = (HeapEntry *) base + HEAP_PAD;
  if (e->heap_len)
    memcpy (heap, e->heap, e->heap_len * sizeof (HeapEntry));
  g_free (e->heap_raw);
  e->heap_raw = raw;
  e->heap = heap;
  e->heap_cap = cap;
}

/* Moves x up from the hole at i to its place. */
static inline void
heap_sift_up (SimEngine *e, gsize i, HeapEntry x)
{
  HeapEntry *h = e->heap;
  guint32 *pos = e->pos;
  while (i > 0) {
    gsize p = (i - 1) / HEAP_ARITY;
    if (!entry_before (&x, &h[p]))
      break;
    h[i] = h[p];
    pos[entry_slot (&h[i])] = (guint32) i;
    i = p;
  }
  h[i] = x;
  pos[entry_slot (&x)] = (guint32) i;
}

#if defined(__GNUC__) || defined(__clang__)
#define heap_prefetch(p) __builtin_prefetch ((p), 0, 3)
#else
#define heap_prefetch(p) ((void) (p))
#endif

/* Moves x down from the hole at i to its place. */
static inline void
heap_sift_down (SimEngine *e, gsize i, HeapEntry x)
{
  HeapEntry *h = e->heap;
  guint32 *pos = e->pos;
  gsize n = e->heap_len;
  for (;;) {
    gsize c = i * HEAP_ARITY + 1;
    if (c >= n)
      break;
    gsize best = c;
    /* Large heaps: fetch the four grandchild groups (one line each) while
     * this level is compared, so the walk is not one memory latency per level. */
    gsize g = c * HEAP_ARITY + 1;
    if (n > HEAP_PREFETCH_MIN && g < n) {
      heap_prefetch (&h[g]);
      heap_prefetch (&h[g + HEAP_ARITY]);
      heap_prefetch (&h[g + 2 * HEAP_ARITY]);
      heap_prefetch (&h[g + 3 * HEAP_ARITY]);
    }
    if (c + HEAP_ARITY <= n) {
      /* all four children present: the common case, unrolled */
      /* branch-free: the winner is unpredictable, a branch would miss half the time */
      gsize a = c + entry_before (&h[c + 1], &h[c]);
      gsize b = c + 2 + entry_before (&h[c + 3], &h[c + 2]);
      best = a ^ ((a ^ b) & (0 - (gsize) entry_before (&h[b], &h[a])));
    } else {
      for (gsize j = c + 1; j < n; j++)
        if (entry_before (&h[j], &h[best]))
          best = j;
    }
    if (!entry_before (&h[best], &x))
      break;
    h[i] = h[best];
    pos[entry_slot (&h[i])] = (guint32) i;
    i = best;
  }
  h[i] = x;
  pos[entry_slot (&x)] = (guint32) i;
}

/* Removes the entry at heap index i (its slot is left to the caller). */
static inline void
heap_remove_at (SimEngine *e, gsize i)
{
  gsize last = --e->heap_len;
  if (i == last)
    return;
  HeapEntry x = e->heap[last];
  if (i > 0 && entry_before (&x, &e->heap[(i - 1) / HEAP_ARITY]))
    heap_sift_up (e, i, x);
  else
    heap_sift_down (e, i, x);
}

static int
entry_cmp (const void *pa, const void *pb)
{
  const HeapEntry *a = pa, *b = pb;
  return entry_before (a, b) ? -1 : entry_before (b, a) ? 1 : 0;
}

/* The sequence counter ran out: renumber the pending entries 0..n-1 in their
 * (time, sequence) order. The relative order of every pair is unchanged, so
 * the heap needs no reordering. O(n log n), once per 2^32 schedulings. */
static void
engine_renumber (SimEngine *e)
{
  gsize n = e->heap_len;
  g_assert (n < SIM__ENGINE_SEQ_LIMIT);
  HeapEntry *sorted = g_new (HeapEntry, n ? n : 1);
  if (n)
    memcpy (sorted, e->heap, n * sizeof (HeapEntry));
  qsort (sorted, n, sizeof (HeapEntry), entry_cmp);
  for (gsize i = 0; i < n; i++) {
    guint32 s = entry_slot (&sorted[i]);
    e->heap[e->pos[s]].key = ((guint64) i << 32) | s;
  }
  e->next_seq = n;
  g_free (sorted);
}

/* ---------------------------------------------------------------- slots --- */

static inline guint32
slot_alloc (SimEngine *e)
{
  guint32 s = e->free_head;
  if (G_LIKELY (s != SLOT_NONE)) {
    e->free_head = e->slots[s].u.next_free;
    return s;
  }
  if (e->n_slots == e->slots_cap) {
    if (e->slots_cap >= SLOT_NONE / 2)
      g_error ("sim_engine: more than %u pending events", (unsigned) e->slots_cap);
    guint32 cap = e->slots_cap ? e->slots_cap * 2 : 64;
    e->slots = g_renew (Slot, e->slots, cap);
    e->pos = g_renew (guint32, e->pos, cap);
    e->slots_cap = cap;
  }
  s = e->n_slots++;
  e->slots[s].gen = 1;
  return s;
}

static inline void
slot_free (SimEngine *e, guint32 s)
{
  Slot *sl = &e->slots[s];
  e->pos[s] = SLOT_NONE;
  if (G_UNLIKELY (++sl->gen == 0))
    sl->gen = 1;
  sl->u.next_free = e->free_head;
  e->free_head = s;
}

/* --------------------------------------------------------------- public --- */

SimEngine *
sim_engine_new (void)
{
  SimEngine *e = g_new0 (SimEngine, 1);
  e->free_head = SLOT_NONE;
  e->n_types = 1;
  e->types = g_new0 (TypeInfo, 1);
  e->types[0].name = g_strdup ("(invalid)");
  heap_reserve (e, 64);
  return e;
}

/* Drops pending events without calling their handlers; NULL is allowed. */
void
sim_engine_free (SimEngine *engine)
{
  if (!engine)
    return;
  for (guint32 t = 0; t < engine->n_types; t++)
    g_free (engine->types[t].name);
  g_free (engine->types);
  g_free (engine->heap_raw);
  g_free (engine->slots);
  g_free (engine->pos);
  g_free (engine);
}

/* Handles count up from 1; 0 is never a valid type and is what a programmer
 * error (NULL name or handler) returns. Names need not be unique. May be
 * called from a handler. */
SimEventType
sim_engine_register (SimEngine *engine, const char *name, SimHandler fn, gpointer user)
{
  g_return_val_if_fail (engine != NULL, 0);
  g_return_val_if_fail (name != NULL, 0);
  g_return_val_if_fail (fn != NULL, 0);
  g_return_val_if_fail (engine->n_types < G_MAXUINT32, 0);
  SimEventType t = engine->n_types++;
  engine->types = g_renew (TypeInfo, engine->types, engine->n_types);
  engine->types[t].fn = fn;
  engine->types[t].user = user;
  engine->types[t].name = g_strdup (name);
  return t;
}

/* The engine's copy (owned by it, valid until sim_engine_free); NULL for an
 * unknown type. */
const char *
sim_engine_type_name (const SimEngine *engine, SimEventType type)
{
  g_return_val_if_fail (engine != NULL, NULL);
  g_return_val_if_fail (type >= 1 && type < engine->n_types, NULL);
  return engine->types[type].name;
}

/* Amortised O(1) for an event later than most pending ones, O(log n) at worst.
 * Ids are unique among pending events; an id is stale once its event fired or
 * was cancelled (ids are recycled only after 2^32 reuses of one slot). */
SimEventId
sim_engine_schedule (SimEngine *engine, SimTime at, SimEventType type,
                     gpointer target, gpointer data)
{
  g_return_val_if_fail (engine != NULL, 0);
  g_return_val_if_fail (at >= engine->now, 0);
  g_return_val_if_fail (type >= 1 && type < engine->n_types, 0);
  SimEngine *e = engine;
  if (G_UNLIKELY (e->next_seq >= SIM__ENGINE_SEQ_LIMIT))
    engine_renumber (e);
  guint32 s = slot_alloc (e);
  Slot *sl = &e->slots[s];
  sl->u.type = type;
  sl->target = target;
  sl->data = data;
  if (G_UNLIKELY (e->heap_len == e->heap_cap))
    heap_reserve (e, e->heap_len + 1);
  HeapEntry x = { at, (e->next_seq++ << 32) | s };
  heap_sift_up (e, e->heap_len++, x);
  return ((guint64) sl->gen << 32) | s;
}

/* 0 (programmer error) for a negative delay or one that overflows SimTime. */
SimEventId
sim_engine_schedule_in (SimEngine *engine, SimTime delay, SimEventType type,
                        gpointer target, gpointer data)
{
  g_return_val_if_fail (engine != NULL, 0);
  g_return_val_if_fail (delay >= 0, 0);
  g_return_val_if_fail (delay <= SIM_TIME_MAX - engine->now, 0);
  return sim_engine_schedule (engine, engine->now + delay, type, target, data);
}

/* Any id is safe to pass, including 0, stale and made-up ones. Cancelling
 * the firing event's own id from its handler returns FALSE (it has fired). */
gboolean
sim_engine_cancel (SimEngine *engine, SimEventId id)
{
  g_return_val_if_fail (engine != NULL, FALSE);
  guint32 s = (guint32) id;
  guint32 gen = (guint32) (id >> 32);
  if (s >= engine->n_slots)
    return FALSE;
  Slot *sl = &engine->slots[s];
  if (engine->pos[s] == SLOT_NONE || sl->gen != gen)
    return FALSE;
  heap_remove_at (engine, engine->pos[s]);
  slot_free (engine, s);
  return TRUE;
}

SimTime
sim_engine_now (const SimEngine *engine)
{
  g_return_val_if_fail (engine != NULL, 0);
  return engine->now;
}

gsize
sim_engine_pending (const SimEngine *engine)
{
  g_return_val_if_fail (engine != NULL, 0);
  return engine->heap_len;
}

guint64
sim_engine_events_fired (const SimEngine *engine)
{
  g_return_val_if_fail (engine != NULL, 0);
  return engine->fired;
}

SimTime
sim_engine_peek_time (const SimEngine *engine)
{
  g_return_val_if_fail (engine != NULL, SIM_TIME_MAX);
  return engine->heap_len ? engine->heap[0].time : SIM_TIME_MAX;
}

/* Pops the root, frees its slot (so the handler may reuse it and the fired id
 * is already stale), advances the clock and calls the handler. */
static inline void
engine_fire_top (SimEngine *e)
{
  HeapEntry top = e->heap[0];
  guint32 s = entry_slot (&top);
  const Slot *sl = &e->slots[s];
  SimEventType type = sl->u.type;
  gpointer target = sl->target, data = sl->data;
  heap_remove_at (e, 0);
  slot_free (e, s);
  /* the next event's slot is a cache miss in a large pool: start loading it
   * now, while this handler runs */
  if (G_LIKELY (e->heap_len))
    heap_prefetch (&e->slots[entry_slot (&e->heap[0])]);
  e->now = top.time;
  e->fired++;
  const TypeInfo *ti = &e->types[type];
  SimHandler fn = ti->fn;
  gpointer user = ti->user;
  fn (e, user, target, data);
}

/* Fires the earliest event whatever its time; the clock moves to it. */
gboolean
sim_engine_step (SimEngine *engine)
{
  g_return_val_if_fail (engine != NULL, FALSE);
  if (engine->heap_len == 0)
    return FALSE;
  engine_fire_top (engine);
  return TRUE;
}

/* When run returns because nothing is due by `until` (finite), the clock
 * moves to `until`; when a handler stopped it, or `until` is SIM_TIME_MAX,
 * the clock stays at the last event fired. Never moves the clock back. Not
 * re-entrant: from inside a handler it returns 0 (programmer error). */
guint64
sim_engine_run (SimEngine *engine, SimTime until)
{
  g_return_val_if_fail (engine != NULL, 0);
  g_return_val_if_fail (!engine->running, 0);
  SimEngine *e = engine;
  guint64 n = 0;
  e->running = TRUE;
  e->stop = FALSE;
  while (e->heap_len > 0 && e->heap[0].time <= until) {
    engine_fire_top (e);
    n++;
    if (G_UNLIKELY (e->stop))
      break;
  }
  /* Ran out of events up to `until`: the clock reaches `until` (SimPy's
   * semantics), unless until is "forever" or a handler stopped the run. */
  if (!e->stop && until != SIM_TIME_MAX && until > e->now)
    e->now = until;
  e->running = FALSE;
  e->stop = FALSE;
  return n;
}

/* Ends the sim_engine_run in progress after the current handler returns;
 * outside a run it has no effect (each run starts afresh). */
void
sim_engine_stop (SimEngine *engine)
{
  g_return_if_fail (engine != NULL);
  engine->stop = TRUE;
}
