/* cli_keys: passphrases (a file, $HP_PASSPHRASE, the terminal: never an
 * argument value, which ps would show) and key generation, shared by hp-sign
 * and hybrid-p2p. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "hp_codec.h"
#include "hp_io.h"
#include "hp_json.h"
#include "hp_sign.h"
#include "../lib/banned.h"

static json_t *hp_json_path_value_s(const char *p)
{
	return hp_json_path_value(p, strlen(p));
}

/* ---- passphrases ------------------------------------------------------- */

/* The first line of a file ("-" = stdin; pipes such as <(...) welcome). */
static hp_code read_passfile(const char *path, char *buf, size_t size, hp_err *e)
{
	int fd = STDIN_FILENO;
	if (strcmp(path, "-") != 0) {
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			return hp_fail_errno(e, errno == EACCES ? HP_E_PERM : HP_E_NOINPUT, errno,
					     "cannot open '%s'", path);
		struct stat st;
		if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
			close(fd);
			return hp_fail(e, HP_E_NOINPUT, "cannot read '%s': is a directory", path);
		}
	}
	size_t n = 0;
	hp_code rc = HP_OK;
	for (;;) {
		ssize_t r = read(fd, buf + n, size - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = hp_fail_errno(e, HP_E_IO, errno, "cannot read '%s'", path);
			break;
		}
		n += (size_t)r;
		if (r == 0 || memchr(buf + n - (size_t)r, '\n', (size_t)r))
			break;
		if (n == size - 1) {
			rc = hp_fail(e, HP_E_DATA, "the passphrase in '%s' is longer than %zu bytes",
				     path, size - 1);
			break;
		}
	}
	if (fd != STDIN_FILENO)
		close(fd);
	if (rc)
		return rc;
	char *nl = memchr(buf, '\n', n);
	if (nl)
		n = (size_t)(nl - buf);
	if (n && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	if (memchr(buf, '\0', n))
		return hp_fail(e, HP_E_DATA, "the passphrase in '%s' holds a NUL byte", path);
	if (n == 0)
		return hp_fail(e, HP_E_DATA, "'%s' holds no passphrase (its first line is empty)",
			       path);
	return HP_OK;
}

/* Ask on the terminal without echo. */
static hp_code prompt(const char *question, char *buf, size_t size, hp_err *e)
{
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return hp_fail_errno(e, HP_E_USAGE, errno, "cannot open the terminal to ask for a passphrase");
	struct termios old, quiet;
	bool restore = tcgetattr(fd, &old) == 0;
	if (restore) {
		quiet = old;
		quiet.c_lflag &= (tcflag_t)~ECHO;
		quiet.c_lflag |= ECHONL;
		tcsetattr(fd, TCSAFLUSH, &quiet);
	}
	hp_code rc = hp_write_all(fd, question, strlen(question), "the terminal", e);
	size_t n = 0;
	while (!rc) {
		char ch;
		ssize_t r = read(fd, &ch, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = hp_fail_errno(e, HP_E_IO, errno, "cannot read the terminal");
			break;
		}
		if (r == 0 || ch == '\n')
			break;
		if (n + 1 >= size) {
			rc = hp_fail(e, HP_E_USAGE, "the passphrase is longer than %zu bytes", size - 1);
			break;
		}
		buf[n++] = ch;
		sodium_memzero(&ch, 1);
	}
	if (n && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	if (restore)
		tcsetattr(fd, TCSAFLUSH, &old);
	close(fd);
	if (!rc && n == 0)
		rc = hp_fail(e, HP_E_USAGE, "no passphrase given");
	return rc;
}

static hp_code env_passphrase(char *buf, size_t size, bool *found, hp_err *e)
{
	const char *env = getenv("HP_PASSPHRASE");
	*found = env && *env;
	if (!*found)
		return HP_OK;
	size_t n = strlen(env);
	if (n >= size)
		return hp_fail(e, HP_E_USAGE, "HP_PASSPHRASE is longer than %zu bytes", size - 1);
	memcpy(buf, env, n + 1);
	return HP_OK;
}

hp_code cli_key_passphrase(void *ctx, const char *what, char *buf, size_t size, hp_err *e)
{
	const char *passfile = ctx;
	if (passfile)
		return read_passfile(passfile, buf, size, e);
	bool found;
	hp_code rc = env_passphrase(buf, size, &found, e);
	if (rc || found)
		return rc;
	if (!isatty(STDIN_FILENO))
		return hp_fail(e, HP_E_USAGE,
			       "%s is protected by a passphrase: give it with --passphrase-file or "
			       "HP_PASSPHRASE, or run on a terminal", what);
	char q[400];
	snprintf(q, sizeof q, "Passphrase for %s: ", what);
	return prompt(q, buf, size, e);
}

/* The passphrase for a new key, or an empty string for none. */
static hp_code new_passphrase(const char *passfile, bool ask, char *buf, size_t size, hp_err *e)
{
	buf[0] = '\0';
	if (passfile)
		return read_passfile(passfile, buf, size, e);
	if (ask) {
		if (!isatty(STDIN_FILENO))
			return hp_fail(e, HP_E_USAGE, "--ask-passphrase needs a terminal");
		char *again = sodium_malloc(size);
		if (!again)
			return hp_fail_nomem(e);
		hp_code rc = prompt("Passphrase for the new key: ", buf, size, e);
		if (!rc)
			rc = prompt("The same passphrase again: ", again, size, e);
		if (!rc && strcmp(buf, again) != 0)
			rc = hp_fail(e, HP_E_USAGE, "the passphrases do not match");
		sodium_free(again);
		return rc;
	}
	bool found;
	return env_passphrase(buf, size, &found, e);
}

/* ---- keygen ------------------------------------------------------------- */

static hp_code check_name(const char *name, hp_err *e)
{
	size_t n = strlen(name);
	char q[160];
	hp_quote(name, n, q, sizeof q);
	if (n == 0 || n > 200 || strchr(name, '/') || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0 || name[0] == '-' || !hp_utf8_valid(name, n))
		return hp_fail(e, HP_E_USAGE, "invalid key name '%s' (a file name without '/')", q);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return hp_fail(e, HP_E_USAGE, "invalid key name '%s' (a control character)", q);
	return HP_OK;
}

static hp_code mkdir_one(const char *dir, const char *shown, hp_err *e)
{
	struct stat st;
	if (mkdir(dir, 0700) == 0)
		return HP_OK;
	if (errno != EEXIST)
		return hp_fail_errno(e, errno == EACCES ? HP_E_PERM : HP_E_CANTCREAT, errno,
				     "cannot create directory '%s'", shown);
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return hp_fail(e, HP_E_CANTCREAT, "cannot create directory '%s': '%s' is not a directory",
			       shown, dir);
	return HP_OK;
}

/* mkdir -p, each directory it creates with mode 0700. */
static hp_code ensure_dir(const char *dir, hp_err *e)
{
	char *p = strdup(dir);
	if (!p)
		return hp_fail_nomem(e);
	hp_code rc = HP_OK;
	for (char *s = p + 1; *s && !rc; s++) {
		if (*s != '/' || s[-1] == '/')
			continue;
		*s = '\0';
		rc = mkdir_one(p, dir, e);
		*s = '/';
	}
	if (!rc)
		rc = mkdir_one(p, dir, e);
	free(p);
	return rc;
}

static char *join(const char *dir, const char *name, const char *ext)
{
	size_t n = strlen(dir) + strlen(name) + strlen(ext) + 2;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%s%s", dir, name, ext);
	return p;
}

/* What keygen prints: the key files' paths ("private_key_file",
 * "public_key_file"), the key id, the public key, whether it is encrypted.
 * "private_key" and "public_key" repeat the paths this release (the old
 * names; "public_key" becomes the base64 key in the next one, see
 * docs/cli-conventions.md). NULL when out of memory. */
static json_t *keygen_record(const char *priv, const char *pub, const uint8_t pk[32], bool encrypted)
{
	char id[17], pk64[HP_B64_ENCODED_SIZE(32)];
	hp_key_id(pk, id);
	hp_b64_encode(pk, 32, pk64);
	json_t *j = json_object();
	if (!j || json_object_set_new(j, "private_key_file", hp_json_path_value_s(priv)) ||
	    json_object_set_new(j, "public_key_file", hp_json_path_value_s(pub)) ||
	    json_object_set_new(j, "private_key", hp_json_path_value_s(priv)) ||
	    json_object_set_new(j, "public_key", hp_json_path_value_s(pub)) ||
	    json_object_set_new(j, "key_id", json_string(id)) ||
	    json_object_set_new(j, "public_key_b64", json_string(pk64)) ||
	    json_object_set_new(j, "encrypted", json_boolean(encrypted))) {
		json_decref(j);
		return NULL;
	}
	return j;
}

int cli_keygen(const char *dir, const char *name, bool force, const char *passfile, bool ask)
{
	hp_err e = HP_ERR_INIT;
	if (hp_sign_init(&e))
		return cli_fail(&e);
	if (check_name(name, &e))
		return cli_usage("%s", e.msg);
	char *priv = join(dir, name, ".pem"), *pub = join(dir, name, ".pub");
	char *pass = sodium_malloc(HP_PASSPHRASE_MAX + 1);
	hp_buf pem = HP_BUF_INIT, pubpem = HP_BUF_INIT;
	hp_key *k = NULL;
	hp_atomic_file fpriv = HP_ATOMIC_INIT, fpub = HP_ATOMIC_INIT;
	unsigned flags = force ? 0 : HP_ATOMIC_NOCLOBBER;
	bool created_priv = false;
	json_t *j = NULL;
	uint8_t pk[32];
	struct stat st;
	hp_code rc = HP_OK;
	if (!priv || !pub || !pass) {
		rc = hp_fail_nomem(&e);
		goto out;
	}
	if (!force) {
		/* look before asking for a passphrase; the link() at commit is the real guard */
		const char *paths[2] = { priv, pub };
		for (int i = 0; i < 2; i++)
			if (lstat(paths[i], &st) == 0) {
				rc = hp_fail(&e, HP_E_CANTCREAT,
					     "cannot create '%s': file exists (--force replaces it)",
					     paths[i]);
				goto out;
			}
	}
	if ((rc = new_passphrase(passfile, ask, pass, HP_PASSPHRASE_MAX + 1, &e)) ||
	    (rc = ensure_dir(dir, &e)) || (rc = hp_key_generate(&k, &e)))
		goto out;
	hp_key_public(k, pk);
	if ((rc = hp_key_to_pem(k, pass, &pem, &e)) || (rc = hp_pubkey_to_pem(pk, &pubpem, &e)))
		goto out;
	if ((rc = hp_atomic_open(&fpriv, priv, 0600, flags, &e)) ||
	    (rc = hp_atomic_write(&fpriv, pem.data, pem.len, &e)) ||
	    (rc = hp_atomic_open(&fpub, pub, 0644, flags, &e)) ||
	    (rc = hp_atomic_write(&fpub, pubpem.data, pubpem.len, &e)) ||
	    (rc = hp_atomic_commit(&fpriv, &e)))
		goto out;
	created_priv = !force;
	if ((rc = hp_atomic_commit(&fpub, &e))) {
		if (created_priv)
			unlink(priv);  /* no private key without its public half */
		goto out;
	}
	if (!(j = keygen_record(priv, pub, pk, pass[0] != '\0'))) {
		rc = hp_fail_nomem(&e);
		goto out;
	}
	cli_print_json(j);
out:
	hp_atomic_abort(&fpriv);
	hp_atomic_abort(&fpub);
	json_decref(j);
	sodium_memzero(pem.data, pem.len);
	hp_buf_release(&pem);
	hp_buf_release(&pubpem);
	hp_key_free(k);
	if (pass)
		sodium_free(pass);
	free(priv);
	free(pub);
	return rc ? cli_fail(&e) : 0;
}

