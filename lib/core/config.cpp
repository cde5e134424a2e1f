#include "config.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>

#include <cjson/cJSON.h>

#include "error.h"
#include "unicache.h"

namespace unicache {

namespace {

int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

// display: the redacted URI, for the message. The bad escape itself is not
// quoted: it may sit in a password.
std::string percent_decode(const std::string &s, bool plus_is_space, const std::string &display)
{
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); i++) {
        if (s[i] == '%') {
            int hi = i + 2 < s.size() ? hex_value(s[i + 1]) : -1;
            int lo = i + 2 < s.size() ? hex_value(s[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                fail(CACHE_EINVAL, "malformed percent-escape in cache URI '" + display +
                                       "': '%' must be followed by two hex digits");
            out.push_back(char(hi * 16 + lo));
            i += 2;
        } else if (plus_is_space && s[i] == '+') {
            out.push_back(' ');
        } else {
            out.push_back(s[i]);
        }
    }
    return out;
}

std::string join(const std::vector<std::string> &v)
{
    std::string out;
    for (const auto &s : v) {
        if (!out.empty())
            out += ", ";
        out += s;
    }
    return out.empty() ? "(none)" : out;
}

void parse_hosts(const std::string &authority, std::vector<HostPort> *hosts)
{
    size_t start = 0;
    while (start <= authority.size()) {
        size_t comma = authority.find(',', start);
        std::string one =
            authority.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        if (one.empty()) {
            if (comma == std::string::npos)
                break;
            fail(CACHE_EINVAL, "empty host in URI host list");
        }
        HostPort hp;
        std::string port;
        if (one[0] == '[') {
            size_t close = one.find(']');
            if (close == std::string::npos)
                fail(CACHE_EINVAL, "unclosed '[' in URI host '" + one + "'");
            hp.host = one.substr(1, close - 1);
            if (close + 1 < one.size()) {
                if (one[close + 1] != ':')
                    fail(CACHE_EINVAL, "unexpected text after ']' in URI host '" + one + "'");
                port = one.substr(close + 2);
            }
        } else {
            size_t colon = one.rfind(':');
            hp.host = one.substr(0, colon);
            if (colon != std::string::npos)
                port = one.substr(colon + 1);
        }
        if (!port.empty()) {
            char *end = nullptr;
            errno = 0;
            long v = std::strtol(port.c_str(), &end, 10);
            if (errno || *end || v < 1 || v > 65535)
                fail(CACHE_EINVAL, "bad port '" + port + "' in URI: expected 1-65535");
            hp.port = int(v);
        }
        if (hp.host.empty())
            fail(CACHE_EINVAL, "empty host name in URI");
        hosts->push_back(hp);
        if (comma == std::string::npos)
            break;
        start = comma + 1;
    }
}

Config parse_uri(const std::string &text)
{
    Config c;
    c.display = redact_uri(text);
    size_t sep = text.find("://");
    if (sep == std::string::npos || sep == 0)
        fail(CACHE_EINVAL, "malformed cache URI '" + c.display +
                               "': expected scheme://... (memory, sqlite, redis, "
                               "memcached) or a JSON object");
    c.scheme = text.substr(0, sep);
    for (char ch : c.scheme) {
        if (!(std::isalnum((unsigned char)ch) || ch == '+' || ch == '-' || ch == '.'))
            fail(CACHE_EINVAL, "malformed scheme in cache URI '" + c.display + "'");
    }
    std::string rest = text.substr(sep + 3);
    std::string query;
    size_t q = rest.find('?');
    if (q != std::string::npos) {
        query = rest.substr(q + 1);
        rest = rest.substr(0, q);
    }
    size_t query_at = query.find('@');
    if (query_at != std::string::npos && query.find_first_of("=&/") > query_at &&
        rest.find_first_of("@/") == std::string::npos)
        fail(CACHE_EINVAL, "cache URI '" + c.display +
                               "' has a '?' in its user name or password: percent-encode it "
                               "as %3F");
    size_t hash = rest.find('#');
    if (hash != std::string::npos)
        fail(CACHE_EINVAL, "cache URI '" + c.display + "' must not contain a '#' fragment");
    c.location = percent_decode(rest, false, c.display);

    std::string authority = rest;
    size_t slash = rest.find('/');
    if (slash != std::string::npos) {
        authority = rest.substr(0, slash);
        c.path = percent_decode(rest.substr(slash), false, c.display);
    }
    size_t at = authority.rfind('@');
    if (at != std::string::npos) {
        std::string userinfo = authority.substr(0, at);
        authority = authority.substr(at + 1);
        size_t colon = userinfo.find(':');
        if (colon != std::string::npos) {
            c.user = percent_decode(userinfo.substr(0, colon), false, c.display);
            c.password = percent_decode(userinfo.substr(colon + 1), false, c.display);
            c.has_password = true;
        } else {
            c.user = percent_decode(userinfo, false, c.display);
        }
    }
    if (!authority.empty())
        parse_hosts(authority, &c.hosts);

    size_t start = 0;
    while (start < query.size()) {
        size_t amp = query.find('&', start);
        std::string pair =
            query.substr(start, amp == std::string::npos ? std::string::npos : amp - start);
        if (!pair.empty()) {
            size_t eq = pair.find('=');
            std::string name = percent_decode(pair.substr(0, eq), true, c.display);
            std::string value =
                eq == std::string::npos ? "" : percent_decode(pair.substr(eq + 1), true, c.display);
            if (name.empty())
                fail(CACHE_EINVAL, "empty parameter name in cache URI '" + c.display + "'");
            c.params.add(name, value);
        }
        if (amp == std::string::npos)
            break;
        start = amp + 1;
    }
    return c;
}

struct JsonDeleter {
    void operator()(cJSON *j) const { cJSON_Delete(j); }
};

std::string json_scalar(const cJSON *item, const std::string &field)
{
    if (cJSON_IsString(item))
        return item->valuestring;
    if (cJSON_IsBool(item))
        return cJSON_IsTrue(item) ? "true" : "false";
    if (cJSON_IsNumber(item)) {
        double d = item->valuedouble;
        // Converting a double outside int64_t's range is undefined: check
        // the range first (2^63 is exact as a double; found by the fuzzer).
        if (d >= -9223372036854775808.0 && d < 9223372036854775808.0 && d == std::trunc(d))
            return std::to_string(int64_t(d));
        char buf[64];
        snprintf(buf, sizeof buf, "%.17g", d);
        return buf;
    }
    fail(CACHE_EINVAL,
         "JSON cache configuration: field '" + field + "' must be a string, number or boolean");
}

Config parse_json(const std::string &text)
{
    std::unique_ptr<cJSON, JsonDeleter> root(cJSON_ParseWithLength(text.data(), text.size()));
    if (!root) {
        const char *where = cJSON_GetErrorPtr();
        size_t offset = where ? size_t(where - text.data()) : 0;
        if (offset > text.size())
            offset = 0;
        fail(CACHE_EINVAL,
             "malformed JSON cache configuration near byte " + std::to_string(offset));
    }
    if (!cJSON_IsObject(root.get()))
        fail(CACHE_EINVAL, "JSON cache configuration must be an object");

    Config c;
    const cJSON *uri = cJSON_GetObjectItemCaseSensitive(root.get(), "uri");
    const cJSON *backend = cJSON_GetObjectItemCaseSensitive(root.get(), "backend");
    if (uri && backend)
        fail(CACHE_EINVAL, "JSON cache configuration: give either 'uri' or 'backend', not both");
    if (uri) {
        if (!cJSON_IsString(uri))
            fail(CACHE_EINVAL, "JSON cache configuration: 'uri' must be a string");
        c = parse_uri(uri->valuestring);
    } else if (backend) {
        if (!cJSON_IsString(backend) || !*backend->valuestring)
            fail(CACHE_EINVAL, "JSON cache configuration: 'backend' must be a non-empty string");
        c.scheme = backend->valuestring;
        c.display = c.scheme + "://";
    } else if (cJSON_GetObjectItemCaseSensitive(root.get(), "tiers")) {
        c.scheme = "tiered"; // {"tiers": [...]} names its backend by its shape
    } else {
        fail(CACHE_EINVAL, "JSON cache configuration needs 'backend' (memory, sqlite, redis, "
                           "memcached), 'uri' or 'tiers'");
    }

    const cJSON *item = nullptr;
    cJSON_ArrayForEach(item, root.get())
    {
        std::string name = item->string ? item->string : "";
        if (name == "uri" || name == "backend")
            continue;
        if (name == "path") {
            c.path = json_scalar(item, name);
            c.location = c.path;
        } else if (name == "user") {
            c.user = json_scalar(item, name);
        } else if (name == "password") {
            c.password = json_scalar(item, name);
            c.has_password = true;
        } else if (name == "host" || name == "hosts") {
            if (cJSON_IsArray(item)) {
                const cJSON *h = nullptr;
                cJSON_ArrayForEach(h, item) parse_hosts(json_scalar(h, name), &c.hosts);
            } else {
                parse_hosts(json_scalar(item, name), &c.hosts);
            }
        } else if (name == "port") {
            if (c.hosts.empty())
                c.hosts.push_back(HostPort{"127.0.0.1", 0});
            std::string p = json_scalar(item, name);
            char *end = nullptr;
            long v = std::strtol(p.c_str(), &end, 10);
            if (*end || v < 1 || v > 65535)
                fail(CACHE_EINVAL, "JSON cache configuration: bad port '" + p + "'");
            c.hosts.back().port = int(v);
        } else if (cJSON_IsObject(item) || cJSON_IsArray(item)) {
            // Nested configuration (tiers, a fallback): kept as JSON text
            // for the part that takes it to parse.
            char *nested = cJSON_PrintUnformatted(item);
            if (!nested)
                throw std::bad_alloc();
            std::string text(nested);
            cJSON_free(nested);
            c.params.add_structured(name, std::move(text));
        } else {
            c.params.add(name, json_scalar(item, name));
        }
    }
    if (!uri) {
        // A display form for messages and stats, never with the password.
        c.display = c.scheme + "://";
        if (!c.user.empty() || c.has_password)
            c.display += c.user + (c.has_password ? ":***" : "") + "@";
        for (size_t i = 0; i < c.hosts.size(); i++) {
            const HostPort &h = c.hosts[i];
            c.display += (i ? "," : "") +
                         (h.host.find(':') != std::string::npos ? "[" + h.host + "]" : h.host);
            if (h.port)
                c.display += ":" + std::to_string(h.port);
        }
        c.display += c.path;
    }
    return c;
}

} // namespace

void Params::add(std::string name, std::string value)
{
    if (find(name))
        fail(CACHE_EINVAL, "parameter '" + name + "' is given twice");
    items_.push_back(Item{std::move(name), std::move(value), false});
}

void Params::add_structured(std::string name, std::string json)
{
    add(std::move(name), std::move(json));
    items_.back().structured = true;
}

std::vector<std::string> Params::names() const
{
    std::vector<std::string> out;
    for (const auto &it : items_)
        out.push_back(it.name);
    return out;
}

std::vector<std::string> Params::names_not_taken() const
{
    std::vector<std::string> out;
    for (const auto &it : items_)
        if (!it.used)
            out.push_back(it.name);
    return out;
}

Params::Item *Params::take(const std::string &name)
{
    known_.push_back(name);
    Item *it = find(name);
    if (it)
        it->used = true;
    return it;
}

Params::Item *Params::take_scalar(const std::string &name)
{
    Item *it = take(name);
    if (it && it->structured)
        fail(CACHE_EINVAL, "parameter '" + name + "' must be a string, number or boolean, not a " +
                               (it->value[0] == '[' ? "JSON array" : "JSON object"));
    return it;
}

std::string Params::take_config(const std::string &name)
{
    Item *it = take(name);
    if (!it)
        return "";
    if (!it->structured && it->value.find("://") == std::string::npos)
        fail(CACHE_EINVAL, "parameter '" + name + "' must be a cache URI or a JSON object, got '" +
                               redact_uri(it->value) + "'");
    if (it->structured && it->value[0] == '[')
        fail(CACHE_EINVAL,
             "parameter '" + name + "' must be a cache URI or a JSON object, not a JSON array");
    return it->value;
}

std::vector<std::string> Params::take_list(const std::string &name, bool *given)
{
    *given = false;
    Item *it = take(name);
    if (!it)
        return {};
    *given = true;
    if (!it->structured || it->value[0] != '[')
        fail(CACHE_EINVAL, "parameter '" + name + "' must be a JSON array");
    std::unique_ptr<cJSON, JsonDeleter> arr(cJSON_Parse(it->value.c_str()));
    if (!arr)
        throw std::bad_alloc(); // we printed it ourselves: only memory can fail
    std::vector<std::string> out;
    const cJSON *e = nullptr;
    cJSON_ArrayForEach(e, arr.get())
    {
        if (cJSON_IsString(e)) {
            out.push_back(e->valuestring);
        } else if (cJSON_IsObject(e)) {
            char *text = cJSON_PrintUnformatted(e);
            if (!text)
                throw std::bad_alloc();
            out.push_back(text);
            cJSON_free(text);
        } else {
            fail(CACHE_EINVAL, "element " + std::to_string(out.size()) + " of '" + name +
                                   "' must be a cache URI or a JSON object");
        }
    }
    return out;
}

bool Params::has(const std::string &name) const
{
    for (const auto &it : items_)
        if (it.name == name)
            return true;
    return false;
}

Params::Item *Params::find(const std::string &name)
{
    for (auto &it : items_)
        if (it.name == name)
            return &it;
    return nullptr;
}

std::string Params::take_string(const std::string &name, const std::string &def)
{
    Item *it = take_scalar(name);
    return it ? it->value : def;
}

int64_t Params::take_int(const std::string &name, int64_t def, int64_t min, int64_t max)
{
    Item *it = take_scalar(name);
    if (!it)
        return def;
    const std::string &v = it->value;
    char *end = nullptr;
    errno = 0;
    long long n = std::strtoll(v.c_str(), &end, 10);
    if (v.empty() || errno || *end || v.find_first_of(" \t") != std::string::npos)
        fail(CACHE_EINVAL, "parameter '" + name + "' must be an integer, got '" + v + "'");
    if (n < min || n > max)
        fail(CACHE_EINVAL, "parameter '" + name + "' must be between " + std::to_string(min) +
                               " and " + std::to_string(max) + ", got " + v);
    return n;
}

double Params::take_double(const std::string &name, double def, double min, double max)
{
    Item *it = take_scalar(name);
    if (!it)
        return def;
    const std::string &v = it->value;
    char *end = nullptr;
    errno = 0;
    double d = std::strtod(v.c_str(), &end);
    // strtod takes "nan", "inf" and hex: a parameter is a plain decimal.
    if (v.empty() || errno || *end || v.find_first_not_of("0123456789.eE+-") != std::string::npos)
        fail(CACHE_EINVAL, "parameter '" + name + "' must be a number, got '" + v + "'");
    if (!(d >= min && d <= max))
        fail(CACHE_EINVAL, "parameter '" + name + "' must be between " + std::to_string(min) +
                               " and " + std::to_string(max) + ", got " + v);
    return d;
}

bool Params::take_bool(const std::string &name, bool def)
{
    std::string v = take_string(name, def ? "true" : "false");
    if (v == "1" || v == "true" || v == "yes" || v == "on")
        return true;
    if (v == "0" || v == "false" || v == "no" || v == "off")
        return false;
    fail(CACHE_EINVAL, "parameter '" + name + "' must be true or false, got '" + v + "'");
}

std::string Params::take_choice(const std::string &name, const std::string &def,
                                const std::vector<std::string> &choices)
{
    std::string v = take_string(name, def);
    for (const auto &c : choices)
        if (c == v)
            return v;
    fail(CACHE_EINVAL,
         "parameter '" + name + "' must be one of " + join(choices) + ", got '" + v + "'");
}

void Params::finish(const std::string &scheme) const
{
    for (const auto &it : items_) {
        if (!it.used) {
            std::vector<std::string> names = known_;
            fail(CACHE_EINVAL, "unknown parameter '" + it.name + "' for " + scheme +
                                   "://; valid parameters: " + join(names));
        }
    }
    if (stop_at_finish_)
        throw ParamsChecked{};
}

Config Config::parse(const std::string &text)
{
    size_t first = text.find_first_not_of(" \t\r\n");
    if (first != std::string::npos && text[first] == '{')
        return parse_json(text);
    return parse_uri(text);
}

namespace {

// Decodes what it can and keeps the rest as written: redaction must work
// on text that the parser is about to refuse.
std::string lenient_decode(const std::string &s)
{
    std::string out;
    for (size_t i = 0; i < s.size(); i++) {
        int hi = s[i] == '%' && i + 2 < s.size() ? hex_value(s[i + 1]) : -1;
        int lo = hi >= 0 ? hex_value(s[i + 2]) : -1;
        if (hi >= 0 && lo >= 0) {
            out.push_back(char(hi * 16 + lo));
            i += 2;
        } else {
            out.push_back(s[i] == '+' ? ' ' : s[i]);
        }
    }
    return out;
}

// Could a parameter of this name hold a credential? Judged on the decoded
// name, so pass%77ord is password; deliberately broad (a false positive
// only hides a value from a message).
bool credential_name(const std::string &raw)
{
    std::string name;
    for (char ch : lenient_decode(raw))
        if (std::isalnum((unsigned char)ch))
            name.push_back(char(std::tolower((unsigned char)ch)));
    if (name.empty())
        return true; // "=value": nobody knows what it is
    static const char *const words[] = {
        "pass", "pwd",    "secret",    "token",      "auth",
        "cred", "apikey", "accesskey", "privatekey", "sasl",
    };
    for (const char *w : words)
        if (name.find(w) != std::string::npos)
            return true;
    return false;
}

} // namespace

std::string redact_uri(const std::string &uri)
{
    std::string out;
    size_t pos = 0;
    size_t sep = uri.find("://");
    size_t query = uri.find('?');
    if (sep != std::string::npos && (query == std::string::npos || sep < query)) {
        // The userinfo: "user:password@" keeps the user, anything else is
        // all secret (a lone "secret@" may well be a password). A password
        // written with a raw '?' or '#' is still one: only '/' or a query's
        // '=' or '&' before the '@' mean it is not userinfo.
        size_t start = sep + 3;
        size_t end = uri.find('/', start);
        size_t at = uri.rfind('@', end == std::string::npos ? std::string::npos : end - 1);
        if (at != std::string::npos && at >= start && uri.find_first_of("=&", start) < at)
            at = std::string::npos;
        out = uri.substr(0, start);
        pos = start;
        if (at != std::string::npos && at >= start) {
            std::string userinfo = uri.substr(start, at - start);
            size_t colon = userinfo.find(':');
            out += colon != std::string::npos ? userinfo.substr(0, colon) + ":***" : "***";
            pos = at;
        }
    }
    if (pos > sep + 3 && query != std::string::npos && query < pos)
        query = uri.find('?', pos); // that '?' was in the password
    if (query == std::string::npos)
        return out + uri.substr(pos);
    out += uri.substr(pos, query + 1 - pos);
    // Each name=value of the query, judged by its decoded name.
    size_t start = query + 1;
    while (start <= uri.size()) {
        size_t amp = uri.find('&', start);
        std::string pair =
            uri.substr(start, amp == std::string::npos ? std::string::npos : amp - start);
        size_t eq = pair.find('=');
        if (eq != std::string::npos && credential_name(pair.substr(0, eq)))
            pair = pair.substr(0, eq + 1) + "***";
        out += pair;
        if (amp == std::string::npos)
            break;
        out += '&';
        start = amp + 1;
    }
    return out;
}

} // namespace unicache
