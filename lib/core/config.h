// Config: a parsed URI or JSON object. Backends read their parameters with
// Params::take_*; Params::finish() then rejects anything nobody took, naming
// it and listing the parameters that are valid for that scheme.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace unicache {

struct HostPort {
    std::string host;
    int port = 0; // 0: the backend's default
};

class Params {
public:
    void add(std::string name, std::string value); // throws on duplicates
    bool has(const std::string &name) const;

    // Each take_* marks the name as valid for this scheme and consumes it.
    // Bad values throw Error(CACHE_EINVAL) naming the parameter.
    std::string take_string(const std::string &name, const std::string &def);
    int64_t take_int(const std::string &name, int64_t def, int64_t min, int64_t max);
    bool take_bool(const std::string &name, bool def);
    // One of `choices`, or def when absent.
    std::string take_choice(const std::string &name, const std::string &def,
                            const std::vector<std::string> &choices);

    // Throws Error(CACHE_EINVAL) if a parameter was given that no take_*
    // consumed. `scheme` is used in the message.
    void finish(const std::string &scheme) const;

private:
    struct Item {
        std::string name, value;
        bool used = false;
    };
    Item *find(const std::string &name);
    std::vector<Item> items_;
    std::vector<std::string> known_;
};

struct Config {
    std::string scheme;            // "memory", "sqlite", "redis", ...
    std::string location;          // everything between "://" and "?", decoded
    std::string user, password;    // from userinfo; password never printed
    bool has_password = false;
    std::vector<HostPort> hosts;   // parsed authority (may be empty)
    std::string path;              // after the authority, decoded, with '/'
    Params params;                 // query parameters or extra JSON fields
    std::string display;           // the URI with the password replaced by ***
    std::string prefix;            // the cache's key prefix (set by the core)

    // Parses "scheme://..." or a JSON object. Throws Error(CACHE_EINVAL).
    static Config parse(const std::string &text);
};

// Replace the password in any URI-like text with "***" (for messages).
std::string redact_uri(const std::string &uri);

} // namespace unicache
