/* Fuzz hp_httpd_parse, the request reader of the /metrics server (hp-pin
 * watch, hp-seed): any bytes give HP_OK, HP_E_TEMPFAIL (an incomplete head,
 * only when no empty line ends one and it is under the size limit) or
 * HP_E_DATA with a one-line message. On HP_OK the method is upper-case
 * letters, the path starts with '/' and holds printable ASCII only (no '?':
 * the query is cut), the version is 1.0 or 1.1. The same head given with more
 * bytes after it parses the same way. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hp_httpd.h"

#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	hp_httpd_request r;
	hp_err e = HP_ERR_INIT;
	hp_code rc = hp_httpd_parse((const char *)data, size, &r, &e);
	if (rc == HP_E_TEMPFAIL) {
		if (size >= HP_HTTPD_MAX_REQUEST)
			abort();
		return 0;
	}
	if (rc) {
		if (rc != HP_E_DATA || !e.msg[0] || strchr(e.msg, '\n'))
			abort();
		return 0;
	}
	size_t n = strlen(r.method);
	if (!n || n >= sizeof r.method)
		abort();
	for (size_t i = 0; i < n; i++)
		if (r.method[i] < 'A' || r.method[i] > 'Z')
			abort();
	if (r.path[0] != '/' || strchr(r.path, '?') || (r.minor != 0 && r.minor != 1))
		abort();
	for (const char *p = r.path; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f)
			abort();
	/* bytes after the head change nothing */
	uint8_t *more = malloc(size + 7);
	if (!more)
		return 0;
	memcpy(more, data, size);
	memcpy(more + size, "GET / x", 7);
	hp_httpd_request r2;
	if (hp_httpd_parse((const char *)more, size + 7, &r2, &e) != HP_OK || memcmp(&r, &r2, sizeof r) != 0)
		abort();
	free(more);
	return 0;
}
