/* rc_crypto.h - the notification cipher: base64 then AES-128-ECB with PKCS#7 padding.
 *
 * RingCentral encrypts every PubNub notification of a subscription whose filters carry
 * sensitive data, with the 16-byte key from deliveryMode.encryptionKey. OpenSSL EVP does the
 * work; this module only maps its failures to causes worth counting. Pure. */
#ifndef RC_CRYPTO_H
#define RC_CRYPTO_H

#include <stddef.h>

#define RC_CRYPTO_KEY_LEN 16

enum rc_decrypt_result {
	RC_DECRYPT_OK = 0,
	RC_DECRYPT_BAD_BASE64,   /* not base64, or empty */
	RC_DECRYPT_BAD_LENGTH,   /* ciphertext not a non-zero multiple of the block size */
	RC_DECRYPT_BAD_PADDING,  /* PKCS#7 check failed: usually the wrong key */
	RC_DECRYPT_NOMEM,
};

const char *rc_decrypt_strerror(enum rc_decrypt_result r);

/* Decodes a base64 key; returns 0 if it is exactly 16 bytes, -1 otherwise. */
int rc_crypto_key_from_base64(const char *b64, unsigned char key[RC_CRYPTO_KEY_LEN]);

/* Decrypts base64 text (len bytes, not NUL-terminated necessarily). On RC_DECRYPT_OK,
 * *plain is a NUL-terminated heap buffer of *plain_len bytes (the caller frees it). */
enum rc_decrypt_result rc_crypto_decrypt(const unsigned char key[RC_CRYPTO_KEY_LEN],
		const char *b64, size_t len, char **plain, size_t *plain_len);

#endif
