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
    // A JSON object or array (its text), from a nested configuration. Only
    // take_list and take_config accept it; take_string and the others
    // refuse it as "must be a string, number or boolean".
    void add_structured(std::string name, std::string json);
    bool has(const std::string &name) const;
    // The names given, in order (taken or not).
    std::vector<std::string> names() const;
    // The names given and not taken yet, in order.
    std::vector<std::string> names_not_taken() const;

    // Each take_* marks the name as valid for this scheme and consumes it.
    // Bad values throw Error(CACHE_EINVAL) naming the parameter.
    std::string take_string(const std::string &name, const std::string &def);
    int64_t take_int(const std::string &name, int64_t def, int64_t min, int64_t max);
    // A decimal number (no nan, inf or hex) in [min, max].
    double take_double(const std::string &name, double def, double min, double max);
    bool take_bool(const std::string &name, bool def);
    // One of `choices`, or def when absent.
    std::string take_choice(const std::string &name, const std::string &def,
                            const std::vector<std::string> &choices);

    // A nested configuration: a URI string or a JSON object's text, ready
    // for Config::parse. Empty when absent.
    std::string take_config(const std::string &name);
    // A JSON array of configurations (URI strings or objects), each ready
    // for Config::parse. *given is false when absent. Throws CACHE_EINVAL
    // when the value is not an array or an element is neither.
    std::vector<std::string> take_list(const std::string &name, bool *given);

    // Throws Error(CACHE_EINVAL) if a parameter was given that no take_*
    // consumed. `scheme` is used in the message. After stop_at_finish(), a
    // finish() that finds nothing wrong throws ParamsChecked instead of
    // returning.
    void finish(const std::string &scheme) const;

    // Phase one of an open (compose/open_cache.h, check_backend): a factory
    // runs up to its finish(), which every factory calls before it connects
    // or opens anything, and is stopped there.
    void stop_at_finish() { stop_at_finish_ = true; }

private:
    struct Item {
        std::string name, value;
        bool used = false;
        bool structured = false; // value is a JSON object or array
    };
    Item *find(const std::string &name);
    Item *take(const std::string &name); // marks the name known and the item used
    Item *take_scalar(const std::string &name);
    std::vector<Item> items_;
    std::vector<std::string> known_;
    bool stop_at_finish_ = false;
};

// Thrown by Params::finish() after stop_at_finish(): every parameter was
// valid. Not an Error: only check_backend() catches it.
struct ParamsChecked {};

// With prefix_mode=namespace (the default) a full key is prefix + this +
// key; a key of the handle without a prefix belongs to the namespace before
// its first separator (memcached's generations use that).
constexpr char kNamespaceSeparator = '|';

struct Config {
    std::string scheme;         // "memory", "sqlite", "redis", ...
    std::string location;       // everything between "://" and "?", decoded
    std::string user, password; // from userinfo; password never printed
    bool has_password = false;
    std::vector<HostPort> hosts; // parsed authority (may be empty)
    std::string path;            // after the authority, decoded, with '/'
    Params params;               // query parameters or extra JSON fields
    std::string display;         // the URI with the password replaced by ***
    // The bytes before every full key (set by the core): the prefix and its
    // '|' with prefix_mode=namespace, the prefix alone with prefix_mode=raw.
    std::string prefix;
    bool raw_prefix = false;     // prefix_mode=raw (set by the core)
    bool latency = true;         // tiers keep latency histograms (set by the core)
    int64_t latency_sample = 64; // and time one call in this many (set by the core)

    // Parses "scheme://..." or a JSON object. Throws Error(CACHE_EINVAL).
    static Config parse(const std::string &text);
};

// Replace the password in any URI-like text with "***" (for messages).
std::string redact_uri(const std::string &uri);

} // namespace unicache
