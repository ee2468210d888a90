/* Fuzz the pinning services' answer parsers (hp_pinwire): kubo's error
 * object, pin/ls, pin/add and dag/import; IPFS Cluster's pin status and
 * error; the Pinning Service API's PinStatus, PinResults and Failure.
 *
 * Whatever the bytes: no crash or leak, only the documented codes, and
 * nothing that ends up in a message or a URL carries a control byte. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hp_pinwire.h"

#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void no_controls(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			abort();
}

static void check_code(hp_code rc, const hp_err *e, bool may_be_unavailable)
{
	if (rc == HP_OK || rc == HP_E_NOMEM)
		return;
	if (rc == HP_E_DATA) {
		if (strncmp(e->msg, "answer", 6) != 0)
			abort();  /* every parse error says it is about the answer */
		return;
	}
	if (rc == HP_E_UNAVAILABLE && may_be_unavailable)
		return;
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	hp_cid cid;
	if (hp_cid_parse_text("QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN", &cid, NULL) != HP_OK)
		abort();
	char msg[HP_PINWIRE_MSG_MAX];
	hp_err e = HP_ERR_INIT;

	if (hp_kubo_error_message(p, size, msg, sizeof msg))
		no_controls(msg);
	if (hp_cluster_error_message(p, size, msg, sizeof msg))
		no_controls(msg);
	if (hp_psa_error_message(p, size, msg, sizeof msg))
		no_controls(msg);

	bool pinned = false;
	check_code(hp_kubo_parse_pin_ls(p, size, &cid, &pinned, &e), &e, false);

	hp_code rc = hp_kubo_parse_pin_add(p, size, &cid, &e);
	check_code(rc, &e, true);
	if (rc == HP_E_UNAVAILABLE)
		no_controls(e.msg);

	hp_kubo_root roots[4];
	size_t n = 0;
	rc = hp_kubo_parse_dag_import(p, size, roots, 4, &n, &e);
	check_code(rc, &e, true);
	if (rc == HP_OK)
		for (size_t i = 0; i < n && i < 4; i++)
			no_controls(roots[i].pin_error);

	hp_cluster_status cs;
	if (hp_cluster_parse_status(p, size, &cid, &cs, &e) == HP_OK) {
		no_controls(cs.error);
		if (cs.pinned + cs.pinning + cs.queued + cs.failed + cs.unpinned + cs.other != cs.peers)
			abort();
	} else if (e.code != HP_E_DATA && e.code != HP_E_NOMEM) {
		abort();
	}

	hp_psa_status ps;
	rc = hp_psa_parse_status(p, size, NULL, &ps, &e);
	check_code(rc, &e, false);
	if (rc == HP_OK) {
		/* a requestid goes into a URL path: nothing that could leave it */
		if (!ps.requestid[0] || strpbrk(ps.requestid, "/?#% "))
			abort();
		no_controls(ps.requestid);
		if ((unsigned)ps.status > HP_PSA_FAILED)
			abort();
	}
	bool found = false;
	rc = hp_psa_parse_results(p, size, &cid, &ps, &found, &e);
	check_code(rc, &e, false);
	if (rc == HP_OK && found && !hp_cid_same_content(&ps.cid, &cid))
		abort();
	return 0;
}
