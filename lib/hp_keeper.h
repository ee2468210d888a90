/* hp_keeper: keep every manifest's content pinned on every node, for as
 * long as it runs (`hp-pin watch`).
 *
 * A check, every interval:
 *   1. the targets: every manifest the registry lists (fetched with its
 *      bounded waits; when the fetch fails the last list is kept and the
 *      failure counted), and every manifest file or CID given; each
 *      manifest's distribution.ipfs_cid, total_size and expires. Manifests
 *      are read once per registry commit. A commit that goes back (a name
 *      whose newest version is older than one seen before, or the same
 *      version with other content: hp_state, as fetch refuses it) is
 *      refused: the last list is kept, and the refusal reported and counted.
 *   2. on every node at once (one thread each, so that a node that hangs
 *      or fails costs only its own timeout): the status of every CID
 *      (hp_pin_status); a CID unpinned or failed there is pinned again
 *      (hp_pin_add; on kubo from DIR/CID.car when car_dir has it), and its
 *      new state counted. Queued and pinning pins are left to finish.
 *   3. the metrics (docs/metrics.md) and one event for the check.
 * Between checks it sleeps in short steps, watching *stop.
 *
 * Manifests are read as hp-pin reads them: well-formed, signature not
 * checked (what the registry lists is pinned; who may write to it is the
 * registry's access control). */
#ifndef HP_KEEPER_H
#define HP_KEEPER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hp_err.h"
#include "hp_metrics.h"
#include "hp_pin.h"
#include "hp_resolve.h"

typedef enum hp_keeper_event_kind {
	HP_KEEPER_EV_CHECK,     /* a check is done: the counts below */
	HP_KEEPER_EV_REPIN,     /* pin: the result of pinning a CID again */
	HP_KEEPER_EV_REGISTRY,  /* head: the registry's commit changed (or was first read) */
	HP_KEEPER_EV_ERROR,     /* err: a step failed (the registry, a manifest, a node) */
} hp_keeper_event_kind;

typedef struct hp_keeper_event {
	hp_keeper_event_kind kind;
	const hp_pin_result *pin;   /* REPIN */
	const hp_err *err;          /* ERROR */
	const char *step;           /* ERROR: "registry", a manifest's name or path, a node's URL */
	const char *head;           /* REGISTRY */
	/* CHECK */
	size_t manifests, cids;
	size_t pinned, pending, missing, errors;  /* (node, CID) pairs after the check */
	size_t repinned, repin_failed;
	double seconds;
} hp_keeper_event;

typedef void hp_keeper_event_fn(void *ud, const hp_keeper_event *ev);

typedef struct hp_keeper_opts {
	const hp_pin_node *nodes;
	size_t nnodes;
	const hp_registry_ref *registry;   /* NULL: no registry */
	const char *const *args;           /* manifest files and CIDs, as hp-pin takes them */
	size_t nargs;
	const char *car_dir;               /* NULL: none */
	const char *state_path;            /* what the registry showed, kept across runs
	                                    * (hp_state: each name's newest version and
	                                    * content); NULL: in memory only */
	long interval_ms;                  /* between the starts of two checks; 0: 60 s */
	long timeout_ms;                   /* each node's waits and steps (hp_pin_opts); 0: 120 s */
	bool once;                         /* one check, then return */
	hp_metrics *metrics;               /* NULL: none */
	volatile sig_atomic_t *stop;       /* non-zero: return after the step under way */
	hp_keeper_event_fn *on_event;      /* may be NULL; called from one thread at a time */
	void *ud;
} hp_keeper_opts;

/* Run checks until *stop (or after one with once). HP_OK when stopped; with
 * once, HP_OK when every (node, CID) is pinned after the check, else the
 * worst error of a pin (the codes hp_pin gives) or HP_E_INVALID for a CID
 * left unpinned. HP_E_USAGE before any check for options that cannot work
 * (no node, no target source). */
hp_code hp_keeper_run(const hp_keeper_opts *o, hp_err *e);

#endif
