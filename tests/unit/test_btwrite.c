/* hp_btwrite against libtorrent's create_torrent (hp_torrent_create_reference):
 * the same bytes for every spec, over many random ones (flavours, single and
 * multi-file, empty files, files of exactly a piece and longer, files with
 * the same content, executable bits, tracker tiers with repeats, web seeds,
 * comment, creator, date, private); hp_torrent_create_light gives what
 * hp_torrent_create reads back; a spec a v2 file tree cannot hold is refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hp_btpieces.h"
#include "hp_btwrite.h"
#include "hp_torrent.h"
#include "hp_walk.h"
#include "tap.h"

#include "banned.h"

#define diag(...) (fprintf(stderr, "# " __VA_ARGS__), fputc('\n', stderr))

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static unsigned below(unsigned n)
{
	return (unsigned)(next() % n);
}

static void fill(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)next();
}

#define MAXF 24

typedef struct gen {
	hp_torrent_spec s;
	hp_torrent_file_spec f[MAXF];
	char paths[MAXF][64];
	uint8_t *layers[MAXF];
	uint8_t *v1;
	hp_torrent_tracker tr[6];
	const char *seeds[3];
} gen;

static const char *const parts[] = { "a", "b", "a-", "A", "d", "x.bin", "z z", "\xc3\xa9t\xc3\xa9" };

/* Is p a prefix folder of q, or the same? */
static bool clash(const char *p, const char *q)
{
	size_t n = strlen(p), m = strlen(q);
	if (n == m)
		return strcmp(p, q) == 0;
	if (n > m)
		return clash(q, p);
	return strncmp(p, q, n) == 0 && q[n] == '/';
}

static int cmp_v1(const void *a, const void *b)
{
	const hp_torrent_file_spec *x = a, *y = b;
	return hp_bt_cmp_v1(x->path, x->path_len, y->path, y->path_len);
}

static int cmp_v2(const void *a, const void *b)
{
	const hp_torrent_file_spec *x = a, *y = b;
	return hp_bt_cmp_v2(x->path, x->path_len, y->path, y->path_len);
}

static void make(gen *g, unsigned round)
{
	memset(g, 0, sizeof *g);
	hp_torrent_spec *s = &g->s;
	s->flavour = (hp_torrent_flavour)(1 + below(3));
	s->piece_length = (uint64_t)HP_BT_BLOCK << below(3);
	uint64_t P = s->piece_length;
	s->single_file = below(4) == 0;
	size_t n = s->single_file ? 1 : 1 + below(MAXF);
	size_t k = 0;
	for (unsigned tries = 0; k < n && tries < 200; tries++) {
		char p[64] = "";
		size_t len = 0;
		unsigned depth = 1 + below(3);
		for (unsigned d = 0; d < depth; d++)
			len += (size_t)snprintf(p + len, sizeof p - len, "%s%s", d ? "/" : "",
						parts[below(sizeof parts / sizeof *parts)]);
		bool bad = false;
		for (size_t j = 0; j < k && !bad; j++)
			bad = clash(p, g->paths[j]);
		if (bad)
			continue;
		memcpy(g->paths[k], p, sizeof p);
		k++;
	}
	s->nfiles = k;
	s->files = g->f;
	static const uint64_t fixed[] = { 0, 1, 100, 16383, 16384, 16385, 32768, 65536, 65537 };
	for (size_t i = 0; i < k; i++) {
		hp_torrent_file_spec *f = &g->f[i];
		f->path = g->paths[i];
		f->path_len = strlen(g->paths[i]);
		unsigned c = below(12);
		f->size = c < 9 ? fixed[c] : c == 9 ? 3 * P + below(1000) : below(200000);
		f->executable = below(5) == 0;
	}
	if (s->single_file && g->f[0].size == 0)
		g->f[0].size = 5;
	qsort(g->f, k, sizeof *g->f, s->flavour == HP_TORRENT_V1 ? cmp_v1 : cmp_v2);
	if (round % 7 == 3 && k > 1)
		g->f[1].size = g->f[0].size;  /* same layer, same root: one piece layer */
	uint64_t total = 0, v1n = 0, off = 0;
	for (size_t i = 0; i < k; i++) {
		hp_torrent_file_spec *f = &g->f[i];
		size_t np = (size_t)((f->size + P - 1) / P);
		g->layers[i] = malloc(np ? 32 * np : 1);
		fill(g->layers[i], 32 * np);
		if (round % 7 == 3 && i == 1)
			memcpy(g->layers[1], g->layers[0], 32 * np);
		f->v2_pieces = g->layers[i];
		f->v2_npieces = np;
		off += s->flavour == HP_TORRENT_HYBRID && k > 1 ? np * P : f->size;
		total += f->size;
	}
	if (total == 0) {
		g->f[0].size = 7;
		g->f[0].v2_npieces = 1;
		free(g->layers[0]);
		g->layers[0] = malloc(32);
		fill(g->layers[0], 32);
		g->f[0].v2_pieces = g->layers[0];
		off += 7;
		total = 7;
	}
	v1n = ((s->flavour == HP_TORRENT_HYBRID ? off : total) + P - 1) / P;
	s->v1_pieces = g->v1 = malloc(20 * v1n + 1);
	fill(g->v1, 20 * v1n);
	s->v1_npieces = v1n;
	s->name = below(2) ? "pkg" : "n\xc3\xa4me 1";
	if (s->single_file)
		s->name = "one.bin";
	static const char *const urls[] = { "http://t1.example/announce", "udp://t2.example:6969", "https://t3.example/a" };
	unsigned nt = below(5), tier = 0;
	for (unsigned i = 0; i < nt; i++) {
		tier += below(2);
		g->tr[i] = (hp_torrent_tracker){ urls[below(3)], tier };
	}
	s->trackers = g->tr;
	s->ntrackers = nt;
	static const char *const ws[] = { "http://ws1.example/", "https://ws2.example/x/", "http://127.0.0.1:8080/ipfs/b/" };
	s->nweb_seeds = below(4);
	for (size_t i = 0; i < s->nweb_seeds; i++)
		g->seeds[i] = ws[i];
	s->web_seeds = g->seeds;
	s->is_private = below(4) == 0;
	s->comment = below(3) == 0 ? "a comment" : below(2) ? "" : NULL;
	s->creator = below(3) == 0 ? "hp test" : NULL;
	s->creation_date = below(3) == 0 ? 1700000000 : 0;
}

static void release(gen *g)
{
	for (size_t i = 0; i < g->s.nfiles; i++)
		free(g->layers[i]);
	free(g->v1);
}

static void test_random(void)
{
	unsigned same = 0, rounds = 3000, info_same = 0, refused = 0;
	for (unsigned r = 0; r < rounds; r++) {
		gen g;
		make(&g, r);
		hp_buf ours = HP_BUF_INIT, ref = HP_BUF_INIT, light = HP_BUF_INIT;
		hp_err e = HP_ERR_INIT, e2 = HP_ERR_INIT;
		hp_torrent_info *ti = NULL, *li = NULL;
		hp_code a = hp_torrent_create(&g.s, &ours, &ti, &e);
		hp_code b = hp_torrent_create_reference(&g.s, &ref, &e2);
		if (a || b) {
			refused++;
			if (refused < 5) {
				diag("round %u: ours %d (%s), libtorrent %d (%s); flavour %d, %zu files, single %d, P %llu",
				     r, a, e.msg, b, e2.msg, (int)g.s.flavour, g.s.nfiles, g.s.single_file,
				     (unsigned long long)g.s.piece_length);
				for (size_t i = 0; i < g.s.nfiles; i++)
					diag("  %s %llu", g.s.files[i].path, (unsigned long long)g.s.files[i].size);
			}
		} else if (ours.len == ref.len && memcmp(ours.data, ref.data, ours.len) == 0) {
			same++;
		} else if (same + 3 > r) {
			FILE *f = fopen("btwrite-ours.torrent", "wb");
			if (f) {
				fwrite(ours.data, 1, ours.len, f);
				fclose(f);
			}
			f = fopen("btwrite-ref.torrent", "wb");
			if (f) {
				fwrite(ref.data, 1, ref.len, f);
				fclose(f);
			}
			diag("round %u differs (flavour %d, %zu files, single %d): btwrite-ours.torrent, btwrite-ref.torrent",
			     r, (int)g.s.flavour, g.s.nfiles, g.s.single_file);
		}
		if (!a && !hp_torrent_create_light(&g.s, &light, &li, &e) && light.len == ours.len &&
		    memcmp(light.data, ours.data, ours.len) == 0 && li->nfiles == 0 &&
		    strcmp(li->magnet, ti->magnet) == 0 && strcmp(li->infohash_v1_hex, ti->infohash_v1_hex) == 0 &&
		    strcmp(li->infohash_v2_hex, ti->infohash_v2_hex) == 0 && li->num_pieces == ti->num_pieces &&
		    li->total_size == ti->total_size && li->ntrackers == ti->ntrackers &&
		    li->nweb_seeds == ti->nweb_seeds && li->flavour == ti->flavour && strcmp(li->name, ti->name) == 0 &&
		    li->single_file == ti->single_file && li->is_private == ti->is_private)
			info_same++;
		else if (!a && info_same + 3 > r)
			diag("round %u: the light info differs: %s / %s %s / %s pieces %llu/%llu size %llu/%llu trackers %zu/%zu seeds %zu/%zu "
			     "flavour %d/%d single %d/%d private %d/%d",
			     r, li ? li->name : "-", ti->name, li ? li->magnet : "-", ti->magnet, li ? (unsigned long long)li->num_pieces : 0, (unsigned long long)ti->num_pieces,
			     li ? (unsigned long long)li->total_size : 0, (unsigned long long)ti->total_size,
			     li ? li->ntrackers : 0, ti->ntrackers, li ? li->nweb_seeds : 0, ti->nweb_seeds,
			     li ? (int)li->flavour : 0, (int)ti->flavour, li ? li->single_file : 0, ti->single_file,
			     li ? li->is_private : 0, ti->is_private);
		hp_torrent_info_free(ti);
		hp_torrent_info_free(li);
		hp_buf_release(&ours);
		hp_buf_release(&ref);
		hp_buf_release(&light);
		release(&g);
	}
	is_int(refused, 0, "every random spec is made by both");
	is_int(same, rounds, "hp_btwrite's bytes are libtorrent's in %u random specs", rounds);
	is_int(info_same, rounds, "hp_torrent_create_light's info is what hp_torrent_create reads back");
}

static void test_refused(void)
{
	uint8_t layer[32] = { 1 }, v1[40] = { 2 };
	hp_torrent_file_spec f[2] = { { "a", 1, 10, false, layer, 1 }, { "a/b", 3, 10, false, layer, 1 } };
	hp_torrent_spec s = { 0 };
	s.flavour = HP_TORRENT_HYBRID;
	s.name = "pkg";
	s.piece_length = 16384;
	s.files = f;
	s.nfiles = 2;
	s.v1_pieces = v1;
	s.v1_npieces = 2;
	hp_buf b = HP_BUF_INIT;
	hp_err e = HP_ERR_INIT;
	is_int(hp_torrent_create(&s, &b, NULL, &e), HP_E_USAGE, "a file that is also a folder: refused");
	ok(strstr(e.msg, "'a/b' cannot follow 'a'") != NULL, "naming both paths: %s", e.msg);
	f[1].path = "a";
	f[1].path_len = 1;
	hp_buf_reset(&b);
	is_int(hp_torrent_create(&s, &b, NULL, &e), HP_E_USAGE, "a path listed twice: refused");
	f[0].path = "b";
	hp_buf_reset(&b);
	is_int(hp_torrent_create(&s, &b, NULL, &e), HP_E_USAGE, "files out of the v2 order: refused");
	hp_buf_release(&b);
}

int main(void)
{
	test_random();
	test_refused();
	return done();
}
