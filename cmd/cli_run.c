/* cli_run: printing what the library's workflows report, shared by the
 * tools that run the same workflow (hp-fetch and hybrid-p2p fetch, hp-verify
 * and hybrid-p2p verify). */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "hp_fetch.h"
#include "hp_http.h"
#include "hp_json.h"
#include "hp_plan.h"
#include "hp_time.h"
#include "../lib/banned.h"

int cli_plan_failed(const char *manifest, hp_code rc, const json_t *report, const hp_err *e)
{
	if (rc == HP_E_INVALID && json_array_size(json_object_get(report, "failures"))) {
		size_t i;
		json_t *f;
		json_array_foreach(json_object_get(report, "failures"), i, f)
			cli_error(EXIT_INVALID, "%s: %s", manifest, json_string_value(f));
		return EXIT_INVALID;
	}
	return cli_fail(e);
}

enum {
	VOPT_ALLOW_UNTRUSTED = CLI_OPT_FIRST_FREE_,
	VOPT_ALLOW_UNSIGNED,
	VOPT_STATE,
	VOPT_NO_EXTRA,
	VOPT_NOW,
	VOPT_PRETTY,
};

const cli_option cli_verify_options[] = {
	{ 'c', 'c', "content", "DIR", "check the files under DIR against the manifest", NULL },
	{ 'k', 'k', "trusted-keys", "FILE", "public keys to trust (PEM, minisign or base64,\n"
	  "one or more per file; repeatable; default\n$HP_TRUSTED_KEYS when set)", NULL },
	{ VOPT_ALLOW_UNTRUSTED, 0, "allow-untrusted", NULL, "accept a valid signature by a key not trusted", NULL },
	{ VOPT_ALLOW_UNSIGNED, 0, "allow-unsigned", NULL, "accept a manifest without a signature", NULL },
	{ VOPT_STATE, 0, "state", "FILE", "refuse rollbacks against FILE and record this\n"
	  "version in it when everything checks out", NULL },
	{ VOPT_NO_EXTRA, 0, "no-extra", NULL, "do not report files under DIR that the manifest\ndoes not list", NULL },
	{ VOPT_NOW, 0, "now", "TIME", "judge expiry at TIME (RFC 3339 UTC) instead of\nnow", NULL },
	{ 'j', 'j', "jobs", "N", "hash with N threads (0, the default: one per CPU)", NULL },
	{ VOPT_PRETTY, 0, "pretty", NULL, "indent the report", NULL },
	{ 0, 0, NULL, NULL, NULL, NULL },
};

void cli_verify_cfg_init(cli_verify_cfg *c)
{
	memset(c, 0, sizeof *c);
	c->o.extra = true;
	c->o.now = time(NULL);
}

int cli_verify_option(void *ud, int id, const char *v)
{
	cli_verify_cfg *c = ud;
	switch (id) {
	case 'c': c->o.content_dir = v; break;
	case 'k': cli_strlist_add(&c->keys, v); break;
	case VOPT_ALLOW_UNTRUSTED: c->o.allow_untrusted = true; break;
	case VOPT_ALLOW_UNSIGNED: c->o.allow_unsigned = true; break;
	case VOPT_STATE: c->o.state_path = v; break;
	case VOPT_NO_EXTRA: c->o.extra = false; break;
	case VOPT_NOW:
		if (!hp_time_parse(v, &c->o.now))
			return cli_usage("'%s' is not an RFC 3339 UTC time such as 2026-01-31T12:00:00Z", v);
		break;
	case 'j': return cli_parse_jobs(v, &c->o.jobs);
	case VOPT_PRETTY: c->pretty = true; break;
	}
	return 0;
}

int cli_verify_report(json_t *report, hp_code rc, const hp_err *e, bool pretty)
{
	if (report) {
		if (pretty)
			cli_print_json_pretty(report);
		else
			cli_print_json(report);
	}
	if (rc == HP_E_INVALID) {
		/* every failed check, one line each */
		size_t i;
		json_t *f;
		json_array_foreach(json_object_get(report, "failures"), i, f)
			cli_error(EXIT_INVALID, "%s", json_string_value(f));
		json_decref(report);
		return EXIT_INVALID;
	}
	json_decref(report);
	return rc ? cli_fail(e) : 0;
}

/* ---- signals ----
 * SIGTERM/SIGINT while an interruptible source runs (BitTorrent: it saves
 * its resume data and returns) stop the fetch cleanly with exit 75; at any
 * other time they end the process as before (partial files are cleaned up
 * by the next run). */

volatile sig_atomic_t cli_stop_signal;
static volatile sig_atomic_t interruptible;

void cli_fetch_on_signal(int sig)
{
	cli_stop_signal = sig;
	if (!interruptible)
		cli_die_of_signal(sig);
}

/* ---- output ---- */

static int64_t progress_last_ms;

static char last_file_error[sizeof ((hp_err *)0)->msg];
static bool file_error_said;  /* a failed file's line is on stderr */

int cli_fetch_finish(const char *manifest, hp_code rc, const hp_plan_result *r, const hp_err *e)
{
	if (!r->summary)
		return rc ? cli_plan_failed(manifest, rc, r->report, e) : 0;
	json_t *line = json_pack("{s:O}", "summary", r->summary);
	cli_print_json(line);
	json_decref(line);
	if (!rc)
		return 0;
	int code = cli_exit_code(rc == HP_E_DATA ? HP_E_INVALID : rc);
	/* The run's own line, unless the failed files' lines have said it: a
	 * run that fails its files says why on their lines; one that failed
	 * without a file's line (nothing failed by itself), or with a local
	 * error (a full disk...) no file's line names, says it here. */
	bool local = rc == HP_E_IO || rc == HP_E_CANTCREAT || rc == HP_E_NOMEM || rc == HP_E_INTERNAL;
	if (!file_error_said || (local && strcmp(e->msg, last_file_error) != 0))
		cli_error(code, "%s", e->msg[0] ? e->msg : hp_strerror(rc));
	return code;
}

void cli_fetch_event(void *ud, const hp_fetch_event *ev)
{
	(void)ud;
	switch (ev->kind) {
	case HP_FETCH_EV_PROGRESS: {
		if (!cli.progress || cli.quiet)
			return;
		int64_t now = hp_http_now_ms();
		if (ev->done < ev->total && now - progress_last_ms < (int64_t)cli_progress_ms())
			return;
		progress_last_ms = now;
		if (ev->peers < 0) {
			cli_progress(NULL, ev->done, ev->total);
			return;
		}
		char rate[32], detail[64];
		cli_human_size(ev->rate, rate, sizeof rate);
		snprintf(detail, sizeof detail, "%s/s, %d peer%s", rate, ev->peers, ev->peers == 1 ? "" : "s");
		cli_progress_detail(ev->done, ev->total, detail);
		return;
	}
	case HP_FETCH_EV_INTERRUPTIBLE:
		/* after a stop, hp_fetch_run starts no other source: it ends */
		interruptible = ev->interruptible;
		return;
	case HP_FETCH_EV_WARNING:
		cli_progress_clear();
		cli_warn("%s: %s", ev->source, ev->err->msg);
		return;
	case HP_FETCH_EV_FILE: {
		static const char *const names[] = { "missing", "present", "fetched", "failed" };
		const hp_fetch_file *ff = ev->file;
		json_t *r = json_object();
		json_object_set_new(r, "path", hp_json_path_value(ff->path, ff->path_len));
		json_object_set_new(r, "status", json_string(names[ev->status]));
		json_object_set_new(r, "source", ev->source ? json_string(ev->source) : json_null());
		json_object_set_new(r, "bytes", json_integer(ev->status == HP_FETCH_FETCHED ? (json_int_t)ff->size : 0));
		json_object_set_new(r, "size", json_integer((json_int_t)ff->size));
		if (ev->status == HP_FETCH_FAILED && ev->err)
			json_object_set_new(r, "error", json_string(ev->err->msg));
		cli_progress_clear();
		cli_print_json(r);
		fflush(stdout);
		json_decref(r);
		/* one line for a cause, not one per file: a source that found no
		 * peer fails every file it had with the same message (each file's
		 * error is in its JSON line on stdout) */
		if (ev->status == HP_FETCH_FAILED && ev->err && strcmp(ev->err->msg, last_file_error) != 0) {
			cli_error(cli_exit_code(ev->err->code), "'%s': %s", ff->path, ev->err->msg);
			snprintf(last_file_error, sizeof last_file_error, "%s", ev->err->msg);
			file_error_said = true;
		}
		return;
	}
	}
}

