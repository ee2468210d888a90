/* hp_mime: a file's MIME type from its name, by a compiled-in table.
 *
 * The table (lib/hp_mime_table.h, made by scripts/gen-mime-table from
 * Debian's /etc/mime.types) maps file name extensions to types. It is part of
 * the program, not read from the machine, so the same names give the same
 * types everywhere (docs/manifest.md, "mime_type"). */
#ifndef HP_MIME_H
#define HP_MIME_H
#include <stddef.h>

struct hp_mime_entry {
	const char *ext;   /* lower case, without the leading '.' */
	const char *type;  /* "type/subtype" */
};

/* The MIME type of a file named path (path_len bytes; only the part after
 * the last '/' counts), or NULL when its name has no extension in the table.
 * The extension is what follows a '.' that is not the name's first byte;
 * of several ("x.tar.gz"), the longest one in the table wins. Letters
 * compare without regard to ASCII case. */
const char *hp_mime_by_name(const char *path, size_t path_len);

/* The number of entries in the table (for tests). */
size_t hp_mime_table_size(void);

/* Entry i of the table, sorted by ext (for tests); NULL past the end. */
const struct hp_mime_entry *hp_mime_table_at(size_t i);
#endif
