/* cli_run: printing what the library's workflows report, shared by the
 * tools that run the same workflow (hp-fetch and hybrid-p2p fetch, hp-verify
 * and hybrid-p2p verify). */
#include <string.h>

#include "cli.h"
#include "../lib/banned.h"

int cli_plan_failed(const char *manifest, hp_code rc, const json_t *report, const hp_err *e)
{
	if (rc == HP_E_INVALID && json_array_size(json_object_get(report, "failures"))) {
		size_t i;
		json_t *f;
		json_array_foreach(json_object_get(report, "failures"), i, f)
			cli_error(EXIT_INVALID, "%s: %s", manifest, json_string_value(f));
		return EXIT_INVALID;
	}
	return cli_fail(e);
}
