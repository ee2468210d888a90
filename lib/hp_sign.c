/* hp_sign: Ed25519 keys (libsodium), PKCS#8/SPKI PEM (OpenSSL libcrypto) and
 * minisign-compatible detached signatures. See hp_sign.h. */
#include "hp_sign.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "hp_io.h"
#include "banned.h"

struct hp_key {
	uint8_t seed[32];
	uint8_t pk[32];
	uint8_t sk[64];  /* libsodium's form: seed || public key */
};

/* DER prefixes of the only encodings we write (RFC 8410). */
static const uint8_t P8_PREFIX[16] = {
	0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06,
	0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
};
static const uint8_t SPKI_PREFIX[12] = {
	0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
};

/* Encrypted PKCS#8 we write: scrypt N=2^14 r=8 p=1 (16 MiB), AES-256-CBC. */
#define SCRYPT_N 16384
#define SCRYPT_R 8
#define SCRYPT_P 1
/* What we are willing to spend on a key file's key derivation. */
#define KDF_MAX_ITER 10000000ULL
#define KDF_MAX_SCRYPT_WORK (1ULL << 22)  /* N * r * p; ours is 2^17 */

#define MS_ALG_HASHED "ED"
#define MS_ALG_LEGACY "Ed"
#define MS_COMMENT_PREFIX "untrusted comment: "
#define MS_TRUSTED_PREFIX "trusted comment: "
#define MS_SIG_MAX 16384  /* bytes of a .minisig we accept */

#define B64 sodium_base64_VARIANT_ORIGINAL

hp_code hp_sign_init(hp_err *e)
{
	if (sodium_init() < 0)
		return hp_fail(e, HP_E_INTERNAL, "cannot initialise libsodium");
	return HP_OK;
}

/* ---- keys ------------------------------------------------------------- */

static hp_code key_new(const uint8_t *seed, hp_key **out, hp_err *e)
{
	hp_code rc = hp_sign_init(e);
	if (rc)
		return rc;
	hp_key *k = sodium_malloc(sizeof *k);
	if (!k)
		return hp_fail_nomem(e);
	if (seed)
		memcpy(k->seed, seed, sizeof k->seed);
	else
		randombytes_buf(k->seed, sizeof k->seed);
	if (crypto_sign_seed_keypair(k->pk, k->sk, k->seed) != 0) {
		sodium_free(k);
		return hp_fail(e, HP_E_INTERNAL, "cannot derive an Ed25519 key pair");
	}
	sodium_mprotect_readonly(k);
	*out = k;
	return HP_OK;
}

hp_code hp_key_generate(hp_key **out, hp_err *e)
{
	return key_new(NULL, out, e);
}

hp_code hp_key_from_seed(const uint8_t seed[32], hp_key **out, hp_err *e)
{
	return key_new(seed, out, e);
}

void hp_key_free(hp_key *k)
{
	if (k)
		sodium_free(k);  /* makes it writable, wipes it, unmaps it */
}

void hp_key_public(const hp_key *k, uint8_t pk[32])
{
	memcpy(pk, k->pk, 32);
}

static void key_id_bytes(const uint8_t pk[32], uint8_t id[8])
{
	uint8_t h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, pk, 32);
	memcpy(id, h, 8);
}

void hp_key_id(const uint8_t pk[32], char out[17])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t id[8];
	key_id_bytes(pk, id);
	for (int i = 0; i < 8; i++) {
		out[2 * i] = hex[id[i] >> 4];
		out[2 * i + 1] = hex[id[i] & 15];
	}
	out[16] = '\0';
}

/* minisign's key number: the id bytes reversed, so that minisign, which
 * prints le64_load(keynum) in hex, shows the same digits as hp_key_id. */
static void minisign_keynum(const uint8_t pk[32], uint8_t keynum[8])
{
	uint8_t id[8];
	key_id_bytes(pk, id);
	for (int i = 0; i < 8; i++)
		keynum[i] = id[7 - i];
}

hp_code hp_sign_bytes(const hp_key *k, const void *msg, size_t len, uint8_t sig[64], hp_err *e)
{
	if (crypto_sign_detached(sig, NULL, msg, len, k->sk) != 0 ||
	    crypto_sign_verify_detached(sig, msg, len, k->pk) != 0) {
		sodium_memzero(sig, 64);
		return hp_fail(e, HP_E_INTERNAL, "a fresh Ed25519 signature does not verify");
	}
	return HP_OK;
}

bool hp_verify_bytes(const uint8_t pk[32], const void *msg, size_t len, const uint8_t sig[64])
{
	if (sodium_init() < 0)
		return false;
	return crypto_sign_verify_detached(sig, msg, len, pk) == 0;
}

/* ---- secure scratch memory -------------------------------------------- */

typedef struct sbuf {
	char *p;
	size_t len;
	size_t cap;
} sbuf;

static hp_code sbuf_alloc(sbuf *s, size_t cap, hp_err *e)
{
	s->p = sodium_malloc(cap + 1);
	s->len = 0;
	s->cap = cap;
	if (!s->p)
		return hp_fail_nomem(e);
	s->p[0] = '\0';
	return HP_OK;
}

static void sbuf_free(sbuf *s)
{
	if (s->p)
		sodium_free(s->p);
	s->p = NULL;
	s->len = s->cap = 0;
}

/* ---- PEM -------------------------------------------------------------- */

/* Append a PEM block; out is grown once up front so that no copy of the
 * (possibly secret) text is left behind by a reallocation. */
static hp_code pem_encode(const char *label, const uint8_t *der, size_t n, hp_buf *out, hp_err *e)
{
	size_t b64len = sodium_base64_ENCODED_LEN(n, B64);
	size_t lines = (b64len - 1 + 63) / 64;
	size_t need = 2 * (strlen(label) + 17) + (b64len - 1) + lines;
	sbuf b = { NULL, 0, 0 };
	hp_code rc = hp_buf_grow(out, need, e);
	if (rc)
		return rc;
	if ((rc = sbuf_alloc(&b, b64len, e)))
		return rc;
	sodium_bin2base64(b.p, b64len, der, n, B64);
	size_t len = strlen(b.p);
	rc = hp_buf_addf(out, e, "-----BEGIN %s-----\n", label);
	for (size_t i = 0; !rc && i < len; i += 64) {
		size_t m = len - i < 64 ? len - i : 64;
		rc = hp_buf_add(out, b.p + i, m, e);
		if (!rc)
			rc = hp_buf_addch(out, '\n', e);
	}
	if (!rc)
		rc = hp_buf_addf(out, e, "-----END %s-----\n", label);
	sbuf_free(&b);
	return rc;
}

typedef struct pem_block {
	char *name;
	char *header;
	unsigned char *data;
	long len;
} pem_block;

static void pem_block_free(pem_block *b)
{
	OPENSSL_secure_free(b->name);
	OPENSSL_secure_free(b->header);
	if (b->data)
		OPENSSL_secure_clear_free(b->data, (size_t)b->len);
	memset(b, 0, sizeof *b);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

/* Read the PEM blocks of text and keep the first whose name satisfies want
 * (or the first block of all when none does, so the caller can say what it
 * is). *count gets how many blocks matched. */
static hp_code pem_find(const char *text, size_t len, const char *what,
			bool (*want)(const char *name), pem_block *out, int *count, hp_err *e)
{
	memset(out, 0, sizeof *out);
	*count = 0;
	if (len == 0)
		return hp_fail(e, HP_E_DATA, "%s is empty", what);
	if (len > HP_KEY_FILE_MAX)
		return hp_fail(e, HP_E_DATA, "%s is larger than the limit of %u bytes", what,
			       HP_KEY_FILE_MAX);
	BIO *bio = BIO_new_mem_buf(text, (int)len);
	if (!bio)
		return hp_fail_nomem(e);
	hp_code rc = HP_OK;
	for (int i = 0; i < 64; i++) {
		pem_block b = { NULL, NULL, NULL, 0 };
		ERR_clear_error();
		if (!PEM_read_bio_ex(bio, &b.name, &b.header, &b.data, &b.len,
				     PEM_FLAG_SECURE | PEM_FLAG_EAY_COMPATIBLE)) {
			unsigned long err = ERR_peek_last_error();
			bool eof = ERR_GET_LIB(err) == ERR_LIB_PEM &&
				   ERR_GET_REASON(err) == PEM_R_NO_START_LINE;
			if (eof && i == 0)
				rc = hp_fail(e, HP_E_DATA, "%s is not PEM: no '-----BEGIN' line", what);
			else if (!eof)
				rc = hp_fail(e, HP_E_DATA, "%s is not valid PEM: corrupt or truncated", what);
			break;
		}
		if (want(b.name)) {
			if (++*count == 1) {
				pem_block_free(out);
				*out = b;
				continue;
			}
		} else if (!out->name) {
			*out = b;
			continue;
		}
		pem_block_free(&b);
	}
	ERR_clear_error();
	BIO_free(bio);
	if (rc)
		pem_block_free(out);
	return rc;
}

/* "an RSA key", "a DSA key", ... for messages. */
static void key_type_phrase(const ASN1_OBJECT *obj, char *buf, size_t n)
{
	const char *s = NULL;
	switch (OBJ_obj2nid(obj)) {
	case NID_rsaEncryption:
	case NID_rsassaPss:
		s = "an RSA key";
		break;
	case NID_X9_62_id_ecPublicKey:
		s = "an EC key";
		break;
	case NID_dsa:
		s = "a DSA key";
		break;
	case NID_dhKeyAgreement:
	case NID_dhpublicnumber:
		s = "a DH key";
		break;
	case NID_X25519:
		s = "an X25519 key";
		break;
	case NID_X448:
		s = "an X448 key";
		break;
	case NID_ED448:
		s = "an Ed448 key";
		break;
	case NID_sm2:
		s = "an SM2 key";
		break;
	default:
		break;
	}
	if (s) {
		snprintf(buf, n, "%s", s);
		return;
	}
	char oid[80];
	if (OBJ_obj2txt(oid, sizeof oid, obj, 0) <= 0)
		snprintf(oid, sizeof oid, "unknown");
	char q[100];
	hp_quote(oid, strlen(oid), q, sizeof q);
	snprintf(buf, n, "a key of type '%s'", q);
}

static hp_code p8_to_key(const PKCS8_PRIV_KEY_INFO *p8, const char *what, hp_key **out, hp_err *e)
{
	const ASN1_OBJECT *obj;
	const unsigned char *pk;
	int pklen;
	const X509_ALGOR *alg;
	if (!PKCS8_pkey_get0(&obj, &pk, &pklen, &alg, p8))
		return hp_fail(e, HP_E_DATA, "%s is not a valid PKCS#8 private key", what);
	if (OBJ_obj2nid(obj) != NID_ED25519) {
		char t[160];
		key_type_phrase(obj, t, sizeof t);
		return hp_fail(e, HP_E_DATA, "%s is %s, not Ed25519", what, t);
	}
	int ptype;
	X509_ALGOR_get0(NULL, &ptype, NULL, alg);
	if (ptype != V_ASN1_UNDEF || pklen != 34 || pk[0] != 0x04 || pk[1] != 0x20)
		return hp_fail(e, HP_E_DATA, "%s is not a valid Ed25519 private key", what);
	return key_new(pk + 2, out, e);
}

static hp_code parse_p8_der(const unsigned char *der, long len, const char *what, hp_key **out,
			    hp_err *e)
{
	const unsigned char *p = der;
	PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, len);
	hp_code rc;
	if (!p8 || p != der + len)
		rc = hp_fail(e, HP_E_DATA, "%s is not a valid PKCS#8 private key", what);
	else
		rc = p8_to_key(p8, what, out, e);
	PKCS8_PRIV_KEY_INFO_free(p8);
	ERR_clear_error();
	return rc;
}

/* The unsigned value of an ASN.1 INTEGER, or UINT64_MAX if it has none. */
static uint64_t asn1_u64(const ASN1_INTEGER *a)
{
	uint64_t v;
	if (!a || !ASN1_INTEGER_get_uint64(&v, a))
		return UINT64_MAX;
	return v;
}

/* The DER of an algorithm's SEQUENCE parameter, or NULL. */
static const ASN1_STRING *alg_seq(const X509_ALGOR *alg)
{
	int ptype;
	const void *pval;
	X509_ALGOR_get0(NULL, &ptype, &pval, alg);
	return ptype == V_ASN1_SEQUENCE ? pval : NULL;
}

/* Refuse what we cannot decrypt, and key derivations that would take
 * minutes: a key file is data, and data must not hang the tool. */
static hp_code check_pbe(const X509_SIG *sig, const char *what, hp_err *e)
{
	const X509_ALGOR *alg;
	X509_SIG_get0(sig, &alg, NULL);
	const ASN1_OBJECT *aobj;
	X509_ALGOR_get0(&aobj, NULL, NULL, alg);
	const ASN1_STRING *seq = alg_seq(alg);
	if (!seq)
		return hp_fail(e, HP_E_DATA, "%s has malformed encryption parameters", what);
	const unsigned char *p = ASN1_STRING_get0_data(seq);
	long n = ASN1_STRING_length(seq);
	hp_code rc = HP_OK;
	uint64_t iter = 0;
	if (OBJ_obj2nid(aobj) != NID_pbes2) {
		/* PBES1 (PKCS#5 v1.5 / PKCS#12 schemes): salt and iteration count */
		PBEPARAM *pbe = d2i_PBEPARAM(NULL, &p, n);
		if (!pbe)
			rc = hp_fail(e, HP_E_DATA, "%s has malformed encryption parameters", what);
		else
			iter = asn1_u64(pbe->iter);
		PBEPARAM_free(pbe);
		goto out;
	}
	PBE2PARAM *pbe2 = d2i_PBE2PARAM(NULL, &p, n);
	if (!pbe2) {
		rc = hp_fail(e, HP_E_DATA, "%s has malformed encryption parameters", what);
		goto out;
	}
	const ASN1_OBJECT *cobj;
	X509_ALGOR_get0(&cobj, NULL, NULL, pbe2->encryption);
	if (!EVP_get_cipherbyobj(cobj)) {
		rc = hp_fail(e, HP_E_DATA, "%s is encrypted with an unsupported cipher", what);
		goto out2;
	}
	const ASN1_OBJECT *kobj;
	X509_ALGOR_get0(&kobj, NULL, NULL, pbe2->keyfunc);
	seq = alg_seq(pbe2->keyfunc);
	if (!seq) {
		rc = hp_fail(e, HP_E_DATA, "%s has malformed encryption parameters", what);
		goto out2;
	}
	p = ASN1_STRING_get0_data(seq);
	n = ASN1_STRING_length(seq);
	if (OBJ_obj2nid(kobj) == NID_id_pbkdf2) {
		PBKDF2PARAM *kdf = d2i_PBKDF2PARAM(NULL, &p, n);
		if (!kdf)
			rc = hp_fail(e, HP_E_DATA, "%s has malformed encryption parameters", what);
		else
			iter = asn1_u64(kdf->iter);
		PBKDF2PARAM_free(kdf);
	} else if (OBJ_obj2nid(kobj) == NID_id_scrypt) {
		SCRYPT_PARAMS *kdf = d2i_SCRYPT_PARAMS(NULL, &p, n);
		if (!kdf) {
			rc = hp_fail(e, HP_E_DATA, "%s has malformed encryption parameters", what);
		} else {
			uint64_t N = asn1_u64(kdf->costParameter), r = asn1_u64(kdf->blockSize);
			uint64_t pp = asn1_u64(kdf->parallelizationParameter);
			if (N > (1u << 24) || r > 256 || pp > 256 || N * r * pp > KDF_MAX_SCRYPT_WORK)
				rc = hp_fail(e, HP_E_DATA,
					     "%s asks for scrypt parameters beyond the limit "
					     "(N*r*p at most %llu)", what, KDF_MAX_SCRYPT_WORK);
		}
		SCRYPT_PARAMS_free(kdf);
	} else {
		rc = hp_fail(e, HP_E_DATA, "%s uses an unsupported key derivation function", what);
	}
out2:
	PBE2PARAM_free(pbe2);
out:
	if (!rc && iter > KDF_MAX_ITER)
		rc = hp_fail(e, HP_E_DATA,
			     "%s asks for %llu key derivation iterations, more than the limit of %llu",
			     what, (unsigned long long)iter, KDF_MAX_ITER);
	ERR_clear_error();
	return rc;
}

static hp_code parse_encrypted_der(const unsigned char *der, long len, const char *what,
				   hp_passphrase_fn *fn, void *ctx, hp_key **out, hp_err *e)
{
	const unsigned char *p = der;
	X509_SIG *sig = d2i_X509_SIG(NULL, &p, len);
	hp_code rc;
	sbuf pass = { NULL, 0, 0 };
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	if (!sig || p != der + len) {
		rc = hp_fail(e, HP_E_DATA, "%s is not a valid encrypted PKCS#8 private key", what);
		goto out;
	}
	if ((rc = check_pbe(sig, what, e)))
		goto out;
	if ((rc = sbuf_alloc(&pass, HP_PASSPHRASE_MAX, e)))
		goto out;
	if ((rc = fn(ctx, what, pass.p, pass.cap + 1, e)))
		goto out;
	pass.p[pass.cap] = '\0';
	p8 = PKCS8_decrypt(sig, pass.p, (int)strlen(pass.p));
	if (!p8) {
		rc = hp_fail(e, HP_E_DATA, "cannot decrypt %s: wrong passphrase?", what);
		goto out;
	}
	rc = p8_to_key(p8, what, out, e);
out:
	PKCS8_PRIV_KEY_INFO_free(p8);
	X509_SIG_free(sig);
	sbuf_free(&pass);
	ERR_clear_error();
	return rc;
}

static bool is_private_name(const char *name)
{
	return ends_with(name, "PRIVATE KEY");
}

static hp_code parse_private(const char *pem, size_t len, const char *what, hp_passphrase_fn *fn,
			     void *ctx, hp_key **out, hp_err *e)
{
	hp_code rc = hp_sign_init(e);
	if (rc)
		return rc;
	pem_block b;
	int count;
	if ((rc = pem_find(pem, len, what, is_private_name, &b, &count, e)))
		return rc;
	char q[80];
	hp_quote(b.name, strlen(b.name), q, sizeof q);
	if (count > 1) {
		rc = hp_fail(e, HP_E_DATA, "%s holds more than one private key", what);
	} else if (!count && strcmp(b.name, "PUBLIC KEY") == 0) {
		rc = hp_fail(e, HP_E_DATA, "%s is a public key, not a private key", what);
	} else if (!count) {
		rc = hp_fail(e, HP_E_DATA, "%s holds a PEM '%s' block, not a private key", what, q);
	} else if (b.header && b.header[0]) {
		rc = hp_fail(e, HP_E_DATA, "%s has PEM headers: not a PKCS#8 key", what);
	} else if (strcmp(b.name, "PRIVATE KEY") == 0) {
		rc = parse_p8_der(b.data, b.len, what, out, e);
	} else if (strcmp(b.name, "ENCRYPTED PRIVATE KEY") == 0) {
		rc = parse_encrypted_der(b.data, b.len, what, fn, ctx, out, e);
	} else if (strcmp(b.name, "RSA PRIVATE KEY") == 0) {
		rc = hp_fail(e, HP_E_DATA, "%s is an RSA key, not Ed25519", what);
	} else if (strcmp(b.name, "EC PRIVATE KEY") == 0) {
		rc = hp_fail(e, HP_E_DATA, "%s is an EC key, not Ed25519", what);
	} else if (strcmp(b.name, "DSA PRIVATE KEY") == 0) {
		rc = hp_fail(e, HP_E_DATA, "%s is a DSA key, not Ed25519", what);
	} else if (strcmp(b.name, "OPENSSH PRIVATE KEY") == 0) {
		rc = hp_fail(e, HP_E_DATA, "%s is an OpenSSH key, not a PEM PKCS#8 key", what);
	} else {
		rc = hp_fail(e, HP_E_DATA, "%s is a '%s', not a PKCS#8 Ed25519 key", what, q);
	}
	pem_block_free(&b);
	return rc;
}

static hp_code fixed_passphrase(void *ctx, const char *what, char *buf, size_t size, hp_err *e)
{
	const char *pass = ctx;
	if (!pass)
		return hp_fail(e, HP_E_USAGE, "%s is protected by a passphrase, and none was given",
			       what);
	size_t n = strlen(pass);
	if (n >= size)
		return hp_fail(e, HP_E_USAGE, "the passphrase is longer than %zu bytes", size - 1);
	memcpy(buf, pass, n + 1);
	return HP_OK;
}

hp_code hp_key_parse_pem(const char *pem, size_t len, const char *passphrase, hp_key **out,
			 hp_err *e)
{
	return parse_private(pem, len, "the key", fixed_passphrase, (void *)(uintptr_t)passphrase,
			     out, e);
}

bool hp_key_pem_is_encrypted(const char *pem, size_t len)
{
	static const char tag[] = "-----BEGIN ENCRYPTED PRIVATE KEY-----";
	return memmem(pem, len, tag, sizeof tag - 1) != NULL;
}

static void quote_name(const char *path, char *out, size_t n)
{
	char q[300];
	if (strcmp(path, "-") == 0) {
		snprintf(out, n, "<stdin>");
		return;
	}
	hp_quote(path, strlen(path), q, sizeof q);
	snprintf(out, n, "'%s'", q);
}

/* Read an open descriptor into secure memory, at most max bytes. */
static hp_code read_secure(int fd, const char *what, size_t max, sbuf *s, hp_err *e)
{
	hp_code rc = sbuf_alloc(s, max, e);
	if (rc)
		return rc;
	for (;;) {
		char probe;
		char *dst = s->len < s->cap ? s->p + s->len : &probe;
		size_t room = s->len < s->cap ? s->cap - s->len : 1;
		ssize_t n = read(fd, dst, room);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return hp_fail_errno(e, HP_E_IO, errno, "cannot read %s", what);
		}
		if (n == 0)
			break;
		if (dst == &probe) {
			sodium_memzero(&probe, 1);
			return hp_fail(e, HP_E_DATA, "%s is larger than the limit of %zu bytes", what,
				       max);
		}
		s->len += (size_t)n;
	}
	s->p[s->len] = '\0';
	return HP_OK;
}

/* Read a key file into secure memory; a private key must be 0600 or stricter. */
static hp_code load_secure(const char *path, const char *what, sbuf *s, hp_err *e)
{
	int fd = STDIN_FILENO;
	struct stat st;
	hp_code rc;
	if (strcmp(path, "-") != 0 && (rc = hp_open_regular(path, false, &fd, &st, e)))
		return rc;
	rc = read_secure(fd, what, HP_KEY_FILE_MAX, s, e);
	if (fd != STDIN_FILENO)
		close(fd);
	if (!rc && fd != STDIN_FILENO && (st.st_mode & 077) &&
	    memmem(s->p, s->len, "PRIVATE KEY-----", 16))
		rc = hp_fail(e, HP_E_PERM,
			     "%s has mode %04o: a private key must not be accessible by "
			     "group or others (chmod 600)",
			     what, (unsigned)(st.st_mode & 07777));
	return rc;
}

hp_code hp_key_load_cb(const char *path, hp_passphrase_fn *fn, void *ctx, hp_key **out,
		       hp_err *e)
{
	char what[320];
	quote_name(path, what, sizeof what);
	sbuf s = { NULL, 0, 0 };
	hp_code rc = load_secure(path, what, &s, e);
	if (!rc)
		rc = parse_private(s.p, s.len, what, fn, ctx, out, e);
	sbuf_free(&s);
	return rc;
}

hp_code hp_key_load(const char *path, const char *passphrase, hp_key **out, hp_err *e)
{
	return hp_key_load_cb(path, fixed_passphrase, (void *)(uintptr_t)passphrase, out, e);
}

hp_code hp_key_to_pem(const hp_key *k, const char *passphrase, hp_buf *out, hp_err *e)
{
	hp_code rc = hp_sign_init(e);
	if (rc)
		return rc;
	sbuf der = { NULL, 0, 0 };
	if ((rc = sbuf_alloc(&der, sizeof P8_PREFIX + 32, e)))
		return rc;
	memcpy(der.p, P8_PREFIX, sizeof P8_PREFIX);
	memcpy(der.p + sizeof P8_PREFIX, k->seed, 32);
	der.len = sizeof P8_PREFIX + 32;
	if (!passphrase || !*passphrase) {
		rc = pem_encode("PRIVATE KEY", (const uint8_t *)der.p, der.len, out, e);
		sbuf_free(&der);
		return rc;
	}
	const unsigned char *p = (const unsigned char *)der.p;
	PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)der.len);
	X509_ALGOR *pbe = NULL;
	X509_SIG *sig = NULL;
	unsigned char *enc = NULL;
	int n = 0;
	unsigned char salt[16];
	randombytes_buf(salt, sizeof salt);
	if (p8)
		pbe = PKCS5_pbe2_set_scrypt(EVP_aes_256_cbc(), salt, (int)sizeof salt, NULL,
					    SCRYPT_N, SCRYPT_R, SCRYPT_P);
	if (pbe) {
		sig = PKCS8_set0_pbe(passphrase, (int)strlen(passphrase), p8, pbe);
		if (!sig)
			X509_ALGOR_free(pbe);
	}
	if (sig)
		n = i2d_X509_SIG(sig, &enc);
	if (n > 0)
		rc = pem_encode("ENCRYPTED PRIVATE KEY", enc, (size_t)n, out, e);
	else
		rc = hp_fail(e, HP_E_INTERNAL, "cannot encrypt the private key");
	OPENSSL_free(enc);
	X509_SIG_free(sig);
	PKCS8_PRIV_KEY_INFO_free(p8);
	sbuf_free(&der);
	ERR_clear_error();
	return rc;
}

/* ---- public keys ------------------------------------------------------ */

hp_code hp_pubkey_to_pem(const uint8_t pk[32], hp_buf *out, hp_err *e)
{
	uint8_t der[sizeof SPKI_PREFIX + 32];
	memcpy(der, SPKI_PREFIX, sizeof SPKI_PREFIX);
	memcpy(der + sizeof SPKI_PREFIX, pk, 32);
	return pem_encode("PUBLIC KEY", der, sizeof der, out, e);
}

static hp_code check_point(const uint8_t pk[32], const char *what, hp_err *e)
{
	hp_code rc = hp_sign_init(e);
	if (rc)
		return rc;
	if (!crypto_core_ed25519_is_valid_point(pk))
		return hp_fail(e, HP_E_DATA, "%s is not a valid Ed25519 public key", what);
	return HP_OK;
}

static hp_code parse_spki_der(const unsigned char *der, long len, const char *what, uint8_t pk[32],
			      hp_err *e)
{
	const unsigned char *p = der;
	X509_PUBKEY *pub = d2i_X509_PUBKEY(NULL, &p, len);
	hp_code rc = HP_OK;
	ASN1_OBJECT *obj;
	const unsigned char *k;
	int klen;
	X509_ALGOR *alg;
	if (!pub || p != der + len || !X509_PUBKEY_get0_param(&obj, &k, &klen, &alg, pub)) {
		rc = hp_fail(e, HP_E_DATA, "%s is not a valid public key", what);
	} else if (OBJ_obj2nid(obj) != NID_ED25519) {
		char t[160];
		key_type_phrase(obj, t, sizeof t);
		rc = hp_fail(e, HP_E_DATA, "%s is %s, not Ed25519", what, t);
	} else {
		int ptype;
		X509_ALGOR_get0(NULL, &ptype, NULL, alg);
		if (ptype != V_ASN1_UNDEF || klen != 32)
			rc = hp_fail(e, HP_E_DATA, "%s is not a valid Ed25519 public key", what);
		else
			memcpy(pk, k, 32);
	}
	X509_PUBKEY_free(pub);
	ERR_clear_error();
	if (!rc)
		rc = check_point(pk, what, e);
	return rc;
}

/* Decode strict base64 of exactly want bytes (want <= 96). */
static bool b64_exact(const char *s, size_t n, uint8_t *out, size_t want)
{
	uint8_t tmp[96];
	size_t got;
	if (n == 0 || want > sizeof tmp || sodium_init() < 0)
		return false;
	if (sodium_base642bin(tmp, sizeof tmp, s, n, NULL, &got, NULL, B64) != 0 || got != want)
		return false;
	memcpy(out, tmp, want);
	return true;
}

/* The base64 line of a minisign public key: "Ed" || keynum || pk. */
static bool minisign_pk_line(const char *s, size_t n, uint8_t pk[32])
{
	uint8_t blob[42];
	if (!b64_exact(s, n, blob, sizeof blob) || memcmp(blob, MS_ALG_LEGACY, 2) != 0)
		return false;
	memcpy(pk, blob + 10, 32);
	return true;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_public_name(const char *name)
{
	return strcmp(name, "PUBLIC KEY") == 0;
}

static hp_code pubkey_parse(const char *text, size_t len, const char *what, uint8_t pk[32],
			    hp_err *e)
{
	size_t a = 0, z = len;
	while (a < z && is_space(text[a]))
		a++;
	while (z > a && is_space(text[z - 1]))
		z--;
	if (a == z)
		return hp_fail(e, HP_E_DATA, "%s is empty", what);
	const char *s = text + a;
	size_t n = z - a;
	if (memmem(s, n, "-----BEGIN ", 11)) {
		pem_block b;
		int count;
		hp_code rc = pem_find(s, n, what, is_public_name, &b, &count, e);
		if (rc)
			return rc;
		char q[80];
		hp_quote(b.name, strlen(b.name), q, sizeof q);
		if (count > 1)
			rc = hp_fail(e, HP_E_DATA, "%s holds more than one public key", what);
		else if (!count && is_private_name(b.name))
			rc = hp_fail(e, HP_E_DATA, "%s is a private key, not a public key", what);
		else if (!count)
			rc = hp_fail(e, HP_E_DATA, "%s holds a PEM '%s' block, not a public key", what, q);
		else
			rc = parse_spki_der(b.data, b.len, what, pk, e);
		pem_block_free(&b);
		return rc;
	}
	static const char pfx[] = MS_COMMENT_PREFIX;
	if (n >= sizeof pfx - 1 && memcmp(s, pfx, sizeof pfx - 1) == 0) {
		const char *nl = memchr(s, '\n', n);
		if (!nl)
			return hp_fail(e, HP_E_DATA, "%s: a minisign public key has two lines", what);
		const char *line = nl + 1;
		size_t m = (size_t)(s + n - line);
		while (m && is_space(line[m - 1]))
			m--;
		if (!minisign_pk_line(line, m, pk))
			return hp_fail(e, HP_E_DATA, "%s is not a valid minisign Ed25519 public key",
				       what);
		return check_point(pk, what, e);
	}
	uint8_t blob[42];
	if (b64_exact(s, n, pk, 32))
		return check_point(pk, what, e);
	if (minisign_pk_line(s, n, blob)) {
		memcpy(pk, blob, 32);
		return check_point(pk, what, e);
	}
	return hp_fail(e, HP_E_DATA,
		       "%s is not a public key (PEM, minisign, or base64 of 32 bytes)", what);
}

hp_code hp_pubkey_parse(const char *text, size_t len, uint8_t pk[32], hp_err *e)
{
	return pubkey_parse(text, len, "the public key", pk, e);
}

hp_code hp_pubkey_load(const char *path, uint8_t pk[32], hp_err *e)
{
	char what[320];
	quote_name(path, what, sizeof what);
	hp_buf b;
	hp_buf_init(&b, HP_KEY_FILE_MAX);
	hp_code rc = hp_read_file(path, HP_KEY_FILE_MAX, &b, e);
	if (!rc)
		rc = pubkey_parse(b.data, b.len, what, pk, e);
	hp_buf_release(&b);
	return rc;
}

hp_code hp_key_load_public(const char *path, hp_passphrase_fn *fn, void *ctx, uint8_t pk[32],
			   hp_err *e)
{
	char what[320];
	quote_name(path, what, sizeof what);
	sbuf s = { NULL, 0, 0 };
	hp_code rc = load_secure(path, what, &s, e);
	if (!rc && memmem(s.p, s.len, "PRIVATE KEY-----", 16)) {
		hp_key *k = NULL;
		rc = parse_private(s.p, s.len, what, fn, ctx, &k, e);
		if (!rc)
			hp_key_public(k, pk);
		hp_key_free(k);
	} else if (!rc) {
		rc = pubkey_parse(s.p, s.len, what, pk, e);
	}
	sbuf_free(&s);
	return rc;
}

hp_code hp_pubkey_parse_named(const char *text, size_t len, const char *what, uint8_t pk[32],
			      hp_err *e)
{
	return pubkey_parse(text, len, what, pk, e);
}

/* ---- minisign --------------------------------------------------------- */

static hp_code add_b64(hp_buf *out, const uint8_t *p, size_t n, hp_err *e)
{
	size_t sz = sodium_base64_ENCODED_LEN(n, B64);
	hp_code rc = hp_buf_grow(out, sz, e);
	if (rc)
		return rc;
	sodium_bin2base64(out->data + out->len, sz, p, n, B64);
	out->len += strlen(out->data + out->len);
	return HP_OK;
}

hp_code hp_minisign_pubkey(const uint8_t pk[32], hp_buf *out, hp_err *e)
{
	hp_code rc = hp_sign_init(e);
	if (rc)
		return rc;
	uint8_t blob[42];
	char id[17];
	memcpy(blob, MS_ALG_LEGACY, 2);
	minisign_keynum(pk, blob + 2);
	memcpy(blob + 10, pk, 32);
	hp_key_id(pk, id);
	if ((rc = hp_buf_addf(out, e, MS_COMMENT_PREFIX "minisign public key %s\n", id)) ||
	    (rc = add_b64(out, blob, sizeof blob, e)))
		return rc;
	return hp_buf_addch(out, '\n', e);
}

/* Length of the UTF-8 sequence at p that minisign accepts in a comment (a
 * printable character or tab), or 0. */
static size_t comment_char(const unsigned char *p, size_t n)
{
	unsigned c = p[0];
	if (c == '\t' || (c >= 0x20 && c <= 0x7e))
		return 1;
	if (c < 0x80)
		return 0;
	size_t len = hp_utf8_char_len(p, n);
	/* no C1 control characters (U+0080..U+009F) either */
	if (len == 2 && c == 0xc2 && p[1] <= 0x9f)
		return 0;
	return len > 1 ? len : 0;
}

static bool comment_ok(const char *s, size_t n)
{
	if (n >= HP_MINISIGN_COMMENT_MAX)
		return false;
	for (size_t i = 0; i < n;) {
		size_t l = comment_char((const unsigned char *)s + i, n - i);
		if (!l)
			return false;
		i += l;
	}
	return true;
}

bool hp_minisign_comment_ok(const char *s)
{
	return comment_ok(s, strlen(s));
}

hp_code hp_minisign_default_comment(const char *path, long long timestamp, hp_buf *out,
				    hp_err *e)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	size_t n = strlen(base);
	hp_code rc = hp_buf_addf(out, e, "timestamp:%lld\tfile:", timestamp);
	for (size_t i = 0; !rc && i < n;) {
		size_t l = comment_char((const unsigned char *)base + i, n - i);
		if (!l || base[i] == '\t') {
			rc = hp_buf_addch(out, '?', e);
			i++;
		} else {
			rc = hp_buf_add(out, base + i, l, e);
			i += l;
		}
	}
	if (!rc)
		rc = hp_buf_adds(out, "\thashed", e);
	if (!rc && out->len >= HP_MINISIGN_COMMENT_MAX)
		rc = hp_fail(e, HP_E_USAGE, "the file name is too long for a trusted comment");
	return rc;
}

/* BLAKE2b-512 of everything read from fd. */
static hp_code hash_fd(int fd, const char *what, uint8_t h[64], hp_err *e)
{
	crypto_generichash_state st;
	enum { CHUNK = 1 << 16 };
	unsigned char *buf = malloc(CHUNK);
	if (!buf)
		return hp_fail_nomem(e);
	crypto_generichash_init(&st, NULL, 0, 64);
	for (;;) {
		ssize_t n = read(fd, buf, CHUNK);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int err = errno;
			free(buf);
			return hp_fail_errno(e, HP_E_IO, err, "cannot read %s", what);
		}
		if (n == 0)
			break;
		crypto_generichash_update(&st, buf, (size_t)n);
	}
	free(buf);
	crypto_generichash_final(&st, h, 64);
	return HP_OK;
}

static hp_code open_input(const char *path, int *fd, hp_err *e)
{
	if (strcmp(path, "-") == 0) {
		*fd = STDIN_FILENO;
		return HP_OK;
	}
	return hp_open_regular(path, false, fd, NULL, e);
}

/* Ed25519 over sig || comment, for the global signature. */
static hp_code global_message(const uint8_t sig[64], const char *tc, size_t tclen, uint8_t **msg,
			      hp_err *e)
{
	*msg = malloc(64 + tclen);
	if (!*msg)
		return hp_fail_nomem(e);
	memcpy(*msg, sig, 64);
	memcpy(*msg + 64, tc, tclen);
	return HP_OK;
}

hp_code hp_minisign_sign_fd(const hp_key *k, int fd, const char *name,
			    const char *trusted_comment, hp_buf *out, hp_err *e)
{
	char what[320];
	quote_name(name, what, sizeof what);
	hp_buf tc = HP_BUF_INIT;
	hp_code rc;
	if (trusted_comment) {
		if (!hp_minisign_comment_ok(trusted_comment))
			return hp_fail(e, HP_E_USAGE,
				       "the trusted comment must be printable UTF-8 (tabs allowed) "
				       "of fewer than %d bytes", HP_MINISIGN_COMMENT_MAX);
		rc = hp_buf_adds(&tc, trusted_comment, e);
	} else {
		rc = hp_minisign_default_comment(name, (long long)time(NULL), &tc, e);
	}
	uint8_t h[64], sigblob[74], global[64];
	uint8_t *msg = NULL;
	char id[17];
	if (!rc)
		rc = hash_fd(fd, what, h, e);
	memcpy(sigblob, MS_ALG_HASHED, 2);
	minisign_keynum(k->pk, sigblob + 2);
	if (!rc)
		rc = hp_sign_bytes(k, h, sizeof h, sigblob + 10, e);
	if (!rc)
		rc = global_message(sigblob + 10, tc.data, tc.len, &msg, e);
	if (!rc)
		rc = hp_sign_bytes(k, msg, 64 + tc.len, global, e);
	hp_key_id(k->pk, id);
	if (!rc)
		rc = hp_buf_addf(out, e, MS_COMMENT_PREFIX "signature from hp-sign secret key %s\n", id);
	if (!rc)
		rc = add_b64(out, sigblob, sizeof sigblob, e);
	if (!rc)
		rc = hp_buf_addf(out, e, "\n" MS_TRUSTED_PREFIX "%s\n", tc.data);
	if (!rc)
		rc = add_b64(out, global, sizeof global, e);
	if (!rc)
		rc = hp_buf_addch(out, '\n', e);
	free(msg);
	hp_buf_release(&tc);
	return rc;
}

hp_code hp_minisign_sign_file(const hp_key *k, const char *path, const char *trusted_comment,
			      hp_buf *out, hp_err *e)
{
	int fd;
	hp_code rc = open_input(path, &fd, e);
	if (rc)
		return rc;
	rc = hp_minisign_sign_fd(k, fd, path, trusted_comment, out, e);
	if (fd != STDIN_FILENO)
		close(fd);
	return rc;
}

/* The next line of [*p, end): returns its start and length without "\n" or
 * "\r\n"; false at the end. */
static bool next_line(const char **p, const char *end, const char **line, size_t *len)
{
	if (*p >= end)
		return false;
	const char *s = *p;
	const char *nl = memchr(s, '\n', (size_t)(end - s));
	const char *stop = nl ? nl : end;
	*p = nl ? nl + 1 : end;
	if (stop > s && stop[-1] == '\r')
		stop--;
	*line = s;
	*len = (size_t)(stop - s);
	return true;
}

hp_code hp_minisign_verify_file(const uint8_t pk[32], const char *path, const char *sig,
				size_t siglen, hp_buf *trusted_comment, hp_err *e)
{
	char what[320];
	quote_name(path, what, sizeof what);
	hp_code rc = hp_sign_init(e);
	if (rc)
		return rc;
	if (siglen > MS_SIG_MAX)
		return hp_fail(e, HP_E_DATA, "the signature of %s is larger than %d bytes", what,
			       MS_SIG_MAX);
	const char *p = sig, *end = sig + siglen, *l[4];
	size_t n[4];
	for (int i = 0; i < 4; i++)
		if (!next_line(&p, end, &l[i], &n[i]))
			return hp_fail(e, HP_E_DATA, "the signature of %s is truncated", what);
	for (const char *q = p; q < end; q++)
		if (!is_space(*q))
			return hp_fail(e, HP_E_DATA, "the signature of %s has trailing data", what);
	static const char up[] = MS_COMMENT_PREFIX, tp[] = MS_TRUSTED_PREFIX;
	uint8_t sigblob[74], global[64];
	if (n[0] < sizeof up - 1 || memcmp(l[0], up, sizeof up - 1) != 0 ||
	    n[2] < sizeof tp - 1 || memcmp(l[2], tp, sizeof tp - 1) != 0 ||
	    !b64_exact(l[1], n[1], sigblob, sizeof sigblob) ||
	    !b64_exact(l[3], n[3], global, sizeof global))
		return hp_fail(e, HP_E_DATA, "the signature of %s is not a minisign signature", what);
	const char *tc = l[2] + sizeof tp - 1;
	size_t tclen = n[2] - (sizeof tp - 1);
	if (!comment_ok(tc, tclen))
		return hp_fail(e, HP_E_DATA, "the signature of %s has an invalid trusted comment",
			       what);
	if (memcmp(sigblob, MS_ALG_LEGACY, 2) == 0)
		return hp_fail(e, HP_E_DATA,
			       "the signature of %s is a legacy (non-prehashed) one, not supported",
			       what);
	if (memcmp(sigblob, MS_ALG_HASHED, 2) != 0)
		return hp_fail(e, HP_E_DATA, "the signature of %s uses an unknown algorithm", what);
	int fd;
	uint8_t h[64], *msg = NULL;
	if ((rc = open_input(path, &fd, e)))
		return rc;
	rc = hash_fd(fd, what, h, e);
	if (fd != STDIN_FILENO)
		close(fd);
	if (rc)
		return rc;
	if (crypto_sign_verify_detached(sigblob + 10, h, sizeof h, pk) != 0) {
		uint8_t keynum[8];
		minisign_keynum(pk, keynum);
		if (memcmp(keynum, sigblob + 2, 8) != 0) {
			char want[17];
			hp_key_id(pk, want);
			return hp_fail(e, HP_E_INVALID,
				       "%s: the signature is not from key %s (its key id differs)",
				       what, want);
		}
		return hp_fail(e, HP_E_INVALID, "%s: the signature does not match the file", what);
	}
	if ((rc = global_message(sigblob + 10, tc, tclen, &msg, e)))
		return rc;
	bool good = crypto_sign_verify_detached(global, msg, 64 + tclen, pk) == 0;
	free(msg);
	if (!good)
		return hp_fail(e, HP_E_INVALID, "%s: the trusted comment signature is invalid", what);
	if (trusted_comment)
		return hp_buf_add(trusted_comment, tc, tclen, e);
	return HP_OK;
}
