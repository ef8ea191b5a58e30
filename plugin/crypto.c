/* crypto.c - base64 + AES-128-ECB/PKCS#7 decryption of notifications (see rc_crypto.h).
 *
 * OpenSSL does both steps; this file only sizes buffers and turns OpenSSL's failures into
 * causes worth counting separately (a bad base64 string is a transport problem, a bad
 * padding is almost always a wrong or stale key). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include "rc_crypto.h"

#define RC_AES_BLOCK 16

const char *rc_decrypt_strerror(enum rc_decrypt_result r)
{
	switch (r) {
	case RC_DECRYPT_OK: return "ok";
	case RC_DECRYPT_BAD_BASE64: return "not valid base64";
	case RC_DECRYPT_BAD_LENGTH: return "ciphertext is not a whole number of AES blocks";
	case RC_DECRYPT_BAD_PADDING: return "bad padding (wrong key?)";
	case RC_DECRYPT_NOMEM: return "out of memory";
	}
	return "unknown";
}

/* True if every byte is in the standard base64 alphabet or '='. OpenSSL's decoder alone is
 * too lenient for us: it skips whitespace and treats '-' as end of data, ignoring whatever
 * follows, so a damaged string could decode "successfully" to a prefix. */
static int crypto__base64_alphabet_only(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
				c == '+' || c == '/' || c == '='))
			return 0;
	}
	return 1;
}

/* Decodes base64 into a new heap buffer (*out, the caller frees it). Returns 0, -1 for bad
 * base64 or -2 for no memory. EVP_DecodeUpdate/Final, unlike EVP_DecodeBlock, account for
 * '=' padding and reject incomplete quanta and data after the padding. */
static int crypto__base64_decode(const char *b64, size_t len, unsigned char **out, size_t *out_len)
{
	EVP_ENCODE_CTX *ctx;
	int n1 = 0, n2 = 0;

	*out = NULL;
	if (len == 0 || len > (size_t)INT_MAX || !crypto__base64_alphabet_only(b64, len))
		return -1;
	*out = malloc(len / 4 * 3 + 4);
	ctx = EVP_ENCODE_CTX_new();
	if (*out == NULL || ctx == NULL) {
		free(*out);
		*out = NULL;
		EVP_ENCODE_CTX_free(ctx);
		return -2;
	}
	EVP_DecodeInit(ctx);
	int rc = EVP_DecodeUpdate(ctx, *out, &n1, (const unsigned char *)b64, (int)len);
	if (rc >= 0 && EVP_DecodeFinal(ctx, *out + n1, &n2) == 1) {
		*out_len = (size_t)n1 + (size_t)n2;
		EVP_ENCODE_CTX_free(ctx);
		return 0;
	}
	EVP_ENCODE_CTX_free(ctx);
	free(*out);
	*out = NULL;
	return -1;
}

int rc_crypto_key_from_base64(const char *b64, unsigned char key[RC_CRYPTO_KEY_LEN])
{
	unsigned char *raw;
	size_t len = 0;

	if (b64 == NULL || crypto__base64_decode(b64, strlen(b64), &raw, &len) != 0)
		return -1;
	int ok = len == RC_CRYPTO_KEY_LEN;
	if (ok)
		memcpy(key, raw, RC_CRYPTO_KEY_LEN);
	OPENSSL_cleanse(raw, len);
	free(raw);
	return ok ? 0 : -1;
}

enum rc_decrypt_result rc_crypto_decrypt(const unsigned char key[RC_CRYPTO_KEY_LEN],
		const char *b64, size_t len, char **plain, size_t *plain_len)
{
	unsigned char *cipher;
	size_t cipher_len = 0;
	int n1 = 0, n2 = 0;

	*plain = NULL;
	*plain_len = 0;
	int rc = crypto__base64_decode(b64, len, &cipher, &cipher_len);
	if (rc == -2)
		return RC_DECRYPT_NOMEM;
	if (rc != 0)
		return RC_DECRYPT_BAD_BASE64;
	if (cipher_len == 0 || cipher_len % RC_AES_BLOCK != 0) {
		free(cipher);
		return RC_DECRYPT_BAD_LENGTH;
	}

	unsigned char *out = malloc(cipher_len + RC_AES_BLOCK + 1);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	if (out == NULL || ctx == NULL) {
		free(cipher);
		free(out);
		EVP_CIPHER_CTX_free(ctx);
		return RC_DECRYPT_NOMEM;
	}
	enum rc_decrypt_result result = RC_DECRYPT_OK;
	if (EVP_DecryptInit_ex(ctx, EVP_aes_128_ecb(), NULL, key, NULL) != 1 ||
			EVP_DecryptUpdate(ctx, out, &n1, cipher, (int)cipher_len) != 1) {
		result = RC_DECRYPT_NOMEM;
	} else if (EVP_DecryptFinal_ex(ctx, out + n1, &n2) != 1) {
		result = RC_DECRYPT_BAD_PADDING;
	}
	EVP_CIPHER_CTX_free(ctx);
	free(cipher);
	if (result != RC_DECRYPT_OK) {
		OPENSSL_cleanse(out, cipher_len);
		free(out);
		return result;
	}
	out[n1 + n2] = '\0';
	*plain = (char *)out;
	*plain_len = (size_t)(n1 + n2);
	return RC_DECRYPT_OK;
}
