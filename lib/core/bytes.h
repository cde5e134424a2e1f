// Byte strings passed across the core: views in, malloc'd buffers out.
#pragma once

#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <string_view>

#include "spare_buffer.h"
#include "unicache.h"

namespace unicache {

using Bytes = std::string_view;

// A malloc'd buffer that becomes a caller-owned cache_buf. Backends fill it
// directly so that a hit costs one allocation and one copy.
class OwnedBuffer {
public:
    OwnedBuffer() = default;
    OwnedBuffer(const OwnedBuffer &) = delete;
    OwnedBuffer &operator=(const OwnedBuffer &) = delete;
    OwnedBuffer(OwnedBuffer &&o) noexcept : data_(o.data_), size_(o.size_)
    {
        o.data_ = nullptr;
        o.size_ = 0;
    }
    OwnedBuffer &operator=(OwnedBuffer &&o) noexcept
    {
        if (this != &o) {
            std::free(data_);
            data_ = o.data_;
            size_ = o.size_;
            o.data_ = nullptr;
            o.size_ = 0;
        }
        return *this;
    }
    // (Not free(NULL): a hit would pay that call twice, here and in allocate.)
    ~OwnedBuffer()
    {
        if (data_)
            std::free(data_);
    }

    // Allocate n bytes (+1 for a terminating NUL) and return them to fill:
    // the thread's spare block when it fits (core/spare_buffer.h).
    char *allocate(size_t n)
    {
        char *p = static_cast<char *>(take_spare(n + 1));
        if (!p)
            p = static_cast<char *>(std::malloc(n + 1));
        if (!p)
            throw std::bad_alloc();
        p[n] = '\0';
        if (data_)
            std::free(data_);
        data_ = p;
        size_ = n;
        return p;
    }
    void assign(const void *src, size_t n)
    {
        char *p = allocate(n);
        if (n)
            std::memcpy(p, src, n);
    }
    void assign(Bytes b) { assign(b.data(), b.size()); }

    // Remove the first n bytes (n <= size()), keeping the allocation.
    void drop_front(size_t n)
    {
        std::memmove(data_, data_ + n, size_ - n + 1); // the NUL moves too
        size_ -= n;
    }

    bool empty() const { return data_ == nullptr; }
    const char *data() const { return data_; }
    size_t size() const { return size_; }
    Bytes view() const { return Bytes(data_ ? data_ : "", size_); }

    // Hand the memory to a cache_buf; this buffer becomes empty.
    void release_to(cache_buf *out)
    {
        out->data = data_;
        out->size = size_;
        data_ = nullptr;
        size_ = 0;
    }

private:
    char *data_ = nullptr;
    size_t size_ = 0;
};

} // namespace unicache
