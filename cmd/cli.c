#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../lib/banned.h"
#include "../lib/hp_tmp.h"

hp_cli cli = { "hybrid-p2p", false, false, false };

/* ---- signals: temporaries removed, then the default action ----
 *
 * Every call made in signal context below is async-signal-safe: POSIX.1-2017
 * XSH 2.4.3 lists sigaction, sigemptyset, sigaddset, sigismember,
 * sigpending, pthread_sigmask, raise and _exit (and memset, which the
 * compiler may use to zero a struct sigaction); hp_tmp_remove_all uses
 * getpid, unlinkat, poll and lock-free atomics only (see lib/hp_tmp.c). The
 * tool's stop handler must be async-signal-safe itself (cli.h). errno is
 * saved around a handler that returns. */

static const int cleanup_signals[] = { SIGHUP, SIGINT, SIGTERM, SIGPIPE };

/* cli_on_stop_signals' handler: written before the signals can call it */
static void (*volatile stop_handler)(int);

void cli_die_of_signal(int sig)
{
	hp_tmp_remove_all();
	struct sigaction sa = { .sa_handler = SIG_DFL };
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
	/* In a handler, sig is blocked: raise leaves it pending and the
	 * unblock delivers it, on this thread, with the default action, which
	 * ends the whole process. Outside a handler raise delivers it at once. */
	raise(sig);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, sig);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	_exit(128 + sig);  /* not reached: the signal's action is to terminate */
}

static void on_signal(int sig)
{
	void (*stop)(int) = stop_handler;
	if (!stop || (sig != SIGINT && sig != SIGTERM))
		cli_die_of_signal(sig);
	int saved = errno;
	stop(sig);
	/* Did the tool hand the signal back (signal(sig, SIG_DFL); raise(sig))?
	 * Then the pending signal ends the process as this handler returns:
	 * remove the temporaries first. A tool that only reset the action (so
	 * that a second signal is fatal) is still writing: leave them. */
	struct sigaction now;
	sigset_t pending;
	if (sigaction(sig, NULL, &now) == 0 && now.sa_handler == SIG_DFL && sigpending(&pending) == 0 &&
	    sigismember(&pending, sig) == 1)
		hp_tmp_remove_all();
	errno = saved;
}

static void install(int sig, int flags)
{
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = flags };
	/* one of these handlers at a time on a thread */
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof cleanup_signals / sizeof *cleanup_signals; i++)
		sigaddset(&sa.sa_mask, cleanup_signals[i]);
	sigaction(sig, &sa, NULL);
}

static void remove_temporaries(void)
{
	hp_tmp_remove_all();
}

void cli_on_stop_signals(void (*handler)(int))
{
	stop_handler = handler;
	install(SIGTERM, 0);  /* no SA_RESTART: interrupted calls return EINTR */
	install(SIGINT, 0);
}

void cli_init(const char *prog)
{
	cli.prog = prog;
	cli.progress = isatty(STDERR_FILENO);
	for (size_t i = 0; i < sizeof cleanup_signals / sizeof *cleanup_signals; i++) {
		struct sigaction old;
		/* a signal ignored on entry (nohup, `tool &` in a script) stays so */
		if (sigaction(cleanup_signals[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
			install(cleanup_signals[i], SA_RESTART);
	}
	atexit(remove_temporaries);
}

int cli_exit_code(hp_code code)
{
	static const int table[HP_E_COUNT_] = {
		[HP_OK] = 0,
		[HP_E_INVALID] = EXIT_INVALID,
		[HP_E_USAGE] = EXIT_USAGE,
		[HP_E_DATA] = EXIT_DATAERR,
		[HP_E_NOINPUT] = EXIT_NOINPUT,
		[HP_E_UNAVAILABLE] = EXIT_UNAVAILABLE,
		[HP_E_INTERNAL] = EXIT_SOFTWARE,
		[HP_E_CANTCREAT] = EXIT_CANTCREAT,
		[HP_E_IO] = EXIT_IOERR,
		[HP_E_TEMPFAIL] = EXIT_TEMPFAIL,
		[HP_E_PERM] = EXIT_NOPERM,
		[HP_E_NOMEM] = EXIT_SOFTWARE,
	};
	if ((unsigned)code >= HP_E_COUNT_)
		return EXIT_SOFTWARE;
	return table[code];
}

static void emit(const char *kind, int exit_code, const char *fmt, va_list ap)
{
	char msg[1024];
	vsnprintf(msg, sizeof msg, fmt, ap);
	if (cli.json_errors) {
		json_t *j = json_pack("{s:s, s:s, s:s, s:i}", "tool", cli.prog, "level", kind,
				      "message", msg, "exit_code", exit_code);
		if (j) {
			char *s = json_dumps(j, JSON_COMPACT);
			if (s)
				fprintf(stderr, "%s\n", s);
			free(s);
			json_decref(j);
			return;
		}
	}
	if (strcmp(kind, "warning") == 0)
		fprintf(stderr, "%s: warning: %s\n", cli.prog, msg);
	else
		fprintf(stderr, "%s: %s\n", cli.prog, msg);
}

int cli_error(int exit_code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit("error", exit_code, fmt, ap);
	va_end(ap);
	return exit_code;
}

int cli_fail(const hp_err *e)
{
	int code = cli_exit_code(e->code);
	if (e->msg[0])
		return cli_error(code, "%s", e->msg);
	return cli_error(code, "%s", hp_strerror(e->code));
}

int cli_usage(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit("error", EXIT_USAGE, fmt, ap);
	va_end(ap);
	if (!cli.json_errors)
		fprintf(stderr, "Try '%s --help' for more information.\n", cli.prog);
	return EXIT_USAGE;
}

void cli_warn(const char *fmt, ...)
{
	if (cli.quiet)
		return;
	va_list ap;
	va_start(ap, fmt);
	emit("warning", 0, fmt, ap);
	va_end(ap);
}

int cli_version(void)
{
	printf("%s (hybrid-p2p) %s\n", cli.prog, HP_VERSION);
	return 0;
}

static void progress_erase_for_stdout(void);

static void print_json(const json_t *j, size_t flags)
{
	progress_erase_for_stdout();
	if (json_dumpf(j, stdout, flags | JSON_ENCODE_ANY) == 0)
		fputc('\n', stdout);
}

int cli_printf(const char *fmt, ...)
{
	progress_erase_for_stdout();
	va_list ap;
	va_start(ap, fmt);
	int n = vprintf(fmt, ap);
	va_end(ap);
	return n;
}

int cli_write_stdout(const void *p, size_t n)
{
	progress_erase_for_stdout();
	errno = 0;
	if (fflush(stdout) != 0)
		return errno ? errno : EIO;
	const char *c = p;
	while (n) {
		ssize_t w = write(STDOUT_FILENO, c, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

void cli_print_json(const json_t *j)
{
	print_json(j, JSON_COMPACT);
}

void cli_print_json_pretty(const json_t *j)
{
	print_json(j, JSON_INDENT(2));
}

int cli_finish(int rc)
{
	errno = 0;
	bool bad = fflush(stdout) != 0 || ferror(stdout);
	int err = errno;
	if (fclose(stdout) != 0 && !bad) {
		bad = true;
		err = errno;
	}
	if (bad) {
		if (err)
			cli_error(EXIT_IOERR, "cannot write to standard output: %s", strerror(err));
		else
			cli_error(EXIT_IOERR, "cannot write to standard output");
		return rc ? rc : EXIT_IOERR;
	}
	return rc;
}

int cli_option_error(int opt, char **argv)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "?";
	if (opt == ':')
		return cli_usage("option '%s' needs a value", arg);
	if (optopt && optopt < 0x100 && strncmp(arg, "--", 2) != 0)
		return cli_usage("unknown option '-%c'", optopt);
	return cli_usage("unknown option '%s'", arg);
}

void cli_human_size(uint64_t n, char *out, size_t outsz)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double v = (double)n;
	size_t u = 0;
	while (v >= 1024 && u + 1 < sizeof units / sizeof *units) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, outsz, "%llu B", (unsigned long long)n);
	else
		snprintf(out, outsz, "%.1f %s", v, units[u]);
}

static bool progress_shown;

static bool progress_tty(void)
{
	static int tty = -1;
	if (tty < 0)
		tty = isatty(STDERR_FILENO);
	return tty;
}

void cli_progress_detail(uint64_t done, uint64_t total, const char *detail)
{
	char d[32], t[32];
	cli_human_size(done, d, sizeof d);
	cli_human_size(total, t, sizeof t);
	unsigned pct = total ? (unsigned)(done >= total ? 100 : done * 100 / total) : 100;
	const char *sep = detail && *detail ? ", " : "";
	if (!detail)
		detail = "";
	if (progress_tty())
		fprintf(stderr, "\r%s: %s of %s (%u%%%s%s)\033[K", cli.prog, d, t, pct, sep, detail);
	else
		fprintf(stderr, "%s: %s of %s (%u%%%s%s)\n", cli.prog, d, t, pct, sep, detail);
	progress_shown = true;
}

void cli_progress(void *ud, uint64_t done, uint64_t total)
{
	(void)ud;
	cli_progress_detail(done, total, NULL);
}

unsigned cli_progress_ms(void)
{
	return progress_tty() ? 200 : 1000;
}

void cli_progress_clear(void)
{
	if (progress_shown && progress_tty())
		fputs("\r\033[K", stderr);
	progress_shown = false;
}

/* Output on stdout must not start after a progress fragment when both are
 * on a terminal. When stdout is a file or a pipe, the line stays (no
 * flicker while records are written). */
static void progress_erase_for_stdout(void)
{
	static int out_tty = -1;
	if (!progress_shown)
		return;
	if (out_tty < 0)
		out_tty = isatty(STDOUT_FILENO);
	if (out_tty)
		cli_progress_clear();
}

int cli_parse_jobs(const char *s, int *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > 1024)
		return cli_usage("--jobs must be a number from 0 (one per CPU) to 1024, not '%s'", s);
	*out = (int)v;
	return 0;
}

bool cli_common_option(int opt)
{
	switch (opt) {
	case CLI_OPT_QUIET:
		cli.quiet = true;
		cli.progress = false;
		return true;
	case CLI_OPT_JSON_ERRORS:
		cli.json_errors = true;
		return true;
	case CLI_OPT_PROGRESS:
		cli.progress = true;
		return true;
	case CLI_OPT_NO_PROGRESS:
		cli.progress = false;
		return true;
	default:
		return false;
	}
}

void cli_strlist_add(cli_strlist *l, const char *s)
{
	const char **v = realloc(l->v, (l->n + 1) * sizeof *v);
	if (!v) {
		cli_error(EXIT_SOFTWARE, "out of memory");
		exit(EXIT_SOFTWARE);
	}
	v[l->n++] = s;
	l->v = v;
}

void cli_strlist_free(cli_strlist *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int64_t now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

void cli_records_init(cli_records *r)
{
	r->buf = (hp_buf)HP_BUF_INIT;
	r->tty = isatty(STDOUT_FILENO);
	r->failed = false;
	r->last_ms = now_ms();
}

int cli_records_flush(cli_records *r)
{
	int rc = 0;
	if (!r->failed && r->buf.len) {
		int err = cli_write_stdout(r->buf.data, r->buf.len);
		if (err) {
			cli_progress_clear();
			rc = cli_error(EXIT_IOERR, "cannot write to standard output: %s", strerror(err));
			r->failed = true;
		}
	}
	hp_buf_reset(&r->buf);
	r->last_ms = now_ms();
	return rc;
}

int cli_records_done(cli_records *r)
{
	if (r->tty || r->buf.len >= 65536 || now_ms() - r->last_ms >= 200)
		return cli_records_flush(r);
	return 0;
}

void cli_records_free(cli_records *r)
{
	hp_buf_release(&r->buf);
}
