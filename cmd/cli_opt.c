/* cli_opt: one table per command, from which parsing, the --help text, the
 * common options and the deprecation warnings of old spellings all come
 * (curl's aliases[], libgit2's cli_opt_spec). See cli.h. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "../lib/banned.h"

/* getopt_long hands back OPT_BASE + the entry's index, so the spelling used
 * is known (an old one warns) whatever id the entry shares. */
#define OPT_BASE 0x4000

static const cli_option common_options[] = {
	{ 'h', 'h', "help", NULL, "show this help and exit", NULL },
	{ CLI_OPT_VERSION, 0, "version", NULL, "show the version and exit", NULL },
	{ CLI_OPT_QUIET, 0, "quiet", NULL, "print no warnings or progress", NULL },
	{ CLI_OPT_JSON_ERRORS, 0, "json-errors", NULL, "report errors as JSON objects on stderr", NULL },
	{ CLI_OPT_PROGRESS, 0, "progress", NULL, "show progress on stderr even when it is not a TTY", NULL },
	{ CLI_OPT_NO_PROGRESS, 0, "no-progress", NULL, "never show progress", NULL },
	{ 0, 0, NULL, NULL, NULL, NULL },
};

static size_t count(const cli_option *o)
{
	size_t n = 0;
	while (o && (o[n].long_name || o[n].short_name))
		n++;
	return n;
}

/* Does the command's own table take this long name (hp-manifest create's
 * --version is the package's)? */
static bool own_long(const cli_command *c, const char *name)
{
	for (const cli_option *o = c->options; o && (o->long_name || o->short_name); o++)
		if (o->long_name && strcmp(o->long_name, name) == 0)
			return true;
	return false;
}

/* The table: the command's entries, then the common ones it does not
 * override. *n gets the count. */
static const cli_option **entries(const cli_command *c, size_t *n, size_t *nown)
{
	size_t own = count(c->options), common = count(common_options);
	const cli_option **v = calloc(own + common + 1, sizeof *v);
	if (!v)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < own; i++)
		v[k++] = &c->options[i];
	*nown = own;
	for (size_t i = 0; i < common; i++)
		if (!own_long(c, common_options[i].long_name))
			v[k++] = &common_options[i];
	*n = k;
	return v;
}

static void help_entry(const cli_option *o, FILE *out)
{
	char spec[96];
	int n;
	if (o->short_name && o->long_name)
		n = snprintf(spec, sizeof spec, "  -%c, --%s%s%s", o->short_name, o->long_name, o->arg ? " " : "",
			     o->arg ? o->arg : "");
	else if (o->long_name)
		n = snprintf(spec, sizeof spec, "      --%s%s%s", o->long_name, o->arg ? " " : "", o->arg ? o->arg : "");
	else
		n = snprintf(spec, sizeof spec, "  -%c%s%s", o->short_name, o->arg ? " " : "", o->arg ? o->arg : "");
	fputs(spec, out);
	const char *h = o->help;
	if (n > 26) {
		fputc('\n', out);
		n = 0;
	}
	/* the text from column 28, continuation lines aligned */
	for (bool first = true; *h; first = false) {
		const char *nl = strchr(h, '\n');
		size_t len = nl ? (size_t)(nl - h) : strlen(h);
		fprintf(out, "%*s%.*s\n", first ? 27 - n : 27, "", (int)len, h);
		h += len + (nl ? 1 : 0);
	}
}

void cli_help(const cli_command *c, FILE *out)
{
	size_t n = 0, own = 0;
	const cli_option **v = entries(c, &n, &own);
	fputs(c->usage, out);
	fputc('\n', out);
	for (size_t i = 0; v && i < n; i++) {
		if (!v[i]->help)
			continue;  /* an old spelling, or hidden */
		if (i == own)
			fputs(own ? "\nCommon options:\n" : "Common options:\n", out);
		help_entry(v[i], out);
	}
	if (c->footer) {
		fputc('\n', out);
		fputs(c->footer, out);
	}
	free(v);
}

/* "'--old' is deprecated: use '--new'", naming the spelling used. */
static void warn_deprecated(const cli_option *o, bool used_short)
{
	char old[80], now[80];
	if (used_short)
		snprintf(old, sizeof old, "-%c", o->short_name);
	else
		snprintf(old, sizeof old, "--%s", o->long_name);
	snprintf(now, sizeof now, "--%s", o->deprecated_for);
	cli_warn("'%s' is deprecated: use '%s' (the old spelling goes in a later release)", old, now);
}

/* Was the long option o given by an abbreviation ("--json" for
 * "--json-errors")? getopt_long takes any unambiguous prefix; a prefix
 * that works today would change meaning when an option is added, so only
 * whole names are taken. The element that held it: argv[optind - 1], or the
 * one before when its value was the next element. */
static bool abbreviated(char **argv, const cli_option *o)
{
	const char *a = argv[optind - 1 - (o->arg && argv[optind - 1] == optarg)];
	size_t n = strcspn(a + 2, "=");
	return strncmp(a, "--", 2) != 0 || n != strlen(o->long_name) || strncmp(a + 2, o->long_name, n) != 0;
}

int cli_parse(const cli_command *c, int argc, char **argv, cli_option_fn *on_option, void *ud, int *first_operand)
{
	size_t n = 0, own = 0;
	const cli_option **v = entries(c, &n, &own);
	struct option *lo = calloc(n + 1, sizeof *lo);
	char *shorts = malloc(3 * n + 3);
	if (!v || !lo || !shorts) {
		free(v);
		free(lo);
		free(shorts);
		return cli_error(EXIT_SOFTWARE, "out of memory");
	}
	size_t nl = 0, ns = 0;
	shorts[ns++] = ':';
	for (size_t i = 0; i < n; i++) {
		if (v[i]->long_name)
			lo[nl++] = (struct option){ v[i]->long_name, v[i]->arg ? required_argument : no_argument, NULL,
						    OPT_BASE + (int)i };
		if (v[i]->short_name) {
			shorts[ns++] = v[i]->short_name;
			if (v[i]->arg)
				shorts[ns++] = ':';
		}
	}
	shorts[ns] = '\0';
	int rc = 0, opt;
	opterr = 0;
	optind = 1;
	while (!rc && (opt = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
		size_t i = n;
		bool used_short = false;
		if (opt >= OPT_BASE && opt < OPT_BASE + (int)n) {
			i = (size_t)(opt - OPT_BASE);
		} else if (opt != '?' && opt != ':') {
			for (i = 0; i < n && v[i]->short_name != opt; i++)
				;
			used_short = true;
		}
		if (i == n) {
			rc = cli_option_error(opt, argv);
			break;
		}
		const cli_option *o = v[i];
		if (!used_short && abbreviated(argv, o)) {
			rc = cli_usage("unknown option '%s' (write the whole name: '--%s')", argv[optind - 1 - (o->arg && argv[optind - 1] == optarg)], o->long_name);
			break;
		}
		if (o->deprecated_for)
			warn_deprecated(o, used_short);
		bool common = i >= own;
		if (common && o->id == 'h') {
			cli_help(c, stdout);
			rc = -1;
		} else if (common && o->id == CLI_OPT_VERSION) {
			cli_version();
			rc = -1;
		} else if (common) {
			cli_common_option(o->id);
		} else {
			rc = on_option(ud, o->id, o->arg ? optarg : NULL);
		}
	}
	if (first_operand)
		*first_operand = optind;
	free(v);
	free(lo);
	free(shorts);
	return rc;
}
