/* hp_metrics: metrics for Prometheus, in its text exposition format
 * (version 0.0.4, what `promtool check metrics` reads).
 *
 *     hp_metrics *m = hp_metrics_new();
 *     const char *const node[] = { "node", "kind", NULL };
 *     hp_metric *up = hp_metrics_gauge(m, "hp_keeper_node_up", "1 when the node answered", node);
 *     hp_metric_set(up, (const char *const[]){ "http://127.0.0.1:5001", "kubo" }, 1);
 *     hp_metrics_render(m, &buf, &e);
 *
 * A family has a name, a help line, a type and up to HP_METRIC_MAX_LABELS
 * label names; each set of label values is one series. Updates and
 * rendering may come from any thread (one mutex). Names follow Prometheus's
 * conventions (docs/metrics.md): counters end in _total, units are base
 * units (_seconds, _bytes). */
#ifndef HP_METRICS_H
#define HP_METRICS_H

#include <stddef.h>

#include "hp_buf.h"
#include "hp_err.h"

#define HP_METRIC_MAX_LABELS 4
#define HP_METRIC_MAX_BUCKETS 16

typedef struct hp_metrics hp_metrics;
typedef struct hp_metric hp_metric;

hp_metrics *hp_metrics_new(void);
void hp_metrics_free(hp_metrics *m);

/* A family (labels: names, NULL-terminated; NULL: none). NULL when out of
 * memory or for a name or label name Prometheus would refuse, or a name
 * used twice (a programming error, not an input). A histogram's buckets
 * are upper bounds in ascending order; +Inf is added. */
hp_metric *hp_metrics_counter(hp_metrics *m, const char *name, const char *help, const char *const *labels);
hp_metric *hp_metrics_gauge(hp_metrics *m, const char *name, const char *help, const char *const *labels);
hp_metric *hp_metrics_histogram(hp_metrics *m, const char *name, const char *help, const char *const *labels,
				const double *buckets, size_t nbuckets);

/* values: one per label name of the family (none when it has none: NULL).
 * Any byte string is a label value (escaped when rendered; a byte that is
 * not UTF-8 as U+FFFD, so one never spoils a scrape). f may be NULL
 * (nothing happens), so that a family that could not be made costs no
 * checks at every update. */
void hp_metric_set(hp_metric *f, const char *const *values, double v);      /* gauges */
void hp_metric_add(hp_metric *f, const char *const *values, double v);      /* counters (v >= 0), gauges */
void hp_metric_observe(hp_metric *f, const char *const *values, double v);  /* histograms */
/* Forget every series of the family (a gauge whose label values come and go). */
void hp_metric_clear(hp_metric *f);

/* Every family, with its # HELP and # TYPE lines, appended to out. */
hp_code hp_metrics_render(hp_metrics *m, hp_buf *out, hp_err *e);

/* The content type of the rendering, for an HTTP answer. */
#define HP_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
