/* hp_thread: the one way threads are run for a bounded piece of work. */
#ifndef HP_THREAD_H
#define HP_THREAD_H

#include <stddef.h>

/* Run fn(arg) on n threads at once (the caller's among them; at most
 * HP_RUN_THREADS_MAX) and wait for all: fn takes its work from arg. Fewer
 * run when threads cannot be made; the caller's always runs. */
#define HP_RUN_THREADS_MAX 64
void hp_run_threads(size_t n, void *(*fn)(void *), void *arg);

#endif
