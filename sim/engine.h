/* sim/engine.h — the discrete-event core.
 *
 * Owns the simulated clock (integer nanoseconds), the pending-event heap ordered
 * by (time, sequence number) so that ties resolve in scheduling order, typed
 * handlers registered by name, and cancellation. It knows nothing of LLMs, GPUs
 * or policies: a handler receives an opaque target and datum.
 */
#ifndef SIM_ENGINE_H
#define SIM_ENGINE_H

#include <math.h>
#include <glib.h>

typedef gint64 SimTime; /* nanoseconds of simulated time */

#define SIM_NS ((SimTime)1)
#define SIM_US ((SimTime)1000)
#define SIM_MS ((SimTime)1000000)
#define SIM_S  ((SimTime)1000000000)
#define SIM_TIME_MAX G_MAXINT64

/* Seconds (double) to nanoseconds, rounded to nearest; and back. */
#define SIM_TIME_FROM_S(s) ((SimTime) llround((double)(s) * 1e9))
#define SIM_TIME_TO_S(t)   ((double)(t) * 1e-9)

typedef struct SimEngine SimEngine;
typedef guint32 SimEventType; /* handle returned by sim_engine_register() */
typedef guint64 SimEventId;   /* 0 is never a valid id */

/* A handler: called when an event of its type fires. `user` is the pointer
 * given at registration; `target` and `data` those given at scheduling. */
typedef void (*SimHandler) (SimEngine *engine, gpointer user, gpointer target, gpointer data);

/* New engine with clock at 0. Free with sim_engine_free(). Never NULL. */
SimEngine   *sim_engine_new (void);
void         sim_engine_free (SimEngine *engine);

/* Register an event type; name is copied (for statistics and debugging). */
SimEventType sim_engine_register (SimEngine *engine, const char *name, SimHandler fn, gpointer user);
const char  *sim_engine_type_name (const SimEngine *engine, SimEventType type);

/* Schedule an event at absolute time `at` (>= now). Returns its id, or 0 on
 * programmer error (time in the past, unknown type). */
SimEventId   sim_engine_schedule (SimEngine *engine, SimTime at, SimEventType type,
                                  gpointer target, gpointer data);
SimEventId   sim_engine_schedule_in (SimEngine *engine, SimTime delay, SimEventType type,
                                     gpointer target, gpointer data);
/* Cancel a pending event. TRUE if it was pending and is now removed; FALSE if
 * it already fired, was already cancelled, or never existed. O(log n). */
gboolean     sim_engine_cancel (SimEngine *engine, SimEventId id);

SimTime      sim_engine_now (const SimEngine *engine);
gsize        sim_engine_pending (const SimEngine *engine);
guint64      sim_engine_events_fired (const SimEngine *engine);
/* Time of the next pending event, or SIM_TIME_MAX when none. */
SimTime      sim_engine_peek_time (const SimEngine *engine);

/* Fire the next event. FALSE when none is pending. */
gboolean     sim_engine_step (SimEngine *engine);
/* Fire events until none is pending, the next is later than `until`, or a
 * handler calls sim_engine_stop(). Returns the number fired by this call. */
guint64      sim_engine_run (SimEngine *engine, SimTime until);
void         sim_engine_stop (SimEngine *engine);

#endif
