/* hp_walk: order, reported paths, -C, relative mode, directories, links,
 * special files, errors. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hp_walk.h"
#include "tap.h"

#include "banned.h"

static char root[256];

static void path_of(char *out, size_t outsz, const char *rel)
{
	snprintf(out, outsz, "%s/%s", root, rel);
}

static void mkfile(const char *rel, const char *data)
{
	char p[512];
	path_of(p, sizeof p, rel);
	FILE *f = fopen(p, "wb");
	if (!f) {
		perror(p);
		exit(2);
	}
	fputs(data, f);
	fclose(f);
}

static void mkdir_(const char *rel)
{
	char p[512];
	path_of(p, sizeof p, rel);
	if (mkdir(p, 0755) < 0) {
		perror(p);
		exit(2);
	}
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		chmod(p, 0700);
	return remove(p);
}

typedef struct events {
	int n[4];
	char last[HP_ERR_MSG_MAX];
	char last_error[HP_ERR_MSG_MAX];  /* of HP_WALK_ERROR events */
} events;

static void on_event(void *ud, hp_walk_event ev, const hp_err *e)
{
	events *x = ud;
	x->n[ev]++;
	snprintf(x->last, sizeof x->last, "%s", e->msg);
	if (ev == HP_WALK_ERROR)
		snprintf(x->last_error, sizeof x->last_error, "%s", e->msg);
}

/* Paths of the list joined with '|' */
static void joined(const hp_walk_list *l, char *out, size_t outsz)
{
	size_t o = 0;
	out[0] = '\0';
	for (size_t i = 0; i < l->n && o < outsz; i++)
		o += (size_t)snprintf(out + o, outsz - o, "%s%s", i ? "|" : "", l->v[i].path);
}

static void test_sorted_tree(void)
{
	hp_walk_list l;
	hp_err e = HP_ERR_INIT;
	events ev = { { 0 }, "", "" };
	hp_walk_opts o = { root, 0, on_event, &ev };
	char got[2048];

	ok(hp_walk_init(&l, &o, &e) == HP_OK, "init with -C");
	ok(hp_walk_add(&l, "t", &e) == HP_OK, "walk t: %s", e.msg);
	joined(&l, got, sizeof got);
	/* whole-path order: "a-" and "a.b" before "a/b" although "a" < "a-" */
	is_str(got, "t/A|t/a-|t/a.b|t/a/b|t/a/c/d|t/b-|t/b\xff", "bytewise order over whole paths");
	is_int(l.nfiles, 7, "7 files");
	is_int(l.total_size, 1 + 2 + 3 + 4 + 5 + 6 + 7, "total size");
	is_int(ev.n[HP_WALK_SKIP_SYMLINK], 1, "one symlink skipped");
	is_int(ev.n[HP_WALK_SKIP_SPECIAL], 1, "one FIFO skipped");
	ok(l.v[0].size == 1 && l.v[0].type == HP_WALK_FILE && l.v[0].arg == 0, "sizes and types");
	ok(l.v[3].nofollow && l.v[3].depth == 2, "files inside a walk open O_NOFOLLOW; depth");
	is_str(l.v[3].open_path, "t/a/b", "open path relative to -C");
	is_int(l.v[6].path_len, 4, "non-UTF-8 name kept");
	hp_walk_free(&l);

	/* "." under -C reports paths relative to the directory */
	char tdir[512];
	path_of(tdir, sizeof tdir, "t");
	hp_walk_opts o2 = { tdir, HP_WALK_DIRS, on_event, &ev };
	ok(hp_walk_init(&l, &o2, &e) == HP_OK, "init -C t");
	ok(hp_walk_add(&l, ".", &e) == HP_OK, "walk .");
	joined(&l, got, sizeof got);
	is_str(got, ".|A|a|a-|a.b|a/b|a/c|a/c/d|b-|b\xff|e", "'.': no './' prefix, root first, dirs and empty dirs listed");
	ok(l.v[0].type == HP_WALK_DIR && l.v[0].depth == 0, "root entry is the directory");
	ok(l.v[10].type == HP_WALK_DIR, "empty directory e listed");
	is_int(l.nfiles, 7, "directories are not files");
	hp_walk_free(&l);

	/* trailing slashes; the same arguments twice */
	hp_walk_opts o3 = { root, 0, NULL, NULL };
	ok(hp_walk_init(&l, &o3, &e) == HP_OK, "init");
	ok(hp_walk_add(&l, "t/a//", &e) == HP_OK, "walk t/a//");
	ok(hp_walk_add(&l, "t/a.b", &e) == HP_OK, "file argument");
	ok(hp_walk_add(&l, "./t/A", &e) == HP_OK, "file argument with ./");
	joined(&l, got, sizeof got);
	is_str(got, "t/a/b|t/a/c/d|t/a.b|./t/A", "arguments in order, each sorted; files as given");
	ok(!l.v[2].nofollow && l.v[2].arg == 1 && l.v[3].arg == 2, "argument numbers; arguments followed");
	hp_walk_free(&l);
}

static void test_relative(void)
{
	hp_walk_list l;
	hp_err e = HP_ERR_INIT;
	char got[2048];
	hp_walk_opts o = { root, HP_WALK_RELATIVE | HP_WALK_DIRS, NULL, NULL };
	ok(hp_walk_init(&l, &o, &e) == HP_OK, "init relative");
	ok(hp_walk_add(&l, "t/a", &e) == HP_OK, "walk t/a");
	ok(hp_walk_add(&l, "t/a.b", &e) == HP_OK, "file");
	joined(&l, got, sizeof got);
	is_str(got, "|b|c|c/d|a.b", "relative to the argument; a file reports its basename; root is \"\"");
	is_str(l.v[3].open_path, "t/a/c/d", "open path keeps the argument");
	hp_walk_free(&l);
}

/* The checks of an unreadable directory, run as the current user; returns a
 * bit per failed check (0: all passed), explained on stdout as diagnostics. */
static int locked_checks(void)
{
	hp_walk_list l;
	hp_err e = HP_ERR_INIT;
	events ev = { { 0 }, "", "" };
	hp_walk_opts o = { root, 0, on_event, &ev };
	int bad = 0;
	if (hp_walk_init(&l, &o, &e) != HP_OK)
		return 1;
	if (hp_walk_add(&l, ".", &e) != HP_OK)
		bad |= 2, printf("# the walk stopped at the unreadable directory: %s\n", e.msg);
	if (ev.n[HP_WALK_ERROR] != 1 || !strstr(ev.last_error, "locked"))
		bad |= 4, printf("# %d errors reported, the last: %s\n", ev.n[HP_WALK_ERROR], ev.last_error);
	if (hp_walk_add(&l, "locked", &e) != HP_E_NOINPUT)
		bad |= 8, printf("# an unreadable argument did not fail with 66\n");
	hp_walk_free(&l);
	return bad;
}

/* An unreadable directory: the walk goes on past it and reports it; as an
 * argument it fails. Root reads every directory, so as root (CI) the checks
 * run in a child that has dropped to nobody (65534). */
static void locked_dir(void)
{
	mkdir_("locked");
	mkfile("locked/x", "x");
	char p[512];
	path_of(p, sizeof p, "locked");
	chmod(p, 0);
	int bad;
	if (geteuid() != 0) {
		bad = locked_checks();
	} else {
		chmod(root, 0755);  /* nobody must reach the tree, not the locked folder */
		fflush(stdout);
		pid_t pid = fork();
		if (pid == 0) {
			if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
				_exit(64);
			int r = locked_checks();
			fflush(stdout);
			_exit(r);
		}
		int st = 0;
		bad = pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ? 64 : WEXITSTATUS(st);
		chmod(root, 0700);
	}
	ok(bad != 64, "the checks ran unprivileged (uid %d, as nobody when root)", (int)geteuid());
	ok(!(bad & 1), "init");
	ok(!(bad & 2), "a walk goes on past an unreadable directory");
	ok(!(bad & 4), "... and reports it");
	ok(!(bad & 8), "an unreadable argument fails");
	chmod(p, 0755);
}

static void test_errors(void)
{
	hp_walk_list l;
	hp_err e = HP_ERR_INIT;
	hp_walk_opts o = { root, 0, NULL, NULL };
	ok(hp_walk_init(&l, &o, &e) == HP_OK, "init");
	ok(hp_walk_add(&l, "t/nope", &e) == HP_E_NOINPUT, "missing argument");
	ok(strstr(e.msg, "'t/nope'") && strstr(e.msg, "No such file"), "message names it: %s", e.msg);
	is_int(l.n, 0, "nothing added");
	ok(hp_walk_add(&l, "-", &e) == HP_E_USAGE, "'-' refused without HP_WALK_ALLOW_STDIN");
	ok(hp_walk_add(&l, "", &e) == HP_E_NOINPUT, "empty argument");
	ok(hp_walk_add(&l, "t/fifo", &e) == HP_OK && l.v[0].type == HP_WALK_STREAM, "a FIFO argument is a stream");
	hp_walk_free(&l);

	hp_walk_opts o2 = { root, HP_WALK_ALLOW_STDIN, NULL, NULL };
	ok(hp_walk_init(&l, &o2, &e) == HP_OK, "init");
	ok(hp_walk_add(&l, "-", &e) == HP_OK && l.v[0].type == HP_WALK_STDIN && !l.v[0].open_path, "stdin entry");
	is_str(l.v[0].path, "-", "reported as '-'");
	int fd = -1;
	ok(hp_walk_open(&l, &l.v[0], &fd, NULL, &e) == HP_OK && fd == STDIN_FILENO, "opens as fd 0");
	hp_walk_free(&l);

	hp_walk_opts o3 = { "/nonexistent-dir-hp", 0, NULL, NULL };
	ok(hp_walk_init(&l, &o3, &e) == HP_E_NOINPUT && strstr(e.msg, "/nonexistent-dir-hp"), "bad -C: %s", e.msg);
	hp_walk_free(&l);

	locked_dir();
}

static void test_follow(void)
{
	hp_walk_list l;
	hp_err e = HP_ERR_INIT;
	events ev = { { 0 }, "", "" };
	char got[2048];
	hp_walk_opts o = { root, HP_WALK_FOLLOW, on_event, &ev };
	ok(hp_walk_init(&l, &o, &e) == HP_OK, "init follow");
	ok(hp_walk_add(&l, "f", &e) == HP_OK, "walk f: %s", e.msg);
	joined(&l, got, sizeof got);
	is_str(got, "f/d/x|f/lx|f/sub/x", "links followed, the loop not");
	is_int(ev.n[HP_WALK_SKIP_LOOP], 3, "the two loops and the dangling link reported");
	ok(!l.v[1].nofollow, "followed entries open without O_NOFOLLOW");
	hp_walk_free(&l);

	events ev2 = { { 0 }, "", "" };
	hp_walk_opts o2 = { root, 0, on_event, &ev2 };
	ok(hp_walk_init(&l, &o2, &e) == HP_OK, "init");
	ok(hp_walk_add(&l, "f", &e) == HP_OK, "walk f without follow");
	joined(&l, got, sizeof got);
	is_str(got, "f/d/x", "links not followed");
	is_int(ev2.n[HP_WALK_SKIP_SYMLINK], 4, "four links reported");
	ok(strstr(ev2.last, "symbolic link 'f/"), "message names the link: %s", ev2.last);

	/* a file swapped for a link after the walk is not opened through it */
	char p[512], q[512];
	path_of(p, sizeof p, "f/d/x");
	path_of(q, sizeof q, "f/d/x.moved");
	rename(p, q);
	if (symlink("x.moved", p) < 0)
		perror("symlink");
	int fd = -1;
	ok(hp_walk_open(&l, &l.v[0], &fd, NULL, &e) == HP_E_NOINPUT, "refuses a swapped-in link: %s", e.msg);
	unlink(p);
	rename(q, p);
	ok(hp_walk_open(&l, &l.v[0], &fd, NULL, &e) == HP_OK, "opens the file");
	close(fd);
	unlink(p);
	ok(hp_walk_open(&l, &l.v[0], &fd, NULL, &e) == HP_E_NOINPUT && strstr(e.msg, "f/d/x"), "vanished: %s", e.msg);
	hp_walk_free(&l);
}

/* Deeper than the directories kept open: the order must not change where
 * the walk switches to reading whole directories first. */
static void test_deep(void)
{
	enum { DEPTH = 70 };
	char rel[1024] = "deep";
	mkdir_(rel);
	size_t want = 0;
	for (int i = 0; i < DEPTH; i++) {
		char p[1100];
		snprintf(p, sizeof p, "%s/a-", rel);
		mkfile(p, "x");
		snprintf(p, sizeof p, "%s/a.b", rel);
		mkfile(p, "y");
		snprintf(p, sizeof p, "%s/b", rel);
		mkfile(p, "z");
		want += 3;
		size_t n = strlen(rel);
		snprintf(rel + n, sizeof rel - n, "/a");
		mkdir_(rel);
	}
	hp_walk_list l;
	hp_err e = HP_ERR_INIT;
	hp_walk_opts o = { root, HP_WALK_DIRS, NULL, NULL };
	ok(hp_walk_init(&l, &o, &e) == HP_OK && hp_walk_add(&l, "deep", &e) == HP_OK, "walk %d levels", DEPTH);
	is_int(l.nfiles, want, "every file");
	bool sorted = true;
	for (size_t i = 1; i < l.n; i++)
		if (strcmp(l.v[i - 1].path, l.v[i].path) >= 0) {
			printf("# '%s' before '%s'\n", l.v[i - 1].path, l.v[i].path);
			sorted = false;
			break;
		}
	ok(sorted, "bytewise order of whole paths at every depth");
	is_int(l.n, want + DEPTH + 1, "directories listed too");
	hp_walk_free(&l);
}

static void make_tree(void)
{
	mkdir_("t");
	mkfile("t/A", "1");
	mkfile("t/a-", "22");
	mkfile("t/a.b", "333");
	mkdir_("t/a");
	mkfile("t/a/b", "4444");
	mkdir_("t/a/c");
	mkfile("t/a/c/d", "55555");
	mkfile("t/b-", "666666");
	mkfile("t/b\xff", "7777777");
	mkdir_("t/e");
	char p[512];
	path_of(p, sizeof p, "t/l");
	if (symlink("A", p) < 0)
		perror("symlink");
	path_of(p, sizeof p, "t/fifo");
	if (mkfifo(p, 0644) < 0)
		perror("mkfifo");

	mkdir_("f");
	mkdir_("f/d");
	mkfile("f/d/x", "x");
	path_of(p, sizeof p, "f/sub");
	if (symlink("d", p) < 0)
		perror("symlink");
	path_of(p, sizeof p, "f/lx");
	if (symlink("d/x", p) < 0)
		perror("symlink");
	path_of(p, sizeof p, "f/d/up");
	if (symlink("..", p) < 0)
		perror("symlink");
	path_of(p, sizeof p, "f/dangling");
	if (symlink("nowhere", p) < 0)
		perror("symlink");
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(root, sizeof root, "%s/hp-walk-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 2;
	}
	make_tree();
	test_sorted_tree();
	test_relative();
	test_errors();
	test_follow();
	test_deep();
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return done();
}
