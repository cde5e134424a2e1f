// RecordingListener: a ChangeListener that writes down what it is told, for
// the white-box coherence tests of each watching backend.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "core/backend.h"

namespace unicache_test {

class RecordingListener : public unicache::ChangeListener {
public:
    // Events are "changed:<key>", "all", "live" and "down".
    void changed(unicache::Bytes key) override { note("changed:" + std::string(key)); }
    void changed_all() override { note("all"); }
    void notifications_live(bool live) override { note(live ? "live" : "down"); }

    std::vector<std::string> events()
    {
        std::lock_guard<std::mutex> lock(mu_);
        return events_;
    }
    void clear()
    {
        std::lock_guard<std::mutex> lock(mu_);
        events_.clear();
    }
    size_t count(const std::string &event)
    {
        std::lock_guard<std::mutex> lock(mu_);
        size_t n = 0;
        for (const auto &e : events_)
            n += e == event;
        return n;
    }
    // Waits until event has been seen at least n times; false after timeout.
    bool wait_for(const std::string &event, std::chrono::milliseconds timeout, size_t n = 1)
    {
        std::unique_lock<std::mutex> lock(mu_);
        return cv_.wait_for(lock, timeout, [&] {
            size_t seen = 0;
            for (const auto &e : events_)
                seen += e == event;
            return seen >= n;
        });
    }
    // Time from now until event is seen (after clear()), or -1 ms on timeout.
    std::chrono::microseconds time_until(const std::string &event,
                                         std::chrono::milliseconds timeout)
    {
        auto start = std::chrono::steady_clock::now();
        if (!wait_for(event, timeout))
            return std::chrono::microseconds(-1);
        return std::chrono::duration_cast<std::chrono::microseconds>(
            std::chrono::steady_clock::now() - start);
    }

private:
    void note(std::string e)
    {
        std::lock_guard<std::mutex> lock(mu_);
        events_.push_back(std::move(e));
        cv_.notify_all();
    }
    std::mutex mu_;
    std::condition_variable cv_;
    std::vector<std::string> events_;
};

} // namespace unicache_test
