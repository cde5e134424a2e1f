// Reaper: a background thread that runs a job every interval until it is
// stopped, and that survives fork().
//
// fork() copies the thread's state but not the thread. Joining the copy
// fails (the thread id names nothing: std::system_error "No such process")
// or blocks, and destroying the copied condition variable blocks forever in
// pthread_cond_destroy, because it still counts the parent's thread as a
// waiter. So in a child every Reaper abandons its inherited state untouched
// (keep_abandoned: never freed, joined or destroyed) and starts a thread of
// its own on fresh state, from a pthread_atfork child handler. A child that
// cannot start one (out of threads) runs without: expired entries are still
// never returned, only reclaimed later.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <pthread.h>
#include <thread>
#include <unordered_set>

#include "core/per_process.h"

namespace unicache {

class Reaper {
public:
    // interval_ms <= 0: no thread.
    Reaper(int64_t interval_ms, std::function<void()> job)
        : interval_(interval_ms), job_(std::move(job))
    {
        if (interval_ms <= 0)
            return;
        std::lock_guard<std::mutex> lock(list().mu);
        state_ = new State();
        state_->thread = std::thread([this, s = state_] { loop(s); });
        list().running.insert(this);
    }
    ~Reaper()
    {
        if (!state_)
            return;
        {
            // Not held while joining: a fork() in another thread waits for
            // this lock, and the thread being joined may need a shard lock
            // that the fork's prepare handler holds meanwhile.
            std::lock_guard<std::mutex> lock(list().mu);
            list().running.erase(this);
        }
        if (!state_)
            return; // a child that could not restart the thread
        {
            std::lock_guard<std::mutex> lock(state_->mu);
            state_->stopping = true;
        }
        state_->cv.notify_all();
        state_->thread.join();
        delete state_;
    }
    Reaper(const Reaper &) = delete;
    Reaper &operator=(const Reaper &) = delete;

private:
    struct State {
        std::mutex mu;
        std::condition_variable cv;
        bool stopping = false;
        std::thread thread;
    };

    void loop(State *s)
    {
        std::unique_lock<std::mutex> lock(s->mu);
        while (!s->stopping) {
            s->cv.wait_for(lock, std::chrono::milliseconds(interval_));
            if (s->stopping)
                break;
            lock.unlock();
            job_();
            lock.lock();
        }
    }

    // In the child of a fork(): the inherited state belongs to a thread that
    // is not here.
    void restart_in_child()
    {
        keep_abandoned(state_);
        state_ = nullptr;
        try {
            auto fresh = new State();
            try {
                fresh->thread = std::thread([this, s = fresh] { loop(s); });
            } catch (...) {
                delete fresh;
                throw;
            }
            state_ = fresh;
        } catch (...) {
            // No thread: see the top of this file.
        }
    }

    // The Reapers with a thread; list().mu is held across fork() so that
    // the child sees the list whole.
    struct List {
        List()
        {
            pthread_atfork([] { list().mu.lock(); }, [] { list().mu.unlock(); },
                           [] {
                               for (Reaper *r : list().running)
                                   r->restart_in_child();
                               list().mu.unlock();
                           });
        }
        std::mutex mu;
        std::unordered_set<Reaper *> running;
    };
    static List &list()
    {
        static List *l = new List(); // never destroyed: a reaper may outlive static teardown
        return *l;
    }

    const int64_t interval_;
    const std::function<void()> job_; // once per interval: not a hot path
    State *state_ = nullptr;
};

} // namespace unicache
