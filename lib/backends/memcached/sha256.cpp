// SHA-256 from OpenSSL's libcrypto (EVP), which the process loads anyway
// through libmemcached's libhashkit: a maintained, constant-time, reviewed
// implementation instead of one of our own. It only runs for keys that
// cannot be sent to memcached verbatim.
#include "sha256.h"

#include <openssl/evp.h>

#include "core/error.h"

namespace unicache {

Sha256Digest sha256(const void *data, size_t len)
{
    Sha256Digest out;
    unsigned int n = 0;
    // EVP_Digest fails only when libcrypto cannot allocate a context or its
    // default provider lacks SHA-256 (a broken installation).
    if (EVP_Digest(data, len, out.bytes, &n, EVP_sha256(), nullptr) != 1 || n != sizeof out.bytes)
        fail(CACHE_EINTERNAL, "libcrypto could not compute a SHA-256 digest");
    return out;
}

} // namespace unicache
