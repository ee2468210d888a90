/* hp_sign: Ed25519 keys and signatures.
 *
 * - Keys: libsodium does the curve arithmetic; the seed and secret key live in
 *   sodium_malloc'ed memory (guard pages, mlock, read-only outside creation)
 *   and are wiped when freed. Private keys are stored as PEM PKCS#8
 *   ("PRIVATE KEY", exactly what `openssl genpkey -algorithm ed25519` writes)
 *   or, with a passphrase, encrypted PKCS#8 ("ENCRYPTED PRIVATE KEY": PBES2,
 *   scrypt N=2^14 r=8 p=1, AES-256-CBC); OpenSSL's libcrypto parses and
 *   encrypts PKCS#8. Public keys are PEM SPKI ("PUBLIC KEY").
 * - Signatures: plain Ed25519 (RFC 8032) over bytes, and minisign-compatible
 *   detached signatures of files ("ED": Ed25519 over the BLAKE2b-512 of the
 *   file, read in a stream, plus a global signature over signature || trusted
 *   comment), which the real `minisign -V` verifies.
 *
 * Key id: the first 8 bytes of SHA-256(public key), as 16 lower-case hex
 * digits. That is also the minisign key id: the 8 key-number bytes stored in
 * minisign blobs are those 8 bytes in reverse order, so that minisign, which
 * prints its key number as a little-endian 64-bit integer in hex, shows the
 * same 16 digits (in upper case). From a shell:
 *   openssl pkey -pubin -in k.pub -outform DER | tail -c 32 | sha256sum | cut -c1-16
 */
#ifndef HP_SIGN_H
#define HP_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hp_buf.h"
#include "hp_err.h"

#define HP_SIGN_PUBLIC_BYTES 32
#define HP_SIGN_SEED_BYTES 32
#define HP_SIGN_BYTES 64
/* The most bytes a key file (private or public) may have. */
#define HP_KEY_FILE_MAX (64u * 1024)
/* The longest passphrase, in bytes (without the terminator). */
#define HP_PASSPHRASE_MAX 1023
/* minisign's limit on the trusted comment (8192 with its prefix and newline). */
#define HP_MINISIGN_COMMENT_MAX 8172

typedef struct hp_key hp_key;

/* sodium_init and the like; idempotent and thread-safe. Every other function
 * calls it, so calling it first is only needed to catch the error early. */
hp_code hp_sign_init(hp_err *e);

/* A new random key. */
hp_code hp_key_generate(hp_key **out, hp_err *e);
/* The key of a 32-byte seed (RFC 8032's "secret key"). */
hp_code hp_key_from_seed(const uint8_t seed[32], hp_key **out, hp_err *e);

/* Parse a PEM private key: PKCS#8 "PRIVATE KEY" or "ENCRYPTED PRIVATE KEY".
 * Other key types, public keys, certificates and malformed PEM are HP_E_DATA
 * ("the key is an RSA key, not Ed25519"); a wrong passphrase is HP_E_DATA
 * ("cannot decrypt the key: wrong passphrase?"); an encrypted key and a NULL
 * passphrase is HP_E_USAGE. Never reads past len. */
hp_code hp_key_parse_pem(const char *pem, size_t len, const char *passphrase, hp_key **out,
			 hp_err *e);

/* Does this PEM text hold an encrypted private key? */
bool hp_key_pem_is_encrypted(const char *pem, size_t len);

/* Asked for the passphrase only when the key turns out to be encrypted: write
 * a NUL-terminated passphrase of at most size-1 bytes into buf (sodium memory,
 * wiped afterwards). what names the key ("'k.pem'"). Return HP_OK, or an
 * error that hp_key_load_cb passes on. */
typedef hp_code hp_passphrase_fn(void *ctx, const char *what, char *buf, size_t size, hp_err *e);

/* Read a private key file ("-" = stdin), at most HP_KEY_FILE_MAX bytes, into
 * secure memory, and parse it. A file that group or others may read, write
 * or execute is refused with HP_E_PERM, naming its mode (like ssh). Messages
 * name the file ("'k.pem' is an RSA key, not Ed25519"). */
hp_code hp_key_load(const char *path, const char *passphrase, hp_key **out, hp_err *e);
hp_code hp_key_load_cb(const char *path, hp_passphrase_fn *fn, void *ctx, hp_key **out,
		       hp_err *e);

/* PEM PKCS#8; with a non-NULL, non-empty passphrase, encrypted PKCS#8. The
 * output holds the secret: wipe it (sodium_memzero) before releasing it. */
hp_code hp_key_to_pem(const hp_key *k, const char *passphrase, hp_buf *out, hp_err *e);

void hp_key_public(const hp_key *k, uint8_t pk[32]);
void hp_key_free(hp_key *k);

/* SPKI PEM ("PUBLIC KEY"), byte for byte what `openssl pkey -pubout` writes. */
hp_code hp_pubkey_to_pem(const uint8_t pk[32], hp_buf *out, hp_err *e);

/* One public key: PEM SPKI, a minisign public key file (two lines) or its
 * base64 line, or the base64 of the raw 32 bytes; surrounding whitespace is
 * ignored. The key must be a valid Ed25519 point (small-order and
 * non-canonical encodings are refused). HP_E_DATA otherwise. */
hp_code hp_pubkey_parse(const char *text, size_t len, uint8_t pk[32], hp_err *e);
/* The same; messages name the key as what ("'keys.txt' line 3"). */
hp_code hp_pubkey_parse_named(const char *text, size_t len, const char *what, uint8_t pk[32],
			      hp_err *e);
/* The same for a file ("-" = stdin); messages name the file. */
hp_code hp_pubkey_load(const char *path, uint8_t pk[32], hp_err *e);

/* The public key of a key file: a private key (read and checked as
 * hp_key_load_cb does; fn is only asked when it is encrypted) or any public
 * key form hp_pubkey_parse reads. */
hp_code hp_key_load_public(const char *path, hp_passphrase_fn *fn, void *ctx, uint8_t pk[32],
			   hp_err *e);

/* The key id (see above): 16 lower-case hex digits and a NUL. */
void hp_key_id(const uint8_t pk[32], char out[17]);

/* Ed25519 (RFC 8032, pure). The fresh signature is verified before it is
 * returned; a failure there is HP_E_INTERNAL and sig is zeroed. */
hp_code hp_sign_bytes(const hp_key *k, const void *msg, size_t len, uint8_t sig[64], hp_err *e);
bool hp_verify_bytes(const uint8_t pk[32], const void *msg, size_t len, const uint8_t sig[64]);

/* --- minisign ---------------------------------------------------------- */

/* The public key file that `minisign -V -p FILE` reads:
 * "untrusted comment: minisign public key <key id>\n<base64>\n". */
hp_code hp_minisign_pubkey(const uint8_t pk[32], hp_buf *out, hp_err *e);

/* The default trusted comment of minisign 0.11:
 * "timestamp:<unix time>\tfile:<base name>\thashed". Bytes of the name that
 * minisign would refuse (control characters, invalid UTF-8) become '?'. */
hp_code hp_minisign_default_comment(const char *path, long long timestamp, hp_buf *out,
				    hp_err *e);

/* Is s acceptable as a trusted comment (minisign's rules: valid UTF-8, no
 * control character but tab, shorter than HP_MINISIGN_COMMENT_MAX)? */
bool hp_minisign_comment_ok(const char *s);

/* The text of a detached signature (the .minisig file) of everything read
 * from fd, hashed in a stream. trusted_comment NULL means the default for
 * name, timestamped now; a comment minisign would refuse is HP_E_USAGE. name
 * appears in messages and the default comment. Both signatures are verified
 * before the text is returned. */
hp_code hp_minisign_sign_fd(const hp_key *k, int fd, const char *name,
			    const char *trusted_comment, hp_buf *out, hp_err *e);
/* The same for a file (a regular file; "-" = stdin). */
hp_code hp_minisign_sign_file(const hp_key *k, const char *path, const char *trusted_comment,
			      hp_buf *out, hp_err *e);

/* Check the detached signature sig[0..siglen) of the file at path against pk.
 * HP_OK when both signatures hold; HP_E_INVALID when they do not or the key
 * id differs; HP_E_DATA when the signature text is malformed or a legacy
 * (non-prehashed) one. trusted_comment, when non-NULL, receives the comment
 * (only trustworthy on HP_OK). */
hp_code hp_minisign_verify_file(const uint8_t pk[32], const char *path, const char *sig,
				size_t siglen, hp_buf *trusted_comment, hp_err *e);

#endif
