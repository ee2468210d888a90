/* hp_dagpb: the dag-pb codec (IPLD DAG-PB: PBNode and PBLink), in the form
 * kubo writes it, and a strict decoder for blocks from elsewhere.
 *
 *   message PBLink { optional bytes Hash = 1; optional string Name = 2;
 *                    optional uint64 Tsize = 3; }
 *   message PBNode { repeated PBLink Links = 2; optional bytes Data = 1; }
 *
 * Encoding writes every link (field 2) before Data (field 1), as Go and JS
 * do, and each link's fields in order; a field is written when its has_
 * flag is set. kubo always sets Name (even "") and Tsize. The encoder does
 * not sort links: the caller orders them (directories: bytewise by name).
 *
 * The decoder accepts exactly what the encoder can write (so a decoded block
 * re-encodes to the same bytes) and refuses, with HP_E_DATA and the offset:
 *   - unknown fields and wrong wire types (PBNode and PBLink);
 *   - Links after Data, a second Data, a repeated or out-of-order PBLink
 *     field (Hash, Name, Tsize), a link without Hash or whose Hash is not
 *     exactly one CID;
 *   - varints that are truncated, over 10 bytes, overflow 64 bits or are not
 *     minimal (go-codec-dagpb accepts non-minimal ones; no encoder writes
 *     them), lengths past the end of their message;
 *   - blocks over HP_DAGPB_MAX_BLOCK.
 * Like go-codec-dagpb, which kubo uses, it refuses Data before Links (the
 * spec asks decoders to accept both orders; no IPFS implementation in use
 * writes or reads that form) and leaves the links in the order found. */
#ifndef HP_DAGPB_H
#define HP_DAGPB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hp_buf.h"
#include "hp_err.h"
#include "hp_multiformats.h"

/* 2 MiB: the most a block may be (bitswap, trustless gateways). */
#define HP_DAGPB_MAX_BLOCK (2u << 20)

typedef struct hp_pblink {
	const uint8_t *hash;  /* binary CID */
	size_t hash_len;
	const char *name;     /* bytes (not necessarily UTF-8); valid when has_name */
	size_t name_len;
	uint64_t tsize;       /* valid when has_tsize */
	bool has_name;
	bool has_tsize;
	hp_cid cid;           /* decoding only: hash, parsed */
} hp_pblink;

typedef struct hp_pbnode {
	hp_pblink *links;     /* decoding: malloc'ed (NULL when nlinks is 0) */
	size_t nlinks;
	const uint8_t *data;  /* valid when has_data (may be empty) */
	size_t data_len;
	bool has_data;
} hp_pbnode;

/* ---- protobuf pieces (hp_unixfs uses them too) ---- */

/* A protobuf varint from p[0..n): at most 10 bytes, no overflow past 64
 * bits, minimally encoded. Returns the bytes used, 0 when it is not. */
size_t hp_pb_varint_get(const uint8_t *p, size_t n, uint64_t *v);
/* Bytes of a length-delimited field: key + varint(len) + len. */
size_t hp_pb_bytes_field_len(size_t len);

/* ---- encoding ---- */

/* Bytes that link l takes in a PBNode, its field key and length included
 * (what boxo's "block" size estimation adds per directory entry). */
size_t hp_dagpb_link_len(const hp_pblink *l);
/* Bytes of the whole encoded node. */
size_t hp_dagpb_encoded_len(const hp_pbnode *n);
/* Append the encoded node to out. */
hp_code hp_dagpb_encode(const hp_pbnode *n, hp_buf *out, hp_err *e);

/* ---- decoding ---- */

/* Decode the block p[0..n) into out: the links array is malloc'ed, every
 * pointer in it and out->data point into p. Free with hp_pbnode_free. */
hp_code hp_dagpb_decode(const uint8_t *p, size_t n, hp_pbnode *out, hp_err *e);
void hp_pbnode_free(hp_pbnode *n);

#endif
