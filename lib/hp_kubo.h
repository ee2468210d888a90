/* hp_kubo: kubo's RPC API (/api/v0), spoken the way kubo wants it.
 *
 * Every call is a POST (kubo answers GET with 405) with our User-Agent
 * (never a browser's: kubo refuses those without an Origin) and no Origin
 * or Referer (kubo's CSRF check), bounded (HP_KUBO_MAX_ANSWER) and over by a
 * deadline. ep->bearer_token, if any, goes as "Authorization: Bearer" (what
 * a "bearer:" secret of kubo's API.Authorizations wants; kubo answers 403
 * with a plain-text body to a missing or wrong one, and to a path the secret
 * is not allowed); it never appears in a message. Failures name the URL:
 *   kubo's error object {"Message","Code","Type":"error"} -> its Message, with
 *     the code of the HTTP status (500 -> HP_E_UNAVAILABLE, 400 -> HP_E_DATA,
 *     403 -> HP_E_PERM; see hp_http.h)
 *   an X-Stream-Error trailer (an error after the 200 was sent) or an error
 *     object inside a stream -> HP_E_UNAVAILABLE with its text
 *   an answer that is not what the command returns -> HP_E_DATA
 * Each wait (connecting, the answer, a silence while sending or receiving)
 * lasts at most ep->wait_ms; a CAR upload or an answer moving less than
 * HP_HTTP_MIN_RATE bytes a second is a stall, but pin/add's progress lines
 * (heartbeats while kubo fetches) are not. deadline, when not 0, bounds
 * the whole call (hp_http_now_ms clock); 0: no limit but the waits (a CAR
 * upload that moves may take as long as it needs). */
#ifndef HP_KUBO_H
#define HP_KUBO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hp_buf.h"
#include "hp_err.h"
#include "hp_http.h"
#include "hp_multiformats.h"
#include "hp_pinwire.h"

#define HP_KUBO_MAX_ANSWER (4u << 20)

/* POST {ep->url}/api/v0/{cmd}[?query] (query already escaped), with the
 * multipart parts if any; the answer's body (a 200) goes to out. When kubo
 * itself reports the failure (its error object, a streamed error), kubo_msg
 * (if not NULL) gets its message, quoted, else "". */
hp_code hp_kubo_rpc(const hp_http_endpoint *ep, const char *cmd, const char *query, const hp_http_part *parts,
		    size_t nparts, int64_t deadline, hp_buf *out, char *kubo_msg, size_t kubo_msg_size, hp_err *e);

/* pin/add?arg=CID&recursive=true&progress=true[&name=NAME]: HP_OK once
 * kubo lists cid among the Pins it made (give it a deadline: kubo keeps
 * sending progress for as long as it looks for the blocks). kubo_msg as for hp_kubo_rpc (a
 * failure kubo reported itself, such as "block was not found locally"). */
hp_code hp_kubo_pin_add(const hp_http_endpoint *ep, const hp_cid *cid, const char *name, int64_t deadline,
			char *kubo_msg, size_t kubo_msg_size, hp_err *e);

/* pin/ls?arg=CID&type=recursive: *pinned says whether cid is pinned
 * recursively (kubo's "is not pinned" error is a plain false). */
hp_code hp_kubo_pin_ls(const hp_http_endpoint *ep, const hp_cid *cid, bool *pinned, int64_t deadline, hp_err *e);

/* dag/import?pin-roots=true of the CARv1 at car_path: the roots kubo
 * reports (each with its pin error, if any), as hp_kubo_parse_dag_import.
 * kubo_msg as for hp_kubo_rpc. */
hp_code hp_kubo_dag_import(const hp_http_endpoint *ep, const char *car_path, hp_kubo_root *roots, size_t max,
			   size_t *nroots, int64_t deadline, char *kubo_msg, size_t kubo_msg_size, hp_err *e);

#endif
