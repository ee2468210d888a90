/* hybrid-p2p: the umbrella command of the quick start. keygen and verify run
 * the single-purpose tool beside it (as git runs its dashed commands), so the
 * two always behave the same; publish and fetch orchestrate the tools
 * (hp-manifest, hp-cid, hp-mktorrent, hp-sign, hp-pin, hp-seed, hp-verify,
 * hp-fetch) and own the registry (lib/hp_git). See docs/registry.md. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "../lib/hp_git.h"
#include "../lib/hp_io.h"
#include "../lib/hp_json.h"
#include "../lib/hp_manifest.h"
#include "../lib/hp_registry.h"
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
	"  publish FILE... --name N --version V --uploader-id ID --key K.pem\n"
	"          --output MANIFEST [--registry URL] [--kubo URL|--cluster URL|--psa URL]\n"
	"          [--tracker URL] [--web-seed URL] [--seed] [OPTIONS]\n"
	"        describe, sign, make the CAR and .torrent, pin, commit to the git\n"
	"        registry and seed; one JSON line per step\n"
	"  fetch (MANIFEST|NAME@VERSION|NAME) -o DIR [--registry URL]\n"
	"          [--trusted-keys F] [--state F] [OPTIONS]\n"
	"        verify the manifest (from the registry), then fetch every file from\n"
	"        IPFS, then BitTorrent and web seeds, every byte checked\n"
	"  verify MANIFEST [DIR] [OPTIONS]\n"
	"        check the manifest's signature, expiry and rollback, and the files\n"
	"        in DIR; trusted keys from --trusted-keys FILE or\n"
	"        ~/.hybrid_p2p/trusted_keys; runs hp-verify\n"
	"\n"
	"The single-purpose tools: hp-hash, hp-cid, hp-manifest, hp-sign, hp-verify,\n"
	"hp-mktorrent, hp-pin, hp-seed, hp-fetch.\n"
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

/* Make the folders above path's last '/' (path is restored). */
static int mkdir_parents(char *path, mode_t mode)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		int rc = mkdir(path, mode);
		*p = '/';
		if (rc < 0 && errno != EEXIST)
			return -1;
	}
	return 0;
}

/* mkdir -p for the default key folder, private to the user. */
static int make_private_dirs(char *path)
{
	if (mkdir_parents(path, 0700) < 0 || (mkdir(path, 0700) < 0 && errno != EEXIST))
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

/* ---- running the tools as children ---- */

/* The path of a sibling tool (or its bare name for PATH). */
static void tool_path(const char *tool, char *out, size_t size)
{
	char dir[PATH_MAX];
	self_dir(dir, sizeof dir);
	snprintf(out, size, "%s/%s", dir, tool);
	if (!dir[0] || access(out, X_OK) != 0)
		snprintf(out, size, "%s", tool);
}

static volatile sig_atomic_t got_signal;
static volatile pid_t running_child;

static void forward_signal(int sig)
{
	got_signal = sig;
	if (running_child > 0)
		kill(running_child, sig);
}

/* Run args (args[0] = the tool's name, NULL-terminated); capture its stdout
 * into out when out is not NULL, else it goes to our stdout. stderr is
 * shared. Returns its exit status (128+N for a signal, 69 when it cannot
 * be run). */
static int run_child(const char *const *args, hp_buf *out)
{
	char path[PATH_MAX + 64];
	tool_path(args[0], path, sizeof path);
	int fds[2] = { -1, -1 };
	if (out && pipe2(fds, O_CLOEXEC) < 0)
		return cli_error(EXIT_SOFTWARE, "cannot make a pipe: %s", strerror(errno));
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		int err = errno;
		if (out) {
			close(fds[0]);
			close(fds[1]);
		}
		return cli_error(EXIT_TEMPFAIL, "cannot fork: %s", strerror(err));
	}
	if (pid == 0) {
		if (out && dup2(fds[1], STDOUT_FILENO) < 0)
			_exit(127);
		if (strchr(path, '/'))
			execv(path, (char *const *)args);
		else
			execvp(path, (char *const *)args);
		dprintf(STDERR_FILENO, "%s: cannot run '%s': %s\n", cli.prog, args[0], strerror(errno));
		_exit(127);
	}
	running_child = pid;
	if (out) {
		close(fds[1]);
		hp_err e = HP_ERR_INIT;
		hp_buf_reset(out);
		if (hp_read_fd(fds[0], args[0], 64u << 20, out, &e))
			cli_warn("reading the output of %s: %s", args[0], e.msg);
		close(fds[0]);
	}
	int status = 0;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			running_child = 0;
			return cli_error(EXIT_SOFTWARE, "waitpid: %s", strerror(errno));
		}
	running_child = 0;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	int rc = WEXITSTATUS(status);
	return rc == 127 ? EXIT_UNAVAILABLE : rc;
}

/* A growable argv. */
typedef struct argv_t {
	const char **v;
	size_t n, cap;
} argv_t;

static void av_add(argv_t *a, const char *s)
{
	if (a->n + 2 > a->cap) {
		a->cap = a->cap ? a->cap * 2 : 32;
		a->v = realloc(a->v, a->cap * sizeof *a->v);
		if (!a->v) {
			fputs("hybrid-p2p: out of memory\n", stderr);
			exit(EXIT_SOFTWARE);
		}
	}
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
}

static void av_free(argv_t *a)
{
	free(a->v);
	memset(a, 0, sizeof *a);
}

/* opt and value, when there is a value. */
static void av_opt(argv_t *a, const char *opt, const char *value)
{
	if (value) {
		av_add(a, opt);
		av_add(a, value);
	}
}

/* Is an option in a tool's --help text? (Options that other work adds to
 * the tools are used as soon as they exist.) */
static bool tool_has_option(const char *tool, const char *sub, const char *opt)
{
	const char *args[] = { tool, sub ? sub : "--help", sub ? "--help" : NULL, NULL };
	hp_buf out = HP_BUF_INIT;
	int rc = run_child(args, &out);
	bool has = rc == 0 && strstr(out.data, opt) != NULL;
	hp_buf_release(&out);
	return has;
}

/* ---- shared by publish and fetch ---- */

/* One JSON line on stdout about a step; takes ownership of j. */
static void report(json_t *j)
{
	cli_print_json(j);
	fflush(stdout);
	json_decref(j);
}

/* The worst of two exit codes (any failure beats success). */
static int worse(int a, int b)
{
	return a > b ? a : b;
}

static const char *registry_url(const char *opt)
{
	if (opt && *opt)
		return opt;
	const char *env = getenv("HP_REGISTRY");
	return env && *env ? env : NULL;
}

/* A URL with a password in it would put a secret in argv. */
static bool url_has_password(const char *url)
{
	const char *p = strstr(url, "://");
	if (!p)
		return false;
	p += 3;
	size_t host = strcspn(p, "/");
	const char *at = memchr(p, '@', host);
	return at && memchr(p, ':', (size_t)(at - p)) != NULL;
}

/* The registry's cache: --registry-cache, $HP_REGISTRY_CACHE, else
 * $XDG_CACHE_HOME (or ~/.cache)/hybrid-p2p/registry/<16 hex of SHA-256(url)>. */
static int cache_dir_for(const char *opt, const char *url, char *out, size_t size)
{
	const char *env = getenv("HP_REGISTRY_CACHE");
	if (opt && *opt) {
		snprintf(out, size, "%s", opt);
		return 0;
	}
	if (env && *env) {
		snprintf(out, size, "%s", env);
		return 0;
	}
	unsigned char md[32];
	unsigned mdlen = 0;
	EVP_Digest(url, strlen(url), md, &mdlen, EVP_sha256(), NULL);
	char hex[17];
	for (int i = 0; i < 8; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	const char *xdg = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");
	if (xdg && *xdg)
		snprintf(out, size, "%s/hybrid-p2p/registry/%s.git", xdg, hex);
	else if (home && *home)
		snprintf(out, size, "%s/.cache/hybrid-p2p/registry/%s.git", home, hex);
	else
		return cli_usage("HOME is not set: give --registry-cache DIR");
	return 0;
}

static hp_code open_registry(const char *url, const char *cache_opt, const char *branch, bool create,
			     hp_git_registry **r, hp_err *e)
{
	char cache[PATH_MAX];
	if (cache_dir_for(cache_opt, url, cache, sizeof cache))
		return hp_fail(e, HP_E_USAGE, "no registry cache folder");
	hp_git_registry_opts o = { .url = url, .branch = branch, .cache_dir = cache, .create_local = create };
	return hp_git_registry_open(&o, r, e);
}

static const char *str_member(const json_t *j, const char *k)
{
	return json_string_value(json_object_get(j, k));
}

/* mkdir of a fresh temporary folder beside path (same file system). */
static char *temp_dir_beside(const char *path, const char *tag)
{
	char *copy = strdup(path);
	if (!copy)
		return NULL;
	char *slash = strrchr(copy, '/');
	const char *dir = slash ? (slash == copy ? "/" : (*slash = '\0', copy)) : ".";
	size_t n = strlen(dir) + strlen(tag) + 32;
	char *t = malloc(n);
	if (t) {
		snprintf(t, n, "%s/.%s-XXXXXX", dir, tag);
		if (!mkdtemp(t)) {
			free(t);
			t = NULL;
		}
	}
	free(copy);
	return t;
}

static int rm_tree_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void rm_tree(const char *dir)
{
	if (dir)
		nftw(dir, rm_tree_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- publish ---- */

static const char publish_usage[] =
	"Usage: hybrid-p2p publish FILE... --name N --version V --uploader-id ID\n"
	"                          --key KEY.pem --output MANIFEST [OPTIONS]\n"
	"\n"
	"Describe FILE... in a signed manifest (SHA-256, IPFS CIDs, BitTorrent\n"
	"infohashes and magnet), write its CAR and .torrent, then hand it to each\n"
	"destination: pinning nodes, the registry, a seeder. One JSON line per step\n"
	"on stdout: {\"step\", \"status\", ...}. A destination that fails does not stop\n"
	"the others; run the same command again to complete the rest. Nothing is\n"
	"committed to the registry unless the manifest was signed and validated.\n"
	"\n"
	"  -n, --name N             package name\n"
	"  -V, --version V          package version (NAME@V in the registry)\n"
	"  -u, --uploader-id ID     who publishes it (provenance.uploader_id)\n"
	"  -k, --key KEY.pem        the Ed25519 signing key (passphrase from\n"
	"                           $HP_PASSPHRASE or --passphrase-file)\n"
	"      --passphrase-file F  the key's passphrase, first line of F\n"
	"  -o, --output MANIFEST    where the signed manifest goes\n"
	"      --car FILE           the CAR (default: MANIFEST's folder/NAME-V.car)\n"
	"      --torrent FILE       the .torrent (default: MANIFEST's folder/NAME-V.torrent)\n"
	"      --description TEXT, --expires TIME   manifest fields\n"
	"      --profile PROFILE    UnixFS import profile of the CIDs (see hp-cid)\n"
	"      --ipfs-gateway URL   a gateway to list in the manifest\n"
	"      --web-seed URL       an HTTP web seed, in the manifest and the torrent\n"
	"                           (repeatable)\n"
	"      --tracker URL        a BitTorrent tracker (repeatable)\n"
	"      --allow-dirty        publish from a git work tree with uncommitted changes\n"
	"      --no-git             do not record git provenance\n"
	"Destinations:\n"
	"      --kubo URL           import the CAR into this kubo and pin it (repeatable)\n"
	"      --cluster URL        pin on this IPFS Cluster (repeatable)\n"
	"      --psa URL            pin on this Pinning Service API (repeatable; token\n"
	"                           from $HP_PSA_TOKEN)\n"
	"  -r, --registry URL       commit the manifest and .torrent to this git registry\n"
	"                           and push (default $HP_REGISTRY; token for HTTP(S) from\n"
	"                           $HP_REGISTRY_TOKEN)\n"
	"      --registry-branch B  the registry's branch (default main)\n"
	"      --registry-cache DIR the registry's local cache\n"
	"      --seed               then seed the torrent until SIGINT or SIGTERM\n"
	"      --seed-listen IP:PORT  where the seeder listens (default 0.0.0.0:6881)\n"
	CLI_COMMON_HELP
	"\n"
	"Exit status: 0 every step done; otherwise the worst step's: 1 the registry\n"
	"holds this version with other content, or a dirty work tree; 64 usage;\n"
	"65 malformed input or key; 66 missing input; 69 a destination unavailable;\n"
	"73/74 cannot write the outputs; 75 temporary failure; 77 credentials refused.\n";

typedef struct strlist {
	const char **v;
	size_t n;
} strlist;

static void sl_add(strlist *l, const char *s)
{
	l->v = realloc(l->v, (l->n + 1) * sizeof *l->v);
	if (!l->v) {
		fputs("hybrid-p2p: out of memory\n", stderr);
		exit(EXIT_SOFTWARE);
	}
	l->v[l->n++] = s;
}

/* opt and the value, for each value in l. */
static void av_opts(argv_t *a, const char *opt, const strlist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		av_add(a, opt);
		av_add(a, l->v[i]);
	}
}

typedef struct pub_cfg {
	const char *name, *version, *uploader, *key, *output, *passphrase_file;
	const char *car, *torrent, *description, *expires, *profile, *ipfs_gateway;
	strlist web_seeds, trackers, kubo, cluster, psa, files;
	const char *registry, *branch, *cache;
	bool allow_dirty, no_git, seed;
	const char *seed_listen;
} pub_cfg;

static void pub_cfg_free(pub_cfg *c)
{
	free(c->web_seeds.v);
	free(c->trackers.v);
	free(c->kubo.v);
	free(c->cluster.v);
	free(c->psa.v);
	free(c->files.v);
}

enum {
	OPT_CAR = CLI_OPT_FIRST_FREE_,
	OPT_TORRENT,
	OPT_DESCRIPTION,
	OPT_EXPIRES,
	OPT_PROFILE,
	OPT_GATEWAY,
	OPT_WEB_SEED,
	OPT_TRACKER,
	OPT_ALLOW_DIRTY,
	OPT_NO_GIT,
	OPT_KUBO,
	OPT_CLUSTER,
	OPT_PSA,
	OPT_BRANCH,
	OPT_CACHE,
	OPT_SEED,
	OPT_SEED_LISTEN,
	OPT_PASSFILE,
	OPT_STATE,
	OPT_PEER,
	OPT_BT_LISTEN,
	OPT_SAVE_MANIFEST,
	OPT_TIMEOUT,
	OPT_ALLOW_UNTRUSTED,
};

/* Absolute form of a path that may not exist yet (its folder must). */
static void abs_path(const char *p, char *out, size_t size)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(p, '/');
	if (p[0] == '/') {
		snprintf(out, size, "%s", p);
		return;
	}
	if (slash) {
		snprintf(dir, sizeof dir, "%.*s", (int)(slash - p), p);
		char real[PATH_MAX];
		if (realpath(dir, real))
			snprintf(out, size, "%s/%s", real, slash + 1);
		else
			snprintf(out, size, "%s", p);
		return;
	}
	if (getcwd(dir, sizeof dir))
		snprintf(out, size, "%s/%s", dir, p);
	else
		snprintf(out, size, "%s", p);
}

/* Link (or copy) src to dst. */
static int link_or_copy(const char *src, const char *dst)
{
	if (link(src, dst) == 0)
		return 0;
	int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -1;
	int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (out < 0) {
		close(in);
		return -1;
	}
	char buf[1 << 16];
	ssize_t n;
	int rc = 0;
	while ((n = read(in, buf, sizeof buf)) > 0)
		if (write(out, buf, (size_t)n) != n) {
			rc = -1;
			break;
		}
	if (n < 0)
		rc = -1;
	close(in);
	if (close(out) < 0)
		rc = -1;
	return rc;
}

/* stage/<name>/<path> for every file of the manifest, linked from where
 * FILE... has it: a file by its base name, a folder's files under it. */
static int stage_files(const pub_cfg *c, const json_t *m, const char *stage_root)
{
	const json_t *files = json_object_get(m, "files");
	size_t i;
	json_t *f;
	json_array_foreach(files, i, f) {
		const char *p = str_member(f, "path");
		char src[PATH_MAX * 2], dst[PATH_MAX * 2];
		bool found = false;
		for (size_t k = 0; k < c->files.n && !found; k++) {
			const char *arg = c->files.v[k];
			struct stat st;
			if (stat(arg, &st) < 0)
				continue;
			if (S_ISDIR(st.st_mode)) {
				snprintf(src, sizeof src, "%s/%s", arg, p);
				found = lstat(src, &st) == 0 && S_ISREG(st.st_mode);
			} else {
				const char *base = strrchr(arg, '/');
				base = base ? base + 1 : arg;
				snprintf(src, sizeof src, "%s", arg);
				found = strcmp(base, p) == 0;
			}
		}
		if (!found)
			return cli_error(EXIT_SOFTWARE, "cannot find the file of '%s' again", p);
		snprintf(dst, sizeof dst, "%s/%s/%s", stage_root, c->name, p);
		if (mkdir_parents(dst, 0755) < 0 || link_or_copy(src, dst) < 0)
			return cli_error(EXIT_CANTCREAT, "cannot stage '%s' as '%s': %s", src, dst, strerror(errno));
	}
	return 0;
}

/* The manifest in path, if it is a signed one of (name, version, content_id)
 * whose signature holds (by the key it names: the key is not compared with
 * --key, a re-run reuses what was signed). */
static json_t *reusable_manifest(const char *path, const char *name, const char *version, const char *cid)
{
	json_t *m = NULL;
	hp_err e = HP_ERR_INIT;
	if (access(path, F_OK) != 0 || hp_manifest_load(path, 0, &m, &e))
		return NULL;
	uint8_t pk[32];
	if (!json_object_get(m, "signature") || hp_manifest_check_signature(m, pk, &e) ||
	    !str_member(m, "name") || strcmp(str_member(m, "name"), name) ||
	    !str_member(m, "version") || strcmp(str_member(m, "version"), version) ||
	    !str_member(m, "content_id") || strcmp(str_member(m, "content_id"), cid)) {
		json_decref(m);
		return NULL;
	}
	return m;
}

static json_t *parse_last_line(const hp_buf *out)
{
	/* the last non-empty line of a tool's JSON Lines */
	const char *end = out->data + out->len;
	while (end > out->data && (end[-1] == '\n' || end[-1] == ' '))
		end--;
	const char *start = end;
	while (start > out->data && start[-1] != '\n')
		start--;
	json_t *j = NULL;
	hp_err e = HP_ERR_INIT;
	if (hp_json_parse(start, (size_t)(end - start), "record", &j, &e))
		return NULL;
	return j;
}

static json_t *parse_lines(const hp_buf *out)
{
	json_t *a = json_array();
	const char *p = out->data, *end = out->data + out->len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		json_t *j = NULL;
		hp_err e = HP_ERR_INIT;
		if (le > p && !hp_json_parse(p, (size_t)(le - p), "record", &j, &e))
			json_array_append_new(a, j);
		p = le + 1;
	}
	return a;
}

static int step_fail(const char *step, int rc, const char *detail)
{
	report(json_pack("{s:s,s:s,s:i,s:s*}", "step", step, "status", "failed", "exit", rc, "error", detail));
	return rc;
}

static int parse_publish(int argc, char **argv, pub_cfg *c)
{
	static const struct option longopts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "version", required_argument, NULL, 'V' },
		{ "uploader-id", required_argument, NULL, 'u' },
		{ "key", required_argument, NULL, 'k' },
		{ "output", required_argument, NULL, 'o' },
		{ "registry", required_argument, NULL, 'r' },
		{ "passphrase-file", required_argument, NULL, OPT_PASSFILE },
		{ "car", required_argument, NULL, OPT_CAR },
		{ "torrent", required_argument, NULL, OPT_TORRENT },
		{ "description", required_argument, NULL, OPT_DESCRIPTION },
		{ "expires", required_argument, NULL, OPT_EXPIRES },
		{ "profile", required_argument, NULL, OPT_PROFILE },
		{ "ipfs-gateway", required_argument, NULL, OPT_GATEWAY },
		{ "web-seed", required_argument, NULL, OPT_WEB_SEED },
		{ "tracker", required_argument, NULL, OPT_TRACKER },
		{ "allow-dirty", no_argument, NULL, OPT_ALLOW_DIRTY },
		{ "no-git", no_argument, NULL, OPT_NO_GIT },
		{ "kubo", required_argument, NULL, OPT_KUBO },
		{ "cluster", required_argument, NULL, OPT_CLUSTER },
		{ "psa", required_argument, NULL, OPT_PSA },
		{ "registry-branch", required_argument, NULL, OPT_BRANCH },
		{ "registry-cache", required_argument, NULL, OPT_CACHE },
		{ "seed", no_argument, NULL, OPT_SEED },
		{ "seed-listen", required_argument, NULL, OPT_SEED_LISTEN },
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	opterr = 0;
	optind = 1;
	int opt;
	while ((opt = getopt_long(argc, argv, ":n:V:u:k:o:r:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'n': c->name = optarg; break;
		case 'V': c->version = optarg; break;
		case 'u': c->uploader = optarg; break;
		case 'k': c->key = optarg; break;
		case 'o': c->output = optarg; break;
		case 'r': c->registry = optarg; break;
		case OPT_PASSFILE: c->passphrase_file = optarg; break;
		case OPT_CAR: c->car = optarg; break;
		case OPT_TORRENT: c->torrent = optarg; break;
		case OPT_DESCRIPTION: c->description = optarg; break;
		case OPT_EXPIRES: c->expires = optarg; break;
		case OPT_PROFILE: c->profile = optarg; break;
		case OPT_GATEWAY: c->ipfs_gateway = optarg; break;
		case OPT_WEB_SEED: sl_add(&c->web_seeds, optarg); break;
		case OPT_TRACKER: sl_add(&c->trackers, optarg); break;
		case OPT_ALLOW_DIRTY: c->allow_dirty = true; break;
		case OPT_NO_GIT: c->no_git = true; break;
		case OPT_KUBO: sl_add(&c->kubo, optarg); break;
		case OPT_CLUSTER: sl_add(&c->cluster, optarg); break;
		case OPT_PSA: sl_add(&c->psa, optarg); break;
		case OPT_BRANCH: c->branch = optarg; break;
		case OPT_CACHE: c->cache = optarg; break;
		case OPT_SEED: c->seed = true; break;
		case OPT_SEED_LISTEN: c->seed_listen = optarg; break;
		case 'h':
			fputs(publish_usage, stdout);
			return -1;
		default:
			if (cli_common_option(opt))
				break;
			return cli_option_error(opt, argv);
		}
	}
	for (int i = optind; i < argc; i++)
		sl_add(&c->files, argv[i]);
	if (!c->files.n)
		return cli_usage("publish needs FILE...");
	if (!c->name || !c->version || !c->uploader || !c->key || !c->output)
		return cli_usage("publish needs --name, --version, --uploader-id, --key and --output");
	if (!hp_registry_name_ok(c->name))
		return cli_usage("invalid --name '%s' (letters, digits, '.', '_', '-')", c->name);
	if (!hp_registry_version_ok(c->version))
		return cli_usage("invalid --version '%s' (letters, digits, '.', '+', '_', '-')", c->version);
	if (strcmp(c->output, "-") == 0)
		return cli_usage("--output must be a file");
	c->registry = registry_url(c->registry);
	if (c->registry && url_has_password(c->registry))
		return cli_usage("the registry URL holds a password: put the token in $HP_REGISTRY_TOKEN instead");
	return 0;
}

/* The manifest step: create (one read), CAR, torrent, sign, validate.
 * On success *manifest_out holds the signed manifest written to c->output. */
static int publish_manifest(pub_cfg *c, const char *car, const char *torrent, const hp_git_provenance *prov,
			    hp_git_registry *reg, char **stage_out, char **seed_dir_out, json_t **manifest_out)
{
	int rc = 0;
	char *tmpdir = temp_dir_beside(c->output, "hp-publish");
	if (!tmpdir)
		return cli_error(EXIT_CANTCREAT, "cannot create a temporary folder beside '%s': %s", c->output,
				 strerror(errno));
	char unsigned_path[PATH_MAX], signed_path[PATH_MAX];
	snprintf(unsigned_path, sizeof unsigned_path, "%s/unsigned.json", tmpdir);
	snprintf(signed_path, sizeof signed_path, "%s/signed.json", tmpdir);
	hp_buf out = HP_BUF_INIT, adopted_raw = HP_BUF_INIT;
	json_t *m = NULL, *rec = NULL;
	argv_t a = { 0 };
	hp_err e = HP_ERR_INIT;

	/* 1. the manifest, from one read of the bytes (with the torrent and the
	 *    CAR in that read when hp-manifest can). */
	bool one_read = tool_has_option("hp-manifest", "create", "--torrent-out");
	/* hp-manifest's CAR has a second root (the wrapper) with
	 * --ipfs-gateway, which hp-pin --car refuses: hp-cid makes it then */
	bool car_in_read = one_read && !c->ipfs_gateway && tool_has_option("hp-manifest", "create", "--car");
	av_add(&a, "hp-manifest");
	av_add(&a, "create");
	av_add(&a, "--quiet");
	av_add(&a, "--name");
	av_add(&a, c->name);
	av_add(&a, "--version");
	av_add(&a, c->version);
	av_add(&a, "--uploader-id");
	av_add(&a, c->uploader);
	av_opt(&a, "--description", c->description);
	av_opt(&a, "--expires", c->expires);
	av_opt(&a, "--profile", c->profile);
	av_opt(&a, "--ipfs-gateway", c->ipfs_gateway);
	av_opts(&a, "--web-seed", &c->web_seeds);
	if (prov->found) {
		av_add(&a, "--git-commit");
		av_add(&a, prov->commit);
		if (prov->ref[0]) {
			av_add(&a, "--git-ref");
			av_add(&a, prov->ref);
		}
	}
	if (one_read) {
		av_opts(&a, "--tracker", &c->trackers);
		av_add(&a, "--torrent-out");
		av_add(&a, torrent);
		if (car_in_read) {
			av_add(&a, "--car");
			av_add(&a, car);
		}
	}
	av_add(&a, "-o");
	av_add(&a, unsigned_path);
	av_add(&a, "--");
	for (size_t i = 0; i < c->files.n; i++)
		av_add(&a, c->files.v[i]);
	if ((rc = run_child(a.v, NULL))) {
		step_fail("manifest", rc, "hp-manifest create failed");
		goto out;
	}
	if (hp_manifest_load(unsigned_path, HP_MANIFEST_UNSIGNED_OK, &m, &e)) {
		rc = step_fail("manifest", cli_fail(&e), e.msg);
		goto out;
	}
	const char *cid = str_member(json_object_get(m, "distribution"), "ipfs_cid");
	const char *content_id = str_member(m, "content_id");

	/* 2. already published? the registry's copy (or our earlier output) is
	 *    the manifest then: same content, nothing to sign again. */
	json_t *adopted = NULL;
	const char *adopted_from = NULL;
	if (reg) {
		hp_buf path = HP_BUF_INIT, have = HP_BUF_INIT;
		hp_code frc = hp_git_registry_fetch(reg, &e);
		if (!frc && !hp_registry_path(c->name, c->version, "json", &path, &e)) {
			hp_code r = hp_git_registry_read(reg, path.data, HP_REGISTRY_MANIFEST_MAX, &have, &e);
			if (r == HP_OK) {
				json_t *old = NULL;
				hp_err pe = HP_ERR_INIT;
				if (hp_json_parse(have.data, have.len, path.data, &old, &pe) == HP_OK &&
				    str_member(old, "content_id") && strcmp(str_member(old, "content_id"), content_id) == 0) {
					adopted = old;
					adopted_from = "registry";
					hp_buf_add(&adopted_raw, have.data, have.len, &e);
					/* its .torrent too, so both match the manifest */
					hp_buf tp = HP_BUF_INIT, tb = HP_BUF_INIT;
					if (!hp_registry_path(c->name, c->version, "torrent", &tp, &e) &&
					    !hp_git_registry_read(reg, tp.data, HP_REGISTRY_TORRENT_MAX, &tb, &e))
						hp_write_file_atomic(torrent, tb.data, tb.len, 0644, 0, &e);
					hp_err_clear(&e);
					hp_buf_release(&tp);
					hp_buf_release(&tb);
				} else {
					json_decref(old);
					rc = step_fail("registry", EXIT_INVALID, "this version is already in the registry with other content");
					cli_error(EXIT_INVALID,
						  "%s %s is already in the registry '%s' with other content: publish a new version",
						  c->name, c->version, c->registry);
				}
			}
		}
		hp_buf_release(&path);
		hp_buf_release(&have);
		hp_err_clear(&e);
		/* a registry that cannot be read now is reported by its own step */
		if (rc)
			goto out;
	}
	if (!adopted && (adopted = reusable_manifest(c->output, c->name, c->version, content_id)))
		adopted_from = "output";

	/* 3. CAR and torrent (unless made in the same read) */
	bool single_dir = false;
	struct stat st;
	if (c->files.n == 1 && stat(c->files.v[0], &st) == 0 && S_ISDIR(st.st_mode))
		single_dir = true;
	char real0[PATH_MAX];
	if (!realpath(c->files.v[0], real0))
		snprintf(real0, sizeof real0, "%s", c->files.v[0]);
	const char *base = strrchr(real0, '/');
	base = base ? base + 1 : real0;
	size_t nfiles = json_array_size(json_object_get(m, "files"));
	const char *first_path = str_member(json_array_get(json_object_get(m, "files"), 0), "path");
	bool single_file = nfiles == 1 && first_path && !strchr(first_path, '/');
	/* a folder named NAME holding the files at their manifest paths (hard
	 * links, else copies): the one root hp-cid and hp-mktorrent need when
	 * the inputs are not one folder, and the folder hp-seed needs to find
	 * the torrent's NAME in */
	bool tools_need_root = !(one_read && car_in_read) && !single_dir;
	bool seed_needs_name = c->seed && (single_file ? c->files.n > 1 : !(single_dir && strcmp(base, c->name) == 0));
	char *stage = NULL;
	if (tools_need_root || seed_needs_name) {
		stage = temp_dir_beside(c->output, "hp-stage");
		if (!stage || (rc = stage_files(c, m, stage))) {
			rc = rc ? rc : cli_error(EXIT_CANTCREAT, "cannot create a staging folder beside '%s'", c->output);
			goto out_stage;
		}
	}
	char root[PATH_MAX * 2];
	if (stage)
		snprintf(root, sizeof root, "%s/%s", stage, c->name);
	else
		snprintf(root, sizeof root, "%s", c->files.v[0]);
	/* the one file of a single-file torrent, and the folder that holds
	 * the torrent's NAME (for hp-seed) */
	char single_src[PATH_MAX * 3], seed_dir[PATH_MAX * 3];
	if (single_file && !stage && !single_dir)
		snprintf(single_src, sizeof single_src, "%s", c->files.v[0]);
	else
		snprintf(single_src, sizeof single_src, "%s/%s", root, first_path ? first_path : "");
	if (single_file) {
		snprintf(seed_dir, sizeof seed_dir, "%s", single_src);
	} else if (!realpath(root, seed_dir)) {
		snprintf(seed_dir, sizeof seed_dir, "%s", root);
	}
	{
		char *sl = strrchr(seed_dir, '/');
		if (sl && sl != seed_dir)
			*sl = '\0';
		else if (sl)
			sl[1] = '\0';
		else
			snprintf(seed_dir, sizeof seed_dir, ".");
	}
	if (!car_in_read) {
		av_free(&a);
		av_add(&a, "hp-cid");
		av_add(&a, "--quiet");
		av_add(&a, "--car");
		av_add(&a, car);
		av_add(&a, "--profile");
		av_add(&a, str_member(json_object_get(m, "distribution"), "ipfs_import"));
		av_add(&a, "--");
		av_add(&a, root);
		if ((rc = run_child(a.v, &out))) {
			step_fail("car", rc, "hp-cid failed");
			goto out_stage;
		}
		rec = parse_last_line(&out);
		if (!rec || !cid || !str_member(rec, "cid") || strcmp(str_member(rec, "cid"), cid) != 0) {
			rc = step_fail("car", EXIT_SOFTWARE, "the CAR's root is not the manifest's ipfs_cid");
			goto out_stage;
		}
		json_decref(rec);
		rec = NULL;
	}
	report(json_pack("{s:s,s:s,s:s,s:s*}", "step", "car", "status", "ok", "path", car, "root", cid));
	if (!one_read && !(adopted && adopted_from && strcmp(adopted_from, "registry") == 0 && access(torrent, R_OK) == 0)) {
		av_free(&a);
		av_add(&a, "hp-mktorrent");
		av_add(&a, "--quiet");
		av_add(&a, "--no-date");
		av_opts(&a, "-t", &c->trackers);
		av_opts(&a, "-w", &c->web_seeds);
		av_add(&a, "-o");
		av_add(&a, torrent);
		if (single_file) {
			av_add(&a, "--");
			av_add(&a, single_src);
		} else {
			av_add(&a, "--name");
			av_add(&a, c->name);
			av_add(&a, "--");
			av_add(&a, root);
		}
		if ((rc = run_child(a.v, &out))) {
			step_fail("torrent", rc, "hp-mktorrent failed");
			goto out_stage;
		}
		rec = parse_last_line(&out);
		if (!rec || !str_member(rec, "infohash_v1") || !str_member(rec, "magnet")) {
			rc = step_fail("torrent", EXIT_SOFTWARE, "no record from hp-mktorrent");
			goto out_stage;
		}
		json_t *d = json_object_get(m, "distribution");
		json_object_set(d, "torrent_infohash", json_object_get(rec, "infohash_v1"));
		if (str_member(rec, "infohash_v2"))
			json_object_set(d, "torrent_infohash_v2", json_object_get(rec, "infohash_v2"));
		json_object_set(d, "torrent_magnet", json_object_get(rec, "magnet"));
		if (hp_manifest_validate(m, HP_MANIFEST_UNSIGNED_OK, NULL, &e)) {
			rc = step_fail("manifest", cli_fail(&e), e.msg);
			goto out_stage;
		}
		char *text = json_dumps(m, JSON_INDENT(2));
		hp_code wr = text ? hp_write_file_atomic(unsigned_path, text, strlen(text), 0644, 0, &e) : HP_E_NOMEM;
		free(text);
		if (wr) {
			rc = step_fail("manifest", cli_fail(&e), e.msg);
			goto out_stage;
		}
	}
	{
		json_t *d = adopted ? json_object_get(adopted, "distribution") : json_object_get(m, "distribution");
		report(json_pack("{s:s,s:s,s:s,s:s*,s:s*}", "step", "torrent", "status", "ok", "path", torrent,
				 "infohash", str_member(d, "torrent_infohash"), "magnet", str_member(d, "torrent_magnet")));
	}

	/* 4. sign and validate; only then is anything written to --output */
	if (adopted) {
		/* the registry's bytes as they are (--output is that manifest
		 * already when adopted from there) */
		if (strcmp(adopted_from, "registry") == 0 &&
		    hp_write_file_atomic(c->output, adopted_raw.data, adopted_raw.len, 0644, 0, &e)) {
			rc = step_fail("manifest", cli_fail(&e), e.msg);
			goto out_stage;
		}
		json_decref(m);
		m = adopted;
		adopted = NULL;
	} else {
		av_free(&a);
		av_add(&a, "hp-sign");
		av_add(&a, "manifest");
		av_add(&a, "--quiet");
		av_opt(&a, "--passphrase-file", c->passphrase_file);
		av_add(&a, "-o");
		av_add(&a, signed_path);
		av_add(&a, "--");
		av_add(&a, c->key);
		av_add(&a, unsigned_path);
		if ((rc = run_child(a.v, NULL))) {
			step_fail("manifest", rc, "signing failed");
			goto out_stage;
		}
		av_free(&a);
		av_add(&a, "hp-manifest");
		av_add(&a, "validate");
		av_add(&a, "--require-signature");
		av_add(&a, "--");
		av_add(&a, signed_path);
		if ((rc = run_child(a.v, NULL))) {
			step_fail("manifest", rc, "the signed manifest does not validate");
			goto out_stage;
		}
		json_decref(m);
		m = NULL;
		if (hp_manifest_load(signed_path, 0, &m, &e)) {
			rc = step_fail("manifest", cli_fail(&e), e.msg);
			goto out_stage;
		}
		if (rename(signed_path, c->output) < 0) {
			rc = step_fail("manifest", EXIT_CANTCREAT, strerror(errno));
			cli_error(EXIT_CANTCREAT, "cannot write '%s': %s", c->output, strerror(errno));
			goto out_stage;
		}
	}
	{
		json_t *d = json_object_get(m, "distribution");
		json_t *pv = json_object_get(m, "provenance");
		report(json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s*,s:s*,s:s*,s:s*,s:s*}", "step", "manifest", "status",
				 adopted_from ? "unchanged" : "ok", "path", c->output, "name", c->name, "version",
				 c->version, "content_id", str_member(m, "content_id"), "ipfs_cid",
				 str_member(d, "ipfs_cid"), "torrent_infohash", str_member(d, "torrent_infohash"),
				 "git_commit", str_member(pv, "git_commit"), "git_ref", str_member(pv, "git_ref"),
				 "reused_from", adopted_from));
	}
	*manifest_out = m;
	m = NULL;
	*stage_out = stage;
	stage = NULL;
	*seed_dir_out = strdup(seed_dir);
out_stage:
	rm_tree(stage);  /* NULL: nothing */
	free(stage);
	json_decref(adopted);
out:
	json_decref(rec);
	json_decref(m);
	av_free(&a);
	hp_buf_release(&out);
	hp_buf_release(&adopted_raw);
	rm_tree(tmpdir);
	free(tmpdir);
	return rc;
}

static int pin_step(const char *kind, const char *url, const char *car, const char *manifest, const char *name)
{
	argv_t a = { 0 };
	hp_buf out = HP_BUF_INIT;
	char opt[32];
	snprintf(opt, sizeof opt, "--%s", kind);
	av_add(&a, "hp-pin");
	av_add(&a, "add");
	av_add(&a, "--quiet");
	av_add(&a, opt);
	av_add(&a, url);
	av_add(&a, "--name");
	av_add(&a, name);
	if (strcmp(kind, "kubo") == 0) {
		av_add(&a, "--car");
		av_add(&a, car);
	}
	av_add(&a, "--");
	av_add(&a, manifest);
	int rc = run_child(a.v, &out);
	report(json_pack("{s:s,s:s,s:s,s:s,s:i,s:o}", "step", "pin", "kind", kind, "node", url, "status",
			 rc ? "failed" : "ok", "exit", rc, "records", parse_lines(&out)));
	av_free(&a);
	hp_buf_release(&out);
	return rc;
}

static int registry_step(const pub_cfg *c, hp_git_registry *reg, const char *torrent)
{
	hp_err e = HP_ERR_INIT;
	hp_buf man = HP_BUF_INIT, tor = HP_BUF_INIT;
	int rc = 0;
	hp_git_publish p = { .name = c->name, .version = c->version, .author_email = c->uploader };
	/* a package of empty files only has no torrent */
	bool has_torrent = access(torrent, F_OK) == 0;
	if (hp_read_file(c->output, HP_REGISTRY_MANIFEST_MAX, &man, &e) ||
	    (has_torrent && hp_read_file(torrent, HP_REGISTRY_TORRENT_MAX, &tor, &e))) {
		rc = cli_fail(&e);
		goto out;
	}
	p.manifest = man.data;
	p.manifest_len = man.len;
	p.torrent = has_torrent ? tor.data : NULL;
	p.torrent_len = tor.len;
	if (hp_git_registry_publish(reg, &p, &e))
		rc = cli_fail(&e);
out:
	if (rc)
		report(json_pack("{s:s,s:s,s:s,s:i,s:s}", "step", "registry", "url", c->registry, "status", "failed",
				 "exit", rc, "error", e.msg));
	else
		report(json_pack("{s:s,s:s,s:s,s:s,s:i,s:b}", "step", "registry", "url", c->registry, "status",
				 p.unchanged ? "unchanged" : "ok", "commit", p.commit, "attempts", p.attempts, "created",
				 p.created));
	hp_buf_release(&man);
	hp_buf_release(&tor);
	return rc;
}

static int seed_step(const pub_cfg *c, const char *torrent, const char *content_dir)
{
	argv_t a = { 0 };
	av_add(&a, "hp-seed");
	av_add(&a, "--content");
	av_add(&a, content_dir);
	av_opt(&a, "--listen", c->seed_listen);
	if (!c->trackers.n)
		av_add(&a, "--tracker-off");
	av_add(&a, "--");
	av_add(&a, torrent);
	report(json_pack("{s:s,s:s,s:s}", "step", "seed", "status", "seeding", "torrent", torrent));
	cli_on_stop_signals(forward_signal);
	int rc = run_child(a.v, NULL);
	av_free(&a);
	if (got_signal && (rc == 0 || rc == 128 + got_signal))
		rc = 0;
	report(json_pack("{s:s,s:s,s:i}", "step", "seed", "status", rc ? "failed" : "stopped", "exit", rc));
	return rc;
}

static int cmd_publish(int argc, char **argv)
{
	pub_cfg c = { 0 };
	int rc = parse_publish(argc, argv, &c);
	if (rc) {
		pub_cfg_free(&c);
		return rc < 0 ? 0 : rc;
	}
	char car[2 * PATH_MAX], torrent[2 * PATH_MAX], outabs[3 * PATH_MAX], carabs[3 * PATH_MAX], torabs[3 * PATH_MAX];
	{
		char dir[PATH_MAX];
		const char *slash = strrchr(c.output, '/');
		snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - c.output) : 1, slash ? c.output : ".");
		snprintf(car, sizeof car, "%s/%s-%s.car", dir, c.name, c.version);
		snprintf(torrent, sizeof torrent, "%s/%s-%s.torrent", dir, c.name, c.version);
	}
	if (c.car)
		snprintf(car, sizeof car, "%s", c.car);
	if (c.torrent)
		snprintf(torrent, sizeof torrent, "%s", c.torrent);
	hp_err e = HP_ERR_INIT;
	hp_git_registry *reg = NULL;
	json_t *m = NULL;
	char *stage = NULL, *seed_dir = NULL;
	{
		/* the output's folder, created when missing */
		char dir[2 * PATH_MAX];
		snprintf(dir, sizeof dir, "%s", c.output);
		char *s = strrchr(dir, '/');
		if (s && s != dir) {
			s[1] = '\0';
			if (mkdir_parents(dir, 0755) < 0) {
				rc = cli_error(EXIT_CANTCREAT, "cannot create '%s': %s", dir, strerror(errno));
				goto out;
			}
		}
	}

	/* provenance: the work tree around the first FILE; our own outputs
	 * do not make it dirty */
	hp_git_provenance prov = { 0 };
	if (!c.no_git) {
		abs_path(c.output, outabs, sizeof outabs);
		abs_path(car, carabs, sizeof carabs);
		abs_path(torrent, torabs, sizeof torabs);
		/* and what a killed run may have left beside --output */
		char tmp1[3 * PATH_MAX + 32], tmp2[3 * PATH_MAX + 32];
		const char *sl = strrchr(outabs, '/');
		int dl = sl ? (int)(sl - outabs) : 0;
		snprintf(tmp1, sizeof tmp1, "%.*s/.hp-publish-*", dl, outabs);
		snprintf(tmp2, sizeof tmp2, "%.*s/.hp-stage-*", dl, outabs);
		const char *ex[] = { outabs, carabs, torabs, tmp1, tmp2 };
		char where[PATH_MAX];
		struct stat st;
		snprintf(where, sizeof where, "%s", c.files.v[0]);
		if (stat(where, &st) == 0 && !S_ISDIR(st.st_mode)) {
			char *s = strrchr(where, '/');
			if (s)
				*s = '\0';
			else
				snprintf(where, sizeof where, ".");
		}
		if (hp_git_provenance_get(where, ex, 5, &prov, &e)) {
			rc = cli_fail(&e);
			goto out;
		}
		if (prov.found && prov.dirty && !c.allow_dirty) {
			rc = cli_error(EXIT_INVALID,
				       "the git work tree '%s' has %zu uncommitted change%s ('%s'%s): commit them, or "
				       "give --allow-dirty",
				       prov.workdir, prov.dirty, prov.dirty == 1 ? "" : "s", prov.dirty_example,
				       prov.dirty > 1 ? ", ..." : "");
			goto out;
		}
	}
	if (c.registry && open_registry(c.registry, c.cache, c.branch, true, &reg, &e)) {
		rc = cli_fail(&e);
		goto out;
	}
	if ((rc = publish_manifest(&c, car, torrent, &prov, reg, &stage, &seed_dir, &m)))
		goto out;

	/* destinations: each reports its own status; all are tried */
	int worst = 0;
	for (size_t i = 0; i < c.kubo.n; i++)
		worst = worse(worst, pin_step("kubo", c.kubo.v[i], car, c.output, c.name));
	for (size_t i = 0; i < c.cluster.n; i++)
		worst = worse(worst, pin_step("cluster", c.cluster.v[i], car, c.output, c.name));
	for (size_t i = 0; i < c.psa.n; i++)
		worst = worse(worst, pin_step("psa", c.psa.v[i], car, c.output, c.name));
	if (reg)
		worst = worse(worst, registry_step(&c, reg, torrent));
	/* release the registry cache before a long seeding */
	hp_git_registry_free(reg);
	reg = NULL;
	if (c.seed) {
		worst = worse(worst, seed_step(&c, torrent, seed_dir));
	}
	rc = worst;
out:
	rm_tree(stage);  /* NULL: nothing */
	free(stage);
	json_decref(m);
	free(seed_dir);
	hp_git_registry_free(reg);
	pub_cfg_free(&c);
	return rc;
}

/* ---- fetch ---- */

static const char fetch_usage[] =
	"Usage: hybrid-p2p fetch (MANIFEST | NAME@VERSION | NAME) -o DIR [OPTIONS]\n"
	"\n"
	"Fetch a package into DIR, every byte verified. NAME@VERSION and NAME are\n"
	"read from the registry (NAME alone: its newest version). The manifest's\n"
	"signature, trust, expiry and rollback (--state) are checked first; then the\n"
	"files come from IPFS (--gateway, the manifest's gateway, --kubo) and, for\n"
	"what is still missing, from BitTorrent (the registry's .torrent or --torrent:\n"
	"peers, trackers and the torrent's HTTP web seeds). Prints JSON lines: a\n"
	"{\"step\": ...} line per step, then hp-fetch's lines of each pass.\n"
	"\n"
	"  -o, --output DIR         the folder to fetch into\n"
	"  -r, --registry URL       the registry (default $HP_REGISTRY; token for\n"
	"                           HTTP(S) from $HP_REGISTRY_TOKEN)\n"
	"      --registry-branch B  the registry's branch (default main)\n"
	"      --registry-cache DIR the registry's local cache\n"
	"  -k, --trusted-keys FILE  public keys to trust (repeatable; default\n"
	"                           $HP_TRUSTED_KEYS, else ~/.hybrid_p2p/trusted_keys)\n"
	"      --allow-untrusted    accept a valid signature by a key not trusted\n"
	"      --state FILE         refuse versions older than one seen; record this one\n"
	"  -g, --gateway URL        a trustless IPFS gateway (repeatable)\n"
	"      --kubo URL           a kubo RPC API\n"
	"  -t, --torrent FILE       the .torrent (default: the registry's)\n"
	"      --peer IP:PORT       a BitTorrent peer (repeatable)\n"
	"      --bt-listen IP:PORT  where BitTorrent listens\n"
	"      --timeout SECS       give up on a silent source after SECS seconds\n"
	"  -m, --save-manifest FILE  keep the verified manifest in FILE\n"
	CLI_COMMON_HELP
	"\n"
	"Exit status: 0 every file verified in place; 1 verification failed (signature,\n"
	"trust, expiry, rollback, a manifest that is not NAME@VERSION, content);\n"
	"64 usage; 65 malformed manifest or registry; 66 not in the registry;\n"
	"69 no source reachable; 75 timeout; 77 registry credentials refused.\n";

typedef struct fetch_cfg {
	const char *what, *output, *registry, *branch, *cache, *state, *kubo, *torrent, *bt_listen, *timeout;
	const char *save_manifest;
	strlist keys, gateways, peers;
	bool allow_untrusted;
} fetch_cfg;

static void add_common_fetch(argv_t *a, const fetch_cfg *c)
{
	av_opts(a, "--trusted-keys", &c->keys);
	if (c->allow_untrusted)
		av_add(a, "--allow-untrusted");
}

static int cmd_fetch(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "registry", required_argument, NULL, 'r' },
		{ "registry-branch", required_argument, NULL, OPT_BRANCH },
		{ "registry-cache", required_argument, NULL, OPT_CACHE },
		{ "trusted-keys", required_argument, NULL, 'k' },
		{ "allow-untrusted", no_argument, NULL, OPT_ALLOW_UNTRUSTED },
		{ "state", required_argument, NULL, OPT_STATE },
		{ "gateway", required_argument, NULL, 'g' },
		{ "kubo", required_argument, NULL, OPT_KUBO },
		{ "torrent", required_argument, NULL, 't' },
		{ "peer", required_argument, NULL, OPT_PEER },
		{ "bt-listen", required_argument, NULL, OPT_BT_LISTEN },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "save-manifest", required_argument, NULL, 'm' },
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	fetch_cfg c = { 0 };
	opterr = 0;
	optind = 1;
	int opt, rc = 0;
	while ((opt = getopt_long(argc, argv, ":o:r:k:g:t:m:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'o': c.output = optarg; break;
		case 'r': c.registry = optarg; break;
		case OPT_BRANCH: c.branch = optarg; break;
		case OPT_CACHE: c.cache = optarg; break;
		case 'k': sl_add(&c.keys, optarg); break;
		case OPT_ALLOW_UNTRUSTED: c.allow_untrusted = true; break;
		case OPT_STATE: c.state = optarg; break;
		case 'g': sl_add(&c.gateways, optarg); break;
		case OPT_KUBO: c.kubo = optarg; break;
		case 't': c.torrent = optarg; break;
		case OPT_PEER: sl_add(&c.peers, optarg); break;
		case OPT_BT_LISTEN: c.bt_listen = optarg; break;
		case OPT_TIMEOUT: c.timeout = optarg; break;
		case 'm': c.save_manifest = optarg; break;
		case 'h':
			fputs(fetch_usage, stdout);
			goto done;
		default:
			if (cli_common_option(opt))
				break;
			rc = cli_option_error(opt, argv);
			goto done;
		}
	}
	if (optind + 1 != argc || !c.output) {
		rc = cli_usage("fetch takes one MANIFEST, NAME@VERSION or NAME, and -o DIR");
		goto done;
	}
	c.what = argv[optind];
	c.registry = registry_url(c.registry);
	if (c.registry && url_has_password(c.registry)) {
		rc = cli_usage("the registry URL holds a password: put the token in $HP_REGISTRY_TOKEN instead");
		goto done;
	}
	char trusted[PATH_MAX];
	struct stat st;
	const char *env = getenv("HP_TRUSTED_KEYS");
	if (!c.keys.n && !(env && *env) && home_path(".hybrid_p2p/trusted_keys", trusted, sizeof trusted) &&
	    stat(trusted, &st) == 0)
		sl_add(&c.keys, trusted);

	hp_err e = HP_ERR_INIT;
	hp_git_registry *reg = NULL;
	char *tmpdir = NULL, *name = NULL, *version = NULL;
	char manifest[PATH_MAX], torrent[PATH_MAX];
	json_t *m = NULL;
	argv_t a = { 0 };
	hp_buf buf = HP_BUF_INIT, out = HP_BUF_INIT;
	torrent[0] = '\0';
	if (c.torrent)
		snprintf(torrent, sizeof torrent, "%s", c.torrent);

	/* an existing file, else NAME@VERSION, else a path-looking name */
	bool is_file = stat(c.what, &st) == 0 ||
		       (!strchr(c.what, '@') && (strchr(c.what, '/') || strstr(c.what, ".json")));
	if (is_file) {
		snprintf(manifest, sizeof manifest, "%s", c.what);
	} else {
		if (hp_registry_spec_parse(c.what, &name, &version, &e)) {
			rc = cli_fail(&e);
			goto out;
		}
		if (!c.registry) {
			rc = cli_usage("'%s' is looked up in a registry: give --registry URL (or set HP_REGISTRY)", c.what);
			goto out;
		}
		if (open_registry(c.registry, c.cache, c.branch, false, &reg, &e) || hp_git_registry_fetch(reg, &e)) {
			rc = cli_fail(&e);
			report(json_pack("{s:s,s:s,s:s,s:i,s:s}", "step", "registry", "url", c.registry, "status", "failed",
					 "exit", rc, "error", e.msg));
			goto out;
		}
		if (!hp_git_registry_tip(reg)) {
			rc = cli_error(EXIT_NOINPUT, "the registry '%s' is empty", c.registry);
			goto out;
		}
		if (!version) {
			json_t *index = NULL;
			hp_buf_init(&buf, HP_REGISTRY_INDEX_MAX);
			if (hp_git_registry_read(reg, HP_REGISTRY_INDEX, HP_REGISTRY_INDEX_MAX, &buf, &e) ||
			    hp_registry_index_parse(buf.data, buf.len, &index, &e)) {
				rc = cli_fail(&e);
				goto out;
			}
			const char *latest = hp_registry_index_latest(index, name);
			version = latest ? strdup(latest) : NULL;
			json_decref(index);
			if (!version) {
				rc = cli_error(EXIT_NOINPUT, "'%s' is not in the registry '%s'", name, c.registry);
				goto out;
			}
		}
		tmpdir = strdup("/tmp/hp-fetch-XXXXXX");
		const char *td = getenv("TMPDIR");
		if (td && *td) {
			free(tmpdir);
			size_t n = strlen(td) + 32;
			tmpdir = malloc(n);
			if (tmpdir)
				snprintf(tmpdir, n, "%s/hp-fetch-XXXXXX", td);
		}
		if (!tmpdir || !mkdtemp(tmpdir)) {
			rc = cli_error(EXIT_CANTCREAT, "cannot create a temporary folder: %s", strerror(errno));
			free(tmpdir);
			tmpdir = NULL;
			goto out;
		}
		hp_buf path = HP_BUF_INIT;
		snprintf(manifest, sizeof manifest, "%s/%s-%s.json", tmpdir, name, version);
		if (hp_registry_path(name, version, "json", &path, &e) ||
		    hp_git_registry_read(reg, path.data, HP_REGISTRY_MANIFEST_MAX, &buf, &e) ||
		    hp_write_file_atomic(manifest, buf.data, buf.len, 0600, 0, &e)) {
			hp_buf_release(&path);
			rc = cli_fail(&e);
			goto out;
		}
		if (!c.torrent && !hp_registry_path(name, version, "torrent", &path, &e)) {
			if (hp_git_registry_read(reg, path.data, HP_REGISTRY_TORRENT_MAX, &buf, &e) == HP_OK) {
				snprintf(torrent, sizeof torrent, "%s/%s-%s.torrent", tmpdir, name, version);
				if (hp_write_file_atomic(torrent, buf.data, buf.len, 0600, 0, &e)) {
					hp_buf_release(&path);
					rc = cli_fail(&e);
					goto out;
				}
			}
			hp_err_clear(&e);
		}
		hp_buf_release(&path);
		report(json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:b}", "step", "registry", "status", "ok", "url", c.registry,
				 "name", name, "version", version, "commit", hp_git_registry_tip(reg), "torrent",
				 torrent[0] != '\0'));
		hp_git_registry_free(reg);
		reg = NULL;
	}

	/* 1. the manifest: signature, trust, expiry, rollback (against a copy of
	 *    the state: hp-fetch records the version once the files are in) */
	av_add(&a, "hp-verify");
	av_add(&a, "--quiet");
	add_common_fetch(&a, &c);
	char state_copy[PATH_MAX];
	state_copy[0] = '\0';
	if (c.state && access(c.state, F_OK) == 0) {
		if (!tmpdir) {
			tmpdir = strdup("/tmp/hp-fetch-XXXXXX");
			if (!tmpdir || !mkdtemp(tmpdir)) {
				rc = cli_error(EXIT_CANTCREAT, "cannot create a temporary folder: %s", strerror(errno));
				free(tmpdir);
				tmpdir = NULL;
				goto out;
			}
		}
		snprintf(state_copy, sizeof state_copy, "%s/state.json", tmpdir);
		hp_buf_reset(&buf);
		if (hp_read_file(c.state, HP_JSON_MAX_INPUT, &buf, &e) ||
		    hp_write_file_atomic(state_copy, buf.data, buf.len, 0600, 0, &e)) {
			rc = cli_fail(&e);
			goto out;
		}
		av_add(&a, "--state");
		av_add(&a, state_copy);
	}
	av_add(&a, "--");
	av_add(&a, manifest);
	rc = run_child(a.v, &out);
	json_t *vr = parse_last_line(&out);
	if (rc) {
		json_t *fails = json_object_get(vr, "failures");
		const char *why = json_string_value(json_array_get(fails, 0));
		report(json_pack("{s:s,s:s,s:i,s:O*}", "step", "verify", "status", "failed", "exit", rc, "report", vr));
		if (why)
			cli_error(rc, "'%s' does not verify: %s", c.what, why);
		json_decref(vr);
		goto out;
	}
	json_decref(vr);
	if (hp_manifest_load(manifest, 0, &m, &e)) {
		rc = cli_fail(&e);
		goto out;
	}
	if (name && (strcmp(str_member(m, "name"), name) || strcmp(str_member(m, "version"), version))) {
		rc = cli_error(EXIT_INVALID, "the registry's manifest for %s@%s is signed for %s@%s: refused", name,
			       version, str_member(m, "name"), str_member(m, "version"));
		report(json_pack("{s:s,s:s,s:i}", "step", "verify", "status", "failed", "exit", rc));
		goto out;
	}
	report(json_pack("{s:s,s:s,s:s,s:s,s:s}", "step", "verify", "status", "ok", "name", str_member(m, "name"),
			 "version", str_member(m, "version"), "content_id", str_member(m, "content_id")));

	/* 2. IPFS, then BitTorrent (with the torrent's web seeds) for the rest */
	bool ipfs = c.gateways.n || c.kubo || str_member(json_object_get(m, "distribution"), "ipfs_gateway");
	bool bt = torrent[0] != '\0';
	if (!ipfs && !bt) {
		rc = cli_error(EXIT_UNAVAILABLE,
			       "no source for the content: the manifest lists no gateway and there is no .torrent (give "
			       "--gateway, --kubo or --torrent)");
		goto out;
	}
	for (int pass = ipfs ? 0 : 1; pass < (bt ? 2 : 1); pass++) {
		av_free(&a);
		av_add(&a, "hp-fetch");
		av_add(&a, "--quiet");
		add_common_fetch(&a, &c);
		av_opt(&a, "--state", c.state);
		av_opt(&a, "--timeout", c.timeout);
		if (pass == 0) {
			av_opts(&a, "--gateway", &c.gateways);
			av_opt(&a, "--kubo", c.kubo);
		} else {
			av_add(&a, "--no-manifest-gateway");
			av_add(&a, "--torrent");
			av_add(&a, torrent);
			av_opts(&a, "--peer", &c.peers);
			av_opt(&a, "--bt-listen", c.bt_listen);
		}
		av_add(&a, "-o");
		av_add(&a, c.output);
		av_add(&a, "--");
		av_add(&a, manifest);
		report(json_pack("{s:s,s:s}", "step", "fetch", "source", pass == 0 ? "ipfs" : "bittorrent"));
		rc = run_child(a.v, NULL);
		/* only a source problem is worth the next source */
		if (rc == 0 || (rc != EXIT_INVALID && rc != EXIT_UNAVAILABLE && rc != EXIT_TEMPFAIL))
			break;
	}
	if (rc == 0 && c.save_manifest) {
		hp_buf_reset(&buf);
		if (hp_read_file(manifest, HP_REGISTRY_MANIFEST_MAX, &buf, &e) ||
		    hp_write_file_atomic(c.save_manifest, buf.data, buf.len, 0644, 0, &e))
			rc = cli_fail(&e);
	}
	report(json_pack("{s:s,s:s,s:i}", "step", "done", "status", rc ? "failed" : "ok", "exit", rc));
out:
	hp_git_registry_free(reg);
	json_decref(m);
	av_free(&a);
	hp_buf_release(&buf);
	hp_buf_release(&out);
	if (tmpdir) {
		rm_tree(tmpdir);
		free(tmpdir);
	}
	free(name);
	free(version);
done:
	free(c.keys.v);
	free(c.gateways.v);
	free(c.peers.v);
	return rc;
}

int main(int argc, char **argv)
{
	cli_init("hybrid-p2p");
	if (argc < 2)
		return cli_usage("a command is needed: keygen, publish, fetch or verify");
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
	if (strcmp(cmd, "publish") == 0) {
		cli_init("hybrid-p2p publish");
		return cli_finish(cmd_publish(argc - 1, argv + 1));
	}
	if (strcmp(cmd, "fetch") == 0) {
		cli_init("hybrid-p2p fetch");
		return cli_finish(cmd_fetch(argc - 1, argv + 1));
	}
	if (cmd[0] == '-')
		return cli_usage("unknown option '%s'", cmd);
	return cli_usage("unknown command '%s'", cmd);
}
