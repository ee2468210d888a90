/* hp_cluster: IPFS Cluster's REST API (the :9094 one), for pinning.
 *
 *   POST /pins/{cid}?replication-min=&replication-max=&name=   pin
 *   GET  /pins/{cid}                                           status per peer
 *
 * ep->bearer_token, if any, goes as "Authorization: Bearer": a JWT the
 * cluster made (POST /token with its basic_auth_credentials); ep->basic_user
 * and basic_password, if set instead, as basic auth. A missing or wrong one
 * is a 401 (HP_E_PERM); neither ever appears in a message.
 * Bounded answers (HP_CLUSTER_MAX_ANSWER), each wait at most ep->wait_ms
 * and a deadline per call (the hp_http_now_ms clock; 0: none but the
 * waits), as hp_http_json_call. Cluster's error object
 * {"code", "message"} becomes the message, with the code of the HTTP status
 * (hp_http.h); an answer that is not what was asked for is HP_E_DATA. */
#ifndef HP_CLUSTER_H
#define HP_CLUSTER_H

#include <stdint.h>

#include "hp_err.h"
#include "hp_http.h"
#include "hp_multiformats.h"
#include "hp_pinwire.h"

#define HP_CLUSTER_MAX_ANSWER (4u << 20)

typedef struct hp_cluster_pin_opts {
	int replication_min;   /* 0: the cluster's default; -1: every peer */
	int replication_max;
	const char *name;      /* NULL: none */
} hp_cluster_pin_opts;

/* Ask the cluster to pin cid (it answers at once; pinning goes on). */
hp_code hp_cluster_pin(const hp_http_endpoint *ep, const hp_cid *cid, const hp_cluster_pin_opts *o,
		       int64_t deadline, hp_err *e);

/* The cid's status on every peer, summed up (hp_cluster_parse_status). */
hp_code hp_cluster_status_get(const hp_http_endpoint *ep, const hp_cid *cid, hp_cluster_status *st,
			      int64_t deadline, hp_err *e);

#endif
