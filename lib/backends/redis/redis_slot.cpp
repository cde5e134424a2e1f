#include "redis_slot.h"

#include <array>
#include <cstring>
#include <vector>

namespace unicache {

namespace {

struct Crc16Table {
    uint16_t t[256];
    Crc16Table()
    {
        for (int i = 0; i < 256; i++) {
            uint16_t crc = uint16_t(i << 8);
            for (int b = 0; b < 8; b++)
                crc = uint16_t(crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1);
            t[i] = crc;
        }
    }
};

const Crc16Table kTable;

} // namespace

uint16_t redis_crc16(const char *data, size_t len)
{
    uint16_t crc = 0;
    for (size_t i = 0; i < len; i++)
        crc = uint16_t((crc << 8) ^ kTable.t[((crc >> 8) ^ uint8_t(data[i])) & 0xff]);
    return crc;
}

int redis_key_slot(Bytes key)
{
    size_t open = key.find('{');
    if (open != Bytes::npos) {
        size_t close = key.find('}', open + 1);
        if (close != Bytes::npos && close > open + 1)
            key = key.substr(open + 1, close - open - 1);
    }
    return redis_crc16(key.data(), key.size()) & (kRedisSlots - 1);
}

const std::string &redis_slot_tag(int slot)
{
    // Decimal numbers in order until every slot has one: about 160,000
    // CRCs, once per process.
    static const std::vector<std::string> tags = [] {
        std::vector<std::string> t(kRedisSlots);
        int missing = kRedisSlots;
        for (unsigned n = 0; missing > 0; n++) {
            std::string s = std::to_string(n);
            std::string &slot_tag = t[redis_crc16(s.data(), s.size()) & (kRedisSlots - 1)];
            if (slot_tag.empty()) {
                slot_tag = s;
                missing--;
            }
        }
        return t;
    }();
    return tags[size_t(slot) & (kRedisSlots - 1)];
}

} // namespace unicache
