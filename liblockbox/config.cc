#include "config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cctype>
#include <climits>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <string_view>

#include "access_level.h"
#include "config_keys.h"
#include "libc_handles.h"
#include "lockbox_build_config.h"
#include "names.h"
#include "time_format.h"

namespace lockbox {
namespace {
constexpr size_t MAX_PATH_LENGTH = 4096;
}

namespace config_keys {

bool has_control(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

Expected set_path(std::string& out, const std::string& v) {
    if (v.empty() || v[0] != '/' || v.size() > MAX_PATH_LENGTH || has_control(v))
        return "an absolute path";
    // ".." would let a relative climb escape the directories the units protect.
    if (v == "/.." || v.find("/../") != std::string::npos || v.ends_with("/.."))
        return "an absolute path without '..'";
    std::string p = v;
    while (p.size() > 1 && p.back() == '/')
        p.pop_back();
    out = p;
    return std::nullopt;
}

}  // namespace config_keys

namespace {
using namespace config_keys;

constexpr size_t MAX_LINE = 4096;
constexpr size_t MAX_PROBLEMS = 20;
constexpr size_t MAX_APPROVERS = 64;
constexpr size_t MAX_WARN_BEFORE = 8;
constexpr uint32_t UID_FLOOR = 1000;
constexpr uint32_t UID_CEILING = 2147483647;  // 2^31-1: uid_t is signed in places
constexpr usec_t HOUR = 3600 * USEC_PER_SEC;

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && (is_space(s.front()) || s.front() == '\r'))
        s.remove_prefix(1);
    while (!s.empty() && (is_space(s.back()) || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

// "Key=value   # note": a '#' or ';' after whitespace starts a comment, so a
// value may still contain them ("SR#991").
std::string_view strip_inline_comment(std::string_view value) {
    for (size_t i = 0; i < value.size(); i++)
        if ((value[i] == '#' || value[i] == ';') && (i == 0 || is_space(value[i - 1])))
            return trim(value.substr(0, i));
    return trim(value);
}

Expected set_duration(usec_t& out, const std::string& v, usec_t min, usec_t max, const char* bounds) {
    usec_t d = 0;
    if (v != "0") {  // "0" only where min allows it; parse_duration refuses zero
        auto r = parse_duration(v);
        if (!r)
            return std::string("a duration such as 30s, 10m, 4h, 1h30m, ") + bounds;
        d = *r;
    }
    if (d < min || d > max)
        return std::string("a duration ") + bounds;
    out = d;
    return std::nullopt;
}

// As set_duration, and also whole days ("400d"), for the one key whose useful
// values are months and years (Retention).
Expected set_duration_or_days(usec_t& out, const std::string& v, usec_t min, usec_t max, const char* bounds) {
    if (v.size() > 1 && v.size() <= 6 && v.ends_with('d') &&
        std::all_of(v.begin(), v.end() - 1, [](char c) { return c >= '0' && c <= '9'; })) {
        usec_t d = std::stoull(v.substr(0, v.size() - 1)) * 24 * 3600 * USEC_PER_SEC;
        if (d < min || d > max)
            return std::string("a duration ") + bounds;
        out = d;
        return std::nullopt;
    }
    return set_duration(out, v, min, max, bounds);
}

// As set_duration, and also whole milliseconds ("500ms"), for the one key
// whose useful values are below a second (KillLead).
Expected set_duration_or_ms(usec_t& out, const std::string& v, usec_t min, usec_t max, const char* bounds) {
    if (v.size() > 2 && v.size() <= 7 && v.ends_with("ms") &&
        std::all_of(v.begin(), v.end() - 2, [](char c) { return c >= '0' && c <= '9'; })) {
        usec_t d = std::stoull(v.substr(0, v.size() - 2)) * USEC_PER_MSEC;
        if (d < min || d > max)
            return std::string("a duration ") + bounds;
        out = d;
        return std::nullopt;
    }
    return set_duration(out, v, min, max, bounds);
}

// Home and shell land in passwd records: a ':' would end the field, and the
// NSS cache writer would refuse every engineer's record.
Expected set_record_path(std::string& out, const std::string& v) {
    if (v.find(':') != std::string::npos)
        return "an absolute path without ':' (it goes into passwd records)";
    return set_path(out, v);
}

Expected set_bool(bool& out, const std::string& v) {
    std::string l = v;
    std::transform(l.begin(), l.end(), l.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (l == "yes" || l == "true" || l == "1" || l == "on")
        out = true;
    else if (l == "no" || l == "false" || l == "0" || l == "off")
        out = false;
    else
        return "a boolean (yes/no, true/false, on/off, 1/0)";
    return std::nullopt;
}

std::optional<uint32_t> parse_uint(const std::string& v) {
    if (v.empty() || v.size() > 10)
        return std::nullopt;
    uint64_t n = 0;
    for (char c : v) {
        if (c < '0' || c > '9')
            return std::nullopt;
        n = n * 10 + static_cast<uint64_t>(c - '0');
    }
    if (n > UID_CEILING)
        return std::nullopt;
    return static_cast<uint32_t>(n);
}

Expected set_uid(uint32_t& out, const std::string& v) {
    auto n = parse_uint(v);
    if (!n || *n < UID_FLOOR)
        return "a uid between 1000 and 2147483647";
    out = *n;
    return std::nullopt;
}

Expected set_group(std::string& out, const std::string& v) {
    if (!is_valid_user_name(v))
        return "a group name ([a-z_][a-z0-9_-]*, at most 32 characters)";
    out = v;
    return std::nullopt;
}

std::vector<std::string_view> split_words(std::string_view s) {
    std::vector<std::string_view> words;
    size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && is_space(s[i]))
            i++;
        size_t start = i;
        while (i < s.size() && !is_space(s[i]))
            i++;
        if (i > start)
            words.push_back(s.substr(start, i - start));
    }
    return words;
}

bool is_valid_email(std::string_view a) {
    if (a.size() < 3 || a.size() > 254 || has_control(a))
        return false;
    size_t at = a.find('@');
    if (at == 0 || at == std::string_view::npos || a.find('@', at + 1) != std::string_view::npos)
        return false;
    for (char c : a)
        if (static_cast<unsigned char>(c) > 0x7e || c == '<' || c == '>' || c == ',' || c == '"')
            return false;
    std::string domain(a.substr(at + 1));
    std::transform(domain.begin(), domain.end(), domain.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return is_valid_host_name(domain);
}

const std::map<std::string, std::map<std::string, Setter>>& schema() {
    static const std::map<std::string, std::map<std::string, Setter>> s = {
        {"Host",
         {
             {"Tenant",
              [](Config& c, const std::string& v) -> Expected {
                  if (!is_valid_tenant_name(v))
                      return "a tenant name ([a-z0-9][a-z0-9._-]*, at most 64 characters)";
                  c.tenant = v;
                  return std::nullopt;
              }},
             {"Name",
              [](Config& c, const std::string& v) -> Expected {
                  if (!is_valid_host_name(v))
                      return "a lowercase host name (RFC 1123, at most 253 characters)";
                  c.host_name = v;
                  return std::nullopt;
              }},
             {"Groups", set_host_groups},
         }},
        {"Fleet", fleet_keys()},
        {"Policy",
         {
             {"MaxGrant",
              [](Config& c, const std::string& v) {
                  return set_duration(c.max_grant, v, 1, 24 * HOUR, "greater than 0 and at most 24h");
              }},
             {"PendingTimeout",
              [](Config& c, const std::string& v) {
                  return set_duration(c.pending_timeout, v, 1, 7 * 24 * HOUR, "greater than 0 and at most 168h");
              }},
             {"ClockSkew",
              [](Config& c, const std::string& v) {
                  return set_duration(c.clock_skew, v, 0, 600 * USEC_PER_SEC, "between 0 and 10m");
              }},
             {"KillGrace",
              [](Config& c, const std::string& v) {
                  return set_duration(c.kill_grace, v, 0, 60 * USEC_PER_SEC, "between 0 and 60s");
              }},
             {"KillLead",
              [](Config& c, const std::string& v) {
                  return set_duration_or_ms(c.kill_lead, v, 0, 5 * USEC_PER_SEC, "between 0 and 5s (such as 500ms)");
              }},
             {"ResyncInterval",
              [](Config& c, const std::string& v) {
                  return set_duration(c.resync_interval, v, USEC_PER_SEC, 60 * USEC_PER_SEC, "between 1s and 60s");
              }},
             {"Retention",
              [](Config& c, const std::string& v) {
                  return set_duration_or_days(c.retention, v, 24 * HOUR, 3650 * 24 * HOUR,
                                              "between 1d and 3650d (such as 400d or 48h)");
              }},
             {"WarnBefore",
              [](Config& c, const std::string& v) -> Expected {
                  const char* want = "space-separated durations, each greater than 0 and at most 24h, at most 8";
                  auto words = split_words(v);
                  if (words.size() > MAX_WARN_BEFORE)
                      return want;
                  std::vector<usec_t> out;
                  for (auto w : words) {
                      auto d = parse_duration(w);
                      if (!d || *d > 24 * HOUR)
                          return want;
                      out.push_back(*d);
                  }
                  // Largest first: the session warner walks them in that order.
                  std::sort(out.begin(), out.end(), std::greater<>());
                  out.erase(std::unique(out.begin(), out.end()), out.end());
                  c.warn_before = std::move(out);
                  return std::nullopt;
              }},
         }},
        {"Keys",
         {
             {"TrustedDir", [](Config& c, const std::string& v) { return set_path(c.trusted_dir, v); }},
             {"SigningKey", [](Config& c, const std::string& v) { return set_path(c.signing_key, v); }},
             {"KeyOwner",
              [](Config& c, const std::string& v) -> Expected {
                  auto n = parse_uint(v);
                  if (!n)
                      return "a numeric uid between 0 and 2147483647";
                  c.key_owner = static_cast<uid_t>(*n);
                  return std::nullopt;
              }},
         }},
        {"Roles",
         {
             {"EngineerGroup", [](Config& c, const std::string& v) { return set_group(c.engineer_group, v); }},
             {"ManagerGroup", [](Config& c, const std::string& v) { return set_group(c.manager_group, v); }},
             {"ApproverGroup", [](Config& c, const std::string& v) { return set_group(c.approver_group, v); }},
         }},
        {"Access",
         {
             {"Levels",
              [](Config& c, const std::string& v) -> Expected {
                  const char* want =
                      "1 to 16 distinct level names ([a-z][a-z0-9_-]*, at most 24 characters), "
                      "comma-separated, least privileged first";
                  std::string spaced = v;
                  std::replace(spaced.begin(), spaced.end(), ',', ' ');
                  auto words = split_words(spaced);
                  if (words.empty() || words.size() > MAX_ACCESS_LEVELS)
                      return want;
                  std::vector<std::string> out;
                  for (auto w : words) {
                      if (!is_valid_access_level(w) || access_level_rank(out, w))
                          return want;
                      out.emplace_back(w);
                  }
                  c.access_levels = std::move(out);
                  return std::nullopt;
              }},
         }},
        {"Accounts",
         {
             {"UIDMin", [](Config& c, const std::string& v) { return set_uid(c.uid_min, v); }},
             {"UIDMax", [](Config& c, const std::string& v) { return set_uid(c.uid_max, v); }},
             {"Shell", [](Config& c, const std::string& v) { return set_record_path(c.shell, v); }},
             {"Record", [](Config& c, const std::string& v) { return set_bool(c.record, v); }},
             {"RecordShell", [](Config& c, const std::string& v) { return set_record_path(c.record_shell, v); }},
             {"HomeBase", [](Config& c, const std::string& v) { return set_record_path(c.home_base, v); }},
             {"KeepHome", [](Config& c, const std::string& v) { return set_bool(c.keep_home, v); }},
             {"KeyOptions",
              [](Config& c, const std::string& v) -> Expected {
                  // Goes verbatim before the key in sshd's AuthorizedKeysCommand output.
                  if (v.size() > 512 || has_control(v) || v.find(' ') != std::string::npos ||
                      v.find('\t') != std::string::npos)
                      return "authorized_keys options without spaces (e.g. restrict,pty), at most 512 characters";
                  c.key_options = v;
                  return std::nullopt;
              }},
         }},
        {"Notify",
         {
             {"Command",
              [](Config& c, const std::string& v) -> Expected {
                  auto words = split_words(v);
                  if (words.empty() || words[0][0] != '/' || v.size() > 1024 || has_control(v))
                      return "a command line starting with an absolute path (e.g. /usr/sbin/sendmail -t -i)";
                  c.notify_command = v;
                  return std::nullopt;
              }},
             {"Approvers",
              [](Config& c, const std::string& v) -> Expected {
                  auto words = split_words(v);
                  if (words.size() > MAX_APPROVERS)
                      return "at most 64 space-separated e-mail addresses";
                  std::vector<std::string> out;
                  for (auto w : words) {
                      if (!is_valid_email(w))
                          return "space-separated e-mail addresses (user@example.com)";
                      out.emplace_back(w);
                  }
                  c.approver_emails = std::move(out);
                  return std::nullopt;
              }},
             {"MailDomain",
              [](Config& c, const std::string& v) -> Expected {
                  if (!v.empty() && !is_valid_host_name(v))
                      return "a lowercase domain name, or empty for no mail to engineers";
                  c.mail_domain = v;
                  return std::nullopt;
              }},
         }},
        {"Paths",
         {
             {"StateDir", [](Config& c, const std::string& v) { return set_path(c.state_dir, v); }},
             {"RuntimeDir", [](Config& c, const std::string& v) { return set_path(c.runtime_dir, v); }},
         }},
    };
    return s;
}

struct ParseState {
    ParseState(const std::string& o) : origin(o), config(default_config()) {}

    const std::string& origin;
    int line = 0;
    std::string section;  // "" until the first well-formed [Section] header
    std::map<std::string, int> seen;
    std::vector<std::string> problems;
    bool home_base_set = false;
    Config config;

    void problem(int at, const std::string& what) {
        if (problems.size() < MAX_PROBLEMS)
            problems.push_back(origin + ":" + std::to_string(at) + ": " + what);
        else if (problems.size() == MAX_PROBLEMS)
            problems.push_back(origin + ": too many problems, stopped listing");
    }
};

void set_key(ParseState* st, const std::string& name, const std::string& value) {
    const std::string& section = st->section;
    if (section.empty()) {
        st->problem(st->line, "key " + name + "= outside of any [Section]");
        return;
    }
    const auto& sch = schema();
    auto sec = sch.find(section);
    if (sec == sch.end())
        return;  // the section header was reported
    auto key = sec->second.find(name);
    if (key == sec->second.end()) {
        st->problem(st->line, "unknown key " + name + "= in [" + section + "]");
        return;
    }
    std::string full = section + "." + name;
    auto [it, fresh] = st->seen.emplace(full, st->line);
    if (!fresh) {
        st->problem(st->line,
                    "[" + section + "] " + name + "= set twice (first at line " + std::to_string(it->second) + ")");
        return;
    }
    if (auto expected = key->second(st->config, value)) {
        st->problem(st->line, "bad value for " + name + "=\"" + value.substr(0, 200) + "\": expected " + *expected);
        return;
    }
    if (full == "Accounts.HomeBase")
        st->home_base_set = true;
}

// One line of the file; every problem names file:line and parsing goes on, so
// the operator sees every problem in one pass. The syntax is systemd's: '#' or
// ';' comments, inline after whitespace too, no continuation lines, no length
// limit below 4096 bytes a line. (inih, used here before, cut lines at 200
// bytes, took indented lines as continuations and ':' as '=', and reported
// only the first bad line: this is the whole parser instead.)
void parse_line(ParseState* st, std::string_view raw) {
    std::string_view line = trim(raw);
    if (raw.size() > MAX_LINE) {
        st->problem(st->line, "line longer than 4096 bytes");
    } else if (line.empty() || line[0] == '#' || line[0] == ';') {
        // blank or comment
    } else if (line.find('\0') != std::string_view::npos) {
        st->problem(st->line, "NUL byte in line");
    } else if (line[0] == '[') {
        std::string_view l = strip_inline_comment(line);
        if (l.size() < 3 || l.back() != ']' || l.find(']') != l.size() - 1) {
            st->problem(st->line, "malformed section header \"" + std::string(line.substr(0, 80)) + "\"");
        } else {
            st->section = std::string(l.substr(1, l.size() - 2));
            // Reported once here; keys below an unknown header are then skipped.
            if (!schema().count(st->section))
                st->problem(st->line, "unknown section [" + st->section + "]");
        }
    } else {
        size_t eq = line.find('=');
        std::string_view key = eq == std::string_view::npos ? line : trim(line.substr(0, eq));
        if (eq == std::string_view::npos)
            st->problem(st->line, "expected Key=Value, got \"" + std::string(line.substr(0, 80)) + "\"");
        else if (key.empty() || key.size() > 64 || !std::all_of(key.begin(), key.end(), [](char c) {
                     return std::isalnum(static_cast<unsigned char>(c));
                 }))
            st->problem(st->line, "malformed key \"" + std::string(key.substr(0, 80)) + "\"");
        else
            set_key(st, std::string(key), std::string(strip_inline_comment(line.substr(eq + 1))));
    }
}

std::string current_host_name() {
    char buf[HOST_NAME_MAX + 1] = {};
    if (gethostname(buf, sizeof buf - 1) != 0)
        return "localhost";
    std::string h(buf);
    std::transform(h.begin(), h.end(), h.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return h;
}

}  // namespace

uid_t expected_key_owner(const Config& config) { return config.key_owner.value_or(::geteuid()); }

Config default_config() {
    Config c;
    c.host_name = current_host_name();
    c.trusted_dir = LOCKBOX_TRUSTED_DIR;
    c.signing_key = LOCKBOX_SIGNING_KEY;
    c.state_dir = LOCKBOX_STATE_DIR;
    c.runtime_dir = std::string(LOCKBOX_RUNTIME_DIR) + "/lockbox";
    c.home_base = c.state_dir + "/home";
    return c;
}

Result<Config> parse_config(const std::string& text, const std::string& origin) {
    if (text.size() > MAX_CONFIG_SIZE)
        return make_error(Errc::BadConfig, origin + ": larger than 1 MiB, refused");
    ParseState st(origin);
    std::string_view rest(text);
    while (!rest.empty()) {
        size_t end = rest.find('\n');
        std::string_view raw = rest.substr(0, end);
        rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
        if (++st.line == 1 && raw.starts_with("\xef\xbb\xbf"))
            raw.remove_prefix(3);
        parse_line(&st, raw);
    }

    Config& c = st.config;
    if (!st.home_base_set)
        c.home_base = c.state_dir + "/home";
    if (c.uid_min >= c.uid_max) {
        auto at = st.seen.count("Accounts.UIDMax")   ? st.seen["Accounts.UIDMax"]
                  : st.seen.count("Accounts.UIDMin") ? st.seen["Accounts.UIDMin"]
                                                     : 0;
        st.problem(at, "UIDMin=" + std::to_string(c.uid_min) + " must be below UIDMax=" + std::to_string(c.uid_max));
    }
    if (auto incomplete = fleet_incomplete(c))
        st.problem(st.seen.count("Fleet.Mode") ? st.seen["Fleet.Mode"] : 0, *incomplete);
    // A level's group beside the groups Lockbox already names would merge two
    // meanings in one name (initgroups adds both sources' memberships).
    for (const auto& level : c.access_levels) {
        const std::string group = access_group_name(level);
        if (group == "lockbox-grantees" || group == c.engineer_group || group == c.manager_group ||
            group == c.approver_group)
            st.problem(st.seen.count("Access.Levels") ? st.seen["Access.Levels"] : 0,
                       "Levels= names '" + level + "', whose group " + group + " Lockbox already uses");
    }
    // Level groups take the gids just below UIDMax (nss_cache_publisher.h).
    if (c.uid_min < c.uid_max && c.uid_max - c.uid_min <= MAX_ACCESS_LEVELS + 1) {
        auto at = st.seen.count("Accounts.UIDMax") ? st.seen["Accounts.UIDMax"] : 0;
        st.problem(at, "UIDMin..UIDMax must hold more than " + std::to_string(MAX_ACCESS_LEVELS + 2) +
                           " ids (the top ones are Lockbox's groups)");
    }
    if (!st.problems.empty()) {
        std::string msg;
        for (const auto& p : st.problems)
            msg += (msg.empty() ? "" : "\n") + p;
        return make_error(Errc::BadConfig, msg);
    }
    return std::move(st.config);
}

Result<Config> load_config(const std::string& path, bool missing_ok) {
    UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (!fd.valid()) {
        int e = errno;
        if (e == ENOENT && missing_ok)
            return default_config();
        return make_error(e == ENOENT ? Errc::NotFound : Errc::IoError,
                          "cannot open configuration " + path + ": " + std::strerror(e));
    }
    struct stat st {};
    if (fstat(fd.get(), &st) != 0)
        return make_error(Errc::IoError, "cannot stat configuration " + path + ": " + std::strerror(errno));
    if (!S_ISREG(st.st_mode))
        return make_error(Errc::IoError, "configuration " + path + " is not a regular file");
    if (static_cast<uint64_t>(st.st_size) > MAX_CONFIG_SIZE)
        return make_error(Errc::BadConfig, path + ": larger than 1 MiB, refused");

    std::string text;
    char buf[65536];
    while (true) {
        ssize_t n = read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return make_error(Errc::IoError, "cannot read configuration " + path + ": " + std::strerror(errno));
        if (n == 0)
            break;
        text.append(buf, static_cast<size_t>(n));
        if (text.size() > MAX_CONFIG_SIZE)  // grew while we read
            return make_error(Errc::BadConfig, path + ": larger than 1 MiB, refused");
    }
    return parse_config(text, path);
}

}  // namespace lockbox
