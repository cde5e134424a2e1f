// PerProcess<T>: an object that belongs to one process, such as a pool of
// connections to a server. fork() copies the handle that owns it into the
// child, and with it every socket, whose byte stream the parent keeps using:
// a child that sent a request on an inherited connection could read the
// parent's reply, or the parent the child's. So get() hands each process an
// object of its own, built on first use in a child; the inherited one is
// abandoned, never used, freed or closed (freeing could send QUIT on the
// parent's connection, and its mutexes may have been held by threads that do
// not exist in the child). Abandoned objects stay reachable from a global
// list: a bounded, deliberate cost per fork, not a leak.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>

namespace unicache {

// How many fork()s separate this process from the one that first called
// this; counted by a pthread_atfork child handler registered on that call.
uint64_t fork_generation();
// Keeps p reachable forever (see PerProcess).
void keep_abandoned(const void *p);

template <typename T> class PerProcess {
public:
    // make: builds this process's object; called now and once in each child
    // that uses it. It may throw (then so do the constructor and get()).
    explicit PerProcess(std::function<std::unique_ptr<T>()> make)
        : make_(std::move(make)), node_(new Node{make_(), fork_generation()})
    {
    }
    ~PerProcess() { delete node_.load(std::memory_order_acquire); }
    PerProcess(const PerProcess &) = delete;
    PerProcess &operator=(const PerProcess &) = delete;

    // This process's object.
    T &get() const
    {
        Node *n = node_.load(std::memory_order_acquire);
        if (n->generation == fork_generation())
            return *n->value;
        return renew();
    }

private:
    struct Node {
        std::unique_ptr<T> value;
        uint64_t generation;
    };

    T &renew() const
    {
        std::lock_guard<std::mutex> lock(renew_mu_);
        Node *old = node_.load(std::memory_order_acquire);
        if (old->generation == fork_generation())
            return *old->value; // another thread of this child renewed it
        auto fresh = std::make_unique<Node>(Node{make_(), fork_generation()});
        keep_abandoned(old);
        node_.store(fresh.get(), std::memory_order_release);
        return *fresh.release()->value;
    }

    const std::function<std::unique_ptr<T>()> make_;
    mutable std::atomic<Node *> node_;
    mutable std::mutex renew_mu_;
};

} // namespace unicache
