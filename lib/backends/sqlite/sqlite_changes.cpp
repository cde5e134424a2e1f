#include "sqlite_changes.h"

#include <chrono>
#include <vector>

#include "core/error.h"
#include "sqlite_backend.h"

namespace unicache {

SqliteChangeWatch::SqliteChangeWatch(const SqliteOptions &opts, PerProcess<SqliteRuntime> &runtime,
                                     ChangeListener *listener, bool first)
    : interval_ms_(opts.change_poll_ms), runtime_(runtime), listener_(listener)
{
    if (first)
        start(); // errors reach watch_changes()
    else
        listener_->notifications_live(false); // until the thread has started
    thread_ = std::thread([this] { loop(); });
}

SqliteChangeWatch::~SqliteChangeWatch()
{
    {
        std::lock_guard<std::mutex> lock(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable())
        thread_.join();
}

SqliteChangeWatch::Counts SqliteChangeWatch::counts() const
{
    std::lock_guard<std::mutex> lock(mu_);
    return counts_;
}

void SqliteChangeWatch::start()
{
    {
        auto c = runtime_.get().pool.acquire();
        // IF NOT EXISTS, under the write lock: every watcher may run it.
        Transaction tx(*c, Transaction::write);
        c->exec(c->sql().change_log_schema());
        tx.commit();
        last_id_ =
            c->scalar_int("SELECT coalesce(max(id), 0) FROM \"" + c->sql().table() + ".changes\"");
    }
    {
        std::lock_guard<std::mutex> lock(mu_);
        counts_.live = true;
        counts_.last_id = last_id_;
    }
    // Copies made before now were never watched (backend.h, 3).
    listener_->changed_all();
    listener_->notifications_live(true);
    live_ = true;
}

void SqliteChangeWatch::poll()
{
    std::vector<std::string> keys;
    bool overrun = false;
    for (;;) {
        size_t rows = 0;
        {
            // The lease is held only for the query: fork() waits for it,
            // and the listener is told without it.
            auto c = runtime_.get().pool.acquire();
            Query q(*c, Sql::changes_since);
            q.bind(kKey, last_id_);
            while (q.step()) {
                int64_t id = q.column_int(0);
                if (id != last_id_ + 1)
                    overrun = true; // trimmed past what this process saw
                last_id_ = id;
                if (!overrun)
                    keys.emplace_back(q.column_blob(1));
                rows++;
            }
        }
        if (rows < 512)
            break;
    }
    if (overrun) {
        listener_->changed_all();
    } else {
        for (const std::string &k : keys)
            listener_->changed(k);
    }
    if (!keys.empty() || overrun) {
        std::lock_guard<std::mutex> lock(mu_);
        counts_.last_id = last_id_;
        counts_.polls++;
        counts_.changes += keys.size();
        counts_.overruns += overrun;
    }
}

void SqliteChangeWatch::go_down(const std::string &why)
{
    {
        std::lock_guard<std::mutex> lock(mu_);
        counts_.live = false;
        counts_.last_error = why;
    }
    if (live_) {
        live_ = false; // no flush: changed_all() comes before live again
        listener_->notifications_live(false);
    }
}

void SqliteChangeWatch::loop()
{
    for (;;) {
        {
            std::unique_lock<std::mutex> lock(mu_);
            if (cv_.wait_for(lock, std::chrono::milliseconds(interval_ms_), [&] { return stop_; }))
                return;
        }
        try {
            if (!live_)
                start(); // changed_all() again: the gap was not watched
            else
                poll();
        } catch (const std::exception &e) {
            go_down(e.what());
        }
    }
}

// ------------------------------------------------------------ the backend's hook

bool SqliteBackend::watch_changes(ChangeListener *listener)
{
    if (watch_)
        fail(CACHE_EINVAL, "watch_changes() called twice on one sqlite backend");
    uint64_t parent = fork_generation();
    watch_ = std::make_unique<PerProcess<SqliteChangeWatch>>([this, listener, parent] {
        return std::make_unique<SqliteChangeWatch>(opts_, *runtime_, listener,
                                                   fork_generation() == parent);
    });
    return true;
}

void SqliteBackend::renew_watch_in_child()
{
    if (watch_)
        watch_->get();
}

std::string SqliteBackend::watch_info()
{
    if (!watch_)
        return "";
    SqliteChangeWatch::Counts n = watch_->get().counts();
    std::string out = std::string(" change_log=") + (n.live ? "live" : "down") +
                      " change_poll_ms=" + std::to_string(opts_.change_poll_ms) +
                      " change_log_id=" + std::to_string(n.last_id) +
                      " changes_told=" + std::to_string(n.changes) +
                      " change_log_overruns=" + std::to_string(n.overruns);
    if (!n.last_error.empty())
        out += " change_log_error=\"" + n.last_error + "\"";
    return out;
}

} // namespace unicache
