/* hp_tmp: the registry of temporaries that a signal removes. The API in
 * this process; removal in forked children (a signal handler, a child of a
 * child that must remove nothing of its parent's); and a stress run: three
 * threads making and removing temporaries while SIGTERM arrives at a random
 * moment, handled on one of them, must leave nothing, every time. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hp_io.h"
#include "hp_tmp.h"
#include "tap.h"

static char root[1024];  /* short enough for every path made from it */

static bool exists(const char *p)
{
	struct stat st;
	return lstat(p, &st) == 0;
}

/* Entries in a folder, "." and ".." aside. */
static int entries(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return n;
}

static void on_term(int sig)
{
	hp_tmp_remove_all();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Run fn in a child; returns its wait status. */
static int in_child(void (*fn)(void *), void *arg)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		fn(arg);
		_exit(0);
	}
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return st;
}

/* ---- a child: temporaries of every kind, then SIGTERM ---- */

static void kinds_then_term(void *arg)
{
	(void)arg;
	signal(SIGTERM, on_term);
	int id;
	char f[2048], d[2048], sub[3072], in[PATH_MAX];
	snprintf(f, sizeof f, "%s/k/file.tmp-XXXXXX", root);
	close(hp_tmp_open(AT_FDCWD, f, 0, 0600, &id));
	snprintf(d, sizeof d, "%s/k/dir-XXXXXX", root);
	hp_tmp_mkdtemp(d, &id);
	/* a folder inside it, a file in each: files go first, then the
	 * folders, the inner one before the outer one */
	snprintf(sub, sizeof sub, "%s/inner", d);
	hp_tmp_add(AT_FDCWD, sub, HP_TMP_DIR);
	mkdir(sub, 0700);
	snprintf(in, sizeof in, "%s/a.json", sub);
	hp_tmp_add(AT_FDCWD, in, 0);
	hp_write_file_atomic(in, "{}", 2, 0644, 0, NULL);
	/* a name beneath a descriptor, relative to it */
	int dfd = open(d, O_RDONLY | O_DIRECTORY);
	char spill[] = "spill-XXXXXX";
	close(hp_tmp_open(dfd, spill, 0, 0600, &id));
	/* a relative name, and then a chdir: still the same file */
	if (chdir(root) == 0 && chdir("k") == 0) {
		char rel[] = "rel.tmp-XXXXXX";
		close(hp_tmp_open(AT_FDCWD, rel, 0, 0600, &id));
		if (chdir("/") < 0)
			_exit(3);
	}
	/* an atomic file in progress */
	hp_atomic_file af = HP_ATOMIC_INIT;
	snprintf(f, sizeof f, "%s/k/out.json", root);
	hp_atomic_open(&af, f, 0644, 0, NULL);
	hp_atomic_write(&af, "[", 1, NULL);
	raise(SIGTERM);
	_exit(2);  /* not reached */
}

/* ---- a child: removes nothing of its parent's ---- */

static void remove_all_in_child(void *arg)
{
	(void)arg;
	hp_tmp_remove_all();
}

/* ---- stress: threads making temporaries, SIGTERM at any moment ---- */

static int stress_dfd;
static int ready_fd;

static void *maker(void *arg)
{
	int ids[3] = { 0, 0, 0 };
	char names[3][32];
	unsigned k = 0;
	for (unsigned long n = 0;; n++) {
		unsigned i = k++ % 3;
		if (ids[i])
			hp_tmp_remove(ids[i]);  /* keep three at a time */
		ids[i] = 0;
		if ((uintptr_t)arg == 0 && n % 8 == 0) {
			/* a folder too, now and then */
			char d[PATH_MAX];
			snprintf(d, sizeof d, "%s/s/d-XXXXXX", root);
			int did;
			if (hp_tmp_mkdtemp(d, &did))
				hp_tmp_remove(did);
		}
		snprintf(names[i], sizeof names[i], "t%lu-XXXXXX", (unsigned long)(uintptr_t)arg);
		int fd = hp_tmp_open(stress_dfd, names[i], 0, 0600, &ids[i]);
		if (fd < 0 && errno == EINTR)
			for (;;)
				pause();  /* the process is dying: a tool would give up here */
		if (fd >= 0)
			close(fd);
		if (n == 20 && arg == 0) {
			char c = 1;
			if (write(ready_fd, &c, 1) < 0)
				_exit(4);
		}
	}
	return NULL;
}

static void stress_child(void *arg)
{
	(void)arg;
	signal(SIGTERM, on_term);
	/* the main thread blocks SIGTERM: the handler runs on a maker, while
	 * the other makers carry on */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	pthread_t t[3];
	for (uintptr_t i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, maker, (void *)i);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	for (;;)
		pause();
}

int main(void)
{
	const char *base = getenv("TMPDIR");
	snprintf(root, sizeof root, "%s/test_tmp-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	char p[PATH_MAX];

	/* ---- the API ---- */
	snprintf(p, sizeof p, "%s/a.tmp-XXXXXX", root);
	int id;
	int fd = hp_tmp_open(AT_FDCWD, p, 0, 0600, &id);
	ok(fd >= 0 && id > 0, "hp_tmp_open makes a file and registers it (id %d)", id);
	ok(strstr(p, "XXXXXX") == NULL && exists(p), "the template is filled in: %s", p);
	is_int(hp_tmp_count(), 1, "one registered");
	struct stat st;
	ok(stat(p, &st) == 0 && (st.st_mode & 0777) == 0600, "mode 0600");
	close(fd);
	hp_tmp_remove(id);
	ok(!exists(p), "hp_tmp_remove unlinks it");
	is_int(hp_tmp_count(), 0, "and forgets it");

	snprintf(p, sizeof p, "%s/b.tmp-XXXXXX", root);
	fd = hp_tmp_open(AT_FDCWD, p, 0, 0600, &id);
	close(fd);
	hp_tmp_forget(id);
	ok(exists(p) && hp_tmp_count() == 0, "hp_tmp_forget leaves the file to its owner");
	unlink(p);

	snprintf(p, sizeof p, "%s/no-template", root);
	errno = 0;
	ok(hp_tmp_open(AT_FDCWD, p, 0, 0600, &id) < 0 && errno == EINVAL && id == 0, "no XXXXXX: EINVAL");
	hp_tmp_forget(0);
	hp_tmp_remove(0);
	ok(hp_tmp_count() == 0, "id 0 is ignored");

	/* hp_atomic_*: registered from open to commit or abort */
	hp_atomic_file af = HP_ATOMIC_INIT;
	snprintf(p, sizeof p, "%s/out.json", root);
	ok(hp_atomic_open(&af, p, 0644, 0, NULL) == HP_OK && hp_tmp_count() == 1, "hp_atomic_open registers its temporary");
	hp_atomic_write(&af, "{}", 2, NULL);
	ok(hp_atomic_commit(&af, NULL) == HP_OK && hp_tmp_count() == 0 && exists(p), "commit forgets it");
	ok(hp_atomic_open(&af, p, 0644, 0, NULL) == HP_OK && hp_tmp_count() == 1, "open again");
	char tmpname[PATH_MAX];
	snprintf(tmpname, sizeof tmpname, "%s", af.tmp);
	hp_atomic_abort(&af);
	ok(hp_tmp_count() == 0 && !exists(tmpname), "abort removes and forgets it");
	unlink(p);

	/* a full table: the file is still made, only not covered */
	int ids[HP_TMP_SLOTS + 1];
	for (int i = 0; i <= HP_TMP_SLOTS; i++) {
		snprintf(p, sizeof p, "%s/full-XXXXXX", root);
		fd = hp_tmp_open(AT_FDCWD, p, 0, 0600, &ids[i]);
		close(fd);
		if (i == HP_TMP_SLOTS)
			ok(fd >= 0 && ids[i] == 0 && exists(p), "slot %d of %d: made, id 0", i + 1, HP_TMP_SLOTS);
	}
	is_int(hp_tmp_count(), HP_TMP_SLOTS, "the table is full");
	unlink(p);
	for (int i = 0; i < HP_TMP_SLOTS; i++)
		hp_tmp_remove(ids[i]);
	is_int(entries(root), 0, "all removed");

	/* ---- a signal in a child: every kind removed ---- */
	snprintf(p, sizeof p, "%s/k", root);
	mkdir(p, 0700);
	int ws = in_child(kinds_then_term, NULL);
	ok(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGTERM, "the child died of SIGTERM (status %#x)", ws);
	is_int(entries(p), 0, "file, folders, a file inside, a name beneath a descriptor, a relative name, an atomic temporary: all removed");

	/* ---- a forked child removes nothing of its parent's ---- */
	snprintf(p, sizeof p, "%s/mine.tmp-XXXXXX", root);
	fd = hp_tmp_open(AT_FDCWD, p, 0, 0600, &id);
	close(fd);
	ws = in_child(remove_all_in_child, NULL);
	ok(WIFEXITED(ws) && exists(p), "hp_tmp_remove_all in a forked child leaves the parent's temporaries");
	hp_tmp_remove(id);

	/* ---- stress ---- */
	snprintf(p, sizeof p, "%s/s", root);
	mkdir(p, 0700);
	stress_dfd = open(p, O_RDONLY | O_DIRECTORY);
	int bad = 0, runs = 40;
	srand((unsigned)time(NULL));
	for (int r = 0; r < runs; r++) {
		int pfd[2];
		if (pipe(pfd) < 0)
			return 1;
		fflush(stdout);
		pid_t pid = fork();
		if (pid == 0) {
			close(pfd[0]);
			ready_fd = pfd[1];
			stress_child(NULL);
			_exit(0);
		}
		close(pfd[1]);
		char c;
		ssize_t got = read(pfd[0], &c, 1);
		close(pfd[0]);
		struct timespec ts = { 0, (long)(rand() % 3000) * 1000 };
		nanosleep(&ts, NULL);  /* any moment will do: the property holds at every one */
		kill(pid, SIGTERM);
		waitpid(pid, &ws, 0);
		int left = entries(p);
		if (got != 1 || !WIFSIGNALED(ws) || WTERMSIG(ws) != SIGTERM || left != 0) {
			bad++;
			printf("# run %d: status %#x, %d left\n", r, ws, left);
			DIR *d = opendir(p);
			struct dirent *de;
			while (d && (de = readdir(d)))
				if (de->d_name[0] != '.')
					printf("#   %s\n", de->d_name);
			if (d)
				closedir(d);
			/* clean for the next run */
			char cmd[PATH_MAX + 32];
			snprintf(cmd, sizeof cmd, "rm -rf '%s'/*", p);
			if (system(cmd) != 0)
				printf("# cannot clean %s\n", p);
		}
	}
	is_int(bad, 0, "%d runs: three threads making temporaries, SIGTERM at a random moment: nothing left", runs);
	close(stress_dfd);
	rmdir(p);
	snprintf(p, sizeof p, "%s/k", root);
	rmdir(p);
	ok(rmdir(root) == 0, "the test's folder is empty at the end");
	return done();
}
