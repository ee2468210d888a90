#include "hp_mime.h"

#include <stdlib.h>
#include <string.h>

#include "hp_mime_table.h"
#include "banned.h"

#define NTABLE (sizeof hp_mime_table / sizeof *hp_mime_table)
#define MAX_EXT 32   /* longer extensions are in no table */

static int by_ext(const void *k, const void *v)
{
	const struct hp_mime_entry *en = v;
	return strcmp(k, en->ext);
}

const char *hp_mime_by_name(const char *path, size_t path_len)
{
	const char *name = path, *end = path + path_len;
	const char *slash = path_len ? memrchr(path, '/', path_len) : NULL;
	if (slash)
		name = slash + 1;
	/* the first dot after the name's first byte gives the longest extension */
	for (const char *p = name + 1; p < end; p++) {
		if (*p != '.')
			continue;
		size_t n = (size_t)(end - p - 1);
		if (n == 0 || n > MAX_EXT)
			continue;
		char key[MAX_EXT + 1];
		for (size_t i = 0; i < n; i++) {
			char c = p[1 + i];
			key[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
		}
		key[n] = '\0';
		const struct hp_mime_entry *en = bsearch(key, hp_mime_table, NTABLE, sizeof *hp_mime_table, by_ext);
		if (en)
			return en->type;
	}
	return NULL;
}

size_t hp_mime_table_size(void)
{
	return NTABLE;
}

const struct hp_mime_entry *hp_mime_table_at(size_t i)
{
	return i < NTABLE ? &hp_mime_table[i] : NULL;
}
