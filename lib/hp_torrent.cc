// hp_torrent: the libtorrent shim (see hp_torrent.h). The only C++ file of
// the project and the only one that includes libtorrent headers.
//
// Rules here: every extern "C" entry point is a try { } catch (...) { } that
// turns any exception into an hp_err; libtorrent calls use the error_code
// overloads where 2.0.8 has them (create_torrent's constructor and
// generate() only throw, so they run inside the try); C memory (malloc) for
// everything handed to C.
#include <libtorrent/bdecode.hpp>
#include <libtorrent/bencode.hpp>
#include <libtorrent/add_torrent_params.hpp>
#include <libtorrent/create_torrent.hpp>
#include <libtorrent/entry.hpp>
#include <libtorrent/error_code.hpp>
#include <libtorrent/file_storage.hpp>
#include <libtorrent/hex.hpp>
#include <libtorrent/magnet_uri.hpp>
#include <libtorrent/torrent_info.hpp>

#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iterator>
#include <new>
#include <string>
#include <system_error>
#include <vector>

extern "C" {
#include "hp_bencode.h"
#include "hp_codec.h"
#include "hp_io.h"
#include "hp_torrent.h"
}

#include "banned.h"

namespace lt = libtorrent;

namespace {

// ---- C memory helpers ----

char *c_strdup(const std::string &s)
{
	char *p = static_cast<char *>(std::malloc(s.size() + 1));
	if (!p)
		throw std::bad_alloc();
	std::memcpy(p, s.data(), s.size());
	p[s.size()] = '\0';
	return p;
}

template <class T> T *c_array(size_t n)
{
	if (n == 0)
		return nullptr;
	void *p = std::calloc(n, sizeof(T));
	if (!p)
		throw std::bad_alloc();
	return static_cast<T *>(p);
}

// The message of an exception caught at the boundary.
hp_code from_exception(hp_err *e, const char *doing)
{
	try {
		throw;
	} catch (const std::bad_alloc &) {
		return hp_fail_nomem(e);
	} catch (const std::system_error &x) {
		return hp_fail(e, HP_E_INTERNAL, "%s: libtorrent: %s", doing, x.code().message().c_str());
	} catch (const std::exception &x) {
		return hp_fail(e, HP_E_INTERNAL, "%s: %s", doing, x.what());
	} catch (...) {
		return hp_fail(e, HP_E_INTERNAL, "%s: unknown exception", doing);
	}
}

// ---- URLs ----

bool url_ok(const char *url, const char *const *schemes)
{
	if (!url)
		return false;
	size_t n = std::strlen(url);
	if (n == 0 || n > 4096 || !hp_utf8_valid(url, n))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = static_cast<unsigned char>(url[i]);
		if (c <= 0x20 || c == 0x7f)
			return false;
	}
	for (; *schemes; schemes++) {
		size_t k = std::strlen(*schemes);
		if (n > k && std::strncmp(url, *schemes, k) == 0) {
			// a host: something before the next '/', '?' or '#'
			char c = url[k];
			return c != '/' && c != '?' && c != '#' && c != ':';
		}
	}
	return false;
}

// ---- raw checks of a document, before libtorrent sees it ----

struct raw {
	const hp_bencode_doc *doc;
	const char *what;
	hp_err *e;
	uint64_t piece_length = 0;
	uint64_t total = 0;       // sum of file lengths (v1: pad files included)
	uint64_t v2_pieces = 0;   // sum over files of ceil(length / piece length)
	size_t files = 0;
};

__attribute__((format(printf, 2, 3)))
hp_code bad(const raw &r, const char *fmt, ...)
{
	char msg[HP_ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	std::vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return hp_fail(r.e, HP_E_DATA, "%s: %s", r.what, msg);
}

// A path (already joined with '/') as it may appear in a torrent.
hp_code check_path(const raw &r, const std::string &p, const char *kind)
{
	hp_err pe = HP_ERR_INIT;
	if (hp_relpath_check(p.data(), p.size(), &pe) == HP_OK)
		return HP_OK;
	// "path 'x' has ..." -> "<kind> 'x' has ..."
	const char *why = std::strncmp(pe.msg, "path ", 5) == 0 ? pe.msg + 5 : pe.msg;
	return bad(r, "%s %s", kind, why);
}

hp_code add_length(raw &r, const hp_bencode_node *len, const char *where)
{
	if (!len || len->type != HP_BENCODE_INT || len->num < 0)
		return bad(r, "%s: 'length' must be a non-negative integer", where);
	uint64_t l = static_cast<uint64_t>(len->num);
	if (l > (UINT64_C(1) << 62) || r.total > (UINT64_C(1) << 62) - l)
		return bad(r, "%s: the files add up to more than 2^62 bytes", where);
	r.total += l;
	r.files++;
	if (r.piece_length)
		r.v2_pieces += (l + r.piece_length - 1) / r.piece_length;
	return HP_OK;
}

// A "path" or "path.utf-8" list of a v1 file entry.
hp_code check_v1_path(const raw &r, const hp_bencode_node *list, const char *key)
{
	if (!list)
		return HP_OK;
	if (list->type != HP_BENCODE_LIST || list->count == 0)
		return bad(r, "a file's '%s' must be a non-empty list of strings", key);
	std::string joined;
	bool first = true;
	for (const hp_bencode_node *c = hp_bencode_first(r.doc, list); c; c = hp_bencode_next(r.doc, list, c)) {
		if (c->type != HP_BENCODE_STR)
			return bad(r, "a file's '%s' must be a non-empty list of strings", key);
		std::string seg(c->str, c->str_len);
		if (seg.find('/') != std::string::npos) {
			char q[300];
			hp_quote(c->str, c->str_len, q, sizeof q);
			return bad(r, "file name '%s' contains '/'", q);
		}
		if (!first)
			joined += '/';
		first = false;
		joined += seg;
	}
	return check_path(r, joined, "file path");
}

// A BEP 52 "file tree" node: directories of names, files under "".
hp_code check_tree(raw &r, const hp_bencode_node *dir, const std::string &prefix, unsigned depth)
{
	if (dir->type != HP_BENCODE_DICT || dir->count == 0)
		return bad(r, "'file tree' at '%s' is not a non-empty dictionary", prefix.c_str());
	if (depth > 64)
		return bad(r, "'file tree' is nested deeper than 64");
	for (const hp_bencode_node *k = hp_bencode_first(r.doc, dir); k;) {
		const hp_bencode_node *v = hp_bencode_next(r.doc, dir, k);
		if (k->str_len == 0) {
			// a file: its path is prefix
			if (prefix.empty())
				return bad(r, "'file tree' has a file without a name");
			if (dir->count != 1)
				return bad(r, "'file tree' entry '%s' is both a file and a directory", prefix.c_str());
			if (v->type != HP_BENCODE_DICT)
				return bad(r, "'file tree' entry '%s' is not a dictionary", prefix.c_str());
			hp_code rc = add_length(r, hp_bencode_get(r.doc, v, "length"), "a 'file tree' entry");
			if (rc)
				return rc;
			const hp_bencode_node *root = hp_bencode_get(r.doc, v, "pieces root");
			const hp_bencode_node *len = hp_bencode_get(r.doc, v, "length");
			if (len->num > 0 && (!root || root->type != HP_BENCODE_STR || root->str_len != 32))
				return bad(r, "'file tree' entry '%s' needs a 32-byte 'pieces root'", prefix.c_str());
		} else {
			std::string name(k->str, k->str_len);
			if (name.find('/') != std::string::npos) {
				char q[300];
				hp_quote(k->str, k->str_len, q, sizeof q);
				return bad(r, "file name '%s' contains '/'", q);
			}
			std::string p = prefix.empty() ? name : prefix + "/" + name;
			hp_code rc = check_path(r, p, "file path");
			if (!rc)
				rc = check_tree(r, v, p, depth + 1);
			if (rc)
				return rc;
		}
		k = hp_bencode_next(r.doc, dir, v);
	}
	return HP_OK;
}

hp_code check_name(const raw &r, const hp_bencode_node *n, const char *key)
{
	if (!n)
		return HP_OK;
	if (n->type != HP_BENCODE_STR)
		return bad(r, "'%s' is not a string", key);
	std::string s(n->str, n->str_len);
	if (s.find('/') != std::string::npos) {
		char q[300];
		hp_quote(n->str, n->str_len, q, sizeof q);
		return bad(r, "torrent name '%s' contains '/'", q);
	}
	return check_path(r, s, "torrent name");
}

hp_code check_raw(raw &r)
{
	const hp_bencode_doc *d = r.doc;
	const hp_bencode_node *top = &d->v[0];
	if (top->type != HP_BENCODE_DICT)
		return bad(r, "not a torrent: the top level is not a dictionary");
	const hp_bencode_node *info = hp_bencode_get(d, top, "info");
	if (!info || info->type != HP_BENCODE_DICT)
		return bad(r, "not a torrent: no 'info' dictionary");
	const hp_bencode_node *name = hp_bencode_get(d, info, "name");
	if (!name)
		return bad(r, "the info dictionary has no 'name'");
	hp_code rc = check_name(r, name, "name");
	if (!rc)
		rc = check_name(r, hp_bencode_get(d, info, "name.utf-8"), "name.utf-8");
	if (rc)
		return rc;
	const hp_bencode_node *pl = hp_bencode_get(d, info, "piece length");
	if (!pl || pl->type != HP_BENCODE_INT || pl->num <= 0 || pl->num > (INT64_C(1) << 30))
		return bad(r, "'piece length' must be an integer from 1 to 1 GiB");
	r.piece_length = static_cast<uint64_t>(pl->num);

	const hp_bencode_node *mv = hp_bencode_get(d, info, "meta version");
	const hp_bencode_node *tree = hp_bencode_get(d, info, "file tree");
	const hp_bencode_node *files = hp_bencode_get(d, info, "files");
	const hp_bencode_node *length = hp_bencode_get(d, info, "length");
	const hp_bencode_node *pieces = hp_bencode_get(d, info, "pieces");
	bool v2 = mv != nullptr;
	bool v1 = pieces != nullptr;
	if (mv && (mv->type != HP_BENCODE_INT || mv->num != 2))
		return bad(r, "'meta version' %s is not supported (only 2)",
			   mv->type == HP_BENCODE_INT ? std::to_string(mv->num).c_str() : "(not an integer)");
	if (!v1 && !v2)
		return bad(r, "the info dictionary has neither 'pieces' (v1) nor 'meta version' (v2)");
	if (v2) {
		if (!tree)
			return bad(r, "'meta version' 2 without a 'file tree'");
		raw t = r;
		t.total = 0;
		t.files = 0;
		t.v2_pieces = 0;
		if ((rc = check_tree(t, tree, "", 0)))
			return rc;
		if (t.v2_pieces > HP_TORRENT_MAX_PIECES)
			return bad(r, "%llu pieces, more than the limit of %u",
				   static_cast<unsigned long long>(t.v2_pieces), HP_TORRENT_MAX_PIECES);
		if (!v1)
			r = t;
	}
	if (v1) {
		if (pieces->type != HP_BENCODE_STR || pieces->str_len % 20)
			return bad(r, "'pieces' must be a string of 20-byte hashes");
		if (files && length)
			return bad(r, "the info dictionary has both 'files' and 'length'");
		if (files) {
			if (files->type != HP_BENCODE_LIST || files->count == 0)
				return bad(r, "'files' must be a non-empty list");
			for (const hp_bencode_node *f = hp_bencode_first(d, files); f; f = hp_bencode_next(d, files, f)) {
				if (f->type != HP_BENCODE_DICT)
					return bad(r, "an entry of 'files' is not a dictionary");
				const hp_bencode_node *path = hp_bencode_get(d, f, "path");
				if (!path)
					return bad(r, "an entry of 'files' has no 'path'");
				if ((rc = check_v1_path(r, path, "path")) ||
				    (rc = check_v1_path(r, hp_bencode_get(d, f, "path.utf-8"), "path.utf-8")) ||
				    (rc = add_length(r, hp_bencode_get(d, f, "length"), "an entry of 'files'")))
					return rc;
			}
		} else if ((rc = add_length(r, length, "the info dictionary"))) {
			return rc;
		}
		uint64_t need = (r.total + r.piece_length - 1) / r.piece_length;
		if (need > HP_TORRENT_MAX_PIECES)
			return bad(r, "%llu pieces, more than the limit of %u", static_cast<unsigned long long>(need),
				   HP_TORRENT_MAX_PIECES);
		if (pieces->str_len / 20 != need)
			return bad(r, "'pieces' holds %zu hashes, the files need %llu", pieces->str_len / 20,
				   static_cast<unsigned long long>(need));
	}
	if (r.total == 0)
		return bad(r, "the torrent holds no data (every file is empty)");
	return HP_OK;
}

// ---- torrent_info -> hp_torrent_info ----

struct tracker {
	std::string url;
	unsigned tier;
};

// The trackers in the order the file lists them, read the way libtorrent
// reads them (announce-list tiers, else announce) but not shuffled: its
// torrent_info shuffles each tier, which would make records and magnets
// differ from run to run.
std::vector<tracker> raw_trackers(const hp_bencode_doc *d)
{
	std::vector<tracker> out;
	const hp_bencode_node *top = &d->v[0];
	const hp_bencode_node *al = hp_bencode_get_type(d, top, "announce-list", HP_BENCODE_LIST);
	unsigned j = 0;
	for (const hp_bencode_node *tier = hp_bencode_first(d, al); tier; tier = hp_bencode_next(d, al, tier), j++) {
		if (tier->type != HP_BENCODE_LIST)
			continue;
		for (const hp_bencode_node *u = hp_bencode_first(d, tier); u; u = hp_bencode_next(d, tier, u)) {
			if (u->type != HP_BENCODE_STR)
				continue;
			std::string s(u->str, u->str_len);
			s.erase(0, s.find_first_not_of(" \t\n\r\f\v"));
			if (!s.empty() && j < 256)
				out.push_back({ s, j });
		}
	}
	const hp_bencode_node *a = hp_bencode_get_type(d, top, "announce", HP_BENCODE_STR);
	if (out.empty() && a) {
		std::string s(a->str, a->str_len);
		s.erase(0, s.find_first_not_of(" \t\n\r\f\v"));
		if (!s.empty())
			out.push_back({ s, 0 });
	}
	return out;
}

void fill_info(const lt::torrent_info &ti, const std::vector<tracker> &tr, hp_torrent_info *out)
{
	// orig_files(): the names as the torrent has them; files(): after
	// libtorrent's renaming of case-insensitive collisions
	const lt::file_storage &fs = ti.orig_files();
	const lt::file_storage &saved = ti.files();
	const lt::info_hash_t &ih = ti.info_hashes();
	out->has_v1 = ih.has_v1();
	out->has_v2 = ih.has_v2();
	out->flavour = out->has_v1 && out->has_v2 ? HP_TORRENT_HYBRID : out->has_v2 ? HP_TORRENT_V2 : HP_TORRENT_V1;
	if (out->has_v1) {
		std::memcpy(out->infohash_v1, ih.v1.data(), 20);
		hp_hex_encode(out->infohash_v1, 20, out->infohash_v1_hex);
	}
	if (out->has_v2) {
		std::memcpy(out->infohash_v2, ih.v2.data(), 32);
		hp_hex_encode(out->infohash_v2, 32, out->infohash_v2_hex);
	}
	out->name = c_strdup(ti.name());
	out->piece_length = static_cast<uint64_t>(ti.piece_length());
	out->num_pieces = static_cast<uint64_t>(ti.num_pieces());

	size_t n = 0;
	for (lt::file_index_t i : fs.file_range())
		n += !fs.pad_file_at(i);
	out->files = c_array<hp_torrent_file>(n);
	// a single-file torrent's one path is its name, with no directory
	bool multi = fs.num_files() > 1 || fs.file_path(lt::file_index_t(0)) != ti.name();
	out->single_file = !multi;
	std::string prefix = ti.name() + "/";
	for (lt::file_index_t i : fs.file_range()) {
		if (fs.pad_file_at(i))
			continue;
		std::string p = fs.file_path(i);
		if (multi && p.compare(0, prefix.size(), prefix) == 0)
			p.erase(0, prefix.size());
		hp_torrent_file *f = &out->files[out->nfiles++];
		f->path = c_strdup(p);
		f->size = static_cast<uint64_t>(fs.file_size(i));
		f->executable = bool(fs.file_flags(i) & lt::file_storage::flag_executable);
		out->total_size += f->size;
		if (i < saved.end_file() && saved.file_path(i) != fs.file_path(i)) {
			std::string s = saved.file_path(i);
			if (multi && s.compare(0, prefix.size(), prefix) == 0)
				s.erase(0, prefix.size());
			f->saved_as = c_strdup(s);
			out->nrenamed++;
		}
	}

	lt::add_torrent_params atp;  // for the magnet link, with the trackers in order
	atp.info_hashes = ih;
	atp.name = ti.name();
	out->trackers = c_array<hp_torrent_tracker_entry>(tr.size());
	for (const tracker &a : tr) {
		hp_torrent_tracker_entry *t = &out->trackers[out->ntrackers++];
		t->url = c_strdup(a.url);
		t->tier = a.tier;
		atp.trackers.push_back(a.url);
	}
	const std::vector<lt::web_seed_entry> &ws = ti.web_seeds();
	out->web_seeds = c_array<char *>(ws.size());
	for (const lt::web_seed_entry &w : ws) {
		if (w.type != lt::web_seed_entry::url_seed)
			continue;
		out->web_seeds[out->nweb_seeds++] = c_strdup(w.url);
		atp.url_seeds.push_back(w.url);
	}
	out->is_private = ti.priv();
	if (!ti.comment().empty())
		out->comment = c_strdup(ti.comment());
	if (!ti.creator().empty())
		out->creator = c_strdup(ti.creator());
	out->creation_date = static_cast<int64_t>(ti.creation_date());
	out->magnet = c_strdup(lt::make_magnet_uri(atp));
}

hp_code parse(const void *data, size_t len, const char *what, hp_torrent_info **out, hp_err *e)
{
	*out = nullptr;
	if (len > HP_TORRENT_MAX_BYTES)
		return hp_fail(e, HP_E_DATA, "%s: larger than %u MiB, too big for a .torrent", what,
			       HP_TORRENT_MAX_BYTES >> 20);
	const char *p = static_cast<const char *>(data);
	hp_bencode_doc doc = HP_BENCODE_DOC_INIT;
	hp_bencode_limits lim = { 100, 0 };
	hp_code rc = hp_bencode_parse(p, len, what, &lim, &doc, e);
	if (rc)
		return rc;
	raw r;
	r.doc = &doc;
	r.what = what;
	r.e = e;
	rc = check_raw(r);
	std::vector<tracker> trackers;
	if (!rc) {
		try {
			trackers = raw_trackers(&doc);
		} catch (...) {
			hp_bencode_free(&doc);
			throw;
		}
	}
	hp_bencode_free(&doc);
	if (rc)
		return rc;

	lt::error_code ec;
	int pos = 0;
	lt::bdecode_node node = lt::bdecode(lt::span<char const>(p, static_cast<std::ptrdiff_t>(len)), ec, &pos,
					    100, 16000000);
	if (ec)
		return hp_fail(e, HP_E_DATA, "%s: libtorrent cannot decode it: %s (at offset %d)", what,
			       ec.message().c_str(), pos);
	lt::torrent_info ti(node, ec);
	if (ec)
		return hp_fail(e, HP_E_DATA, "%s: not a valid torrent: %s", what, ec.message().c_str());
	if (!ti.is_valid() || ti.num_files() <= 0)
		return hp_fail(e, HP_E_DATA, "%s: not a valid torrent: no files", what);
	if (static_cast<uint64_t>(ti.num_pieces()) > HP_TORRENT_MAX_PIECES)
		return hp_fail(e, HP_E_DATA, "%s: %d pieces, more than the limit of %u", what, ti.num_pieces(),
			       HP_TORRENT_MAX_PIECES);

	hp_torrent_info *info = static_cast<hp_torrent_info *>(std::calloc(1, sizeof *info));
	if (!info)
		return hp_fail_nomem(e);
	try {
		fill_info(ti, trackers, info);
	} catch (...) {
		hp_torrent_info_free(info);
		throw;
	}
	*out = info;
	return HP_OK;
}

// ---- creating ----

hp_code check_spec(const hp_torrent_spec *s, hp_err *e)
{
	if (s->flavour != HP_TORRENT_V1 && s->flavour != HP_TORRENT_V2 && s->flavour != HP_TORRENT_HYBRID)
		return hp_fail(e, HP_E_USAGE, "unknown torrent flavour %d", static_cast<int>(s->flavour));
	if (!s->name || !*s->name)
		return hp_fail(e, HP_E_USAGE, "the torrent needs a name");
	size_t nl = std::strlen(s->name);
	hp_err pe = HP_ERR_INIT;
	if (std::memchr(s->name, '/', nl) || hp_relpath_check(s->name, nl, &pe)) {
		char q[300];
		hp_quote(s->name, nl, q, sizeof q);
		return hp_fail(e, HP_E_USAGE, "torrent name '%s' is not a valid file name", q);
	}
	uint64_t P = s->piece_length;
	if (P < 16384 || P > (128u << 20) || (P & (P - 1)))
		return hp_fail(e, HP_E_USAGE, "piece length %llu is not a power of two from 16 KiB to 128 MiB",
			       static_cast<unsigned long long>(P));
	if (s->nfiles == 0 || (s->single_file && s->nfiles != 1))
		return hp_fail(e, HP_E_USAGE, s->nfiles ? "a single-file torrent with %zu files" : "a torrent without files",
			       s->nfiles);
	uint64_t total = 0;
	for (size_t i = 0; i < s->nfiles; i++) {
		const hp_torrent_file_spec *f = &s->files[i];
		if (!s->single_file && hp_relpath_check(f->path, f->path_len, &pe))
			return hp_fail(e, HP_E_USAGE, "cannot put this file in a torrent: %s", pe.msg);
		if (f->size > (UINT64_C(1) << 62) || total > (UINT64_C(1) << 62) - f->size)
			return hp_fail(e, HP_E_USAGE, "the files add up to more than 2^62 bytes");
		total += f->size;
		uint64_t np = (f->size + P - 1) / P;
		if ((s->flavour & HP_TORRENT_V2) && (f->v2_npieces != np || (np && !f->v2_pieces)))
			return hp_fail(e, HP_E_USAGE, "file %zu: %zu v2 piece hashes for %llu pieces", i, f->v2_npieces,
				       static_cast<unsigned long long>(np));
	}
	if (total == 0)
		return hp_fail(e, HP_E_USAGE, "nothing to share: every file is empty");
	if ((s->flavour & HP_TORRENT_V1) && !s->v1_pieces)
		return hp_fail(e, HP_E_USAGE, "v1 piece hashes missing");
	for (size_t i = 0; i < s->ntrackers; i++)
		if (!hp_torrent_tracker_url_ok(s->trackers[i].url) || s->trackers[i].tier > 255)
			return hp_fail(e, HP_E_USAGE, "'%s' is not a tracker URL (http, https or udp)",
				       s->trackers[i].url ? s->trackers[i].url : "(null)");
	for (size_t i = 1; i < s->ntrackers; i++)
		if (s->trackers[i].tier < s->trackers[i - 1].tier)
			return hp_fail(e, HP_E_USAGE, "trackers must come in ascending order of tier");
	for (size_t i = 0; i < s->nweb_seeds; i++)
		if (!hp_torrent_web_seed_url_ok(s->web_seeds[i]))
			return hp_fail(e, HP_E_USAGE, "'%s' is not a web seed URL (http or https)",
				       s->web_seeds[i] ? s->web_seeds[i] : "(null)");
	for (const char *t : { s->comment, s->creator })
		if (t && !hp_utf8_valid(t, std::strlen(t)))
			return hp_fail(e, HP_E_USAGE, "comment and creator must be UTF-8");
	return HP_OK;
}

hp_code create(const hp_torrent_spec *s, hp_buf *out, hp_torrent_info **info, hp_err *e)
{
	hp_code rc = check_spec(s, e);
	if (rc)
		return rc;
	lt::file_storage fs;
	std::string name(s->name);
	std::vector<std::string> want;  // the paths libtorrent should end up with, in order
	want.reserve(s->nfiles);
	for (size_t i = 0; i < s->nfiles; i++) {
		const hp_torrent_file_spec *f = &s->files[i];
		std::string p = s->single_file ? name : name + "/" + std::string(f->path, f->path_len);
		lt::error_code ec;
		lt::file_flags_t flags{};
		if (f->executable)
			flags |= lt::file_storage::flag_executable;
		fs.add_file(ec, p, static_cast<std::int64_t>(f->size), flags);
		if (ec)
			return hp_fail(e, HP_E_USAGE, "cannot add '%s': %s", p.c_str(), ec.message().c_str());
		want.push_back(std::move(p));
	}
	lt::create_flags_t cflags{};
	if (s->flavour == HP_TORRENT_V1)
		cflags = lt::create_torrent::v1_only;
	else if (s->flavour == HP_TORRENT_V2)
		cflags = lt::create_torrent::v2_only;
	lt::create_torrent ct(fs, static_cast<int>(s->piece_length), cflags);
	const lt::file_storage &lay = ct.files();

	// libtorrent's layout must be ours: same files in the same order
	size_t k = 0;
	for (lt::file_index_t i : lay.file_range()) {
		if (lay.pad_file_at(i))
			continue;
		if (k >= s->nfiles || lay.file_path(i) != want[k] ||
		    static_cast<uint64_t>(lay.file_size(i)) != s->files[k].size)
			return hp_fail(e, HP_E_INTERNAL, "libtorrent orders the files differently (at '%s'): sort them "
				       "in the %s order", lay.file_path(i).c_str(), s->flavour == HP_TORRENT_V1 ? "v1" : "v2");
		if (s->flavour & HP_TORRENT_V2) {
			const hp_torrent_file_spec *f = &s->files[k];
			auto range = ct.file_piece_range(i);
			int np = static_cast<int>(*range.end()) - static_cast<int>(*range.begin());
			if (np < 0 || static_cast<size_t>(np) != f->v2_npieces)
				return hp_fail(e, HP_E_INTERNAL, "'%s': libtorrent counts %d pieces, we hashed %zu",
					       want[k].c_str(), np, f->v2_npieces);
			for (size_t j = 0; j < f->v2_npieces; j++)
				ct.set_hash2(i, lt::piece_index_t::diff_type(static_cast<int>(j)),
					     lt::sha256_hash(reinterpret_cast<const char *>(f->v2_pieces + 32 * j)));
		}
		k++;
	}
	if (k != s->nfiles)
		return hp_fail(e, HP_E_INTERNAL, "libtorrent lists %zu files, we gave %zu", k, s->nfiles);
	if (s->flavour & HP_TORRENT_V1) {
		if (static_cast<size_t>(ct.num_pieces()) != s->v1_npieces)
			return hp_fail(e, HP_E_INTERNAL, "libtorrent counts %d v1 pieces, we hashed %zu%s", ct.num_pieces(),
				       s->v1_npieces, s->flavour == HP_TORRENT_HYBRID ? " (pad files?)" : "");
		for (size_t j = 0; j < s->v1_npieces; j++)
			ct.set_hash(lt::piece_index_t(static_cast<int>(j)),
				    lt::sha1_hash(reinterpret_cast<const char *>(s->v1_pieces + 20 * j)));
	}
	for (size_t i = 0; i < s->ntrackers; i++)
		ct.add_tracker(s->trackers[i].url, static_cast<int>(s->trackers[i].tier));
	for (size_t i = 0; i < s->nweb_seeds; i++)
		ct.add_url_seed(s->web_seeds[i]);
	ct.set_priv(s->is_private);
	if (s->comment)
		ct.set_comment(s->comment);
	if (s->creator)
		ct.set_creator(s->creator);
	ct.set_creation_date(static_cast<std::time_t>(s->creation_date));

	lt::entry ent = ct.generate();
	std::vector<char> buf;
	lt::bencode(std::back_inserter(buf), ent);

	// read it back: our strict reader and libtorrent's must both accept it
	hp_torrent_info *ti = nullptr;
	if ((rc = parse(buf.data(), buf.size(), "the new torrent", &ti, e))) {
		hp_err why = *e;
		return hp_fail(e, HP_E_INTERNAL, "libtorrent made a torrent we cannot read back: %s", why.msg);
	}
	bool flavour_ok = ti->flavour == s->flavour && ti->nfiles == s->nfiles;
	if (!flavour_ok) {
		hp_torrent_info_free(ti);
		return hp_fail(e, HP_E_INTERNAL, "the new torrent reads back as another flavour or file count");
	}
	if ((rc = hp_buf_add(out, buf.data(), buf.size(), e))) {
		hp_torrent_info_free(ti);
		return rc;
	}
	if (info)
		*info = ti;
	else
		hp_torrent_info_free(ti);
	return HP_OK;
}

} // namespace

// ---- the C API ----

extern "C" const char *hp_torrent_flavour_name(hp_torrent_flavour f)
{
	switch (f) {
	case HP_TORRENT_V1:
		return "v1";
	case HP_TORRENT_V2:
		return "v2";
	case HP_TORRENT_HYBRID:
		return "hybrid";
	}
	return nullptr;
}

extern "C" bool hp_torrent_tracker_url_ok(const char *url)
{
	static const char *const schemes[] = { "http://", "https://", "udp://", nullptr };
	return url_ok(url, schemes);
}

extern "C" bool hp_torrent_web_seed_url_ok(const char *url)
{
	static const char *const schemes[] = { "http://", "https://", nullptr };
	return url_ok(url, schemes);
}

extern "C" hp_code hp_torrent_create(const hp_torrent_spec *s, hp_buf *out, hp_torrent_info **info, hp_err *e)
{
	if (info)
		*info = nullptr;
	try {
		return create(s, out, info, e);
	} catch (...) {
		return from_exception(e, "cannot create the torrent");
	}
}

extern "C" hp_code hp_torrent_parse(const void *data, size_t len, const char *what, hp_torrent_info **out,
				    hp_err *e)
{
	*out = nullptr;
	try {
		return parse(data, len, what ? what : "torrent", out, e);
	} catch (...) {
		return from_exception(e, what ? what : "torrent");
	}
}

extern "C" hp_code hp_torrent_read(const char *path, hp_torrent_info **out, hp_err *e)
{
	*out = nullptr;
	hp_buf b = HP_BUF_INIT;
	hp_code rc = hp_read_file(path, HP_TORRENT_MAX_BYTES, &b, e);
	if (rc == HP_E_DATA)
		rc = hp_fail(e, HP_E_DATA, "%s: larger than %u MiB, too big for a .torrent",
			     std::strcmp(path, "-") ? path : "<stdin>", HP_TORRENT_MAX_BYTES >> 20);
	if (!rc)
		rc = hp_torrent_parse(b.data, b.len, std::strcmp(path, "-") ? path : "<stdin>", out, e);
	hp_buf_release(&b);
	return rc;
}

extern "C" void hp_torrent_info_free(hp_torrent_info *ti)
{
	if (!ti)
		return;
	for (size_t i = 0; i < ti->nfiles; i++) {
		std::free(ti->files[i].path);
		std::free(ti->files[i].saved_as);
	}
	std::free(ti->files);
	for (size_t i = 0; i < ti->ntrackers; i++)
		std::free(ti->trackers[i].url);
	std::free(ti->trackers);
	for (size_t i = 0; i < ti->nweb_seeds; i++)
		std::free(ti->web_seeds[i]);
	std::free(ti->web_seeds);
	std::free(ti->name);
	std::free(ti->comment);
	std::free(ti->creator);
	std::free(ti->magnet);
	std::free(ti);
}
