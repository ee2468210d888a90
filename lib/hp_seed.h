/* hp_seed: a seeder of torrents from a content folder, as a library call
 * (the engine of hp-seed and of `hybrid-p2p publish --seed`).
 *
 * Torrents are added first: each one's content is checked against the
 * torrent's hashes by our own digest pipeline (hp_btpieces) before it is
 * seeded, unless the caller made the torrent from that very read (publish).
 * hp_seed_run then seeds until *stop turns non-zero, reporting each event as
 * the JSON record hp-seed prints (
 * listening, seeding, peer, tracker, uploaded, error, resume-saved, stopped;
 * docs/hp-seed.1). With a metrics registry, it also keeps the hp_seed_*
 * families there (docs/metrics.md), refreshed at every report interval. */
#ifndef HP_SEED_H
#define HP_SEED_H

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hp_err.h"
#include "hp_metrics.h"
#include "hp_torrent.h"

typedef void hp_seed_event_fn(void *ud, const json_t *record);

typedef struct hp_seed_opts {
	const char *content;               /* the folder holding each torrent's NAME (or, for
	                                    * a manifest's torrent, the manifest's files) */
	const char *listen;                /* IP:PORT; NULL: 0.0.0.0:6881 */
	const char *const *peers;          /* IP:PORT to connect out to (retried while none is connected) */
	size_t npeers;
	bool tracker_off;                  /* do not announce to trackers */
	hp_bt_net net;                     /* DHT, uTP...: the zero value is the internet's defaults */
	const char *resume_dir;            /* save resume data there on stop, and the DHT's state
	                                    * (dht.state) unless net.dht_state says where; NULL: none */
	unsigned interval;                 /* seconds between upload reports; 0: 1 */
	uint64_t upload_rate;              /* bytes/s in all; 0: no limit */
	unsigned jobs;                     /* reading threads while checking; 0: one per CPU */
	hp_metrics *metrics;               /* NULL: none; else the hp_seed_* families are made
	                                    * there by hp_seed_new (once per registry) */
	hp_seed_event_fn *on_event;        /* may be NULL */
	void *ud;
	const volatile sig_atomic_t *stop; /* the run ends when it turns non-zero (a signal number) */
} hp_seed_opts;

typedef struct hp_seed hp_seed;

/* The options are borrowed for the life of the seeder. */
hp_code hp_seed_new(const hp_seed_opts *o, hp_seed **out, hp_err *e);
void hp_seed_free(hp_seed *s);

/* A .torrent file ("-": stdin), its content checked under o->content:
 * HP_E_INVALID naming the file that is missing or does not match. */
hp_code hp_seed_add_file(hp_seed *s, const char *path, hp_err *e);

/* A torrent already in memory (copied); label names it in records. With
 * checked, the caller vouches for the content (it made the torrent from that
 * read); flat: the files are at CONTENT/PATH, not CONTENT/NAME/PATH. */
hp_code hp_seed_add_bytes(hp_seed *s, const void *torrent, size_t len, const char *label, bool checked, bool flat,
			  hp_err *e);

/* The canonical torrent of the manifest at path (hp_mkt_from_manifest),
 * its files at CONTENT/PATH, each checked by size and SHA-256 in the read
 * that hashes the pieces; the infohashes must be the manifest's. */
hp_code hp_seed_add_manifest(hp_seed *s, const char *path, hp_err *e);

/* Seed every torrent added until *o->stop. HP_E_UNAVAILABLE when the
 * address cannot be listened on. */
hp_code hp_seed_run(hp_seed *s, hp_err *e);

#endif
