#include "core/value_codec.h"

#include <lz4.h>
#include <zstd.h>

#include <climits>
#include <memory>

#include "core/error.h"

namespace unicache {

namespace {

// Level 1: a cache compresses on every write, so speed first; zstd's level 1
// still shrinks JSON and text to a fraction.
constexpr int kZstdLevel = 1;

struct ZstdContexts {
    struct FreeC {
        void operator()(ZSTD_CCtx *c) const { ZSTD_freeCCtx(c); }
    };
    struct FreeD {
        void operator()(ZSTD_DCtx *d) const { ZSTD_freeDCtx(d); }
    };
    std::unique_ptr<ZSTD_CCtx, FreeC> c;
    std::unique_ptr<ZSTD_DCtx, FreeD> d;
};

// One pair per thread: no lock, and a context's tables are reused instead
// of allocated per value.
ZstdContexts &zstd_contexts()
{
    thread_local ZstdContexts ctx;
    return ctx;
}

void put_header(char *out, Codec codec, uint64_t size)
{
    out[0] = char(0xF5);
    out[1] = 'u';
    out[2] = 'c';
    out[3] = 'z';
    out[4] = char(codec);
    for (int i = 0; i < 8; i++)
        out[5 + i] = char((size >> (8 * i)) & 0xff);
}

Bytes raw_frame(Bytes value, std::string *scratch)
{
    scratch->resize(kFrameHeader + value.size());
    put_header(&(*scratch)[0], Codec::none, value.size());
    if (!value.empty())
        std::memcpy(&(*scratch)[kFrameHeader], value.data(), value.size());
    return *scratch;
}

// The compressed frame, or an empty view when the codec cannot make one
// shorter than the value.
Bytes compressed_frame(Codec codec, Bytes value, std::string *scratch)
{
    size_t bound = codec == Codec::zstd ? ZSTD_compressBound(value.size())
                                        : size_t(LZ4_compressBound(int(value.size())));
    // Worth only what is shorter than the value itself.
    size_t room = value.size() - kFrameHeader - 1;
    if (bound < room)
        room = bound;
    scratch->resize(kFrameHeader + bound);
    char *payload = &(*scratch)[kFrameHeader];
    size_t n = 0;
    if (codec == Codec::zstd) {
        ZstdContexts &ctx = zstd_contexts();
        if (!ctx.c) {
            ctx.c.reset(ZSTD_createCCtx());
            if (!ctx.c)
                throw std::bad_alloc();
        }
        n = ZSTD_compressCCtx(ctx.c.get(), payload, bound, value.data(), value.size(), kZstdLevel);
        if (ZSTD_isError(n))
            return Bytes();
    } else {
        int r = LZ4_compress_default(value.data(), payload, int(value.size()), int(bound));
        if (r <= 0)
            return Bytes();
        n = size_t(r);
    }
    if (n > room)
        return Bytes();
    put_header(&(*scratch)[0], codec, value.size());
    return Bytes(scratch->data(), kFrameHeader + n);
}

// incr works on what set stored: a decimal integer (leading zeros of any
// length) stays readable by the backend's counter code.
bool is_decimal(Bytes v)
{
    size_t i = !v.empty() && v[0] == '-' ? 1 : 0;
    if (i == v.size())
        return false;
    for (; i < v.size(); i++)
        if (v[i] < '0' || v[i] > '9')
            return false;
    return true;
}

// The words for a stored value that starts with the frame magic but is no
// frame: a damaged entry, or bytes another program stored (redis-cli, the
// sqlite3 shell) that happen to begin with F5 75 63 7A. Neither is guessed
// at: the value is not returned, as it is or decoded.
[[noreturn]] void corrupt(const std::string &why)
{
    fail(CACHE_ECORRUPT,
         "a stored value starts with unicache's frame mark (F5 75 63 7A) but " + why +
             ": a damaged entry, or a value written by another program that begins with those "
             "bytes; unicache returns neither");
}

// Codecs a newer unicache may add; a codec byte past them is not a frame.
constexpr unsigned kLastReservedCodec = 15;

} // namespace

const char *codec_name(Codec codec)
{
    switch (codec) {
    case Codec::zstd:
        return "zstd";
    case Codec::lz4:
        return "lz4";
    default:
        return "none";
    }
}

Bytes encode_value_slow(const CodecSettings &settings, Bytes value, std::string *scratch)
{
    // A value longer than any handle reads back by default is the backend's
    // to accept or refuse (each has its own limit, checked before it reads
    // the bytes): it passes through unread, as the caller's length may not
    // be the buffer's.
    if (int64_t(value.size()) > settings.max_decompressed || value.size() > size_t(INT64_MAX))
        return value;
    // LZ4 takes int sizes; a value past its limit is stored as it is.
    if (settings.codec != Codec::none && int64_t(value.size()) >= settings.threshold &&
        value.size() > kFrameHeader + 1 &&
        (settings.codec != Codec::lz4 || value.size() <= size_t(LZ4_MAX_INPUT_SIZE)) &&
        !is_decimal(value)) {
        Bytes frame = compressed_frame(settings.codec, value, scratch);
        if (!frame.empty())
            return frame;
    }
    return is_frame(value) ? raw_frame(value, scratch) : value;
}

uint64_t frame_value_size(Bytes stored, int64_t max_decompressed)
{
    if (stored.size() < kFrameHeader)
        corrupt("its header is truncated (" + std::to_string(stored.size()) + " of " +
                std::to_string(kFrameHeader) + " bytes)");
    unsigned codec = (unsigned char)stored[4];
    if (codec > kLastReservedCodec)
        corrupt("its codec byte is " + std::to_string(codec) + ", which no unicache writes");
    if (codec > unsigned(Codec::lz4))
        fail(CACHE_EVERSION, "a stored value is compressed with codec " + std::to_string(codec) +
                                 ", which this unicache does not know (written by a newer one?)");
    uint64_t size = 0;
    for (int i = 0; i < 8; i++)
        size |= uint64_t((unsigned char)stored[5 + i]) << (8 * i);
    if (size > uint64_t(max_decompressed))
        fail(CACHE_ETOOBIG,
             "a stored value is " + std::to_string(size) +
                 " bytes decompressed, over max_decompressed=" + std::to_string(max_decompressed) +
                 "; open the cache with a larger max_decompressed to read it");
    return size;
}

void decode_into(Bytes stored, uint64_t size, char *dst)
{
    unsigned codec = (unsigned char)stored[4];
    const char *payload = stored.data() + kFrameHeader;
    size_t payload_len = stored.size() - kFrameHeader;
    switch (Codec(codec)) {
    case Codec::none:
        if (payload_len != size)
            corrupt("it claims " + std::to_string(size) + " bytes and holds " +
                    std::to_string(payload_len));
        if (size)
            std::memcpy(dst, payload, size);
        return;
    case Codec::zstd: {
        unsigned long long content = ZSTD_getFrameContentSize(payload, payload_len);
        if (content != size)
            corrupt("its zstd payload is damaged or does not hold the " + std::to_string(size) +
                    " bytes the header claims");
        ZstdContexts &ctx = zstd_contexts();
        if (!ctx.d) {
            ctx.d.reset(ZSTD_createDCtx());
            if (!ctx.d)
                throw std::bad_alloc();
        }
        size_t n = ZSTD_decompressDCtx(ctx.d.get(), dst, size, payload, payload_len);
        if (ZSTD_isError(n) || n != size)
            corrupt(std::string("its zstd payload does not decompress (") +
                    (ZSTD_isError(n) ? ZSTD_getErrorName(n) : "wrong length") + ")");
        return;
    }
    case Codec::lz4: {
        if (size > uint64_t(LZ4_MAX_INPUT_SIZE) || payload_len > size_t(INT_MAX))
            corrupt("its lz4 header claims " + std::to_string(size) +
                    " bytes, more than lz4 can hold");
        int n = LZ4_decompress_safe(payload, dst, int(payload_len), int(size));
        if (n < 0 || uint64_t(n) != size)
            corrupt("its lz4 payload is damaged or does not hold the " + std::to_string(size) +
                    " bytes the header claims");
        return;
    }
    }
}

void decode_in_place(OwnedBuffer *value, int64_t max_decompressed)
{
    if (!is_frame(value->view()))
        return;
    // The claimed size is checked against max_decompressed before the
    // allocation: a crafted header cannot make us allocate what it claims.
    uint64_t size = frame_value_size(value->view(), max_decompressed);
    OwnedBuffer out;
    char *dst = out.allocate(size_t(size));
    decode_into(value->view(), size, dst);
    *value = std::move(out);
}

std::string &held_frame()
{
    thread_local std::string frame;
    return frame;
}

void hold_frame(Bytes stored)
{
    held_frame().assign(stored.data(), stored.size());
}

} // namespace unicache
