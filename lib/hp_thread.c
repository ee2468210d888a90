/* hp_thread: the one way threads are run for a bounded piece of work. */
#include "hp_thread.h"

#include <pthread.h>

#include "banned.h"

void hp_run_threads(size_t n, void *(*fn)(void *), void *arg)
{
	pthread_t th[HP_RUN_THREADS_MAX];
	if (n > HP_RUN_THREADS_MAX)
		n = HP_RUN_THREADS_MAX;
	size_t started = 0;
	for (; started + 1 < n; started++)
		if (pthread_create(&th[started], NULL, fn, arg))
			break;
	fn(arg);
	for (size_t k = 0; k < started; k++)
		pthread_join(th[k], NULL);
}
