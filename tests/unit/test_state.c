/* hp_state and hp_time: version order, rollback refusal, state file round trip. */
#include <stdlib.h>
#include <unistd.h>

#include "hp_state.h"
#include "hp_time.h"
#include "tap.h"

static int sign(int c)
{
	return c < 0 ? -1 : c > 0;
}

int main(void)
{
	static const struct { const char *a, *b; int want; } order[] = {
		{ "1.0.0", "1.0.0", 0 },
		{ "1.0.0", "1.0.1", -1 },
		{ "1.10.0", "1.9.0", 1 },
		{ "2", "10", -1 },
		{ "1.0", "1.0.0", -1 },
		{ "1.0.0-rc1", "1.0.0", -1 },
		{ "1.0.0-alpha", "1.0.0-beta", -1 },
		{ "1.0.0-rc.2", "1.0.0-rc.10", -1 },
		{ "1.0.0+build5", "1.0.0+build1", 0 },
		{ "007", "7", 0 },
		{ "1.a", "1.1", 1 },
		{ "2026.01.31", "2026.1.30", 1 },
	};
	for (size_t i = 0; i < sizeof order / sizeof *order; i++) {
		is_int(sign(hp_version_compare(order[i].a, order[i].b)), order[i].want, "compare %s %s",
		       order[i].a, order[i].b);
		is_int(sign(hp_version_compare(order[i].b, order[i].a)), -order[i].want, "compare %s %s",
		       order[i].b, order[i].a);
	}

	time_t t;
	ok(hp_time_parse("2026-11-28T07:08:47Z", &t) && t == 1795849727, "parse a time (%lld)", (long long)t);
	ok(hp_time_parse("2024-02-29T00:00:00.123456789Z", NULL), "leap day and fraction");
	ok(!hp_time_parse("2023-02-29T00:00:00Z", NULL), "no 29 February in 2023");
	ok(!hp_time_parse("2026-11-28T07:08:47+01:00", NULL), "offsets are refused");
	ok(!hp_time_parse("2026-11-28 07:08:47Z", NULL), "a space is refused");
	ok(!hp_time_parse("2026-13-01T00:00:00Z", NULL), "month 13 is refused");
	ok(!hp_time_parse("2026-11-28T07:08:47.Z", NULL), "an empty fraction is refused");
	char buf[32];
	hp_time_format(1795849727, buf);
	is_str(buf, "2026-11-28T07:08:47Z", "format a time");

	char dir[] = "/tmp/hp-state-XXXXXX";
	ok(mkdtemp(dir) != NULL, "temporary folder");
	char path[64];
	snprintf(path, sizeof path, "%s/state.json", dir);
	hp_err e = HP_ERR_INIT;
	hp_state *s;
	const char *prev;
	is_int(hp_state_load(path, &s, &e), HP_OK, "a missing state file is empty");
	is_int(hp_state_check(s, "pkg", "1.0.0", "aa", &prev, &e), HP_OK, "first version is fine");
	ok(prev == NULL, "nothing seen before");
	is_int(hp_state_record(s, "pkg", "1.2.0", "bb", &e), HP_OK, "record 1.2.0");
	hp_state_free(s);

	is_int(hp_state_load(path, &s, &e), HP_OK, "reload the state file");
	is_int(hp_state_check(s, "pkg", "1.1.0", "cc", &prev, &e), HP_E_INVALID, "1.1.0 is a rollback");
	is_str(prev, "1.2.0", "previous version is reported");
	ok(strstr(e.msg, "rollback") != NULL, "message says rollback: %s", e.msg);
	is_int(hp_state_check(s, "pkg", "1.2.0", "bb", &prev, &e), HP_OK, "the same version and content is fine");
	is_int(hp_state_check(s, "pkg", "1.2.0", "dd", &prev, &e), HP_E_INVALID, "same version, other content");
	is_int(hp_state_check(s, "other", "0.1", "dd", &prev, &e), HP_OK, "another package is independent");
	is_int(hp_state_record(s, "pkg", "1.1.0", "cc", &e), HP_OK, "recording an older version");
	hp_state_free(s);
	is_int(hp_state_load(path, &s, &e), HP_OK, "reload again");
	is_int(hp_state_check(s, "pkg", "1.1.5", "ee", &prev, &e), HP_E_INVALID, "an older record never lowers the mark");
	hp_state_free(s);

	FILE *f = fopen(path, "w");
	fputs("{\"state_version\": 2, \"manifests\": {}}", f);
	fclose(f);
	is_int(hp_state_load(path, &s, &e), HP_E_DATA, "unknown state_version is refused");
	f = fopen(path, "w");
	fputs("{\"state_version\": 1, ", f);
	fclose(f);
	is_int(hp_state_load(path, &s, &e), HP_E_DATA, "truncated state is refused");
	unlink(path);
	rmdir(dir);
	return done();
}
