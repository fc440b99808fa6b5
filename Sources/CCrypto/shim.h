#ifndef MERD_CCRYPTO_SHIM_H
#define MERD_CCRYPTO_SHIM_H
// OpenSSL's libcrypto (Debian libssl-dev): the EVP digest interface, for the SHA-256 and
// SHA-1 (git blob id) checks of downloaded model files.
#include <openssl/evp.h>
#endif
