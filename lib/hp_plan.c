/* hp_plan: the one fetch plan (see hp_plan.h). */
#include "hp_plan.h"

#include <string.h>

#include "hp_ipfs_fetch.h"
#include "banned.h"

static void warn(const hp_plan_opts *o, const char *source, const hp_err *why)
{
	if (!o->fetch.on_event)
		return;
	hp_fetch_event ev = { 0 };
	ev.kind = HP_FETCH_EV_WARNING;
	ev.source = source;
	ev.err = why;
	ev.peers = -1;
	o->fetch.on_event(o->fetch.ud, &ev);
}

static hp_code add_bittorrent(hp_fetch *f, const hp_plan_opts *o, hp_err *e)
{
	{
		char hints[16][HP_BT_PEER_MAX];
		const char *hint_ptrs[16];
		const char *magnet = json_string_value(
			json_object_get(json_object_get(hp_fetch_manifest(f), "distribution"), "torrent_magnet"));
		size_t nh = hp_bt_magnet_peers(magnet, hints, 16);
		for (size_t i = 0; i < nh; i++)
			hint_ptrs[i] = hints[i];
		hp_bt_fetch_opts bo = { 0 };
		bo.hint_peers = hint_ptrs;
		bo.nhint_peers = nh;
		bo.torrent = o->torrent;
		bo.torrent_data = o->torrent_data;
		bo.torrent_len = o->torrent_len;
		bo.listen = o->bt_listen;
		bo.peers = o->peers;
		bo.npeers = o->npeers;
		bo.trackers = o->trackers;
		bo.ntrackers = o->ntrackers;
		bo.net = o->bt_net;
		bo.timeout_ms = o->timeout_ms;
		bo.download_rate = o->download_rate;
		bo.min_rate = o->min_rate;
		bo.deadline_ms = o->deadline_ms;
		bo.no_web_seeds = o->no_web_seeds;
		bo.piece_order = o->piece_order;
		return hp_bt_source_add(f, &bo, e);
	}
}

static hp_code add_sources(hp_fetch *f, const hp_plan_opts *o, hp_err *e)
{
	hp_code rc = HP_OK;
	bool bt_first = o->torrent && (!o->torrent_implied || o->npeers);
	if (bt_first)
		rc = add_bittorrent(f, o, e);
	hp_ipfs_opts io = { 0 };
	io.timeout_ms = o->timeout_ms;
	io.min_rate = o->min_rate;
	io.deadline_ms = o->deadline_ms;
	io.memory = o->memory;
	io.raw_blocks = o->raw_blocks;
	io.jobs = o->fetch.jobs;
	for (size_t i = 0; !rc && i < o->ngateways; i++)
		rc = hp_ipfs_source_add(f, HP_IPFS_GATEWAY, o->gateways[i], &io, e);
	if (!rc && o->kubo)
		rc = hp_ipfs_source_add(f, HP_IPFS_KUBO, o->kubo, &io, e);
	if (!rc && o->torrent && !bt_first)
		rc = add_bittorrent(f, o, e);
	const char *mg = json_string_value(
		json_object_get(json_object_get(hp_fetch_manifest(f), "distribution"), "ipfs_gateway"));
	if (!rc && mg && !o->no_manifest_gateway) {
		hp_err ge = HP_ERR_INIT;
		if (hp_ipfs_source_add(f, HP_IPFS_GATEWAY, mg, &io, &ge)) {
			hp_err_prefix(&ge, "the manifest's ipfs_gateway is not usable");
			warn(o, "manifest", &ge);
		}
	}
	return rc;
}

/* Is the verified manifest the one asked for? */
static hp_code check_expected(const hp_plan_opts *o, const json_t *m, hp_err *e)
{
	if (!o->expect_name)
		return HP_OK;
	const char *name = json_string_value(json_object_get(m, "name"));
	const char *version = json_string_value(json_object_get(m, "version"));
	if (strcmp(name, o->expect_name) || (o->expect_version && strcmp(version, o->expect_version)))
		return hp_fail(e, HP_E_INVALID, "the registry's manifest for %s@%s is signed for %s@%s: refused",
			       o->expect_name, o->expect_version ? o->expect_version : "(newest)", name, version);
	return HP_OK;
}

hp_code hp_plan_fetch(const hp_plan_opts *o, hp_plan_result *r, hp_err *e)
{
	hp_fetch *f = NULL;
	hp_code rc = o->manifest_data
			     ? hp_fetch_open_bytes(o->manifest_data, o->manifest_len, o->manifest, &o->fetch, &f, &r->report, e)
			     : hp_fetch_open(o->manifest, &o->fetch, &f, &r->report, e);
	if (rc)
		return rc;
	if ((rc = check_expected(o, hp_fetch_manifest(f), e))) {
		hp_fetch_free(f);
		return rc;
	}
	if (o->on_verified)
		o->on_verified(o->fetch.ud, hp_fetch_manifest(f));
	if ((rc = add_sources(f, o, e))) {
		hp_fetch_free(f);
		return rc;
	}
	if (!(rc = hp_fetch_scan(f, e)))
		rc = hp_fetch_run(f, e);
	/* the files were planned: whatever happened, the summary says what is
	 * in place and what is not (a full disk included) */
	r->summary = hp_fetch_summary(f);
	if (rc == HP_OK)
		r->manifest = json_incref((json_t *)hp_fetch_manifest(f));
	hp_fetch_free(f);
	return rc;
}

void hp_plan_result_release(hp_plan_result *r)
{
	json_decref(r->report);
	json_decref(r->summary);
	json_decref(r->manifest);
	r->report = r->summary = r->manifest = NULL;
}
