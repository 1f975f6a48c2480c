/* SPDX-License-Identifier: MIT */
#include "fingerprint.h"

#include <errno.h>
#include <openssl/evp.h>
#include <string.h>

void sshp_fp_sha256(const uint8_t *blob, size_t len, char out[SSHP_FP_LEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned char b64[64];
	unsigned int mdlen = 0;
	int n;

	EVP_Digest(blob, len, md, &mdlen, EVP_sha256(), NULL);
	n = EVP_EncodeBlock(b64, md, (int)mdlen); /* 44 characters, one '=' */
	while (n > 0 && b64[n - 1] == '=')
		n--;
	memcpy(out, "SHA256:", 7);
	memcpy(out + 7, b64, (size_t)n);
	out[7 + n] = '\0';
}

static bool is_b64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

bool sshp_fp_valid(const char *s)
{
	if (strncmp(s, "SHA256:", 7) != 0 || strlen(s) != SSHP_FP_LEN - 1)
		return false;
	for (s += 7; *s; s++)
		if (!is_b64_char(*s))
			return false;
	return true;
}

long sshp_b64_decode(const char *s, size_t n, uint8_t *dst, size_t dstsz)
{
	unsigned char in[4];
	size_t pad = 0, out = 0;

	/* Strip up to two '=' of padding; EVP_DecodeBlock wants groups of 4. */
	while (n > 0 && s[n - 1] == '=' && pad < 2) {
		n--;
		pad++;
	}
	for (size_t i = 0; i < n; i += 4) {
		unsigned char tmp[3];
		size_t k = n - i < 4 ? n - i : 4, got;

		for (size_t j = 0; j < 4; j++) {
			if (j < k && !is_b64_char(s[i + j]))
				return -EBADMSG;
			in[j] = j < k ? (unsigned char)s[i + j] : 'A';
		}
		if (k == 1)
			return -EBADMSG;
		got = k - 1; /* 2 chars -> 1 byte, 3 -> 2, 4 -> 3 */
		if (EVP_DecodeBlock(tmp, in, 4) != 3)
			return -EBADMSG;
		if (dstsz - out < got)
			return -EMSGSIZE;
		memcpy(dst + out, tmp, got);
		out += got;
	}
	return (long)out;
}
