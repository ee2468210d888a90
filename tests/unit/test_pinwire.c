/* hp_pinwire: the answers of kubo 0.43.1, IPFS Cluster 1.1.6 and its
 * Pinning Service API as they really come (recorded from the daemons the
 * bats tests start), and the malformed ones a broken or hostile service
 * could send. */
#include <string.h>

#include "hp_pinwire.h"
#include "tap.h"

#include "banned.h"

#define V0 "QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN"
#define OTHER "QmQhYUvRFkxysZxgJDeVnaxFLdFgee89xbMqj6vHgTNacU"
#define DIR1 "bafybeih723ozwqjtiiv5qdgmnupxuqnoadkg2avdgxtbtrfuz62osatice"

static hp_cid cid_of(const char *s)
{
	hp_cid c;
	memset(&c, 0, sizeof c);
	if (hp_cid_parse_text(s, &c, NULL) != HP_OK)
		printf("# bad test CID %s\n", s);
	return c;
}

#define S(lit) lit, sizeof(lit) - 1

static void test_cids(void)
{
	hp_cid a = cid_of(V0), b = cid_of(OTHER), d = cid_of(DIR1);
	/* the CIDv1 dag-pb form of V0 */
	hp_cid v1 = a;
	v1.version = 1;
	ok(hp_cid_same_content(&a, &a), "same CID, same content");
	ok(hp_cid_same_content(&a, &v1), "CIDv0 and CIDv1 dag-pb of one hash: same content");
	ok(!hp_cid_same_content(&a, &b), "two hashes differ");
	hp_cid raw = d;
	raw.codec = HP_MC_RAW;
	ok(!hp_cid_same_content(&d, &raw), "the same hash under another codec differs");
}

static void test_kubo(void)
{
	hp_cid c = cid_of(V0);
	hp_err e = HP_ERR_INIT;
	char msg[HP_PINWIRE_MSG_MAX];

	ok(hp_kubo_error_message(S("{\"Message\":\"path 'bafkqaaa' is not pinned\",\"Code\":0,\"Type\":\"error\"}\n"),
				 msg, sizeof msg) &&
	       strcmp(msg, "path 'bafkqaaa' is not pinned") == 0,
	   "kubo error object: its Message");
	ok(hp_kubo_error_message(S("{\"Message\":\"bad\\u0007\\nthing\",\"Code\":1,\"Type\":\"error\"}"), msg, sizeof msg) &&
	       strcmp(msg, "bad\\x07\\x0athing") == 0,
	   "kubo error object: control characters quoted (%s)", msg);
	ok(!hp_kubo_error_message(S("404 page not found\n"), msg, sizeof msg), "text is not kubo's error");
	ok(!hp_kubo_error_message(S("{\"Message\":\"x\",\"Type\":\"ok\"}"), msg, sizeof msg), "Type must be error");
	ok(!hp_kubo_error_message(S("{\"Message\":1,\"Type\":\"error\"}"), msg, sizeof msg), "Message must be a string");

	bool pinned = true;
	is_int(hp_kubo_parse_pin_ls(S("{\"Keys\":{\"" V0 "\":{\"Type\":\"recursive\",\"Name\":\"\"}}}\n"), &c, &pinned, &e),
	       HP_OK, "pin/ls: parsed");
	ok(pinned, "pin/ls: recursive pin found");
	hp_kubo_parse_pin_ls(S("{\"Keys\":{\"" V0 "\":{\"Type\":\"indirect\",\"Name\":\"\"}}}"), &c, &pinned, &e);
	ok(!pinned, "pin/ls: an indirect pin is not a recursive one");
	hp_kubo_parse_pin_ls(S("{\"Keys\":{\"" OTHER "\":{\"Type\":\"recursive\"}}}"), &c, &pinned, &e);
	ok(!pinned, "pin/ls: another CID is not ours");
	hp_kubo_parse_pin_ls(S("{\"Keys\":{}}"), &c, &pinned, &e);
	ok(!pinned, "pin/ls: no keys, not pinned");
	is_int(hp_kubo_parse_pin_ls(S("{\"Keys\":[]}"), &c, &pinned, &e), HP_E_DATA, "pin/ls: Keys must be an object");
	ok(strncmp(e.msg, "answer: ", 8) == 0, "pin/ls: messages start with 'answer:' (%s)", e.msg);
	is_int(hp_kubo_parse_pin_ls(S("{\"Keys\":{\"nope\":{}}}"), &c, &pinned, &e), HP_E_DATA, "pin/ls: a key that is no CID");
	is_int(hp_kubo_parse_pin_ls(S("{\"Keys\": {\"Qm"), &c, &pinned, &e), HP_E_DATA, "pin/ls: truncated JSON");
	ok(strstr(e.msg, "parse error") != NULL, "... a parse error (%s)", e.msg);
	is_int(hp_kubo_parse_pin_ls(S(""), &c, &pinned, &e), HP_E_DATA, "pin/ls: empty answer");

	is_int(hp_kubo_parse_pin_add(S("{\"Progress\":1,\"Bytes\":14}\n{\"Pins\":[\"" V0 "\"]}\n"), &c, &e), HP_OK,
	       "pin/add: progress, then Pins");
	is_int(hp_kubo_parse_pin_add(S("{\"Pins\":[\"" V0 "\"]}"), &c, &e), HP_OK, "pin/add: without progress");
	is_int(hp_kubo_parse_pin_add(S("{\"Progress\":1}\n"), &c, &e), HP_E_DATA, "pin/add: cut before Pins");
	is_int(hp_kubo_parse_pin_add(S("{\"Pins\":[\"" OTHER "\"]}\n"), &c, &e), HP_E_DATA, "pin/add: Pins without ours");
	is_int(hp_kubo_parse_pin_add(S("{\"Progress\":1}\n{\"Message\":\"pin: context canceled\",\"Code\":0,\"Type\":\"error\"}\n"),
				     &c, &e),
	       HP_E_UNAVAILABLE, "pin/add: an error object in the stream");
	is_str(e.msg, "pin: context canceled", "... its message");
	is_int(hp_kubo_parse_pin_add(S("{\"Progress\":1}\n{\"Pins\":"), &c, &e), HP_E_DATA, "pin/add: a cut line");
	ok(strstr(e.msg, "answer line 2") != NULL, "... names the line (%s)", e.msg);
	is_int(hp_kubo_parse_pin_add(S("{\"Pins\":[1]}"), &c, &e), HP_E_DATA, "pin/add: a pin that is no CID");
	is_int(hp_kubo_parse_pin_add(S("[]"), &c, &e), HP_E_DATA, "pin/add: not an object");

	hp_kubo_root roots[2];
	size_t n = 99;
	is_int(hp_kubo_parse_dag_import(S("{\"Root\":{\"Cid\":{\"/\":\"" DIR1 "\"},\"PinErrorMsg\":\"\"}}\n"), roots, 2, &n, &e),
	       HP_OK, "dag/import: parsed");
	hp_cid d = cid_of(DIR1);
	ok(n == 1 && hp_cid_equal(&roots[0].cid, &d) && roots[0].pin_error[0] == '\0', "dag/import: the root, pinned");
	is_int(hp_kubo_parse_dag_import(S("{\"Root\":{\"Cid\":{\"/\":\"" DIR1 "\"},\"PinErrorMsg\":\"block not found\"}}\n"
					  "{\"Root\":{\"Cid\":{\"/\":\"" V0 "\"}}}\n"
					  "{\"Root\":{\"Cid\":{\"/\":\"" OTHER "\"}}}\n"
					  "{\"Stats\":{\"BlockCount\":3,\"BlockBytesCount\":100}}\n"),
					roots, 2, &n, &e),
	       HP_OK, "dag/import: three roots and stats");
	ok(n == 3 && strcmp(roots[0].pin_error, "block not found") == 0, "dag/import: counted, pin error kept");
	is_int(hp_kubo_parse_dag_import(S("{\"Root\":{\"Cid\":\"" DIR1 "\"}}"), roots, 2, &n, &e), HP_E_DATA,
	       "dag/import: Cid must be a link object");
	is_int(hp_kubo_parse_dag_import(S("{\"Message\":\"unexpected EOF\",\"Code\":0,\"Type\":\"error\"}"), roots, 2, &n, &e),
	       HP_E_UNAVAILABLE, "dag/import: kubo's error");
	is_int(hp_kubo_parse_dag_import(S(""), roots, 2, &n, &e), HP_OK, "dag/import: nothing at all parses");
	is_int(n, 0, "... to no root");
}

static void test_cluster(void)
{
	hp_cid c = cid_of(V0);
	hp_err e = HP_ERR_INIT;
	hp_cluster_status st;
	static const char pinned[] =
		"{\"cid\":\"" V0 "\",\"name\":\"foo\",\"allocations\":[\"12D3KooWKUagNmbBh8HQu1nZ4rGpzTBUqCnevrPZEDTD4MPYcpnW\"],"
		"\"origins\":[],\"created\":\"2026-11-28T08:26:13Z\",\"metadata\":null,\"peer_map\":{"
		"\"12D3KooWKUagNmbBh8HQu1nZ4rGpzTBUqCnevrPZEDTD4MPYcpnW\":{\"peername\":\"hp-test\",\"ipfs_peer_id\":"
		"\"12D3KooWL5uwg5yNCHKE923kqmFmLbM7j2hGiXi9S942k358w6bM\",\"status\":\"pinned\",\"timestamp\":"
		"\"2026-11-28T08:26:13Z\",\"error\":\"\",\"attempt_count\":0,\"priority_pin\":false}}}";
	is_int(hp_cluster_parse_status(pinned, sizeof pinned - 1, &c, &st, &e), HP_OK, "cluster: a real status");
	ok(st.peers == 1 && st.pinned == 1 && st.failed == 0, "cluster: pinned on its one peer");
	static const char mixed[] =
		"{\"cid\":{\"/\":\"" V0 "\"},\"peer_map\":{"
		"\"a\":{\"status\":\"pin_error\",\"error\":\"IPFS error: block was not found\"},"
		"\"b\":{\"status\":\"remote\"},\"c\":{\"status\":\"pinning\"},\"d\":{\"status\":\"pin_queued\"},"
		"\"e\":{\"status\":\"unpinned\"},\"f\":{\"status\":\"sharded\"},\"g\":{\"status\":\"pinned\"}}}";
	is_int(hp_cluster_parse_status(mixed, sizeof mixed - 1, &c, &st, &e), HP_OK, "cluster: every state, 0.x cid form");
	ok(st.peers == 6 && st.remote == 1 && st.pinned == 1 && st.pinning == 1 && st.queued == 1 && st.failed == 1 &&
	       st.unpinned == 1 && st.other == 1,
	   "cluster: summed per state, remote not a peer");
	is_str(st.error, "IPFS error: block was not found", "cluster: the failed peer's error");
	static const char other[] = "{\"cid\":\"" OTHER "\",\"peer_map\":{}}";
	is_int(hp_cluster_parse_status(other, sizeof other - 1, &c, &st, &e), HP_E_DATA, "cluster: a status for another CID");
	is_int(hp_cluster_parse_status(S("{\"cid\":\"" V0 "\"}"), &c, &st, &e), HP_E_DATA, "cluster: no peer_map");
	is_int(hp_cluster_parse_status(S("{\"cid\":\"" V0 "\",\"peer_map\":{\"a\":{}}}"), &c, &st, &e), HP_E_DATA,
	       "cluster: a peer without status");
	is_int(hp_cluster_parse_status(S("{\"cid\":7,\"peer_map\":{}}"), &c, &st, &e), HP_E_DATA, "cluster: cid not a CID");
	is_int(hp_cluster_parse_status(S("{\"cid\":\"" V0 "\",\"peer_map\":{},\"peer_map\":{}}"), &c, &st, &e), HP_E_DATA,
	       "cluster: duplicate keys refused");

	char msg[HP_PINWIRE_MSG_MAX];
	ok(hp_cluster_error_message(S("{\"code\":400,\"message\":\"error decoding Cid: invalid cid\"}"), msg, sizeof msg) &&
	       strcmp(msg, "error decoding Cid: invalid cid") == 0,
	   "cluster error object");
	ok(!hp_cluster_error_message(S("{\"message\":\"x\"}"), msg, sizeof msg), "cluster error object needs a code");
}

static void test_psa(void)
{
	hp_cid c = cid_of(V0);
	hp_err e = HP_ERR_INIT;
	hp_psa_status st;
	static const char queued[] =
		"{\"requestid\":\"" V0 "\",\"status\":\"queued\",\"created\":\"2026-11-28T08:26:23.207332727Z\","
		"\"pin\":{\"cid\":\"" V0 "\",\"name\":\"psa1\"},\"delegates\":[],\"info\":{\"source\":\"IPFS cluster API\","
		"\"warning1\":\"CID used for requestID. Conflicts possible\",\"warning2\":\"experimental\"}}";
	is_int(hp_psa_parse_status(queued, sizeof queued - 1, &c, &st, &e), HP_OK, "psa: cluster's PinStatus");
	ok(st.status == HP_PSA_QUEUED && strcmp(st.requestid, V0) == 0, "psa: queued, requestid kept");
	is_str(hp_psa_state_name(HP_PSA_PINNED), "pinned", "psa: state names");
	static const char pinata[] =
		"{\"requestid\":\"UniqueIdOfPinRequest\",\"status\":\"pinned\",\"created\":\"2020-07-27T17:32:28Z\","
		"\"pin\":{\"cid\":\"" V0 "\",\"name\":\"PreciousData.pdf\",\"origins\":[\"/ip4/203.0.113.142/tcp/4001/p2p/QmSourcePeerId\"],"
		"\"meta\":{\"app_id\":\"99986338-1113-4706-8302-4420da6158aa\"}},"
		"\"delegates\":[\"/ip4/203.0.113.1/tcp/4001/p2p/QmServicePeerId\"],\"info\":{\"status_details\":\"Queue position: 7 of 9\"}}";
	is_int(hp_psa_parse_status(pinata, sizeof pinata - 1, &c, &st, &e), HP_OK, "psa: the spec's example");
	ok(st.status == HP_PSA_PINNED && strcmp(st.requestid, "UniqueIdOfPinRequest") == 0, "psa: pinned");
	is_int(hp_psa_parse_status(S("{\"requestid\":\"x\",\"status\":\"done\",\"pin\":{\"cid\":\"" V0 "\"}}"), &c, &st, &e),
	       HP_E_DATA, "psa: an unknown status");
	is_int(hp_psa_parse_status(S("{\"requestid\":\"../x\",\"status\":\"queued\",\"pin\":{\"cid\":\"" V0 "\"}}"), &c, &st, &e),
	       HP_E_DATA, "psa: a requestid that would change the URL path");
	is_int(hp_psa_parse_status(S("{\"requestid\":\"\",\"status\":\"queued\",\"pin\":{\"cid\":\"" V0 "\"}}"), &c, &st, &e),
	       HP_E_DATA, "psa: an empty requestid");
	is_int(hp_psa_parse_status(S("{\"requestid\":\"x\",\"status\":\"queued\",\"pin\":{\"cid\":\"" OTHER "\"}}"), &c, &st, &e),
	       HP_E_DATA, "psa: a status for another CID");
	is_int(hp_psa_parse_status(S("{\"requestid\":\"x\",\"status\":\"queued\"}"), &c, &st, &e), HP_E_DATA, "psa: no pin");

	bool found = true;
	is_int(hp_psa_parse_results(S("{\"count\":0,\"results\":[]}"), &c, &st, &found, &e), HP_OK, "psa list: empty");
	ok(!found, "psa list: nothing found");
	is_int(hp_psa_parse_results(S("{\"count\":3,\"results\":["
				      "{\"requestid\":\"a\",\"status\":\"failed\",\"pin\":{\"cid\":\"" V0 "\"}},"
				      "{\"requestid\":\"b\",\"status\":\"pinned\",\"pin\":{\"cid\":\"" V0 "\"}},"
				      "{\"requestid\":\"c\",\"status\":\"pinned\",\"pin\":{\"cid\":\"" OTHER "\"}}]}"),
				    &c, &st, &found, &e),
	       HP_OK, "psa list: three results");
	ok(found && st.status == HP_PSA_PINNED && strcmp(st.requestid, "b") == 0, "psa list: the pinned one of ours");
	is_int(hp_psa_parse_results(S("{\"results\":[]}"), &c, &st, &found, &e), HP_E_DATA, "psa list: count missing");
	is_int(hp_psa_parse_results(S("{\"count\":1,\"results\":[{}]}"), &c, &st, &found, &e), HP_E_DATA,
	       "psa list: a malformed result");

	char msg[HP_PINWIRE_MSG_MAX];
	ok(hp_psa_error_message(S("{\"error\":{\"reason\":\"unauthorized: invalid token\"}}"), msg, sizeof msg) &&
	       strcmp(msg, "unauthorized: invalid token") == 0,
	   "psa Failure: reason");
	ok(hp_psa_error_message(S("{\"error\":{\"reason\":\"BAD_REQUEST\",\"details\":\"cid\\u001b[31m\"}}"), msg, sizeof msg) &&
	       strcmp(msg, "BAD_REQUEST: cid\\x1b[31m") == 0,
	   "psa Failure: reason and details, an escape sequence quoted (%s)", msg);
	ok(!hp_psa_error_message(S("{\"error\":\"x\"}"), msg, sizeof msg), "psa Failure needs an object");
}

int main(void)
{
	test_cids();
	test_kubo();
	test_cluster();
	test_psa();
	return done();
}
