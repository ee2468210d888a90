/* hp_plan: the one fetch plan, shared by hp-fetch and `hybrid-p2p fetch`:
 * the manifest read and verified once (form, signature by a trusted key,
 * expiry, rollback: hp_fetch_open), then every source added in one order,
 * then one hp_fetch run. The order (docs/fetch.md):
 *
 * what the user named before what the package suggests:
 *   1. BitTorrent, when a torrent file or a peer was given: its peers,
 *      trackers and web seeds;
 *   2. the IPFS gateways given, in order;
 *   3. kubo's RPC API, when given;
 *   4. BitTorrent with the registry's .torrent (torrent_implied), when not 1;
 *   5. the manifest's distribution.ipfs_gateway (unless no_manifest_gateway).
 * A swarm nobody named costs a timeout when no peer can be found, so it
 * comes after the sources the user asked for.
 *
 * Each source is handed the files the ones before it could not deliver.
 * A manifest looked up as NAME@VERSION must be signed for that name and
 * version (HP_E_INVALID otherwise). */
#ifndef HP_PLAN_H
#define HP_PLAN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hp_bt_fetch.h"
#include "hp_err.h"
#include "hp_fetch.h"

typedef struct hp_plan_opts {
	hp_fetch_opts fetch;                /* output folder, trust, state, events, stop */
	const char *manifest;               /* the manifest's path ("-": stdin), or its name with manifest_data */
	const char *manifest_data;          /* the manifest's bytes (a registry's), or NULL */
	size_t manifest_len;
	const char *expect_name;            /* the name and version asked for (NAME@VERSION), or NULL */
	const char *expect_version;
	/* BitTorrent */
	const char *torrent;                /* the .torrent's path, or its name with torrent_data; NULL: none */
	const void *torrent_data;
	size_t torrent_len;
	bool torrent_implied;               /* the registry's, not the user's: after their sources */
	const char *const *peers;
	size_t npeers;
	const char *bt_listen;
	const char *const *trackers;        /* announce URLs besides the torrent's */
	size_t ntrackers;
	hp_bt_net bt_net;                   /* DHT, uTP...: zero is the internet's defaults */
	uint64_t download_rate;
	bool no_web_seeds;
	hp_bt_piece_order piece_order;
	/* IPFS */
	const char *const *gateways;
	size_t ngateways;
	bool no_manifest_gateway;
	const char *kubo;
	bool raw_blocks;
	size_t memory;
	/* every source */
	long timeout_ms;                    /* 0: 30 s */
	uint32_t min_rate;                  /* bytes/s each source must average over each timeout
	                                     * span (a drip is a stall); 0: 1024 */
	long deadline_ms;                   /* each source's whole time, then the next; 0: none */
	/* called once the manifest is verified (and is the one asked for),
	 * before any source is asked; may be NULL */
	void (*on_verified)(void *ud, const json_t *manifest);
} hp_plan_opts;

typedef struct hp_plan_result {
	json_t *report;   /* the manifest's verification report (hp-verify's), when it could be parsed */
	json_t *summary;  /* hp_fetch_summary, whenever the sources were set up (the files were
	                   * planned): on success and on every failure after that */
	json_t *manifest; /* the verified manifest, on success */
} hp_plan_result;

#define HP_PLAN_RESULT_INIT { NULL, NULL, NULL }

/* Verify, add the sources, check what is in place, fetch the rest. Returns
 * hp_fetch_run's code, or the verification's (HP_E_INVALID with the report's
 * failures; HP_E_DATA malformed), or a source's setup error (HP_E_USAGE for
 * a bad URL or peer, HP_E_DATA for a bad .torrent). The manifest's own
 * gateway, when unusable, is a warning event (HP_FETCH_EV_WARNING), not an
 * error. */
hp_code hp_plan_fetch(const hp_plan_opts *o, hp_plan_result *r, hp_err *e);

void hp_plan_result_release(hp_plan_result *r);

#endif
