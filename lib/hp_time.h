/* hp_time: RFC 3339 timestamps in UTC ("2026-01-31T12:00:00Z", optional
 * fraction of a second), the only form manifests carry. */
#ifndef HP_TIME_H
#define HP_TIME_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <time.h>

/* Parse s; on success store the time (fraction dropped) in *out if non-NULL. */
bool hp_time_parse(const char *s, time_t *out);
bool hp_time_parse_n(const char *s, size_t n, time_t *out);
/* Format t as "YYYY-MM-DDTHH:MM:SSZ" into out (at least 21 bytes). */
void hp_time_format(time_t t, char out[32]);
/* Milliseconds of CLOCK_MONOTONIC: for deadlines and durations. */
int64_t hp_time_mono_ms(void);

#endif
