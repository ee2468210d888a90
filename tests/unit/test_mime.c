/* hp_mime: the compiled-in extension table: sorted and unique (so bsearch
 * finds every entry), every type within the manifest's mime_type rule, and
 * the lookup rules (last path component, case, several dots, dot files). */
#include <stdio.h>
#include <string.h>

#include "hp_manifest.h"
#include "hp_mime.h"
#include "tap.h"

#include "banned.h"

static const char *by(const char *name)
{
	return hp_mime_by_name(name, strlen(name));
}

static bool type_ok(const char *t)
{
	/* docs/manifest.md: type/subtype, 1-127 of A-Za-z0-9!#$&^_.+- each,
	 * starting with a letter or digit */
	const char *slash = strchr(t, '/');
	if (!slash || strchr(slash + 1, '/'))
		return false;
	const char *part[2] = { t, slash + 1 };
	size_t len[2] = { (size_t)(slash - t), strlen(slash + 1) };
	for (int k = 0; k < 2; k++) {
		if (len[k] < 1 || len[k] > 127)
			return false;
		for (size_t i = 0; i < len[k]; i++) {
			char c = part[k][i];
			bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
			if (!alnum && (i == 0 || !strchr("!#$&^_.+-", c)))
				return false;
		}
	}
	return true;
}

int main(void)
{
	size_t n = hp_mime_table_size();
	ok(n > 1000, "the table has %zu entries (Debian's media-types has over 1,000 extensions)", n);
	size_t unsorted = 0, bad_type = 0, bad_ext = 0, missed = 0;
	for (size_t i = 0; i < n; i++) {
		const struct hp_mime_entry *en = hp_mime_table_at(i);
		if (i && strcmp(hp_mime_table_at(i - 1)->ext, en->ext) >= 0)
			unsorted++;
		if (!type_ok(en->type))
			bad_type++;
		for (const char *c = en->ext; *c; c++)
			if (*c >= 'A' && *c <= 'Z')
				bad_ext++;
		char name[64];
		snprintf(name, sizeof name, "f.%s", en->ext);
		if (by(name) != en->type)
			missed++;
	}
	is_int(unsorted, 0, "extensions strictly increasing (sorted, no duplicate)");
	is_int(bad_type, 0, "every type follows the manifest's mime_type rule");
	is_int(bad_ext, 0, "every extension is lower case");
	is_int(missed, 0, "every entry is found by its own extension");
	ok(hp_mime_table_at(n) == NULL, "past the end: NULL");

	is_str(by("a.txt"), "text/plain", "a.txt");
	is_str(by("dir/sub/B.TXT"), "text/plain", "upper case, in a folder");
	is_str(by("x.json"), "application/json", "json");
	is_str(by("x.png"), "image/png", "png");
	is_str(by("x.tar.gz"), "application/gzip", "tar.gz: the longest known extension, gz");
	is_str(by("x.gpkg.tar"), "application/vnd.gentoo.gpkg", "a two-part extension in the table wins");
	is_str(by("x.chm"), "application/vnd.ms-htmlhelp", "an extension of two types: the first line of mime.types");
	is_str(by("a..txt"), "text/plain", "two dots");
	ok(by("README") == NULL, "no extension: NULL");
	ok(by(".txt") == NULL, "a dot file has no extension");
	ok(by("x.") == NULL, "a final dot is no extension");
	ok(by("d.txt/file") == NULL, "only the last component counts");
	ok(by("x.nosuchext") == NULL, "unknown extension: NULL");
	ok(by("") == NULL, "empty name");
	ok(hp_mime_by_name("a.txtx", 5) != NULL, "path_len bounds the name");
	return done();
}
