/* hp_publish: a package published, as a library call (the engine of
 * `hybrid-p2p publish`; docs/registry.md). The steps, each reported as one
 * JSON record {"step", "status", ...} (schemas/hybrid-p2p.step.schema.json):
 *
 *   checks    before any byte is hashed: the signing key (and its
 *             passphrase) loads, the destinations' URLs parse, the
 *             registry URL holds no password, a local registry exists
 *             (unless registry.create_local), seeding can find the files,
 *             the git work tree is clean (unless allow_dirty);
 *   car, torrent, manifest
 *             one read of the files (hp_package): the CAR, the .torrent and
 *             the manifest; the manifest signed (and its fresh signature
 *             checked) and validated, and only then written to output. A
 *             version the registry (or output) already holds with the same
 *             content is reused as it is, nothing signed again; with other
 *             content it is refused (HP_E_INVALID);
 *   pin       each destination in turn (kubo: the CAR imported; cluster;
 *             Pinning Service API), one record each with hp-pin's records;
 *   registry  the manifest and .torrent committed and pushed;
 *   seed      the torrent seeded from the files until *stop.
 *
 * A destination that fails does not stop the others; the result is the
 * worst step's code. Running the same publish again completes what failed. */
#ifndef HP_PUBLISH_H
#define HP_PUBLISH_H

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "hp_err.h"
#include "hp_package.h"
#include "hp_resolve.h"
#include "hp_seed.h"
#include "hp_sign.h"

typedef enum hp_publish_event_kind {
	HP_PUBLISH_EV_STEP,      /* record: a step's JSON record */
	HP_PUBLISH_EV_SEED,      /* record: a seeder event (hp_seed) */
	HP_PUBLISH_EV_WARNING,   /* warning */
	HP_PUBLISH_EV_PROGRESS,  /* done of total bytes read */
	HP_PUBLISH_EV_FAILED,    /* a step failed: warning holds why (the record follows) */
} hp_publish_event_kind;

typedef struct hp_publish_event {
	hp_publish_event_kind kind;
	const json_t *record;
	const hp_err *warning;
	uint64_t done, total;
} hp_publish_event;

typedef void hp_publish_event_fn(void *ud, const hp_publish_event *ev);

typedef struct hp_publish_opts {
	hp_package_opts package;            /* meta (name, version, uploader_id...), paths, profile,
	                                     * trackers; car_path and torrent_path: NULL for the
	                                     * defaults beside output (NAME-VERSION.car/.torrent) */
	bool no_car;                        /* make no CAR (pinning that needs it is refused) */
	const char *key;                    /* the signing key's file */
	hp_passphrase_fn *passphrase;       /* asked when the key is encrypted; may be NULL */
	void *passphrase_ud;
	const char *output;                 /* the signed manifest's path */
	bool allow_dirty, no_git;           /* git provenance */
	const char *const *kubo;            /* destinations: base URLs */
	size_t nkubo;
	const char *const *cluster;
	size_t ncluster;
	const char *const *psa;
	size_t npsa;
	long pin_timeout_ms;                /* hp_pin_opts.timeout_ms; 0: 120 s */
	hp_registry_ref registry;           /* url NULL (and no $HP_REGISTRY): no registry step */
	bool seed;                          /* then seed until *stop */
	hp_seed_opts seed_opts;             /* listen, peers...; content, events and stop are set here */
	const volatile sig_atomic_t *stop;
	hp_publish_event_fn *on_event;      /* may be NULL */
	void *ud;
	unsigned progress_ms;               /* 0: no progress events */
} hp_publish_opts;

/* Publish. Returns the worst step's code (HP_OK when every step is done);
 * e holds the first failure's message. A failure of the checks or of the
 * manifest step returns before any destination is tried. */
hp_code hp_publish(const hp_publish_opts *o, hp_err *e);

/* The worse of two codes (for a caller that adds its own steps). */
hp_code hp_code_worse(hp_code a, hp_code b);

#endif
