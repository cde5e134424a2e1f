// Redis Cluster's key slots: CRC16 (XMODEM: polynomial 0x1021, initial 0,
// no reflection) of the key, or of its hash tag, modulo 16384. The hash tag
// is what lies between the first '{' and the first '}' after it, when that
// is not empty: "{user1}:a" and "{user1}:b" share a slot.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/bytes.h"

namespace unicache {

constexpr int kRedisSlots = 16384;

uint16_t redis_crc16(const char *data, size_t len);
int redis_key_slot(Bytes key);

// A short string whose slot, as a hash tag ("{" + it + "}"), is slot: so a
// key built around it lands in that slot whatever else it holds.
const std::string &redis_slot_tag(int slot);

} // namespace unicache
