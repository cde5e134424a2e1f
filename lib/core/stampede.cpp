#include "stampede.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include "error.h"
#include "expiry.h"

namespace unicache {

StampedeSettings StampedeSettings::take(Params &params)
{
    StampedeSettings s;
    s.lease_ttl_ms = params.take_int("lease_ttl", s.lease_ttl_ms, 1, kMaxTtlMs);
    s.lock_timeout_ms = params.take_int("lock_timeout", s.lock_timeout_ms, 0, kMaxTtlMs);
    s.stale_ttl_ms = params.take_int("stale_ttl", s.stale_ttl_ms, 0, kMaxTtlMs);
    s.early_refresh = params.take_double("early_refresh", s.early_refresh, 0, 100);
    return s;
}

uint64_t new_lease_token()
{
    uint64_t t = 0;
    while (t == 0) {
        ssize_t n = getrandom(&t, sizeof t, 0);
        if (n != ssize_t(sizeof t)) {
            if (n < 0 && errno == EINTR)
                continue;
            fail(CACHE_EIO, std::string("cannot read random bytes for a lease token: ") +
                                std::strerror(errno));
        }
    }
    return t;
}

bool xfetch_elects(int64_t fresh_left_ms, int64_t compute_ms, double beta, uint64_t random_bits)
{
    if (beta <= 0 || fresh_left_ms <= 0 || compute_ms <= 0)
        return false;
    double u = double((random_bits >> 11) + 1) * (1.0 / 9007199254740992.0); // (0, 1]
    return double(compute_ms) * beta * -std::log(u) >= double(fresh_left_ms);
}

} // namespace unicache
