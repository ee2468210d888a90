/* hp_registry (names, specs, index.json) and hp_git (provenance, a
 * registry in a local bare repository: publish, identical no-op, overwrite
 * refused, read back). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hp_git.h"
#include "hp_registry.h"
#include "tap.h"

#include "banned.h"

static void test_names(void)
{
	ok(hp_registry_name_ok("my-dataset.v2_x"), "a name of letters, digits, . _ -");
	ok(!hp_registry_name_ok(""), "empty name refused");
	ok(!hp_registry_name_ok(".."), "'..' refused");
	ok(!hp_registry_name_ok(".hidden"), "a leading dot refused");
	ok(!hp_registry_name_ok("a/b"), "a slash refused");
	ok(!hp_registry_name_ok("a b"), "a space refused");
	ok(hp_registry_version_ok("1.0.0-rc.1+build.5"), "a SemVer version");
	ok(!hp_registry_version_ok("1/0"), "a slash in a version refused");
	ok(!hp_registry_version_ok("-1"), "a leading dash refused");
	char longname[200];
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	ok(!hp_registry_name_ok(longname), "a name longer than 128 refused");
}

static void test_spec(void)
{
	char *n = NULL, *v = NULL;
	hp_err e = HP_ERR_INIT;
	is_int(hp_registry_spec_parse("ds@1.2.3", &n, &v, &e), HP_OK, "NAME@VERSION parses");
	is_str(n, "ds", "name");
	is_str(v, "1.2.3", "version");
	free(n);
	free(v);
	is_int(hp_registry_spec_parse("ds", &n, &v, &e), HP_OK, "NAME alone parses");
	ok(v == NULL, "no version");
	free(n);
	is_int(hp_registry_spec_parse("ds@", &n, &v, &e), HP_E_USAGE, "an empty version is a usage error");
	is_int(hp_registry_spec_parse("ds@../x", &n, &v, &e), HP_E_USAGE, "a path in the version refused");
	is_int(hp_registry_spec_parse("@1", &n, &v, &e), HP_E_USAGE, "an empty name refused");
	ok(n == NULL && v == NULL, "nothing handed back on failure");
	hp_buf p = HP_BUF_INIT;
	is_int(hp_registry_path("ds", "1.0", "json", &p, &e), HP_OK, "path");
	is_str(p.data, "manifests/ds/1.0.json", "manifests/<name>/<version>.json");
	hp_buf_release(&p);
}

static void test_index(void)
{
	hp_err e = HP_ERR_INIT;
	json_t *idx = hp_registry_index_new();
	const char *vs[] = { "1.10.0", "1.2.0", "1.9.0", "1.10.0-rc.1", "1.2.0" };
	for (size_t i = 0; i < 5; i++)
		is_int(hp_registry_index_add(idx, "ds", vs[i], &e), HP_OK, "add ds %s", vs[i]);
	hp_registry_index_add(idx, "alpha", "0.1", &e);
	is_int(hp_registry_index_add(idx, "a/b", "1", &e), HP_E_DATA, "a bad name is not added");
	hp_buf out = HP_BUF_INIT;
	is_int(hp_registry_index_dump(idx, &out, &e), HP_OK, "dump");
	const char *want = "{\n"
			   "  \"packages\": {\n"
			   "    \"alpha\": {\n"
			   "      \"latest\": \"0.1\",\n"
			   "      \"versions\": [\n"
			   "        \"0.1\"\n"
			   "      ]\n"
			   "    },\n"
			   "    \"ds\": {\n"
			   "      \"latest\": \"1.10.0\",\n"
			   "      \"versions\": [\n"
			   "        \"1.2.0\",\n"
			   "        \"1.9.0\",\n"
			   "        \"1.10.0-rc.1\",\n"
			   "        \"1.10.0\"\n"
			   "      ]\n"
			   "    }\n"
			   "  },\n"
			   "  \"registry_version\": 1\n"
			   "}\n";
	is_str(out.data, want, "deterministic bytes: keys sorted, versions in version order, once each");
	json_t *back = NULL;
	is_int(hp_registry_index_parse(out.data, out.len, &back, &e), HP_OK, "the dump parses");
	is_str(hp_registry_index_latest(back, "ds"), "1.10.0", "latest by version order");
	ok(hp_registry_index_latest(back, "nope") == NULL, "an unknown name has no latest");
	ok(hp_registry_index_has(back, "ds", "1.9.0") && !hp_registry_index_has(back, "ds", "2"), "has");
	json_decref(back);
	/* latest is computed, not trusted */
	const char *lying = "{\"registry_version\":1,\"packages\":{\"ds\":{\"latest\":\"0.1\",\"versions\":[\"2.0\",\"10.0\"]}}}";
	is_int(hp_registry_index_parse(lying, strlen(lying), &back, &e), HP_OK, "an index with a wrong latest parses");
	is_str(hp_registry_index_latest(back, "ds"), "10.0", "but latest comes from the versions");
	json_decref(back);
	static const struct {
		const char *json, *why;
	} bad[] = {
		{ "[]", "not an object" },
		{ "{\"registry_version\":2,\"packages\":{}}", "registry_version 2" },
		{ "{\"registry_version\":1}", "no packages" },
		{ "{\"registry_version\":1,\"packages\":{\"../x\":{\"versions\":[]}}}", "a path as a name" },
		{ "{\"registry_version\":1,\"packages\":{\"a\":{\"versions\":[\"1/2\"]}}}", "a path as a version" },
		{ "{\"registry_version\":1,\"packages\":{\"a\":{\"versions\":[\"1\",\"1\"]}}}", "a version twice" },
		{ "{\"registry_version\":1,\"packages\":{\"a\":{\"versions\":[1]}}}", "a number as a version" },
		{ "{\"registry_version\":1,\"packages\":{\"a\":[]}}", "a package that is not an object" },
		{ "{\"registry_version\":1,\"packages\":{}", "truncated" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		back = NULL;
		is_int(hp_registry_index_parse(bad[i].json, strlen(bad[i].json), &back, &e), HP_E_DATA, "refused: %s",
		       bad[i].why);
		ok(back == NULL, "nothing handed back: %s", bad[i].why);
	}
	hp_buf_release(&out);
	json_decref(idx);
}

/* system() of tmpl with every "%s" replaced by arg */
static int sh(const char *tmpl, const char *arg)
{
	char cmd[2048];
	size_t n = 0, al = strlen(arg);
	for (const char *p = tmpl; *p && n + al + 2 < sizeof cmd; p++) {
		if (p[0] == '%' && p[1] == 's') {
			memcpy(cmd + n, arg, al);
			n += al;
			p++;
		} else {
			cmd[n++] = *p;
		}
	}
	cmd[n] = '\0';
	return system(cmd);
}

static const char manifest_a[] = "{\"name\":\"ds\",\"version\":\"1.0.0\",\"content_id\":\"aaaa\"}\n";
static const char manifest_a2[] = "{\"name\":\"ds\",\"version\":\"1.0.0\",\"content_id\":\"aaaa\",\"x\":1}\n";
static const char manifest_b[] = "{\"name\":\"ds\",\"version\":\"1.0.0\",\"content_id\":\"bbbb\"}\n";

static void test_git(const char *tmp)
{
	hp_err e = HP_ERR_INIT;
	char remote[512], cache[512], url[600];
	snprintf(remote, sizeof remote, "%s/remote.git", tmp);
	snprintf(cache, sizeof cache, "%s/cache", tmp);
	snprintf(url, sizeof url, "file://%s", remote);
	ok(sh("git init -q --bare -b main '%s'", remote) == 0, "a bare remote");
	hp_git_registry_opts o = { .url = url, .cache_dir = cache };
	hp_git_registry *r = NULL;
	is_int(hp_git_registry_open(&o, &r, &e), HP_OK, "open a registry: %s", e.msg);
	is_int(hp_git_registry_fetch(r, &e), HP_OK, "fetch an empty registry: %s", e.msg);
	ok(hp_git_registry_tip(r) == NULL, "an empty registry has no tip");
	hp_git_publish p = { .name = "ds", .version = "1.0.0", .manifest = manifest_a,
			     .manifest_len = strlen(manifest_a), .torrent = "d4:infoe", .torrent_len = 8,
			     .author_name = "t", .author_email = "t@example.org" };
	is_int(hp_git_registry_publish(r, &p, &e), HP_OK, "publish: %s", e.msg);
	ok(!p.unchanged && p.attempts == 1 && strlen(p.commit) == 40, "one push, a commit");
	hp_buf b = HP_BUF_INIT;
	is_int(hp_git_registry_read(r, "manifests/ds/1.0.0.json", 1 << 20, &b, &e), HP_OK, "read it back");
	is_mem(b.data, b.len, manifest_a, strlen(manifest_a), "the same bytes");
	is_int(hp_git_registry_read(r, "manifests/ds/1.0.0.torrent", 1 << 20, &b, &e), HP_OK, "the torrent");
	is_mem(b.data, b.len, "d4:infoe", 8, "its bytes");
	is_int(hp_git_registry_read(r, "manifests/ds/9.json", 1 << 20, &b, &e), HP_E_NOINPUT, "absent is NOINPUT");
	is_int(hp_git_registry_read(r, "manifests/ds/1.0.0.json", 4, &b, &e), HP_E_DATA, "bounded reads");
	char first[65];
	snprintf(first, sizeof first, "%s", p.commit);

	/* the same content_id (other bytes): unchanged, no commit */
	p.manifest = manifest_a2;
	p.manifest_len = strlen(manifest_a2);
	is_int(hp_git_registry_publish(r, &p, &e), HP_OK, "identical content: ok");
	ok(p.unchanged && p.attempts == 0, "unchanged, nothing pushed");
	is_str(p.commit, first, "the tip stays");
	/* other content: refused */
	p.manifest = manifest_b;
	p.manifest_len = strlen(manifest_b);
	is_int(hp_git_registry_publish(r, &p, &e), HP_E_INVALID, "other content refused");
	ok(strstr(e.msg, "already in the registry") != NULL, "with a clear message: %s", e.msg);
	hp_git_registry_free(r);

	/* a second cache, racing: the remote moved, the push is retried */
	char cache2[600];
	snprintf(cache2, sizeof cache2, "%s/cache2", tmp);
	hp_git_registry_opts o2 = { .url = url, .cache_dir = cache2 };
	hp_git_registry *r2 = NULL;
	is_int(hp_git_registry_open(&o2, &r2, &e), HP_OK, "a second cache");
	hp_git_publish p2 = { .name = "other", .version = "2", .manifest = manifest_b,
			      .manifest_len = strlen(manifest_b) };
	is_int(hp_git_registry_publish(r2, &p2, &e), HP_OK, "another package: %s", e.msg);
	is_int(hp_git_registry_read(r2, "index.json", 1 << 20, &b, &e), HP_OK, "index.json");
	json_t *idx = NULL;
	is_int(hp_registry_index_parse(b.data, b.len, &idx, &e), HP_OK, "it parses");
	ok(hp_registry_index_has(idx, "ds", "1.0.0") && hp_registry_index_has(idx, "other", "2"), "lists both");
	json_decref(idx);
	hp_git_registry_free(r2);

	/* a URL that does not answer */
	hp_git_registry_opts o3 = { .url = "http://127.0.0.1:9/x.git", .cache_dir = cache2 };
	is_int(hp_git_registry_open(&o3, &r2, &e), HP_OK, "open");
	is_int(hp_git_registry_fetch(r2, &e), HP_E_UNAVAILABLE, "a closed port is unavailable");
	hp_git_registry_free(r2);
	hp_git_registry_opts o4 = { .url = url, .branch = "bad..branch", .cache_dir = cache2 };
	is_int(hp_git_registry_open(&o4, &r2, &e), HP_E_USAGE, "an invalid branch name refused");
	hp_buf_release(&b);
}

static void test_provenance(const char *tmp)
{
	hp_err e = HP_ERR_INIT;
	hp_git_provenance pv;
	char wt[512], file[600];
	snprintf(wt, sizeof wt, "%s/wt", tmp);
	is_int(hp_git_provenance_get(tmp, NULL, 0, &pv, &e), HP_OK, "outside a work tree: ok");
	ok(!pv.found, "nothing found");
	ok(sh("git init -q -b main '%s' && echo x > '%s/f' && git -C '%s' add f", wt) == 0, "a work tree");
	ok(sh("git -C '%s' -c user.name=t -c user.email=t@e commit -q -m one", wt) == 0, "a commit");
	is_int(hp_git_provenance_get(wt, NULL, 0, &pv, &e), HP_OK, "provenance: %s", e.msg);
	ok(pv.found && strlen(pv.commit) == 40, "HEAD's commit");
	is_str(pv.ref, "refs/heads/main", "the branch");
	is_int(pv.dirty, 0, "clean");
	snprintf(file, sizeof file, "%s/new", wt);
	FILE *f = fopen(file, "w");
	if (f)
		fclose(f);
	is_int(hp_git_provenance_get(wt, NULL, 0, &pv, &e), HP_OK, "untracked file");
	is_int(pv.dirty, 1, "dirty");
	is_str(pv.dirty_example, "new", "names it");
	const char *ex[] = { file };
	is_int(hp_git_provenance_get(wt, ex, 1, &pv, &e), HP_OK, "excluded");
	is_int(pv.dirty, 0, "an excluded path does not count");
	ok(sh("git -C '%s' checkout -q --detach", wt) == 0, "detached HEAD");
	is_int(hp_git_provenance_get(wt, ex, 1, &pv, &e), HP_OK, "detached");
	ok(pv.found && pv.ref[0] == '\0', "no ref when detached");
}

int main(void)
{
	char tmp[] = "/tmp/test_registry.XXXXXX";
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 1;
	}
	test_names();
	test_spec();
	test_index();
	test_git(tmp);
	test_provenance(tmp);
	sh("rm -rf '%s'", tmp);
	return done();
}
