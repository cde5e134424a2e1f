// Recorder: a cache_set_log_handler handler that keeps every line it is
// given, for tests of the log lines (tests/log, tests/sqlite).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "unicache.h"

namespace unicache_test {

struct Line {
    int level;
    std::string text;
};

// Every line delivered while it is installed; removed on destruction.
class Recorder {
public:
    explicit Recorder(int min_level = CACHE_LOG_DEBUG)
    {
        EXPECT_EQ(cache_set_log_handler(&Recorder::handle, this, min_level), CACHE_OK);
    }
    ~Recorder() { cache_set_log_handler(nullptr, nullptr, 0); }
    std::vector<Line> lines()
    {
        std::lock_guard<std::mutex> lock(mu_);
        return lines_;
    }
    // The lines containing part, in order.
    std::vector<Line> with(const std::string &part)
    {
        std::vector<Line> out;
        for (const Line &l : lines())
            if (l.text.find(part) != std::string::npos)
                out.push_back(l);
        return out;
    }
    // Waits (at most 10 s) for a line containing part.
    bool wait_for(const std::string &part)
    {
        for (int i = 0; i < 1000; i++) {
            if (!with(part).empty())
                return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return false;
    }
    // No line holds any of forbidden (passwords, values), in any part; each
    // is one line with a level in range.
    void expect_clean(const std::vector<std::string> &forbidden)
    {
        for (const Line &l : lines()) {
            for (const std::string &f : forbidden)
                EXPECT_EQ(l.text.find(f), std::string::npos) << l.text;
            EXPECT_EQ(l.text.find('\n'), std::string::npos) << l.text;
            EXPECT_GE(l.level, CACHE_LOG_ERROR);
            EXPECT_LE(l.level, CACHE_LOG_DEBUG);
        }
    }

private:
    static void handle(void *ctx, int level, const char *message)
    {
        auto *self = static_cast<Recorder *>(ctx);
        std::lock_guard<std::mutex> lock(self->mu_);
        self->lines_.push_back({level, message});
    }
    std::mutex mu_;
    std::vector<Line> lines_;
};

inline std::string dump(const std::vector<Line> &lines)
{
    std::string out;
    for (const Line &l : lines)
        out += std::to_string(l.level) + " " + l.text + "\n";
    return out;
}

} // namespace unicache_test
