/* hp_metrics: Prometheus text exposition (see hp_metrics.h). */
#include "hp_metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hp_io.h"
#include "banned.h"

typedef enum kind { K_COUNTER, K_GAUGE, K_HISTOGRAM } kind;

typedef struct series {
	char *values[HP_METRIC_MAX_LABELS];
	double v;                                /* counter, gauge; histogram: the sum */
	unsigned long long count;                /* histogram */
	unsigned long long bucket[HP_METRIC_MAX_BUCKETS];  /* histogram, not cumulative */
} series;

struct hp_metric {
	hp_metrics *m;
	kind k;
	char *name, *help;
	char *labels[HP_METRIC_MAX_LABELS];
	size_t nlabels;
	double le[HP_METRIC_MAX_BUCKETS];
	size_t nbuckets;
	series *s;
	size_t n, cap;
};

struct hp_metrics {
	pthread_mutex_t mu;
	hp_metric **f;
	size_t n, cap;
};

hp_metrics *hp_metrics_new(void)
{
	hp_metrics *m = calloc(1, sizeof *m);
	if (m)
		pthread_mutex_init(&m->mu, NULL);
	return m;
}

static void series_free(hp_metric *f, series *s)
{
	for (size_t i = 0; i < f->nlabels; i++)
		free(s->values[i]);
}

static void family_free(hp_metric *f)
{
	for (size_t i = 0; i < f->n; i++)
		series_free(f, &f->s[i]);
	free(f->s);
	for (size_t i = 0; i < f->nlabels; i++)
		free(f->labels[i]);
	free(f->name);
	free(f->help);
	free(f);
}

void hp_metrics_free(hp_metrics *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		family_free(m->f[i]);
	free(m->f);
	pthread_mutex_destroy(&m->mu);
	free(m);
}

/* [a-zA-Z_:][a-zA-Z0-9_:]* for a metric, without ':' for a label (and not
 * starting with "__", which Prometheus keeps for itself). */
static bool name_ok(const char *s, bool label)
{
	if (!s || !*s || (label && s[0] == '_' && s[1] == '_'))
		return false;
	for (size_t i = 0; s[i]; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (!label && c == ':') ||
			  (i && c >= '0' && c <= '9');
		if (!ok)
			return false;
	}
	return true;
}

static hp_metric *family(hp_metrics *m, kind k, const char *name, const char *help, const char *const *labels,
			 const double *buckets, size_t nbuckets)
{
	if (!m || !name_ok(name, false) || !help || nbuckets > HP_METRIC_MAX_BUCKETS)
		return NULL;
	for (size_t i = 1; i < nbuckets; i++)
		if (!(buckets[i] > buckets[i - 1]))
			return NULL;
	hp_metric *f = calloc(1, sizeof *f);
	if (!f)
		return NULL;
	f->m = m;
	f->k = k;
	bool ok = (f->name = strdup(name)) && (f->help = strdup(help));
	for (size_t i = 0; ok && labels && labels[i]; i++) {
		ok = i < HP_METRIC_MAX_LABELS && name_ok(labels[i], true) && (k != K_HISTOGRAM || strcmp(labels[i], "le"));
		if (ok && (f->labels[i] = strdup(labels[i])))
			f->nlabels++;
		else
			ok = false;
	}
	if (nbuckets)
		memcpy(f->le, buckets, nbuckets * sizeof *buckets);
	f->nbuckets = nbuckets;
	pthread_mutex_lock(&m->mu);
	for (size_t i = 0; ok && i < m->n; i++)
		ok = strcmp(m->f[i]->name, name) != 0;
	if (ok && m->n == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 16;
		hp_metric **v = realloc(m->f, cap * sizeof *v);
		if (v) {
			m->f = v;
			m->cap = cap;
		} else {
			ok = false;
		}
	}
	if (ok)
		m->f[m->n++] = f;
	pthread_mutex_unlock(&m->mu);
	if (!ok) {
		family_free(f);
		return NULL;
	}
	return f;
}

hp_metric *hp_metrics_counter(hp_metrics *m, const char *name, const char *help, const char *const *labels)
{
	return family(m, K_COUNTER, name, help, labels, NULL, 0);
}

hp_metric *hp_metrics_gauge(hp_metrics *m, const char *name, const char *help, const char *const *labels)
{
	return family(m, K_GAUGE, name, help, labels, NULL, 0);
}

hp_metric *hp_metrics_histogram(hp_metrics *m, const char *name, const char *help, const char *const *labels,
				const double *buckets, size_t nbuckets)
{
	return family(m, K_HISTOGRAM, name, help, labels, buckets, nbuckets);
}

/* The series of values (made when new), under the lock; NULL: no memory. */
static series *find(hp_metric *f, const char *const *values)
{
	for (size_t i = 0; i < f->n; i++) {
		size_t k = 0;
		while (k < f->nlabels && strcmp(f->s[i].values[k], values[k]) == 0)
			k++;
		if (k == f->nlabels)
			return &f->s[i];
	}
	if (f->n == f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 8;
		series *v = realloc(f->s, cap * sizeof *v);
		if (!v)
			return NULL;
		f->s = v;
		f->cap = cap;
	}
	series *s = &f->s[f->n];
	memset(s, 0, sizeof *s);
	for (size_t k = 0; k < f->nlabels; k++)
		if (!(s->values[k] = strdup(values[k] ? values[k] : ""))) {
			series_free(f, s);
			return NULL;
		}
	f->n++;
	return s;
}

static void update(hp_metric *f, const char *const *values, double v, int op)
{
	if (!f)
		return;
	pthread_mutex_lock(&f->m->mu);
	series *s = find(f, values);
	if (s && op == 0) {
		s->v = v;
	} else if (s && op == 1) {
		s->v += v;
	} else if (s) {
		s->v += v;
		s->count++;
		size_t b = 0;
		while (b < f->nbuckets && v > f->le[b])
			b++;
		if (b < f->nbuckets)
			s->bucket[b]++;
	}
	pthread_mutex_unlock(&f->m->mu);
}

void hp_metric_set(hp_metric *f, const char *const *values, double v)
{
	if (f && f->k == K_GAUGE)
		update(f, values, v, 0);
}

void hp_metric_add(hp_metric *f, const char *const *values, double v)
{
	if (f && (f->k == K_GAUGE || (f->k == K_COUNTER && v >= 0)))
		update(f, values, v, 1);
}

void hp_metric_observe(hp_metric *f, const char *const *values, double v)
{
	if (f && f->k == K_HISTOGRAM)
		update(f, values, v, 2);
}

void hp_metric_clear(hp_metric *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&f->m->mu);
	for (size_t i = 0; i < f->n; i++)
		series_free(f, &f->s[i]);
	f->n = 0;
	pthread_mutex_unlock(&f->m->mu);
}

/* ---- rendering ---- */

/* HELP text escapes '\' and newline; a label value also '"'. A byte that
 * is not UTF-8 becomes U+FFFD: a label value may come from data (a
 * torrent's name), and Prometheus refuses a whole scrape for one such byte. */
static hp_code escaped(hp_buf *b, const char *s, bool quote, hp_err *e)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s), l;
	hp_code rc = HP_OK;
	for (size_t i = 0; i < n && !rc; i += l ? l : 1) {
		l = hp_utf8_char_len(u + i, n - i);
		if (!l)
			rc = hp_buf_adds(b, "\xef\xbf\xbd", e);
		else if (l > 1)
			rc = hp_buf_add(b, s + i, l, e);
		else if (s[i] == '\\')
			rc = hp_buf_adds(b, "\\\\", e);
		else if (s[i] == '\n')
			rc = hp_buf_adds(b, "\\n", e);
		else if (quote && s[i] == '"')
			rc = hp_buf_adds(b, "\\\"", e);
		else
			rc = hp_buf_addch(b, s[i], e);
	}
	return rc;
}

static hp_code number(hp_buf *b, double v, hp_err *e)
{
	if (isnan(v))
		return hp_buf_adds(b, "NaN", e);
	if (isinf(v))
		return hp_buf_adds(b, v > 0 ? "+Inf" : "-Inf", e);
	if (v == floor(v) && fabs(v) < 1e15)
		return hp_buf_addf(b, e, "%.0f", v);
	/* the shortest of %.15g and %.17g that reads back as v */
	char t[40];
	snprintf(t, sizeof t, "%.15g", v);
	if (strtod(t, NULL) != v)
		snprintf(t, sizeof t, "%.17g", v);
	return hp_buf_adds(b, t, e);
}

/* name{l1="v1",...[,le="x"]} */
static hp_code sample_name(hp_buf *b, const hp_metric *f, const series *s, const char *suffix, const char *le,
			   hp_err *e)
{
	hp_code rc = hp_buf_addf(b, e, "%s%s", f->name, suffix);
	if (!rc && (f->nlabels || le))
		rc = hp_buf_addch(b, '{', e);
	for (size_t k = 0; !rc && k < f->nlabels; k++) {
		if (!(rc = hp_buf_addf(b, e, "%s%s=\"", k ? "," : "", f->labels[k])) &&
		    !(rc = escaped(b, s->values[k], true, e)))
			rc = hp_buf_addch(b, '"', e);
	}
	if (!rc && le)
		rc = hp_buf_addf(b, e, "%sle=\"%s\"", f->nlabels ? "," : "", le);
	if (!rc && (f->nlabels || le))
		rc = hp_buf_addch(b, '}', e);
	return rc ? rc : hp_buf_addch(b, ' ', e);
}

static hp_code render_family(hp_buf *b, const hp_metric *f, hp_err *e)
{
	static const char *const types[] = { "counter", "gauge", "histogram" };
	hp_code rc = hp_buf_addf(b, e, "# HELP %s ", f->name);
	if (!rc)
		rc = escaped(b, f->help, false, e);
	if (!rc)
		rc = hp_buf_addf(b, e, "\n# TYPE %s %s\n", f->name, types[f->k]);
	for (size_t i = 0; !rc && i < f->n; i++) {
		const series *s = &f->s[i];
		if (f->k != K_HISTOGRAM) {
			if (!(rc = sample_name(b, f, s, "", NULL, e)) && !(rc = number(b, s->v, e)))
				rc = hp_buf_addch(b, '\n', e);
			continue;
		}
		unsigned long long cum = 0;
		for (size_t k = 0; !rc && k <= f->nbuckets; k++) {
			char le[40];
			if (k < f->nbuckets) {
				cum += s->bucket[k];
				hp_buf t = HP_BUF_INIT;
				rc = number(&t, f->le[k], e);
				snprintf(le, sizeof le, "%s", rc ? "" : t.data);
				hp_buf_release(&t);
			} else {
				cum = s->count;
				snprintf(le, sizeof le, "+Inf");
			}
			if (!rc && !(rc = sample_name(b, f, s, "_bucket", le, e)))
				rc = hp_buf_addf(b, e, "%llu\n", cum);
		}
		if (!rc && !(rc = sample_name(b, f, s, "_sum", NULL, e)) && !(rc = number(b, s->v, e)))
			rc = hp_buf_addch(b, '\n', e);
		if (!rc && !(rc = sample_name(b, f, s, "_count", NULL, e)))
			rc = hp_buf_addf(b, e, "%llu\n", s->count);
	}
	return rc;
}

hp_code hp_metrics_render(hp_metrics *m, hp_buf *out, hp_err *e)
{
	hp_code rc = HP_OK;
	pthread_mutex_lock(&m->mu);
	for (size_t i = 0; !rc && i < m->n; i++)
		rc = render_family(out, m->f[i], e);
	pthread_mutex_unlock(&m->mu);
	return rc;
}
