/* hp_pinwire: the answers of the pinning services, parsed (pure: no I/O).
 *
 * kubo's RPC (/api/v0: errors, pin/ls, pin/add, dag/import), IPFS Cluster's
 * REST API (GET /pins/{cid}, errors) and the IPFS Pinning Service API
 * (PinStatus, PinResults, Failure). hp_kubo, hp_cluster and hp_psa do the
 * talking; these functions only read bytes, so they are unit-tested and
 * fuzzed on their own (fuzz/pinwire_fuzzer.c).
 *
 * Malformed answers are HP_E_DATA with a message that starts with "answer:"
 * (the caller puts the endpoint in front). Text from a service that ends up
 * in a message is quoted (hp_quote): no control byte reaches a terminal. */
#ifndef HP_PINWIRE_H
#define HP_PINWIRE_H

#include <stdbool.h>
#include <stddef.h>

#include "hp_err.h"
#include "hp_multiformats.h"

#define HP_PINWIRE_MSG_MAX 300

/* Do a and b name the same content: the same codec and multihash (a CIDv0
 * and the CIDv1 dag-pb of the same hash are one)? */
bool hp_cid_same_content(const hp_cid *a, const hp_cid *b);

/* ---- kubo ---- */

/* Is p[0..n) kubo's error object {"Message": ..., "Code": n, "Type": "error"}
 * (possibly followed by a newline)? Then msg gets the Message, quoted. */
bool hp_kubo_error_message(const char *p, size_t n, char *msg, size_t msgsz);

/* pin/ls?arg=CID&type=recursive: {"Keys": {CID: {"Type": ..., "Name": ...}}}.
 * *pinned is whether cid is a key of Type "recursive". */
hp_code hp_kubo_parse_pin_ls(const char *p, size_t n, const hp_cid *cid, bool *pinned, hp_err *e);

/* pin/add?arg=CID&progress=true: NDJSON {"Progress": n, ...} lines, then
 * {"Pins": [CID...]}. HP_OK when cid is in Pins; a line that is kubo's
 * error object fails with HP_E_UNAVAILABLE and its Message; no Pins line
 * (the stream was cut) or cid missing from it is HP_E_DATA. */
hp_code hp_kubo_parse_pin_add(const char *p, size_t n, const hp_cid *cid, hp_err *e);

/* dag/import: NDJSON {"Root": {"Cid": {"/": CID}, "PinErrorMsg": ""}} per
 * root (and maybe {"Stats": ...}). The first max roots go to roots[],
 * *nroots counts them all; an error line is HP_E_UNAVAILABLE. */
typedef struct hp_kubo_root {
	hp_cid cid;
	char pin_error[HP_PINWIRE_MSG_MAX];  /* "" when kubo pinned it */
} hp_kubo_root;
hp_code hp_kubo_parse_dag_import(const char *p, size_t n, hp_kubo_root *roots, size_t max, size_t *nroots,
				 hp_err *e);

/* ---- IPFS Cluster ---- */

/* GET /pins/{cid}: {"cid": CID, "peer_map": {PEER: {"status": ..., "error": ...}}},
 * summed up per state. Cluster's states: pinned; pinning; pin_queued;
 * pin_error, cluster_error, unexpectedly_unpinned (failed); unpinned,
 * unpinning, unpin_queued, unpin_error (unpinned); remote (allocated
 * elsewhere: not counted in peers); anything else is other. */
typedef struct hp_cluster_status {
	unsigned peers;      /* entries of peer_map, less the remote ones */
	unsigned pinned, pinning, queued, failed, unpinned, remote, other;
	char error[HP_PINWIRE_MSG_MAX];  /* the first failed peer's error, quoted */
} hp_cluster_status;
hp_code hp_cluster_parse_status(const char *p, size_t n, const hp_cid *cid, hp_cluster_status *st, hp_err *e);

/* Cluster's error object {"code": n, "message": ...}: msg gets the message. */
bool hp_cluster_error_message(const char *p, size_t n, char *msg, size_t msgsz);

/* ---- Pinning Service API ---- */

typedef enum hp_psa_state {
	HP_PSA_QUEUED,
	HP_PSA_PINNING,
	HP_PSA_PINNED,
	HP_PSA_FAILED,
} hp_psa_state;

const char *hp_psa_state_name(hp_psa_state s);

typedef struct hp_psa_status {
	char requestid[256];
	hp_psa_state status;
	hp_cid cid;          /* pin.cid */
} hp_psa_status;

/* A PinStatus {"requestid", "status", "created", "pin": {"cid", ...},
 * "delegates", "info"}: requestid, status and pin.cid are required; when
 * cid is not NULL, pin.cid must name the same content. */
hp_code hp_psa_parse_status(const char *p, size_t n, const hp_cid *cid, hp_psa_status *st, hp_err *e);

/* A PinResults {"count", "results": [PinStatus...]}: *found when a result
 * pins cid; st gets the most advanced one (pinned, pinning, queued, failed). */
hp_code hp_psa_parse_results(const char *p, size_t n, const hp_cid *cid, hp_psa_status *st, bool *found,
			     hp_err *e);

/* A Failure {"error": {"reason": ..., "details": ...}}: msg gets
 * "reason: details", quoted. */
bool hp_psa_error_message(const char *p, size_t n, char *msg, size_t msgsz);

#endif
