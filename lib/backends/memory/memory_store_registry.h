// Named in-process memory stores: "memory://?name=sessions" opened by several
// handles in one process gives them one store, as two Django caches with the
// same LOCATION or two Rails stores on the same name expect. The store lives
// while any handle has it open; the last close frees it.
#pragma once

#include <memory>
#include <string>

#include "memory_backend.h"

namespace unicache {

// The store called name: the open one when some handle has it, else a new
// one built with opts. Throws CACHE_EINVAL when it is open with other
// options (a store has one size limit and one policy), naming both.
std::shared_ptr<MemoryBackend> open_named_memory_store(const std::string &name,
                                                       const MemoryOptions &opts);

// A Backend for one handle on a shared store (the handle's reference keeps
// it alive).
std::unique_ptr<Backend> named_memory_handle(std::string name,
                                             std::shared_ptr<MemoryBackend> store);

} // namespace unicache
