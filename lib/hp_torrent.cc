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
#include <libtorrent/address.hpp>
#include <libtorrent/alert_types.hpp>
#include <libtorrent/read_resume_data.hpp>
#include <libtorrent/session.hpp>
#include <libtorrent/session_params.hpp>
#include <libtorrent/kademlia/dht_state.hpp>
#include <libtorrent/settings_pack.hpp>
#include <libtorrent/torrent_handle.hpp>
#include <libtorrent/torrent_status.hpp>
#include <libtorrent/write_resume_data.hpp>
#include <libtorrent/create_torrent.hpp>
#include <libtorrent/entry.hpp>
#include <libtorrent/error_code.hpp>
#include <libtorrent/file_storage.hpp>
#include <libtorrent/hex.hpp>
#include <libtorrent/ip_filter.hpp>
#include <libtorrent/peer_class.hpp>
#include <libtorrent/magnet_uri.hpp>
#include <libtorrent/torrent_info.hpp>

#include <openssl/sha.h>

#include <algorithm>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unistd.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <chrono>
#include <deque>
#include <exception>
#include <memory>
#include <iterator>
#include <new>
#include <string>
#include <system_error>
#include <vector>

extern "C" {
#include "hp_bencode.h"
#include "hp_btpieces.h"
#include "hp_btwrite.h"
#include "hp_codec.h"
#include "hp_io.h"
#include "hp_torrent.h"

#ifndef HP_VERSION /* set by the Makefile; scripts/fuzz builds without it */
#define HP_VERSION "0.1.0"
#endif
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

// [userinfo@]host[:port] with a host, and a port (when there is a ':')
// of 1 to 65535.
bool authority_ok(const char *a, size_t n)
{
	const void *at = std::memchr(a, '@', n);
	while (at) {  // the last '@' ends the userinfo
		size_t skip = static_cast<size_t>(static_cast<const char *>(at) - a) + 1;
		a += skip;
		n -= skip;
		at = std::memchr(a, '@', n);
	}
	size_t host = n;
	if (n && a[0] == '[') {
		const void *close = std::memchr(a, ']', n);
		if (!close)
			return false;
		host = static_cast<size_t>(static_cast<const char *>(close) - a) + 1;
		if (host < 3 || (host < n && a[host] != ':'))
			return false;
	} else {
		const void *colon = std::memchr(a, ':', n);
		if (colon)
			host = static_cast<size_t>(static_cast<const char *>(colon) - a);
	}
	if (host == 0)
		return false;
	if (host == n)
		return true;
	size_t digits = n - host - 1;
	if (digits == 0 || digits > 5)
		return false;
	unsigned port = 0;
	for (size_t i = host + 1; i < n; i++) {
		if (a[i] < '0' || a[i] > '9')
			return false;
		port = port * 10 + static_cast<unsigned>(a[i] - '0');
	}
	return port >= 1 && port <= 65535;
}

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
		if (n > k && std::strncmp(url, *schemes, k) == 0)
			return authority_ok(url + k, std::strcspn(url + k, "/?#"));
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
	// a single-file torrent's one path is its name, with no directory (pad
	// files not counted: libtorrent pads a v2 single file to a whole piece)
	bool multi = n > 1 || fs.file_path(lt::file_index_t(0)) != ti.name();
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
		f->offset = static_cast<uint64_t>(fs.file_offset(i));
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

// What libtorrent reads but the tools cannot use, refused the same way by
// every reader (hp-mktorrent --show, hp-seed, hp-fetch): a path listed twice
// (libtorrent would rename the second), a path that is a file and a folder,
// a v2 piece layer that does not hash to its file's pieces root.
hp_code check_layout(const lt::torrent_info &ti, const char *what, hp_err *e)
{
	const lt::file_storage &fs = ti.orig_files();
	std::vector<std::string> paths;
	for (lt::file_index_t i : fs.file_range())
		if (!fs.pad_file_at(i))
			paths.push_back(fs.file_path(i));
	std::sort(paths.begin(), paths.end());
	for (size_t i = 1; i < paths.size(); i++) {
		if (paths[i] == paths[i - 1])
			return hp_fail(e, HP_E_DATA, "%s: the path '%s' is listed twice", what, paths[i].c_str());
		if (paths[i].size() > paths[i - 1].size() &&
		    paths[i].compare(0, paths[i - 1].size(), paths[i - 1]) == 0 && paths[i][paths[i - 1].size()] == '/')
			return hp_fail(e, HP_E_DATA, "%s: '%s' is a file and a folder", what, paths[i - 1].c_str());
	}
	if (!ti.v2())
		return HP_OK;
	unsigned height = 0;
	while ((16384u << height) < static_cast<unsigned>(fs.piece_length()))
		height++;
	for (lt::file_index_t i : fs.file_range()) {
		if (fs.pad_file_at(i) || fs.file_size(i) <= fs.piece_length())
			continue;
		lt::span<char const> layer = ti.piece_layer(i);
		if (layer.empty())
			continue;  // no layer: fetched from peers, checked by libtorrent
		uint8_t root[32];
		hp_code rc = hp_bt_layer_root(reinterpret_cast<const uint8_t *>(layer.data()),
					      static_cast<size_t>(layer.size()) / 32, height, root, e);
		if (rc)
			return rc;
		lt::sha256_hash want = fs.root(i);
		if (std::memcmp(root, want.data(), 32) != 0)
			return hp_fail(e, HP_E_DATA, "%s: the piece layer of '%s' does not hash to its pieces root", what,
				       fs.file_path(i).c_str());
	}
	return HP_OK;
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
	if ((rc = check_layout(ti, what, e)))
		return rc;

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

// The torrent's bytes, by libtorrent's create_torrent (in a function of its
// own: its entry tree and layout, ~150 MiB at 100,000 files, are gone before
// the torrent is read back).
hp_code generate(const hp_torrent_spec *s, std::vector<char> &buf, hp_err *e)
{
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
	lt::bencode(std::back_inserter(buf), ent);
	return HP_OK;
}

// The torrent's bytes by hp_btwrite; with light, *info from the spec (no
// files), else as our reader and libtorrent's read the bytes back.
hp_code create(const hp_torrent_spec *s, bool light, hp_buf *out, hp_torrent_info **info, hp_err *e)
{
	hp_code rc = check_spec(s, e);
	if (rc)
		return rc;
	// written into out, taken back out on failure; no out (light only):
	// the infohashes without the bytes
	size_t start = out ? out->len : 0, at = 0, len = 0;
	uint8_t h1[20], h2[32];
	if (out && (rc = hp_btwrite(s, out, &at, &len, e))) {
		hp_buf_truncate(out, start);
		return rc;
	}
	if (!out && (rc = hp_btwrite_infohashes(s, h1, h2, e)))
		return rc;
	if (out) {
		const uint8_t *d = reinterpret_cast<const uint8_t *>(out->data) + at;
		SHA1(d, len, h1);
		hp_sha256(d, len, h2);
	}
	hp_torrent_info *ti = nullptr;
	if (light) {
		ti = c_array<hp_torrent_info>(1);
		lt::add_torrent_params atp;  // for the magnet link, as fill_info makes it
		ti->flavour = s->flavour;
		ti->has_v1 = (s->flavour & HP_TORRENT_V1) != 0;
		ti->has_v2 = (s->flavour & HP_TORRENT_V2) != 0;
		if (ti->has_v1) {
			std::memcpy(ti->infohash_v1, h1, 20);
			hp_hex_encode(ti->infohash_v1, 20, ti->infohash_v1_hex);
			atp.info_hashes.v1 = lt::sha1_hash(reinterpret_cast<const char *>(ti->infohash_v1));
		}
		if (ti->has_v2) {
			std::memcpy(ti->infohash_v2, h2, 32);
			hp_hex_encode(ti->infohash_v2, 32, ti->infohash_v2_hex);
			atp.info_hashes.v2 = lt::sha256_hash(reinterpret_cast<const char *>(ti->infohash_v2));
		}
		// a v2-only torrent of one top-level file reads back as the
		// single-file torrent of that file, named by it (BEP 52 has no
		// other way to say it)
		bool one = s->flavour == HP_TORRENT_V2 && s->nfiles == 1 && !s->single_file &&
			   !std::memchr(s->files[0].path, '/', s->files[0].path_len);
		std::string name = one ? std::string(s->files[0].path, s->files[0].path_len) : std::string(s->name);
		ti->name = c_strdup(name);
		ti->single_file = s->single_file || one;
		ti->piece_length = s->piece_length;
		for (size_t i = 0; i < s->nfiles; i++) {
			ti->total_size += s->files[i].size;
			ti->num_pieces += (s->files[i].size + s->piece_length - 1) / s->piece_length;
		}
		if (ti->has_v1)
			ti->num_pieces = s->v1_npieces;
		atp.name = name;
		ti->trackers = c_array<hp_torrent_tracker_entry>(s->ntrackers);
		for (size_t i = 0; i < s->ntrackers; i++) {
			size_t j = 0;
			while (j < ti->ntrackers && std::strcmp(ti->trackers[j].url, s->trackers[i].url) != 0)
				j++;
			if (j < ti->ntrackers)
				continue;  // as hp_btwrite: once
			hp_torrent_tracker_entry *t = &ti->trackers[ti->ntrackers++];
			t->url = c_strdup(s->trackers[i].url);
			t->tier = s->trackers[i].tier;
			atp.trackers.push_back(s->trackers[i].url);
		}
		ti->web_seeds = c_array<char *>(s->nweb_seeds);
		for (size_t i = 0; i < s->nweb_seeds; i++) {
			ti->web_seeds[ti->nweb_seeds++] = c_strdup(s->web_seeds[i]);
			atp.url_seeds.push_back(s->web_seeds[i]);
		}
		ti->is_private = s->is_private;
		if (s->comment && *s->comment)
			ti->comment = c_strdup(s->comment);
		if (s->creator && *s->creator)
			ti->creator = c_strdup(s->creator);
		ti->creation_date = s->creation_date;
		ti->magnet = c_strdup(lt::make_magnet_uri(atp));
	} else if ((rc = parse(out->data + start, out->len - start, "the new torrent", &ti, e))) {
		hp_err why = *e;
		hp_buf_truncate(out, start);
		return hp_fail(e, HP_E_INTERNAL, "we made a torrent we cannot read back: %s", why.msg);
	} else if (ti->flavour != s->flavour || ti->nfiles != s->nfiles) {
		hp_torrent_info_free(ti);
		hp_buf_truncate(out, start);
		return hp_fail(e, HP_E_INTERNAL, "the new torrent reads back as another flavour or file count");
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

extern "C" hp_code hp_torrent_create_reference(const hp_torrent_spec *s, hp_buf *out, hp_err *e)
{
	try {
		hp_code rc = check_spec(s, e);
		std::vector<char> buf;
		if (!rc)
			rc = generate(s, buf, e);
		return rc ? rc : hp_buf_add(out, buf.data(), buf.size(), e);
	} catch (...) {
		return from_exception(e, "cannot create the torrent");
	}
}

extern "C" hp_code hp_torrent_create_light(const hp_torrent_spec *s, hp_buf *out, hp_torrent_info **info, hp_err *e)
{
	*info = nullptr;
	try {
		return create(s, true, out, info, e);
	} catch (...) {
		return from_exception(e, "cannot create the torrent");
	}
}

extern "C" hp_code hp_torrent_create(const hp_torrent_spec *s, hp_buf *out, hp_torrent_info **info, hp_err *e)
{
	if (info)
		*info = nullptr;
	try {
		return create(s, false, out, info, e);
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


// ---- checking content hashes ----

namespace {

hp_code check_hashes(const void *data, size_t len, const uint8_t *v1, size_t v1_count, const uint8_t *roots,
		     size_t nfiles, size_t *bad, size_t *nbad, hp_err *e)
{
	*bad = static_cast<size_t>(-1);
	*nbad = 0;
	lt::error_code ec;
	lt::torrent_info ti(lt::span<char const>(static_cast<const char *>(data), static_cast<std::ptrdiff_t>(len)),
			    ec, lt::from_span);
	if (ec)
		return hp_fail(e, HP_E_DATA, "not a valid torrent: %s", ec.message().c_str());
	const lt::file_storage &fs = ti.orig_files();
	size_t n = 0;
	bool pads = false;
	for (lt::file_index_t i : fs.file_range()) {
		if (fs.pad_file_at(i))
			pads = true;
		else
			n++;
	}
	if (n != nfiles)
		return hp_fail(e, HP_E_USAGE, "%zu files hashed, the torrent has %zu", nfiles, n);
	if (ti.info_hashes().has_v2()) {
		size_t k = 0;
		for (lt::file_index_t i : fs.file_range()) {
			if (fs.pad_file_at(i))
				continue;
			if (fs.file_size(i) > 0) {
				lt::sha256_hash r = fs.root(i);
				if (std::memcmp(r.data(), roots + 32 * k, 32) != 0) {
					*bad = k;
					*nbad = 1;
					return HP_OK;
				}
			}
			k++;
		}
		return HP_OK;
	}
	if (pads)
		return hp_fail(e, HP_E_USAGE, "a v1 torrent with pad files cannot be checked");
	if (static_cast<size_t>(ti.num_pieces()) != v1_count)
		return hp_fail(e, HP_E_USAGE, "%zu pieces hashed, the torrent has %d", v1_count, ti.num_pieces());
	for (int p = 0; p < ti.num_pieces(); p++) {
		lt::sha1_hash h = ti.hash_for_piece(lt::piece_index_t(p));
		if (std::memcmp(h.data(), v1 + 20 * static_cast<size_t>(p), 20) == 0)
			continue;
		// the non-empty files that overlap the piece
		std::int64_t off = static_cast<std::int64_t>(p) * ti.piece_length();
		std::int64_t end = off + ti.piece_size(lt::piece_index_t(p));
		size_t k = 0;
		for (lt::file_index_t i : fs.file_range()) {
			std::int64_t fo = fs.file_offset(i), fl = fs.file_size(i);
			if (fo >= end)
				break;
			if (fl > 0 && fo + fl > off) {
				if (*bad == static_cast<size_t>(-1))
					*bad = k;
				*nbad = k + 1 - *bad;
			}
			k++;
		}
		if (*bad == static_cast<size_t>(-1)) {
			*bad = n ? n - 1 : 0;
			*nbad = 1;
		}
		return HP_OK;
	}
	return HP_OK;
}

} // namespace

extern "C" hp_code hp_torrent_check_hashes(const void *data, size_t len, const uint8_t *v1, size_t v1_count,
					   const uint8_t *roots, size_t nfiles, size_t *bad, size_t *nbad, hp_err *e)
{
	try {
		return check_hashes(data, len, v1, v1_count, roots, nfiles, bad, nbad, e);
	} catch (...) {
		return from_exception(e, "cannot check the content");
	}
}

// ---- sessions ----

struct hp_bt_session {
	std::unique_ptr<lt::session> ses;
	std::vector<lt::torrent_handle> torrents;
	std::deque<hp_bt_event> pending;  // converted alerts not handed out yet
	int port = 0;
	std::string dht_state;            // where to save the DHT's state; "": nowhere
};

namespace {

void set_msg(char *dst, size_t cap, const std::string &m)
{
	size_t n = m.size() < cap - 1 ? m.size() : cap - 1;
	std::memcpy(dst, m.data(), n);
	dst[n] = '\0';
}

int torrent_id(const hp_bt_session *s, const lt::torrent_handle &h)
{
	for (size_t i = 0; i < s->torrents.size(); i++)
		if (s->torrents[i] == h)
			return static_cast<int>(i);
	return -1;
}

std::string endpoint_str(const lt::tcp::endpoint &ep)
{
	std::string a = ep.address().to_string();
	if (ep.address().is_v6())
		a = "[" + a + "]";
	return a + ":" + std::to_string(ep.port());
}

// One alert as events (none for alerts we do not report).
void convert(hp_bt_session *s, lt::alert *a)
{
	hp_bt_event ev;
	std::memset(&ev, 0, sizeof ev);
	ev.torrent = -1;
	if (auto *ta = dynamic_cast<lt::torrent_alert *>(a))
		ev.torrent = torrent_id(s, ta->handle);
	if (auto *l = lt::alert_cast<lt::listen_succeeded_alert>(a)) {
		if (l->socket_type != lt::socket_type_t::tcp)
			return;
		ev.kind = HP_BT_EV_LISTENING;
		ev.port = l->port;
		s->port = l->port;
		set_msg(ev.msg, sizeof ev.msg, endpoint_str(lt::tcp::endpoint(l->address, static_cast<unsigned short>(l->port))));
	} else if (auto *lf = lt::alert_cast<lt::listen_failed_alert>(a)) {
		ev.kind = HP_BT_EV_LISTEN_FAILED;
		ev.port = lf->port;
		set_msg(ev.msg, sizeof ev.msg, lf->message());
	} else if (auto *pc = lt::alert_cast<lt::peer_connect_alert>(a)) {
		ev.kind = HP_BT_EV_PEER_CONNECTED;  // 2.0 has no "connected": the outgoing attempt
		set_msg(ev.peer, sizeof ev.peer, endpoint_str(pc->endpoint));
		set_msg(ev.msg, sizeof ev.msg, "outgoing");
	} else if (auto *ia = lt::alert_cast<lt::incoming_connection_alert>(a)) {
		ev.kind = HP_BT_EV_PEER_CONNECTED;  // not yet tied to a torrent
		set_msg(ev.peer, sizeof ev.peer, endpoint_str(ia->endpoint));
		set_msg(ev.msg, sizeof ev.msg, "incoming");
	} else if (auto *pd = lt::alert_cast<lt::peer_disconnected_alert>(a)) {
		ev.kind = HP_BT_EV_PEER_DISCONNECTED;
		set_msg(ev.peer, sizeof ev.peer, endpoint_str(pd->endpoint));
		set_msg(ev.msg, sizeof ev.msg, pd->error.message());
	} else if (auto *tf = lt::alert_cast<lt::torrent_finished_alert>(a)) {
		(void)tf;
		ev.kind = HP_BT_EV_FINISHED;
	} else if (auto *tr = lt::alert_cast<lt::tracker_reply_alert>(a)) {
		ev.kind = HP_BT_EV_TRACKER_REPLY;
		ev.count = tr->num_peers;
		set_msg(ev.msg, sizeof ev.msg, tr->tracker_url());
	} else if (auto *te = lt::alert_cast<lt::tracker_error_alert>(a)) {
		ev.kind = HP_BT_EV_TRACKER_ERROR;
		std::string why = te->error ? te->error.message() : std::string();
		if (te->failure_reason() && *te->failure_reason())
			why += (why.empty() ? "" : ": ") + std::string(te->failure_reason());
		set_msg(ev.msg, sizeof ev.msg, std::string(te->tracker_url()) + ": " + why);
	} else if (auto *hf = lt::alert_cast<lt::hash_failed_alert>(a)) {
		ev.kind = HP_BT_EV_HASH_FAILED;
		ev.count = static_cast<int>(hf->piece_index);
	} else if (auto *fe = lt::alert_cast<lt::file_error_alert>(a)) {
		ev.kind = HP_BT_EV_ERROR;
		set_msg(ev.msg, sizeof ev.msg, fe->message());
	} else if (auto *er = lt::alert_cast<lt::torrent_error_alert>(a)) {
		ev.kind = HP_BT_EV_ERROR;
		set_msg(ev.msg, sizeof ev.msg, er->message());
	} else if (lt::alert_cast<lt::cache_flushed_alert>(a)) {
		ev.kind = HP_BT_EV_FLUSHED;
	} else if (lt::alert_cast<lt::dht_bootstrap_alert>(a)) {
		ev.kind = HP_BT_EV_DHT_BOOTSTRAP;
		// libtorrent's own first announce comes after dht_announce_interval
		// divided among the torrents (15 min for one): announce now
		for (lt::torrent_handle &h : s->torrents)
			if (h.is_valid())
				h.force_dht_announce();
	} else if (auto *dr = lt::alert_cast<lt::dht_reply_alert>(a)) {
		ev.kind = HP_BT_EV_DHT_REPLY;
		ev.count = dr->num_peers;
	} else if (auto *us = lt::alert_cast<lt::url_seed_alert>(a)) {
		ev.kind = HP_BT_EV_WEB_SEED_ERROR;
		std::string why = us->error ? us->error.message() : std::string(us->error_message());
		set_msg(ev.msg, sizeof ev.msg, std::string(us->server_url()) + ": " + why);
	} else {
		return;
	}
	s->pending.push_back(ev);
}

// Wait for alerts and convert them (resume data alerts are for save_resume).
void collect(hp_bt_session *s, int wait_ms)
{
	if (wait_ms > 0)
		s->ses->wait_for_alert(std::chrono::milliseconds(wait_ms));
	std::vector<lt::alert *> alerts;
	s->ses->pop_alerts(&alerts);
	for (lt::alert *a : alerts) {
		if (auto *sr = lt::alert_cast<lt::save_resume_data_alert>(a)) {
			(void)sr;
			continue;  // only asked for through save_resume, which handles its own
		}
		convert(s, a);
	}
}

bool is_loopback(const std::string &host)
{
	lt::error_code ec;
	lt::address a = lt::make_address(host, ec);
	return !ec && a.is_loopback();
}

// "HOST:PORT,HOST:PORT" for libtorrent's dht_bootstrap_nodes; *all_loopback
// when every host is a loopback address.
hp_code bootstrap_list(const hp_bt_net *n, std::string *out, bool *all_loopback, hp_err *e)
{
	*all_loopback = n->ndht_bootstrap > 0;
	for (size_t i = 0; i < n->ndht_bootstrap; i++) {
		std::string a(n->dht_bootstrap[i] ? n->dht_bootstrap[i] : "");
		size_t colon = a.rfind(':');
		char *end = nullptr;
		unsigned long port = colon == std::string::npos ? 0 : std::strtoul(a.c_str() + colon + 1, &end, 10);
		if (colon == std::string::npos || colon == 0 || !port || port > 65535 || *end ||
		    a.find_first_of(", \t") != std::string::npos)
			return hp_fail(e, HP_E_USAGE, "DHT bootstrap node '%s' is not HOST:PORT", a.c_str());
		std::string host = a.substr(0, colon);
		if (host.size() > 2 && host.front() == '[' && host.back() == ']')
			host = host.substr(1, host.size() - 2);
		if (!is_loopback(host))
			*all_loopback = false;
		if (!out->empty())
			*out += ',';
		*out += a;
	}
	if (out->empty())
		*out = HP_BT_DHT_ROUTERS;
	return HP_OK;
}

hp_code session_new(const char *listen, const hp_bt_net *net, hp_bt_session **out, hp_err *e)
{
	static const hp_bt_net defaults = {};
	const hp_bt_net *n = net ? net : &defaults;
	std::string nodes;
	bool private_dht = false;
	hp_code rc = bootstrap_list(n, &nodes, &private_dht, e);
	if (rc)
		return rc;
	lt::session_params sp;
	if (n->dht_state && !n->no_dht) {
		hp_buf b = HP_BUF_INIT;
		hp_err ignored = HP_ERR_INIT;
		if (access(n->dht_state, F_OK) == 0 && hp_read_file(n->dht_state, 1u << 20, &b, &ignored) == HP_OK) {
			lt::error_code ec;
			lt::bdecode_node d = lt::bdecode(lt::span<char const>(b.data, static_cast<std::ptrdiff_t>(b.len)), ec);
			if (!ec)
				sp = lt::read_session_params(d, lt::session_handle::save_dht_state);
		}
		hp_buf_release(&b);
	}
	lt::settings_pack &p = sp.settings;
	std::string where(listen ? listen : "127.0.0.1:0");
	// libtorrent runs no DHT on a loopback socket it found by expanding
	// 0.0.0.0 (a "local network" one): with a DHT on this machine only, the
	// swarm is here too, so listen on loopback instead
	if (private_dht && !n->no_dht && where.compare(0, 8, "0.0.0.0:") == 0)
		where = "127.0.0.1:" + where.substr(8);
	p.set_str(lt::settings_pack::listen_interfaces, where);
	p.set_bool(lt::settings_pack::enable_dht, !n->no_dht);
	p.set_str(lt::settings_pack::dht_bootstrap_nodes, nodes);
	if (private_dht) {
		// every node of a DHT on this machine has the same IP: libtorrent
		// keeps one node per IP in its routing table and its lookups, and
		// wants node ids derived from the IP (BEP 42) unless told otherwise
		p.set_bool(lt::settings_pack::dht_restrict_routing_ips, false);
		p.set_bool(lt::settings_pack::dht_restrict_search_ips, false);
		p.set_bool(lt::settings_pack::dht_enforce_node_id, false);
		p.set_bool(lt::settings_pack::dht_prefer_verified_node_ids, false);
		p.set_bool(lt::settings_pack::dht_ignore_dark_internet, false);
	}
	p.set_bool(lt::settings_pack::enable_lsd, n->lsd);
	p.set_bool(lt::settings_pack::enable_upnp, n->port_mapping);
	p.set_bool(lt::settings_pack::enable_natpmp, n->port_mapping);
	// uTP: accepted from peers that dial it; dialled over TCP, which every
	// client listens on: libtorrent tries uTP first when it may, and its uTP
	// moved 200 MB over loopback in 15.0 s against 2.4 s over TCP here
	// (docs/bittorrent.md, "Discovery")
	p.set_bool(lt::settings_pack::enable_outgoing_utp, false);
	p.set_bool(lt::settings_pack::enable_incoming_utp, !n->no_utp);
	p.set_bool(lt::settings_pack::allow_multiple_connections_per_ip, true);
	// a silent tracker or web seed is given up within half the timeout (its
	// error then reaches the caller's message before the caller gives up)
	int secs = static_cast<int>(((n->timeout_ms > 0 ? n->timeout_ms : 30000) / 2 + 999) / 1000);
	p.set_int(lt::settings_pack::tracker_completion_timeout, secs);
	p.set_int(lt::settings_pack::tracker_receive_timeout, secs);
	p.set_int(lt::settings_pack::stop_tracker_timeout, secs < 5 ? secs : 5);
	p.set_int(lt::settings_pack::urlseed_timeout, secs);
	p.set_int(lt::settings_pack::peer_connect_timeout, secs < 15 ? secs : 15);
	// the port asked for, or a listen_failed_alert: no quiet fallback to another
	p.set_int(lt::settings_pack::max_retry_port_bind, 0);
	p.set_bool(lt::settings_pack::listen_system_port_fallback, false);
	p.set_str(lt::settings_pack::user_agent, "hybrid-p2p/" HP_VERSION);
	p.set_int(lt::settings_pack::alert_mask,
		  static_cast<int>(static_cast<std::uint32_t>(lt::alert_category::status | lt::alert_category::error |
							     lt::alert_category::tracker | lt::alert_category::connect |
							     lt::alert_category::peer | lt::alert_category::dht |
							     lt::alert_category::storage)));
	std::unique_ptr<hp_bt_session> s(new hp_bt_session);
	if (n->dht_state && !n->no_dht)
		s->dht_state = n->dht_state;
	s->ses.reset(new lt::session(std::move(sp)));
	*out = s.release();
	return HP_OK;
}

// Write the DHT's state (its id and nodes) atomically; failures are quiet:
// the next run bootstraps again.
void save_dht_state(hp_bt_session *s)
{
	if (s->dht_state.empty() || !s->ses)
		return;
	lt::session_params sp = s->ses->session_state(lt::session_handle::save_dht_state);
	std::vector<char> buf = lt::write_session_params_buf(sp, lt::session_handle::save_dht_state);
	hp_err ignored = HP_ERR_INIT;
	hp_write_file_atomic(s->dht_state.c_str(), buf.data(), buf.size(), 0600, 0, &ignored);
}

hp_code session_add(hp_bt_session *s, const hp_bt_add *a, int *id, hp_err *e)
{
	lt::error_code ec;
	lt::add_torrent_params atp;
	if (a->resume && a->resume_len) {
		atp = lt::read_resume_data(lt::span<char const>(static_cast<const char *>(a->resume),
								 static_cast<std::ptrdiff_t>(a->resume_len)),
					    ec);
		if (ec)
			return hp_fail(e, HP_E_DATA, "resume data: %s", ec.message().c_str());
		// the torrent's web seeds, every run: resume data lists the ones
		// left when it was saved (libtorrent drops a web seed after errors)
		// and would override the torrent's
		atp.flags &= ~lt::torrent_flags::override_web_seeds;
		atp.url_seeds.clear();
		atp.http_seeds.clear();
	}
	auto ti = std::make_shared<lt::torrent_info>(
		lt::span<char const>(static_cast<const char *>(a->torrent), static_cast<std::ptrdiff_t>(a->torrent_len)), ec,
		lt::from_span);
	if (ec)
		return hp_fail(e, HP_E_DATA, "not a valid torrent: %s", ec.message().c_str());
	if (atp.ti && atp.ti->info_hashes() != ti->info_hashes())
		return hp_fail(e, HP_E_DATA, "the resume data is for another torrent");
	atp.ti = ti;
	atp.save_path = a->save_path;
	if (a->flat && ti->num_files() > 0) {
		// each file at its path below the torrent's name, directly in save_path
		// (the names as the torrent has them: no case-collision renaming)
		const lt::file_storage &fs = ti->orig_files();
		std::string prefix = ti->name() + "/";
		for (lt::file_index_t i : fs.file_range()) {
			if (fs.pad_file_at(i))
				continue;
			std::string p = fs.file_path(i);
			if (p.compare(0, prefix.size(), prefix) != 0)
				continue;  // a single-file torrent: already NAME in save_path
			atp.renamed_files[i] = p.substr(prefix.size());
		}
	}
	if (a->file_priorities) {
		const lt::file_storage &fs = ti->files();
		atp.file_priorities.assign(static_cast<size_t>(fs.num_files()), lt::dont_download);
		size_t k = 0;
		for (lt::file_index_t i : fs.file_range()) {
			if (fs.pad_file_at(i))
				continue;
			if (k >= a->nfile_priorities)
				return hp_fail(e, HP_E_USAGE, "%zu file priorities for more files", a->nfile_priorities);
			unsigned v = a->file_priorities[k++];
			atp.file_priorities[static_cast<size_t>(static_cast<int>(i))] =
				lt::download_priority_t(static_cast<std::uint8_t>(v > 7 ? 7 : v));
		}
		if (k != a->nfile_priorities)
			return hp_fail(e, HP_E_USAGE, "%zu file priorities for %zu files", a->nfile_priorities, k);
	}
	if (a->seed_mode)
		atp.flags |= lt::torrent_flags::seed_mode;
	if (a->sequential)
		atp.flags |= lt::torrent_flags::sequential_download;
	atp.flags &= ~lt::torrent_flags::paused;
	atp.flags &= ~lt::torrent_flags::auto_managed;
	if (a->no_trackers) {
		ti->clear_trackers();
		atp.trackers.clear();
		atp.tracker_tiers.clear();
	}
	for (size_t i = 0; i < a->ntrackers; i++) {
		if (!hp_torrent_tracker_url_ok(a->trackers[i]))
			return hp_fail(e, HP_E_USAGE, "'%s' is not a tracker URL (http, https or udp)", a->trackers[i]);
		atp.trackers.push_back(a->trackers[i]);
	}
	if (a->no_web_seeds) {
		ti->set_web_seeds({});
		atp.url_seeds.clear();
	}
	lt::torrent_handle h = s->ses->add_torrent(std::move(atp), ec);
	if (ec)
		return hp_fail(e, HP_E_USAGE, "cannot add the torrent: %s", ec.message().c_str());
	s->torrents.push_back(h);
	*id = static_cast<int>(s->torrents.size() - 1);
	return HP_OK;
}

hp_code handle_of(hp_bt_session *s, int id, lt::torrent_handle *h, hp_err *e)
{
	if (id < 0 || static_cast<size_t>(id) >= s->torrents.size())
		return hp_fail(e, HP_E_USAGE, "no torrent %d in the session", id);
	*h = s->torrents[static_cast<size_t>(id)];
	return HP_OK;
}

hp_code connect_peer(hp_bt_session *s, int id, const char *addr, hp_err *e)
{
	lt::torrent_handle h;
	hp_code rc = handle_of(s, id, &h, e);
	if (rc)
		return rc;
	std::string a(addr ? addr : "");
	size_t colon = a.rfind(':');
	if (colon == std::string::npos || colon == 0 || colon + 1 == a.size())
		return hp_fail(e, HP_E_USAGE, "'%s' is not IP:PORT", a.c_str());
	std::string host = a.substr(0, colon), port = a.substr(colon + 1);
	if (host.size() > 2 && host.front() == '[' && host.back() == ']')
		host = host.substr(1, host.size() - 2);
	char *end = nullptr;
	unsigned long pn = std::strtoul(port.c_str(), &end, 10);
	if (*end || pn == 0 || pn > 65535 || port[0] == '-' || port[0] == '+')
		return hp_fail(e, HP_E_USAGE, "'%s': bad port", a.c_str());
	lt::error_code ec;
	lt::address ip = lt::make_address(host, ec);
	if (ec)
		return hp_fail(e, HP_E_USAGE, "'%s': '%s' is not an IP address", a.c_str(), host.c_str());
	h.connect_peer(lt::tcp::endpoint(ip, static_cast<unsigned short>(pn)));
	return HP_OK;
}

hp_code status(hp_bt_session *s, int id, hp_bt_status *st, hp_err *e)
{
	lt::torrent_handle h;
	hp_code rc = handle_of(s, id, &h, e);
	if (rc)
		return rc;
	lt::torrent_status ts = h.status();
	std::memset(st, 0, sizeof *st);
	st->progress = static_cast<double>(ts.progress);
	st->total_done = static_cast<uint64_t>(ts.total_wanted_done);
	st->total_wanted = static_cast<uint64_t>(ts.total_wanted);
	st->uploaded = static_cast<uint64_t>(ts.total_payload_upload);
	st->downloaded = static_cast<uint64_t>(ts.total_payload_download);
	st->download_rate = ts.download_payload_rate > 0 ? static_cast<uint64_t>(ts.download_payload_rate) : 0;
	st->upload_rate = ts.upload_payload_rate > 0 ? static_cast<uint64_t>(ts.upload_payload_rate) : 0;
	st->peers = ts.num_peers;
	st->pieces = ts.num_pieces > 0 ? static_cast<uint64_t>(ts.num_pieces) : 0;
	st->finished = ts.is_finished;
	st->checking = ts.state == lt::torrent_status::checking_files ||
		       ts.state == lt::torrent_status::checking_resume_data;
	st->seeding = ts.is_seeding;
	if (ts.errc) {
		st->has_error = true;
		set_msg(st->error, sizeof st->error, ts.errc.message());
	}
	return HP_OK;
}

hp_code pieces(hp_bt_session *s, int id, uint8_t *have, size_t n, hp_err *e)
{
	lt::torrent_handle h;
	hp_code rc = handle_of(s, id, &h, e);
	if (rc)
		return rc;
	lt::torrent_status ts = h.status(lt::torrent_handle::query_pieces);
	size_t got = static_cast<size_t>(ts.pieces.size());
	for (size_t p = 0; p < n; p++)
		have[p] = p < got && ts.pieces[lt::piece_index_t(static_cast<int>(p))];
	return HP_OK;
}

hp_code flush(hp_bt_session *s, int id, hp_err *e)
{
	lt::torrent_handle h;
	hp_code rc = handle_of(s, id, &h, e);
	if (rc)
		return rc;
	h.flush_cache();
	return HP_OK;
}

hp_code set_rate_limits(hp_bt_session *s, uint64_t up, uint64_t down, hp_err *e)
{
	if (up > INT32_MAX || down > INT32_MAX)
		return hp_fail(e, HP_E_USAGE, "a rate limit over %d bytes per second", INT32_MAX);
	lt::settings_pack p;
	p.set_int(lt::settings_pack::upload_rate_limit, static_cast<int>(up));
	p.set_int(lt::settings_pack::download_rate_limit, static_cast<int>(down));
	s->ses->apply_settings(std::move(p));
	if (up || down) {
		// every address in the global class, the one the limits apply to
		// (by default local networks and loopback are in the unlimited
		// "local" class)
		lt::ip_filter f;
		std::uint32_t global = 1u << static_cast<std::uint32_t>(lt::session::global_peer_class_id);
		f.add_rule(lt::make_address_v4("0.0.0.0"), lt::make_address_v4("255.255.255.255"), global);
		f.add_rule(lt::make_address_v6("::"), lt::make_address_v6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
			   global);
		s->ses->set_peer_class_filter(f);
	}
	return HP_OK;
}

hp_code poll(hp_bt_session *s, int wait_ms, hp_bt_event_fn *fn, void *ud)
{
	if (s->pending.empty())
		collect(s, wait_ms);
	else
		collect(s, 0);
	while (!s->pending.empty()) {
		hp_bt_event ev = s->pending.front();
		s->pending.pop_front();
		if (fn)
			fn(ud, &ev);
	}
	return HP_OK;
}

hp_code save_resume(hp_bt_session *s, int id, int wait_ms, hp_buf *out, hp_err *e)
{
	lt::torrent_handle h;
	hp_code rc = handle_of(s, id, &h, e);
	if (rc)
		return rc;
	h.save_resume_data(lt::torrent_handle::save_info_dict | lt::torrent_handle::flush_disk_cache);
	auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
	for (;;) {
		auto now = std::chrono::steady_clock::now();
		if (now >= until)
			return hp_fail(e, HP_E_TEMPFAIL, "no resume data after %d ms", wait_ms);
		s->ses->wait_for_alert(std::chrono::duration_cast<std::chrono::milliseconds>(until - now));
		std::vector<lt::alert *> alerts;
		s->ses->pop_alerts(&alerts);
		for (lt::alert *a : alerts) {
			if (auto *sr = lt::alert_cast<lt::save_resume_data_alert>(a)) {
				if (sr->handle != h)
					continue;
				std::vector<char> buf = lt::write_resume_data_buf(sr->params);
				// later alerts of this batch still count
				for (lt::alert *b : alerts)
					if (b != a && !lt::alert_cast<lt::save_resume_data_alert>(b))
						convert(s, b);
				return hp_buf_add(out, buf.data(), buf.size(), e);
			}
			if (auto *sf = lt::alert_cast<lt::save_resume_data_failed_alert>(a)) {
				if (sf->handle != h)
					continue;
				return hp_fail(e, HP_E_IO, "cannot save resume data: %s", sf->error.message().c_str());
			}
			convert(s, a);
		}
	}
}

} // namespace

extern "C" hp_code hp_bt_session_new(const char *listen, const hp_bt_net *net, hp_bt_session **out, hp_err *e)
{
	*out = nullptr;
	try {
		return session_new(listen, net, out, e);
	} catch (...) {
		return from_exception(e, "cannot start a BitTorrent session");
	}
}

extern "C" void hp_bt_session_free(hp_bt_session *s)
{
	if (!s)
		return;
	try {
		save_dht_state(s);
	} catch (...) {
	}
	try {
		s->torrents.clear();
		s->ses.reset();  // the destructor aborts and waits for the disk threads
	} catch (...) {
	}
	try {
		delete s;
	} catch (...) {
	}
}

extern "C" hp_code hp_bt_session_dht_announce(hp_bt_session *s, int id, hp_err *e)
{
	try {
		lt::torrent_handle h;
		hp_code rc = handle_of(s, id, &h, e);
		if (!rc)
			h.force_dht_announce();
		return rc;
	} catch (...) {
		return from_exception(e, "cannot announce to the DHT");
	}
}

extern "C" hp_code hp_bt_session_add_magnet(hp_bt_session *s, const char *uri, const char *save_path, int *id,
					    hp_err *e)
{
	try {
		lt::error_code ec;
		lt::add_torrent_params atp = lt::parse_magnet_uri(uri ? uri : "", ec);
		if (ec)
			return hp_fail(e, HP_E_USAGE, "not a magnet link libtorrent reads: %s", ec.message().c_str());
		atp.save_path = save_path;
		atp.flags &= ~lt::torrent_flags::paused;
		atp.flags &= ~lt::torrent_flags::auto_managed;
		atp.flags |= lt::torrent_flags::upload_mode;  // no piece until the caller says which
		lt::torrent_handle h = s->ses->add_torrent(std::move(atp), ec);
		if (ec)
			return hp_fail(e, HP_E_USAGE, "cannot add the magnet: %s", ec.message().c_str());
		s->torrents.push_back(h);
		*id = static_cast<int>(s->torrents.size() - 1);
		return HP_OK;
	} catch (...) {
		return from_exception(e, "cannot add the magnet");
	}
}

extern "C" hp_code hp_bt_session_metadata(hp_bt_session *s, int id, bool *have, hp_buf *out, hp_err *e)
{
	try {
		*have = false;
		lt::torrent_handle h;
		hp_code rc = handle_of(s, id, &h, e);
		if (rc)
			return rc;
		std::shared_ptr<const lt::torrent_info> ti = h.torrent_file();
		if (!ti || !ti->is_valid())
			return HP_OK;
		lt::span<char const> info = ti->info_section();
		std::string t = "d";
		std::vector<lt::announce_entry> trackers = h.trackers();
		if (!trackers.empty()) {  // one tier each, in the magnet's order
			t += "13:announce-listl";
			for (const lt::announce_entry &a : trackers)
				t += "l" + std::to_string(a.url.size()) + ":" + a.url + "e";
			t += "e";
		}
		t += "4:info";
		t.append(info.data(), static_cast<size_t>(info.size()));
		t += "e";
		*have = true;
		return hp_buf_add(out, t.data(), t.size(), e);
	} catch (...) {
		return from_exception(e, "cannot read the torrent's metadata");
	}
}

extern "C" size_t hp_bt_resolve(const char *h, char out[][HP_BT_ADDR_MAX], size_t max)
{
	const char *colon = h ? std::strrchr(h, ':') : nullptr;
	if (!colon || colon == h)
		return 0;
	std::string host(h, static_cast<size_t>(colon - h));
	if (host.size() > 2 && host.front() == '[' && host.back() == ']')
		host = host.substr(1, host.size() - 2);
	struct addrinfo hints, *res = nullptr;
	std::memset(&hints, 0, sizeof hints);
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if (getaddrinfo(host.c_str(), colon + 1, &hints, &res))
		return 0;
	size_t n = 0;
	for (struct addrinfo *a = res; a && n < max; a = a->ai_next) {
		char ip[INET6_ADDRSTRLEN];
		const void *addr = a->ai_family == AF_INET6
					   ? static_cast<const void *>(&reinterpret_cast<sockaddr_in6 *>(a->ai_addr)->sin6_addr)
					   : static_cast<const void *>(&reinterpret_cast<sockaddr_in *>(a->ai_addr)->sin_addr);
		if ((a->ai_family != AF_INET && a->ai_family != AF_INET6) || !inet_ntop(a->ai_family, addr, ip, sizeof ip))
			continue;
		std::snprintf(out[n], HP_BT_ADDR_MAX, a->ai_family == AF_INET6 ? "[%s]:%s" : "%s:%s", ip, colon + 1);
		n++;
	}
	freeaddrinfo(res);
	return n;
}

extern "C" int hp_bt_session_listen_port(hp_bt_session *s)
{
	try {
		if (!s->port && s->ses->is_listening())
			s->port = s->ses->listen_port();
		return s->port;
	} catch (...) {
		return 0;
	}
}

extern "C" hp_code hp_bt_session_set_rate_limits(hp_bt_session *s, uint64_t upload, uint64_t download, hp_err *e)
{
	try {
		return set_rate_limits(s, upload, download, e);
	} catch (...) {
		return from_exception(e, "cannot set the rate limits");
	}
}

extern "C" hp_code hp_bt_session_add(hp_bt_session *s, const hp_bt_add *a, int *id, hp_err *e)
{
	*id = -1;
	try {
		return session_add(s, a, id, e);
	} catch (...) {
		return from_exception(e, "cannot add the torrent");
	}
}

extern "C" hp_code hp_bt_session_connect_peer(hp_bt_session *s, int id, const char *addr, hp_err *e)
{
	try {
		return connect_peer(s, id, addr, e);
	} catch (...) {
		return from_exception(e, "cannot connect to the peer");
	}
}

extern "C" hp_code hp_bt_session_status(hp_bt_session *s, int id, hp_bt_status *st, hp_err *e)
{
	try {
		return status(s, id, st, e);
	} catch (...) {
		return from_exception(e, "cannot read the torrent's status");
	}
}

extern "C" hp_code hp_bt_session_pieces(hp_bt_session *s, int id, uint8_t *have, size_t n, hp_err *e)
{
	try {
		return pieces(s, id, have, n, e);
	} catch (...) {
		return from_exception(e, "cannot read the torrent's pieces");
	}
}

extern "C" hp_code hp_bt_session_flush(hp_bt_session *s, int id, hp_err *e)
{
	try {
		return flush(s, id, e);
	} catch (...) {
		return from_exception(e, "cannot flush the torrent's files");
	}
}

extern "C" hp_code hp_bt_session_poll(hp_bt_session *s, int wait_ms, hp_bt_event_fn *fn, void *ud, hp_err *e)
{
	try {
		return poll(s, wait_ms, fn, ud);
	} catch (...) {
		return from_exception(e, "cannot read the session's alerts");
	}
}

extern "C" hp_code hp_bt_session_save_resume(hp_bt_session *s, int id, int wait_ms, hp_buf *out, hp_err *e)
{
	try {
		return save_resume(s, id, wait_ms, out, e);
	} catch (...) {
		return from_exception(e, "cannot save resume data");
	}
}
