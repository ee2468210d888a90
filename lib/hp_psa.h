/* hp_psa: the IPFS Pinning Service API (ipfs/pinning-services-api-spec
 * v1.0.0), as Pinata, Filebase and IPFS Cluster's pinsvcapi serve it.
 *
 *   POST /pins {"cid", "name"?, "origins"?}   ask for a pin -> PinStatus
 *   GET  /pins/{requestid}                   -> PinStatus
 *   GET  /pins?cid=CID                       -> PinResults
 *
 * ep->url is the service's base (…/psa for Pinata, http://host:9097 for a
 * cluster); ep->bearer_token is sent as "Authorization: Bearer" (the
 * spec's only scheme) and never appears in a message. Any 2xx is success
 * (the spec says 202 for POST; IPFS Cluster answers 200). A Failure
 * {"error": {"reason", "details"}} becomes the message; 401/403 are
 * HP_E_PERM; the rest as hp_http.h says. Each wait at most ep->wait_ms;
 * deadline: the hp_http_now_ms clock, 0: none but the waits
 * (hp_http_json_call). */
#ifndef HP_PSA_H
#define HP_PSA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hp_err.h"
#include "hp_http.h"
#include "hp_multiformats.h"
#include "hp_pinwire.h"

#define HP_PSA_MAX_ANSWER (4u << 20)
#define HP_PSA_MAX_ORIGINS 20
#define HP_PSA_MAX_NAME 255

/* Ask for a pin of cid; st gets the service's PinStatus (its requestid
 * for hp_psa_get). name may be NULL; at most 20 origins (multiaddrs). */
hp_code hp_psa_add(const hp_http_endpoint *ep, const hp_cid *cid, const char *name, const char *const *origins,
		   size_t norigins, int64_t deadline, hp_psa_status *st, hp_err *e);

/* The PinStatus of a request; it must be about cid. */
hp_code hp_psa_get(const hp_http_endpoint *ep, const char *requestid, const hp_cid *cid, int64_t deadline,
		   hp_psa_status *st, hp_err *e);

/* The service's pin requests for cid (GET /pins?cid=): *found when there is
 * one; st gets the most advanced. */
hp_code hp_psa_find(const hp_http_endpoint *ep, const hp_cid *cid, int64_t deadline, hp_psa_status *st,
		    bool *found, hp_err *e);

#endif
