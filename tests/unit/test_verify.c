/* Unit tests for hp_verify's report: every failed check is in "problems" as
 * {where, message} (where: the check, or the file's path) and, the old way,
 * in "failures"; the verdict counts each one, even one whose path is not
 * UTF-8 (a JSON string cannot hold it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hp_buf.h"
#include "hp_io.h"
#include "hp_json.h"
#include "hp_manifest.h"
#include "hp_sign.h"
#include "hp_time.h"
#include "hp_verify.h"
#include "tap.h"
#include "banned.h"

#define SHA_HI "98ea6e4f216f2fb4b69fff9b3a44842c38686ca685f3f55dc48c5d3fb1107be4" /* "hi\n" */

static char dir[] = "/tmp/hp-verify-XXXXXX";
static char manifest_path[128], pub_path[128], content[128];

static void bail(const char *what, const hp_err *e)
{
	printf("Bail out! %s: %s\n", what, e->msg);
	exit(1);
}

static void write_file(const char *path, const char *text)
{
	hp_err e = HP_ERR_INIT;
	if (hp_write_file_atomic(path, text, strlen(text), 0644, 0, &e))
		bail(path, &e);
}

/* DIR/m.json: one file a.txt ("hi\n"), signed; DIR/k.pub: its key;
 * tamper, when set, becomes the version after signing (the signature no
 * longer holds). The content, DIR/data/a.txt, is written by each test. */
static void setup(const char *expires, const char *tamper)
{
	hp_err e = HP_ERR_INIT;
	hp_key *k = NULL;
	json_t *m = NULL;
	hp_buf pem = HP_BUF_INIT;
	uint8_t pk[32];
	hp_manifest_meta meta = { .name = "pkg", .version = "1.0.0", .timestamp = "2026-01-01T00:00:00Z" };
	meta.expires = expires;
	json_t *files = json_pack("[{s:s, s:i, s:s}]", "path", "a.txt", "size", 3, "sha256", SHA_HI);
	if (hp_key_generate(&k, &e) || hp_manifest_build(&meta, files, &m, &e) ||
	    hp_manifest_sign(m, k, "2026-01-02T00:00:00Z", &e))
		bail("manifest", &e);
	if (tamper)
		json_object_set_new(m, "version", json_string(tamper));
	hp_key_public(k, pk);
	if (hp_pubkey_to_pem(pk, &pem, &e))
		bail("public key", &e);
	char *text = json_dumps(m, JSON_INDENT(2));
	write_file(manifest_path, text);
	write_file(pub_path, pem.data);
	free(text);
	hp_buf_release(&pem);
	json_decref(m);
	hp_key_free(k);
}

static json_t *verify(hp_code want, const char *name, time_t now)
{
	const char *keys[1] = { pub_path };
	char data[160];
	snprintf(data, sizeof data, "%s/data", dir);
	hp_verify_opts o = { 0 };
	o.content_dir = data;
	o.trusted_key_files = keys;
	o.n_trusted_key_files = 1;
	o.extra = true;
	o.now = now;
	hp_err e = HP_ERR_INIT;
	json_t *report = NULL;
	is_int(hp_verify_manifest(manifest_path, &o, &report, &e), want, "%s: hp_verify_manifest returns %d", name, (int)want);
	return report;
}

/* The only problem of the report is at where, its message containing msg,
 * and failures holds the same message. */
static void one_problem(const json_t *report, const char *where, const char *msg, const char *name)
{
	const json_t *problems = json_object_get(report, "problems");
	const json_t *failures = json_object_get(report, "failures");
	const json_t *p = json_array_get(problems, 0);
	const char *m = json_string_value(json_object_get(p, "message"));
	is_int(json_array_size(problems), 1, "%s: one problem", name);
	is_str(json_string_value(json_object_get(p, "where")), where, "%s: where", name);
	ok(m && strstr(m, msg), "%s: the message says '%s' (%s)", name, msg, m ? m : "none");
	is_int(json_array_size(failures), 1, "%s: one failure (the old form)", name);
	is_str(json_string_value(json_array_get(failures, 0)), m, "%s: the same message", name);
	ok(json_is_false(json_object_get(report, "valid")), "%s: not valid", name);
}

int main(void)
{
	if (!mkdtemp(dir) || hp_sign_init(NULL))
		return printf("Bail out! set-up\n"), 1;
	char data[160], path[200];
	snprintf(manifest_path, sizeof manifest_path, "%s/m.json", dir);
	snprintf(pub_path, sizeof pub_path, "%s/k.pub", dir);
	snprintf(data, sizeof data, "%s/data", dir);
	snprintf(content, sizeof content, "%s/data/a.txt", dir);
	if (mkdir(data, 0700))
		return printf("Bail out! mkdir\n"), 1;

	setup("2027-01-01T00:00:00Z", NULL);
	write_file(content, "hi\n");
	time_t now;
	hp_time_parse("2026-06-01T00:00:00Z", &now);
	json_t *r = verify(HP_OK, "intact", now);
	ok(json_is_true(json_object_get(r, "valid")), "intact: valid");
	is_int(json_array_size(json_object_get(r, "problems")), 0, "intact: no problems");
	is_int(json_array_size(json_object_get(r, "failures")), 0, "intact: no failures");
	json_decref(r);

	write_file(content, "ho\n");
	r = verify(HP_E_INVALID, "a changed file", now);
	one_problem(r, "a.txt", "'a.txt' does not match", "a changed file");
	json_decref(r);

	write_file(content, "hi\n");
	hp_time_parse("2027-06-01T00:00:00Z", &now);
	r = verify(HP_E_INVALID, "expired", now);
	one_problem(r, "expiry", "expired at 2027-01-01T00:00:00Z", "expired");
	json_decref(r);

	setup(NULL, "9.9.9");
	write_file(content, "hi\n");
	r = verify(HP_E_INVALID, "a bad signature", now);
	one_problem(r, "signature", "does not match the manifest", "a bad signature");
	ok(!json_object_get(r, "content"), "a bad signature: nothing further is checked");
	json_decref(r);

	/* an extra file whose name is not UTF-8: where is {"bytes"}, and the
	 * verdict is "not valid" though the message needs escaping */
	setup(NULL, NULL);
	write_file(content, "hi\n");
	snprintf(path, sizeof path, "%s/bad\xff", data);
	write_file(path, "x");
	r = verify(HP_E_INVALID, "an extra file named in bytes", now);
	const json_t *p = json_array_get(json_object_get(r, "problems"), 0);
	is_str(json_string_value(json_object_get(json_object_get(p, "where"), "bytes")), "YmFk/w==",
	       "not UTF-8: where is the base64 of the name");
	is_str(json_string_value(json_object_get(p, "message")), "'bad\\xff' is not in the manifest",
	       "not UTF-8: the message escapes the byte");
	is_int(json_array_size(json_object_get(r, "failures")), 1, "not UTF-8: in failures too");
	ok(json_is_false(json_object_get(r, "valid")), "not UTF-8: not valid");
	json_decref(r);

	unlink(path);
	unlink(content);
	rmdir(data);
	unlink(manifest_path);
	unlink(pub_path);
	rmdir(dir);
	return done();
}
