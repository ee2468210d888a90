/* A plain driver for a libFuzzer harness: replays a corpus as a TAP test, so
 * an ordinary gcc build (and the ASan build) keeps every seed and every past
 * crash as a regression test.
 *
 *   replay_NAME            replays $HP_ROOT/fuzz/corpus/NAME/ (HP_ROOT
 *                          defaults to the current directory)
 *   replay_NAME ARG...     each ARG with a '/' is a file or a directory to
 *                          replay (e.g. a crash artifact); any other ARG is a
 *                          corpus NAME
 *
 * Prints "ok N - NAME/FILE" per input, then "1..N". A harness that crashes
 * takes the process down, which prove reports; a missing or empty corpus is
 * a failure, not a silent pass. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int tests, failures;

static void result(int pass, const char *label, const char *why)
{
	tests++;
	if (!pass)
		failures++;
	printf("%s %d - %s%s%s\n", pass ? "ok" : "not ok", tests, label, why ? ": " : "", why ? why : "");
	fflush(stdout);
}

/* Read a whole file; *data is malloc'ed (never NULL on success). */
static int slurp(const char *path, uint8_t **data, size_t *size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	size_t cap = 4096, len = 0;
	uint8_t *buf = malloc(cap);
	if (!buf) {
		close(fd);
		return ENOMEM;
	}
	for (;;) {
		if (len == cap) {
			uint8_t *bigger = cap < SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
			if (!bigger) {
				free(buf);
				close(fd);
				return ENOMEM;
			}
			buf = bigger;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;
			free(buf);
			close(fd);
			return err;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	/* libFuzzer hands over exactly size bytes: trim the allocation so that
	 * ASan catches a harness reading past the end */
	uint8_t *exact = realloc(buf, len ? len : 1);
	*data = exact ? exact : buf;
	*size = len;
	return 0;
}

static void replay_file(const char *path, const char *label)
{
	uint8_t *data = NULL;
	size_t size = 0;
	int err = slurp(path, &data, &size);
	if (err) {
		result(0, label, strerror(err));
		return;
	}
	LLVMFuzzerTestOneInput(data, size);
	free(data);
	result(1, label, NULL);
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int not_hidden(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* Every regular file of dir, in name order; label them "prefix/FILE". */
static void replay_dir(const char *dir, const char *prefix)
{
	struct dirent **list;
	int n = scandir(dir, &list, not_hidden, by_name);
	if (n < 0) {
		char why[300];
		snprintf(why, sizeof why, "cannot read corpus '%s': %s", dir, strerror(errno));
		result(0, prefix, why);
		return;
	}
	int replayed = 0;
	for (int i = 0; i < n; i++) {
		char path[4096], label[4096];
		struct stat st;
		snprintf(path, sizeof path, "%s/%s", dir, list[i]->d_name);
		snprintf(label, sizeof label, "%s/%s", prefix, list[i]->d_name);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			replay_file(path, label);
			replayed++;
		}
		free(list[i]);
	}
	free(list);
	if (!replayed)
		result(0, prefix, "the corpus is empty");
}

static void replay_corpus(const char *name)
{
	const char *root = getenv("HP_ROOT");
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/fuzz/corpus/%s", root && *root ? root : ".", name);
	replay_dir(dir, name);
}

static void replay_path(const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0)
		result(0, path, strerror(errno));
	else if (S_ISDIR(st.st_mode)) {
		char dir[4096];
		snprintf(dir, sizeof dir, "%s", path);
		for (size_t n = strlen(dir); n > 1 && dir[n - 1] == '/'; n--)
			dir[n - 1] = '\0';
		replay_dir(dir, dir);
	}
	else
		replay_file(path, path);
}

int main(int argc, char **argv)
{
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	if (argc > 1) {
		for (int i = 1; i < argc; i++) {
			if (strchr(argv[i], '/'))
				replay_path(argv[i]);
			else
				replay_corpus(argv[i]);
		}
	} else {
		const char *base = strrchr(argv[0], '/');
		base = base ? base + 1 : argv[0];
		if (strncmp(base, "replay_", 7) == 0)
			base += 7;
		replay_corpus(base);
	}
	printf("1..%d\n", tests);
	return failures ? 1 : 0;
}
