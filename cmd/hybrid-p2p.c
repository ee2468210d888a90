/* hybrid-p2p: the umbrella command of the quick start. Each subcommand runs
 * the single-purpose tool beside it (as git runs its dashed commands), so the
 * two always behave the same. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "../lib/banned.h"

static const char usage_text[] =
	"Usage: hybrid-p2p COMMAND [ARGS...]\n"
	"\n"
	"Hybrid content distribution: signed manifests in git, bytes over IPFS and\n"
	"BitTorrent, every byte verified.\n"
	"\n"
	"Commands:\n"
	"  keygen [-o DIR] [-n NAME] [OPTIONS]\n"
	"        make an Ed25519 signing key: DIR/NAME.pem (0600) and DIR/NAME.pub\n"
	"        (defaults: ~/.hybrid_p2p/keys, mykey); runs hp-sign keygen\n"
	"  verify MANIFEST [DIR] [OPTIONS]\n"
	"        check the manifest's signature, expiry and rollback, and the files\n"
	"        in DIR; trusted keys from --trusted-keys FILE or\n"
	"        ~/.hybrid_p2p/trusted_keys; runs hp-verify\n"
	"\n"
	"The single-purpose tools: hp-hash, hp-manifest, hp-sign, hp-verify.\n"
	"'hybrid-p2p COMMAND --help' shows a command's options.\n"
	"\n"
	"  -h, --help     show this help and exit\n"
	"      --version  show the version and exit\n";

/* The folder this program is in, to find its sibling tools. */
static void self_dir(char *out, size_t size)
{
	ssize_t n = readlink("/proc/self/exe", out, size - 1);
	if (n <= 0) {
		out[0] = '\0';
		return;
	}
	out[n] = '\0';
	char *slash = strrchr(out, '/');
	if (slash)
		*slash = '\0';
}

static int run_tool(const char *tool, const char **args)
{
	char dir[PATH_MAX], path[PATH_MAX + 64];
	self_dir(dir, sizeof dir);
	snprintf(path, sizeof path, "%s/%s", dir, tool);
	args[0] = tool;
	fflush(stdout);
	if (dir[0] && access(path, X_OK) == 0)
		execv(path, (char *const *)args);
	else
		execvp(tool, (char *const *)args);
	return cli_error(EXIT_UNAVAILABLE, "cannot run '%s': %s", tool, strerror(errno));
}

static const char *home_path(const char *rel, char *out, size_t size)
{
	const char *home = getenv("HOME");
	if (!home || !*home)
		return NULL;
	snprintf(out, size, "%s/%s", home, rel);
	return out;
}

/* Is the option given, as "-o", "-oVALUE", "--long", "--long=VALUE", or
 * an unambiguous abbreviation of --long (as getopt_long accepts)? */
static bool has_option(int argc, char **argv, const char *s, const char *l)
{
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0)
			break;
		if (s && strncmp(a, s, 2) == 0)
			return true;
		size_t n = strcspn(a, "=");
		if (n > 2 && strncmp(a, "--", 2) == 0 && strncmp(a, l, n) == 0)
			return true;
	}
	return false;
}

/* mkdir -p for the default key folder, private to the user. */
static int make_private_dirs(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		int rc = mkdir(path, 0700);
		*p = '/';
		if (rc < 0 && errno != EEXIST)
			return -1;
	}
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

static int cmd_keygen(int argc, char **argv)
{
	char keys[PATH_MAX];
	const char **args = calloc((size_t)argc + 8, sizeof *args);
	int n = 1;
	args[n++] = "keygen";
	if (!has_option(argc, argv, "-o", "--output") && !has_option(argc, argv, "-h", "--help")) {
		if (!home_path(".hybrid_p2p/keys", keys, sizeof keys)) {
			free(args);
			return cli_usage("HOME is not set: give -o DIR");
		}
		if (make_private_dirs(keys) < 0) {
			int err = errno;
			free(args);
			return cli_error(EXIT_CANTCREAT, "cannot create '%s': %s", keys, strerror(err));
		}
		args[n++] = "-o";
		args[n++] = keys;
	}
	if (!has_option(argc, argv, "-n", "--name") && !has_option(argc, argv, "-h", "--help")) {
		args[n++] = "-n";
		args[n++] = "mykey";
	}
	for (int i = 1; i < argc; i++)
		args[n++] = argv[i];
	args[n] = NULL;
	int rc = run_tool("hp-sign", args);
	free(args);
	return rc;
}

static int cmd_verify(int argc, char **argv)
{
	char trusted[PATH_MAX];
	const char **args = calloc((size_t)argc + 8, sizeof *args);
	int n = 1, positional = 0;
	bool after_dashdash = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!after_dashdash && strcmp(a, "--") == 0) {
			after_dashdash = true;
			continue;
		}
		if (after_dashdash || a[0] != '-' || strcmp(a, "-") == 0) {
			/* MANIFEST, then DIR */
			if (positional++ == 1)
				args[n++] = "--content";
			args[n++] = a;
			continue;
		}
		args[n++] = a;
		/* options of hp-verify that take a separate value */
		static const char *const valued[] = { "-c", "--content", "-k", "--trusted-keys", "--state",
						      "--now", "-j", "--jobs", NULL };
		for (size_t k = 0; valued[k]; k++)
			if (strcmp(a, valued[k]) == 0 && i + 1 < argc)
				args[n++] = argv[++i];
	}
	if (positional > 2) {
		free(args);
		return cli_usage("verify takes MANIFEST and an optional DIR");
	}
	struct stat st;
	const char *env = getenv("HP_TRUSTED_KEYS");
	if (!has_option(argc, argv, "-k", "--trusted-keys") && !(env && *env) &&
	    home_path(".hybrid_p2p/trusted_keys", trusted, sizeof trusted) && stat(trusted, &st) == 0) {
		args[n++] = "--trusted-keys";
		args[n++] = trusted;
	}
	args[n] = NULL;
	int rc = run_tool("hp-verify", args);
	free(args);
	return rc;
}

int main(int argc, char **argv)
{
	cli_init("hybrid-p2p");
	if (argc < 2)
		return cli_usage("a command is needed: keygen or verify");
	const char *cmd = argv[1];
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
		fputs(usage_text, stdout);
		return cli_finish(0);
	}
	if (strcmp(cmd, "--version") == 0)
		return cli_finish(cli_version());
	if (strcmp(cmd, "keygen") == 0)
		return cmd_keygen(argc - 1, argv + 1);
	if (strcmp(cmd, "verify") == 0)
		return cmd_verify(argc - 1, argv + 1);
	if (strcmp(cmd, "publish") == 0 || strcmp(cmd, "fetch") == 0)
		return cli_error(EXIT_USAGE, "'%s' is not available in this version yet (see the README)", cmd);
	if (cmd[0] == '-')
		return cli_usage("unknown option '%s'", cmd);
	return cli_usage("unknown command '%s'", cmd);
}
