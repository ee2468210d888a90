/* hp_pin: pin CIDs on every configured node, and ask each node about them.
 *
 * Nodes are kubo RPC APIs, IPFS Cluster REST APIs and Pinning Service APIs.
 * Work goes node by node: every kubo first (a cluster or a pinning service
 * may need what a kubo import brought), then clusters, then pinning
 * services, each kind in the order given; on each node, every CID in turn.
 * One result per (node, CID) goes to the caller's report function as soon
 * as it is known.
 *
 * add:
 *   kubo     with opts->car: dag/import (pin-roots) of the CAR, whose one
 *            root must be the CID (checked locally first, hp_pin_check_car,
 *            and again in kubo's answer); else pin/add. Then pin/ls must
 *            list it as recursively pinned.
 *   cluster  POST /pins/{cid} with the node's replication factors, then
 *            GET /pins/{cid} until it is pinned on enough peers
 *            (replication_min, else every peer it is allocated to).
 *   psa      POST /pins, then GET /pins/{requestid} until pinned or failed.
 * status: kubo pin/ls; cluster GET /pins/{cid}; psa GET /pins?cid=.
 *
 * opts->timeout_ms (T) bounds two things:
 *   each wait on a node: connecting, the answer's first byte, a silence
 *     while sending or receiving, a transfer below HP_HTTP_MIN_RATE over T
 *     (kubo's pin/add progress lines are heartbeats, not a transfer);
 *   each step in all: the pin request with its polling (cluster, psa),
 *     kubo's pin/add (kubo streams progress while it fetches), the check
 *     that follows (pin/ls), a status; while its time is left an
 *     HP_E_TEMPFAIL answer (429, 503, ...) is asked again.
 * The CAR upload of dag/import has no total: it may take as long as it
 * keeps moving; kubo's answer to it is one more wait.
 * After a node fails to answer at all (down, timed out, refused access),
 * its remaining CIDs get the same error without asking it again. */
#ifndef HP_PIN_H
#define HP_PIN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "hp_err.h"
#include "hp_http.h"
#include "hp_multiformats.h"

typedef enum hp_pin_kind {
	HP_PIN_KUBO,
	HP_PIN_CLUSTER,
	HP_PIN_PSA,
} hp_pin_kind;

const char *hp_pin_kind_name(hp_pin_kind k);  /* "kubo", "cluster", "psa" */

/* The environment variable a node's bearer token comes from by default:
 * "HP_KUBO_TOKEN", "HP_CLUSTER_TOKEN", "HP_PSA_TOKEN". */
const char *hp_pin_token_env_default(hp_pin_kind k);

typedef struct hp_pin_node {
	hp_pin_kind kind;
	hp_http_endpoint ep;      /* ep.url: a base URL (hp_http_base_url); ep.bearer_token:
				   * kubo's API.Authorizations "bearer:" secret, a cluster's
				   * JWT (its POST /token), a pinning service's token */
	int replication_min;      /* cluster: 0 = the cluster's default */
	int replication_max;
	const char *token_from;   /* the variable the token came from (or would have), for the
				   * hint on a 401/403; NULL: hp_pin_token_env_default */
} hp_pin_node;

typedef enum hp_pin_state {
	HP_PIN_PINNED,
	HP_PIN_PINNING,
	HP_PIN_QUEUED,
	HP_PIN_FAILED,    /* the service tried and reports failure (or a wrong root) */
	HP_PIN_UNPINNED,
	HP_PIN_ERROR,     /* no usable answer: down, timed out, garbage, refused */
} hp_pin_state;

const char *hp_pin_state_name(hp_pin_state s);  /* "pinned", ..., "error" */

typedef struct hp_pin_result {
	const hp_pin_node *node;
	const hp_cid *cid;
	hp_pin_state state;
	/* HP_OK when pinned. Otherwise why not:
	 *   add:    HP_E_INVALID (kubo reports another root), HP_E_UNAVAILABLE
	 *           (the service failed the pin, or is down or broken), HP_E_TEMPFAIL
	 *           (still pinning or queued at the timeout, or timed out), HP_E_DATA
	 *           (a garbage answer), HP_E_PERM (401/403: the message ends with
	 *           a hint naming token_from, never the token), ...
	 *   status: HP_E_INVALID for an answer that it is not pinned (unpinned,
	 *           queued, pinning, failed); the codes above for errors. */
	hp_err err;
	unsigned peers;           /* cluster: peers it is allocated to */
	unsigned peers_pinned;    /* cluster: peers that have pinned it */
	char requestid[256];      /* psa: the request's id ("" if none) */
} hp_pin_result;

typedef void hp_pin_report_fn(void *ud, const hp_pin_result *r);

typedef struct hp_pin_opts {
	const char *car;                 /* add, kubo: import this CARv1 (then exactly one CID) */
	const char *name;                /* pin name; NULL: none */
	const char *const *origins;      /* psa: multiaddrs that have the content */
	size_t norigins;
	long timeout_ms;                 /* each wait, and each step (above); 0: 120 s */
	long poll_ms;                    /* first wait between polls; 0: 200 ms (then x1.5, up to 2 s) */
} hp_pin_opts;

/* Pin cids[0..ncids) on every node. Returns HP_OK when every result was
 * reported (whatever they say); fails before any node is asked when the
 * request cannot be carried out (opts->car with more than one CID, a CAR
 * that is unreadable, malformed or not rooted at the CID: HP_E_INVALID). */
hp_code hp_pin_add(const hp_pin_node *nodes, size_t nnodes, const hp_cid *cids, size_t ncids,
		   const hp_pin_opts *opts, hp_pin_report_fn *report, void *ud, hp_err *e);

/* Ask every node whether each CID is pinned. */
hp_code hp_pin_status(const hp_pin_node *nodes, size_t nnodes, const hp_cid *cids, size_t ncids,
		      const hp_pin_opts *opts, hp_pin_report_fn *report, void *ud, hp_err *e);

/* Is the CARv1 at path rooted at cid alone, with every block matching its
 * CID and the root block present? HP_E_INVALID when not (the message names
 * both CIDs), HP_E_DATA when it is not a well-formed CAR, HP_E_NOINPUT when
 * it cannot be read. */
hp_code hp_pin_check_car(const char *path, const hp_cid *cid, hp_err *e);

/* distribution.ipfs_cid of the manifest at path ("-": stdin), which must be
 * well-formed (it need not be signed). HP_E_DATA when it has none. */
hp_code hp_pin_manifest_cid(const char *path, hp_cid *cid, hp_err *e);

/* The result as hp-pin's JSON record (schemas/hp-pin.record.schema.json):
 * {"node" (credentials redacted), "kind", "cid", "status", "peers"?,
 * "peers_pinned"?, "requestid"?, "error"?}. NULL when out of memory. */
json_t *hp_pin_result_record(const hp_pin_result *r);

#endif
