/* cli: what every tool in cmd/ shares: diagnostics in git's style, the one
 * table from hp_code to sysexits exit codes, JSON on stdout, and a checked
 * flush at exit so that a full disk never looks like success. */
#ifndef HP_CLI_H
#define HP_CLI_H

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../lib/hp_buf.h"
#include "../lib/hp_err.h"
#include "../lib/hp_httpd.h"
#include "../lib/hp_metrics.h"
#include "../lib/hp_torrent.h"
#include "../lib/hp_verify.h"

#ifndef HP_VERSION
#define HP_VERSION "0.1.0"
#endif

/* Exit codes (sysexits.h, plus 1 for "checked and not valid"). */
enum {
	EXIT_INVALID = 1,
	EXIT_USAGE = 64,
	EXIT_DATAERR = 65,
	EXIT_NOINPUT = 66,
	EXIT_UNAVAILABLE = 69,
	EXIT_SOFTWARE = 70,
	EXIT_CANTCREAT = 73,
	EXIT_IOERR = 74,
	EXIT_TEMPFAIL = 75,
	EXIT_NOPERM = 77,
};

typedef struct hp_cli {
	const char *prog;    /* the tool's name, as in messages */
	bool quiet;          /* --quiet: no warnings or progress */
	bool json_errors;    /* --json-errors: errors as one JSON object per line on stderr */
	bool progress;       /* progress on stderr: a TTY, or --progress */
} hp_cli;

extern hp_cli cli;

/* Set the program name; progress defaults to whether stderr is a TTY.
 * Also installs the signal handler below for SIGHUP, SIGINT, SIGTERM and
 * SIGPIPE (each one not ignored on entry: `nohup`, a background job of a
 * script), and an atexit hook that removes temporaries still registered:
 *
 * Signals and temporaries. Every temporary file or folder a writer makes
 * through lib is registered with hp_tmp (lib/hp_tmp.h) from before it exists
 * until it is renamed or removed: hp_atomic_open (and so
 * hp_write_file_atomic, the CAR writer, hp_state), the CAR spill file, the
 * IPFS walk's spill file, hp_fetch's partial files and its .hp-partial
 * folder. When one of these signals ends the process, the handler first
 * removes them all (hp_tmp_remove_all), then the signal takes its default
 * action: the process dies of it, silently, and a shell sees 128+N (130 for
 * SIGINT, 143 for SIGTERM, 141 for SIGPIPE). A temporary made outside lib
 * (mkdtemp in a tool) must be registered too: hp_tmp_mkdtemp or
 * hp_tmp_open instead of mkdtemp/mkstemp, hp_tmp_add for a file put in a
 * temporary folder, hp_tmp_forget once it is gone. */
void cli_init(const char *prog);

/* The exit code for an hp_code. */
int cli_exit_code(hp_code code);

/* "prog: message" on stderr (or a JSON error object); returns the exit code. */
int cli_error(int exit_code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Report an hp_err and return its exit code. */
int cli_fail(const hp_err *e);
/* A usage error: message, then "Try 'prog --help'."; returns 64. */
int cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "prog: warning: ..." unless --quiet. */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "prog (hybrid-p2p) VERSION" on stdout; returns 0. */
int cli_version(void);

/* Everything a tool writes on stdout goes through one of these: when stdout
 * and stderr are terminals, a progress line drawn in place on stderr is
 * erased first, so that output never starts after a progress fragment. */

/* One compact JSON document and a newline on stdout. Steals nothing. */
void cli_print_json(const json_t *j);
/* Pretty-printed (indent 2) JSON and a newline on stdout. */
void cli_print_json_pretty(const json_t *j);
/* printf to stdout. */
int cli_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* n bytes to stdout with write(2), after flushing what stdio holds; 0, or
 * the errno of the failed write (EPIPE when SIGPIPE is ignored). */
int cli_write_stdout(const void *p, size_t n);

/* Records on stdout written in batches with write(2): at 64 KiB, at every
 * record when stdout is a terminal, and when the last write is 200 ms old,
 * so that a reader of the pipe sees records as they come (hp-hash, hp-cid). */
typedef struct cli_records {
	hp_buf buf;         /* append a record's line here, then call cli_records_done */
	bool tty;
	bool failed;        /* a write failed (reported): nothing more is written */
	int64_t last_ms;
} cli_records;
void cli_records_init(cli_records *r);
/* A record was appended: write the batch when it is due. Returns 0, or 74
 * after reporting a write error (the first time). */
int cli_records_done(cli_records *r);
/* Write what is left; 0 or 74 as above. Then cli_records_free. */
int cli_records_flush(cli_records *r);
void cli_records_free(cli_records *r);

/* Flush and close stdout; a write error turns rc into 74. Call as
 * `return cli_finish(rc);` at the end of main. */
int cli_finish(int rc);

/* Common long options handled the same way by every tool. Returns true if
 * the option was one of them (and acted on it). */
enum {
	CLI_OPT_VERSION = 0x1000,
	CLI_OPT_QUIET,
	CLI_OPT_JSON_ERRORS,
	CLI_OPT_PROGRESS,
	CLI_OPT_NO_PROGRESS,
	CLI_OPT_FIRST_FREE_,
};
#define CLI_COMMON_LONGOPTS \
	{ "help", no_argument, NULL, 'h' }, \
	{ "version", no_argument, NULL, CLI_OPT_VERSION }, \
	{ "quiet", no_argument, NULL, CLI_OPT_QUIET }, \
	{ "json-errors", no_argument, NULL, CLI_OPT_JSON_ERRORS }, \
	{ "progress", no_argument, NULL, CLI_OPT_PROGRESS }, \
	{ "no-progress", no_argument, NULL, CLI_OPT_NO_PROGRESS }
bool cli_common_option(int opt);

/* Report getopt's '?' or ':' (call with opterr = 0 and an optstring that
 * starts with ':'): "unknown option '--x'" or "option '-o' needs a value";
 * returns 64. */
int cli_option_error(int opt, char **argv);

/* "512 B", "1.5 KiB", "3.0 GiB". */
void cli_human_size(uint64_t n, char *out, size_t outsz);

/* Progress on stderr, "prog: 1.2 GiB of 3.0 GiB (40%)": redrawn in place on
 * a TTY, one line per call otherwise. Its signature is hp_digest's progress
 * callback; cli_progress_ms is the interval to ask for. */
void cli_progress(void *ud, uint64_t done, uint64_t total);
/* The same line with more after the percentage: "(42%, 2.1 MiB/s, 3 peers)". */
void cli_progress_detail(uint64_t done, uint64_t total, const char *detail);
unsigned cli_progress_ms(void);
/* Erase a progress line drawn in place (before other output on stderr). */
void cli_progress_clear(void);

/* For a tool that stops cleanly on SIGTERM and SIGINT (hp-fetch, hp-seed,
 * hybrid-p2p): from now on those signals call handler (installed even when
 * they were ignored on entry), without SA_RESTART: a blocking call they
 * interrupt returns EINTR. The contract with the temporaries' cleanup:
 *
 * - handler runs inside cli's own handler, in signal context: it must be
 *   async-signal-safe (set a volatile sig_atomic_t flag, kill(), write()).
 * - Nothing is removed while the tool goes on: it finishes or aborts its
 *   writes itself (hp_atomic_abort, hp_car_abort, hp_fetch_free...), and
 *   whatever it leaves registered is removed by the atexit hook when it
 *   returns from main or calls exit().
 * - To let the signal end the process instead, handler may reset the
 *   signal to SIG_DFL and raise it (signal(sig, SIG_DFL); raise(sig);), as
 *   hp-fetch does outside its interruptible part: cli sees the default
 *   action restored when handler returns, removes the temporaries, and the
 *   pending signal then ends the process. Outside a handler (after a clean
 *   stop), call cli_die_of_signal(sig) to end the process the same way.
 * - SIGHUP and SIGPIPE keep cli's handler: temporaries removed, then the
 *   default action. */
void cli_on_stop_signals(void (*handler)(int));

/* Remove every registered temporary, then end the process by sig with its
 * default action (a shell sees 128+sig). Async-signal-safe. */
_Noreturn void cli_die_of_signal(int sig);

/* Parse a --jobs value: 0 (one per CPU) to 1024; a usage error otherwise. */
int cli_parse_jobs(const char *s, int *out);

/* The lines about common options, for --help texts. */
#define CLI_COMMON_HELP \
	"  -h, --help         show this help and exit\n" \
	"      --version      show the version and exit\n" \
	"      --quiet        print no warnings or progress\n" \
	"      --json-errors  report errors as JSON objects on stderr\n" \
	"      --progress     show progress on stderr even when it is not a TTY\n" \
	"      --no-progress  never show progress\n"

/* ---- cli_opt.c: one option table per command ---- */

/* One option of a command. Old spellings are entries of their own with the
 * same id, help NULL (left out of --help) and deprecated_for naming the new
 * long option: using one warns "'--old' is deprecated: use '--new'". */
typedef struct cli_option {
	int id;                      /* handed to the command: a character, or an enum from
	                              * CLI_OPT_FIRST_FREE_ */
	char short_name;             /* 0: none */
	const char *long_name;       /* NULL: none */
	const char *arg;             /* the value's name in --help ("FILE"); NULL: a flag */
	const char *help;            /* its --help text ('\n' continues, aligned); NULL: hidden */
	const char *deprecated_for;  /* an old spelling of --deprecated_for; NULL: current */
} cli_option;

/* A command: its usage and description, its options (ending with a zero
 * entry), what comes after them in --help (exit status). The common options
 * (-h/--help, --version, --quiet, --json-errors, --progress, --no-progress)
 * are added, except one whose long name the table takes itself. */
typedef struct cli_command {
	const char *usage;
	const cli_option *options;
	const char *footer;
} cli_command;

/* The command's --help text, from its table. */
void cli_help(const cli_command *c, FILE *out);

/* Called for each of the command's own options in order; value is NULL for
 * a flag. Returns 0, or an exit code (a usage error) to stop. */
typedef int cli_option_fn(void *ud, int id, const char *value);

/* Parse argv[1..] (options anywhere, "--" ends them) against c: the common
 * options are handled here (--help and --version print and return -1), the
 * others go to on_option. *first_operand gets the index of the first
 * operand (argv is permuted as getopt_long does). Returns 0, -1 when done,
 * or an exit code. */
int cli_parse(const cli_command *c, int argc, char **argv, cli_option_fn *on_option, void *ud, int *first_operand);

/* A growable list of borrowed strings (option values); running out of
 * memory ends the process (exit 70). */
typedef struct cli_strlist {
	const char **v;
	size_t n;
} cli_strlist;
void cli_strlist_add(cli_strlist *l, const char *s);
void cli_strlist_free(cli_strlist *l);

/* ---- cli_net.c: how BitTorrent meets the network ---- */

/* The options of every command that runs a BitTorrent session (hp-fetch,
 * hp-seed, hybrid-p2p fetch and publish), with ids of their own. Their
 * defaults are a client's on the internet (docs/bittorrent.md,
 * "Discovery"); the environment gives lab settings without changing a
 * command: HP_NO_DHT=1 as --no-dht, HP_DHT_BOOTSTRAP=HOST:PORT[,...] as
 * --dht-bootstrap (an option given wins). */
enum {
	CLI_OPT_DHT_BOOTSTRAP = 0x1100,
	CLI_OPT_NO_DHT,
	CLI_OPT_NO_UTP,
	CLI_OPT_LSD,
	CLI_OPT_PORT_MAPPING,
	CLI_OPT_DHT_STATE,
};
#define CLI_BT_NET_OPTIONS \
	{ CLI_OPT_DHT_BOOTSTRAP, 0, "dht-bootstrap", "HOST:PORT", \
	  "a DHT node to join through (repeatable;\n" \
	  "default $HP_DHT_BOOTSTRAP, else the public\nrouters)", NULL }, \
	{ CLI_OPT_NO_DHT, 0, "no-dht", NULL, "no DHT (also HP_NO_DHT=1): peers only from\n" \
	  "trackers, web seeds and --peer", NULL }, \
	{ CLI_OPT_NO_UTP, 0, "no-utp", NULL, "refuse uTP too (by default peers may dial\n" \
	  "uTP; this side dials TCP)", NULL }, \
	{ CLI_OPT_LSD, 0, "lsd", NULL, "find peers on the local network (BEP 14)", NULL }, \
	{ CLI_OPT_PORT_MAPPING, 0, "port-mapping", NULL, "open the listening port on the router (UPnP,\n" \
	  "NAT-PMP)", NULL }, \
	{ CLI_OPT_DHT_STATE, 0, "dht-state", "FILE", "keep the DHT's nodes in FILE between runs", NULL }

typedef struct cli_bt_net {
	hp_bt_net net;
	cli_strlist boot;  /* --dht-bootstrap, then $HP_DHT_BOOTSTRAP's */
	char *env_boot;    /* a copy of $HP_DHT_BOOTSTRAP, split in place */
} cli_bt_net;

/* If id is one of CLI_BT_NET_OPTIONS: act on it, set *rc (0 or a usage
 * error's exit code) and return true. */
bool cli_bt_net_option(cli_bt_net *c, int id, const char *value, int *rc);
/* After parsing: the environment's settings where no option was given;
 * then c->net is ready. Returns 0 or a usage error's exit code. */
int cli_bt_net_finish(cli_bt_net *c);
void cli_bt_net_free(cli_bt_net *c);

/* ---- cli_metrics.c: --metrics ADDR:PORT (hp-pin watch, hp-seed) ---- */

/* A metrics registry and the HTTP server that shows it (hp_httpd): GET
 * /metrics renders every family (Prometheus's text format), GET /healthz
 * answers "ok", anything else 404. */
typedef struct cli_metrics {
	const char *addr;  /* as given (borrowed) */
	hp_metrics *m;     /* NULL without --metrics: hand it to the library as is */
	hp_httpd *srv;
} cli_metrics;

/* With addr NULL: nothing (cm->m stays NULL), 0. Else make the registry and
 * start serving on addr (port 0: any free port); 0, or the exit code after
 * reporting the error (64 for an address that is not one, 69 when it cannot
 * be bound). */
int cli_metrics_start(cli_metrics *cm, const char *addr);
/* {"event":"listening","metrics":ADDR,"port":N}, the port bound (the one
 * to scrape when ADDR's port is 0); NULL when not serving. */
json_t *cli_metrics_listening(const cli_metrics *cm);
/* Stop serving and free the registry (cm may be unstarted). */
void cli_metrics_stop(cli_metrics *cm);

/* ---- cli_keys.c: passphrases and keys ---- */

/* hp_passphrase_fn for loading an encrypted key; ctx is the
 * --passphrase-file path or NULL: the file's first line, else
 * $HP_PASSPHRASE, else a prompt when stdin is a terminal. */
hp_code cli_key_passphrase(void *ctx, const char *what, char *buf, size_t size, hp_err *e);

/* Make DIR/NAME.pem (0600, encrypted when a passphrase comes from passfile,
 * $HP_PASSPHRASE or, with ask, the terminal) and DIR/NAME.pub; DIR and its
 * missing parents are made 0700. Prints {"private_key_file",
 * "public_key_file", "key_id", "public_key_b64", "encrypted"} (and this
 * release the old "private_key", "public_key": the same paths); returns the
 * exit code. */
int cli_keygen(const char *dir, const char *name, bool force, const char *passfile, bool ask);

/* ---- cli_run.c: the workflows' results ---- */

/* The exit code of a fetch plan that failed before any source ran (the
 * manifest did not verify, a source could not be set up): each failed
 * check of the manifest on its own line, "MANIFEST: why", as hp-verify
 * prints them; else the error. */
int cli_plan_failed(const char *manifest, hp_code rc, const json_t *report, const hp_err *e);

/* The end of a fetch plan (hp_plan_fetch's rc, result and error), as
 * hp-fetch and hybrid-p2p fetch print it: a plan that failed before the
 * files, as cli_plan_failed; else the summary on stdout, then, on a
 * failure, its line on stderr unless a failed file's line said it already.
 * Returns the exit code. Every non-zero code comes with a line. */
struct hp_plan_result;
int cli_fetch_finish(const char *manifest, hp_code rc, const struct hp_plan_result *r, const hp_err *e);

/* hp-verify's options, shared by hybrid-p2p verify: a table, the config it
 * fills, and its callback. */
extern const cli_option cli_verify_options[];
typedef struct cli_verify_cfg {
	hp_verify_opts o;
	cli_strlist keys;  /* --trusted-keys, in order */
	bool pretty;
} cli_verify_cfg;
void cli_verify_cfg_init(cli_verify_cfg *c);
int cli_verify_option(void *ud, int id, const char *value);

/* A verification's report (hp_verify_manifest) as hp-verify prints it: the
 * report on stdout (indented with pretty), each failed check on stderr;
 * returns the exit code. Takes the report over. */
int cli_verify_report(json_t *report, hp_code rc, const hp_err *e, bool pretty);

/* A fetch's events as hp-fetch prints them: one JSON line per file on
 * stdout (and its error on stderr), warnings, progress on stderr. */
struct hp_fetch_event;
void cli_fetch_event(void *ud, const struct hp_fetch_event *ev);
/* The stop flag of a fetch (hp_fetch_opts.stop), and its SIGTERM/SIGINT
 * handler: while a source that can stop cleanly runs (BitTorrent saves its
 * resume data), a signal sets the flag; at any other time it ends the
 * process as usual. */
extern volatile sig_atomic_t cli_stop_signal;
void cli_fetch_on_signal(int sig);

#endif
