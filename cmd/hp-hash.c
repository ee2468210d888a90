/* hp-hash: digests of files, one JSON record per file, every algorithm from
 * a single read of each file. */
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "hp_buf.h"
#include "hp_digest.h"
#include "hp_io.h"
#include "hp_json.h"
#include "hp_walk.h"

#include "../lib/banned.h"

static const cli_option hash_options[] = {
	{ 'a', 'a', "algo", "LIST", "algorithms, comma-separated: sha256 (the\ndefault), sha1, sha512", NULL },
	{ 'C', 'C', "directory", "DIR", "resolve PATHs relative to DIR ('-C DIR .'\nreports paths relative to DIR)", NULL },
	{ 'j', 'j', "jobs", "N", "read N files at a time (default: the number of\nCPUs)", NULL },
	{ 'L', 'L', "follow", NULL, "follow symbolic links inside directories", NULL },
	{ 0, 0, NULL, NULL, NULL, NULL },
};

static const cli_command hash_cmd = {
	"Usage: hp-hash [OPTION]... PATH...\n"
	"Print the digests of files as JSON Lines, one record per file:\n"
	"  {\"path\": ..., \"size\": N, \"sha256\": \"<hex>\", ...}\n"
	"A directory is walked recursively, its files in bytewise order of their paths;\n"
	"'-' reads standard input. Each file is read once for all the algorithms.\n",
	hash_options,
	"Exit status: 0 if every file was hashed, 64 on a usage error, 66 if an input\n"
	"was missing or unreadable, 74 on a read error or a file changing while read\n"
	"(the first failure in output order decides; the other files are still hashed).\n",
};

typedef struct config {
	const char *algo;  /* -a, as given */
	unsigned algos;
	const char *dir;
	unsigned jobs;
	bool follow;
	char **paths;
	int npaths;
} config;

static int status;  /* exit code of the first failure */

static void fail_with(int code)
{
	if (!status)
		status = code;
}

/* ---- progress on stderr ---- */

/* ---- diagnostics, in output order ----
 *
 * Files are read while the arguments are still being listed, so a problem
 * found by the walk (a missing argument, a skipped link) would otherwise be
 * printed at a moment that depends on the threads. Each is queued with its
 * place in the list and printed just before the first record after it: the
 * diagnostics and the exit status ("the first failure") are the same on
 * every run. */

typedef struct note {
	size_t pos;     /* entries listed before it */
	bool error;
	hp_err e;
} note;

static struct {
	note *v;
	size_t n, cap, head;
	const hp_walk_list *l;
} notes;

static void note_add(bool error, const hp_err *e)
{
	if (notes.n == notes.cap) {
		size_t cap = notes.cap ? 2 * notes.cap : 16;
		note *v = reallocarray(notes.v, cap, sizeof *v);
		if (!v) {
			/* no room to queue it: say it now */
			if (error)
				fail_with(cli_fail(e));
			else
				cli_warn("%s", e->msg);
			return;
		}
		notes.v = v;
		notes.cap = cap;
	}
	notes.v[notes.n++] = (note){ notes.l->n, error, *e };
}

/* Print the queued diagnostics placed before list entry pos. */
static void notes_flush(size_t pos)
{
	while (notes.head < notes.n && notes.v[notes.head].pos <= pos) {
		note *x = &notes.v[notes.head++];
		cli_progress_clear();
		if (x->error)
			fail_with(cli_fail(&x->e));
		else
			cli_warn("%s", x->e.msg);
	}
}

static void on_walk(void *ud, hp_walk_event ev, const hp_err *e)
{
	(void)ud;
	note_add(ev == HP_WALK_ERROR, e);
}

/* ---- records ----
 *
 * Written by hand rather than through jansson: with many small files the
 * records cost as much as the hashing, and this is the caller's thread that
 * every worker waits on. The output is the same compact JSON that jansson
 * writes (the path by hp_json_add_path, the batches by cli_records), and
 * schemas/hp-hash.record.schema.json describes it. */

static int on_result(void *ud, const hp_walk_entry *en, size_t index, const hp_digest_result *r)
{
	cli_records *o = ud;
	notes_flush(index);
	if (r->err.code) {
		cli_progress_clear();
		fail_with(cli_fail(&r->err));
		return 0;
	}
	hp_buf *line = &o->buf;
	if (hp_buf_adds(line, "{\"path\":", NULL) || hp_json_add_path(line, en->path, en->path_len) ||
	    hp_buf_addf(line, NULL, ",\"size\":%llu", (unsigned long long)r->size)) {
		cli_error(EXIT_SOFTWARE, "out of memory");
		fail_with(EXIT_SOFTWARE);
		return 1;
	}
	for (unsigned id = 0; id < HP_DIGEST_NALGOS; id++) {
		if (!(r->algos & (1u << id)))
			continue;
		char hex[2 * HP_DIGEST_MAX_SIZE + 1];
		hp_digest_hex(r, (hp_digest_algo_id)id, hex);
		if (hp_buf_addf(line, NULL, ",\"%s\":\"%s\"", hp_digest_algo_name((hp_digest_algo_id)id), hex)) {
			cli_error(EXIT_SOFTWARE, "out of memory");
			fail_with(EXIT_SOFTWARE);
			return 1;
		}
	}
	if (hp_buf_add(line, "}\n", 2, NULL)) {
		fail_with(EXIT_SOFTWARE);
		return 1;
	}
	int code = cli_records_done(o);
	if (code)
		fail_with(code);
	/* stdout failed: stop reading files nobody will see */
	return o->failed;
}

static int on_option(void *ud, int id, const char *v)
{
	config *c = ud;
	int jobs;
	switch (id) {
	case 'a':
		c->algo = v;
		break;
	case 'C':
		c->dir = v;
		break;
	case 'j':
		if (cli_parse_jobs(v, &jobs))
			return EXIT_USAGE;
		c->jobs = (unsigned)jobs;
		break;
	case 'L':
		c->follow = true;
		break;
	}
	return 0;
}

static int parse_args(int argc, char **argv, config *c)
{
	int first, rc = cli_parse(&hash_cmd, argc, argv, on_option, c, &first);
	if (rc)
		return rc;
	hp_err e = HP_ERR_INIT;
	if (hp_digest_parse_algos(c->algo, &c->algos, &e))
		return cli_usage("%s", e.msg);
	c->paths = argv + first;
	c->npaths = argc - first;
	if (c->npaths == 0)
		return cli_usage("no input files (use '-' for standard input)");
	int dashes = 0;
	for (int i = 0; i < c->npaths; i++)
		dashes += strcmp(c->paths[i], "-") == 0;
	if (dashes > 1)
		return cli_usage("standard input ('-') given more than once");
	return 0;
}

int main(int argc, char **argv)
{
	config c = { .algo = "sha256" };
	cli_init("hp-hash");
	/* A short-lived tool: let the process exit free OpenSSL's tables
	 * instead of OPENSSL_cleanup, which costs as much as the rest of the
	 * start-up. */
	OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL);
	int rc = parse_args(argc, argv, &c);
	if (rc)
		return cli_finish(rc < 0 ? 0 : rc);

	hp_err e = HP_ERR_INIT;
	hp_walk_list l;
	hp_walk_opts wo = { c.dir, HP_WALK_ALLOW_STDIN | (c.follow ? HP_WALK_FOLLOW : 0), on_walk, NULL };
	if (hp_walk_init(&l, &wo, &e))
		return cli_finish(cli_fail(&e));
	notes.l = &l;

	hp_digest_opts o = { 0 };
	o.algos = c.algos;
	o.jobs = c.jobs;
	if (cli.progress) {
		o.progress = cli_progress;
		o.progress_ms = cli_progress_ms();
	}
	cli_records records;
	cli_records_init(&records);

	/* files are read while the arguments are listed */
	hp_digest_run *run;
	if (hp_digest_begin(&run, &l, &o, on_result, &records, &e) == HP_OK) {
		for (int i = 0; i < c.npaths; i++) {
			if (hp_walk_add(&l, c.paths[i], &e) == HP_OK)
				continue;
			note_add(true, &e);
			if (e.code == HP_E_NOMEM)
				break;
			hp_err_clear(&e);
		}
		if (hp_digest_end(run, &e))
			note_add(true, &e);
	} else {
		note_add(true, &e);
	}
	notes_flush(SIZE_MAX);
	int code = cli_records_flush(&records);
	if (code)
		fail_with(code);
	cli_records_free(&records);
	cli_progress_clear();
	free(notes.v);
	hp_walk_free(&l);
	return cli_finish(status);
}
