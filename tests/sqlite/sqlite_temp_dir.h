// SqliteTempDir: a fresh directory for a test's database files, removed
// with everything in it when the object goes away.
#pragma once

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace unicache_test {

class SqliteTempDir {
public:
    explicit SqliteTempDir(const std::string &tag)
    {
        const char *base = std::getenv("TMPDIR");
        std::string tmpl =
            std::string(base && *base ? base : "/tmp") + "/unicache-sqlite-" + tag + "-XXXXXX";
        if (!mkdtemp(&tmpl[0]))
            throw std::runtime_error("mkdtemp failed for " + tmpl);
        path_ = tmpl;
    }
    ~SqliteTempDir()
    {
        std::string cmd = "rm -rf '" + path_ + "'";
        if (std::system(cmd.c_str()) != 0) {
            // best effort; a leftover directory under /tmp is harmless
        }
    }
    SqliteTempDir(const SqliteTempDir &) = delete;
    SqliteTempDir &operator=(const SqliteTempDir &) = delete;

    const std::string &path() const { return path_; }
    std::string file(const std::string &name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

} // namespace unicache_test
