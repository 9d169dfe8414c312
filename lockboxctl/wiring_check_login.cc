// The login path of `status --check`: pam_lockbox in sshd's PAM stack where it
// cannot be skipped, `lockbox` in nsswitch.conf, and sshd's effective settings
// for an engineer as sshd itself computes them (sshd -T).
#include <grp.h>
#include <pwd.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include "wiring_check.h"

namespace lockboxctl {

namespace {

constexpr const char* GRANTEES_GROUP = "lockbox-grantees";  // lockboxd/nss_cache_publisher.h
constexpr size_t MAX_READ = 1024 * 1024;

struct PamLine {
    std::string type;     // account, session, ... (a leading '-' removed)
    std::string control;  // required, sufficient, [success=1 default=ignore], ...
    std::string module;   // file name without directory
    std::string origin;   // file the line is in
};

bool read_small_file(const std::string& path, std::string& text) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return false;
    text.assign(MAX_READ, '\0');
    in.read(text.data(), static_cast<std::streamsize>(MAX_READ));
    text.resize(static_cast<size_t>(in.gcount()));
    return true;
}

std::string base_name(const std::string& path) {
    auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The text of the logical lines of a PAM file: comments gone, backslash
// continuations joined.
std::vector<std::string> pam_logical_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    std::string line, pending;
    while (std::getline(in, line)) {
        if (auto hash = line.find('#'); hash != std::string::npos)
            line.erase(hash);
        if (!line.empty() && line.back() == '\\') {
            pending += line.substr(0, line.size() - 1) + " ";
            continue;
        }
        lines.push_back(pending + line);
        pending.clear();
    }
    if (!pending.empty())
        lines.push_back(pending);
    return lines;
}

// Splits "type control module args": a [..] control is one token.
bool parse_pam_line(const std::string& text, PamLine& out) {
    std::istringstream in(text);
    if (!(in >> out.type))
        return false;
    if (!out.type.empty() && out.type[0] == '-')
        out.type.erase(0, 1);
    in >> std::ws;
    if (in.peek() == '[') {
        std::getline(in, out.control, ']');
        out.control += "]";
    } else if (!(in >> out.control)) {
        return false;
    }
    std::string module;
    if (!(in >> module))
        return false;
    out.module = module;
    return true;
}

// The stack sshd runs: /etc/pam.d/sshd with `@include F`, `T include F` and
// `T substack F` replaced by F's lines, one level deep (Debian's and Fedora's
// sshd files include common-* / password-auth files that include nothing
// that matters here). A substack is flattened like an include, which can only
// make the position rule below stricter.
std::vector<PamLine> pam_stack(const WiringPaths& paths, std::string& problem) {
    std::vector<PamLine> stack;
    std::string text;
    const std::string top = paths.pam_dir + "/sshd";
    if (!read_small_file(top, text)) {
        problem = "cannot read " + top;
        return stack;
    }
    for (const auto& raw : pam_logical_lines(text)) {
        std::istringstream words(raw);
        std::string first, second;
        words >> first >> second;
        if (first.empty())
            continue;
        std::string included;
        std::string only_type;
        PamLine line;
        if (first == "@include") {
            included = second;
        } else if (parse_pam_line(raw, line) && (line.control == "include" || line.control == "substack")) {
            included = line.module;
            only_type = line.type;
        } else if (!line.type.empty()) {
            line.module = base_name(line.module);
            line.origin = top;
            stack.push_back(line);
            continue;
        }
        if (included.empty() || included.find('/') != std::string::npos)
            continue;
        std::string sub_text;
        const std::string sub_path = paths.pam_dir + "/" + included;
        if (!read_small_file(sub_path, sub_text))
            continue;  // PAM itself fails such a stack; the missing file is not ours to judge
        for (const auto& sub_raw : pam_logical_lines(sub_text)) {
            PamLine sub;
            if (!parse_pam_line(sub_raw, sub) || sub.control == "include" || sub.control == "substack")
                continue;
            if (!only_type.empty() && sub.type != only_type)
                continue;
            sub.module = base_name(sub.module);
            sub.origin = sub_path;
            stack.push_back(sub);
        }
    }
    return stack;
}

// The value of key=... in a [..] control, or "".
std::string bracket_value(const std::string& control, const std::string& key) {
    std::istringstream in(control.substr(1, control.size() - 2));
    std::string item;
    while (in >> item) {
        if (item.rfind(key + "=", 0) == 0)
            return item.substr(key.size() + 1);
    }
    return "";
}

// A control under which an error of pam_lockbox denies the login.
bool fails_on_error(const std::string& control) {
    if (control == "required" || control == "requisite")
        return true;
    if (control.empty() || control[0] != '[')
        return false;
    std::string def = bracket_value(control, "default");
    return def == "bad" || def == "die";
}

// A control under which a module's success can end the stack, or jump, before
// the module `distance` lines further down: `sufficient`, success=done, or
// success=N with N >= distance (default= standing in for a missing success=).
bool success_skips(const std::string& control, size_t distance) {
    if (control == "sufficient")
        return true;
    if (control.empty() || control[0] != '[')
        return false;
    std::string s = bracket_value(control, "success");
    if (s.empty())
        s = bracket_value(control, "default");  // PAM applies default= to a value not listed
    if (s == "done")
        return true;
    if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos || s.size() > 6)
        return false;
    return std::stoul(s) >= distance;
}

std::string lower(std::string s) {
    for (auto& c : s)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// "keyword value" lines of sshd -T, keywords as sshd prints them (lower case).
std::string sshd_value(const std::string& output, const std::string& keyword) {
    std::istringstream in(output);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(keyword + " ", 0) == 0)
            return line.substr(keyword.size() + 1);
    }
    return "";
}

// The first member of lockbox-grantees (an engineer with an active grant) that
// resolves as a user, or "": sshd's `Match Group` needs a user that exists and
// is in the group. Without `lockbox` on the passwd: line the member does not
// resolve; that is the nsswitch check's failure, not sshd's.
std::string some_grantee() {
    struct group* gr = ::getgrnam(GRANTEES_GROUP);
    if (gr == nullptr || gr->gr_mem == nullptr)
        return "";
    for (char** member = gr->gr_mem; *member != nullptr; ++member)
        if (::getpwnam(*member) != nullptr)
            return *member;
    return "";
}

}  // namespace

CheckResult check_pam_stack(const WiringPaths& paths, const std::string& type) {
    CheckResult r{"pam " + type + " stack", Verdict::Pass, "", ""};
    const std::string wanted = type + "    required     pam_lockbox.so";
    r.fix = "add `" + wanted + "` to " + paths.pam_dir + "/sshd before its " + type + " includes (operator guide §4)";
    std::string problem;
    auto stack = pam_stack(paths, problem);
    if (!problem.empty()) {
        r.verdict = Verdict::Fail;
        r.detail = problem;
        return r;
    }
    std::vector<PamLine> typed;
    for (const auto& l : stack)
        if (l.type == type)
            typed.push_back(l);
    size_t at = typed.size();
    for (size_t i = 0; i < typed.size(); ++i)
        if (typed[i].module == "pam_lockbox.so") {
            at = i;
            break;
        }
    if (at == typed.size()) {
        r.verdict = Verdict::Fail;
        r.detail = "no `" + type + " ... pam_lockbox.so` line in " + paths.pam_dir + "/sshd";
        return r;
    }
    if (!fails_on_error(typed[at].control)) {
        r.verdict = Verdict::Fail;
        r.detail = "pam_lockbox.so is `" + typed[at].control + "` in " + typed[at].origin +
                   ": a refusal or an error of it does not deny the login";
        r.fix = "make its control `required` (or `requisite`)";
        return r;
    }
    for (size_t i = 0; i < at; ++i) {
        if (success_skips(typed[i].control, at - i)) {
            r.verdict = Verdict::Fail;
            r.detail = typed[i].module + " (`" + typed[i].control + "`, " + typed[i].origin +
                       ") comes before pam_lockbox.so and its success skips it";
            r.fix = "move the pam_lockbox.so " + type + " line above that module in " + paths.pam_dir + "/sshd";
            return r;
        }
    }
    r.detail = "pam_lockbox.so `" + typed[at].control + "` in " + typed[at].origin + ", no earlier module skips it";
    return r;
}

CheckResult check_pam_loginuid(const WiringPaths& paths) {
    CheckResult r{"pam loginuid", Verdict::Pass, "", ""};
    r.fix = "add `session    required     pam_loginuid.so` to " + paths.pam_dir +
            "/sshd before pam_lockbox.so: without it what an engineer runs through sudo outlives the grant "
            "(operator guide §4)";
    std::string problem;
    auto stack = pam_stack(paths, problem);
    if (!problem.empty()) {
        r.verdict = Verdict::Fail;
        r.detail = problem;
        return r;
    }
    for (const auto& l : stack) {
        if (l.type != "session" || l.module != "pam_loginuid.so")
            continue;
        if (!fails_on_error(l.control)) {
            r.verdict = Verdict::Fail;
            r.detail = "pam_loginuid.so is `" + l.control + "` in " + l.origin +
                       ": a session without the engineer's login uid would still open";
            r.fix = "make its control `required`";
            return r;
        }
        r.detail = "pam_loginuid.so `" + l.control + "` in " + l.origin +
                   ": the kill reaches what the engineer runs through sudo";
        return r;
    }
    r.verdict = Verdict::Fail;
    r.detail = "no `session ... pam_loginuid.so` line in " + paths.pam_dir + "/sshd";
    return r;
}

CheckResult check_nsswitch(const WiringPaths& paths, const std::string& database) {
    CheckResult r{"nsswitch " + database, Verdict::Fail, "", ""};
    r.fix = "add `lockbox` to the `" + database + ":` line of " + paths.nsswitch;
    std::string text;
    if (!read_small_file(paths.nsswitch, text)) {
        r.detail = "cannot read " + paths.nsswitch;
        return r;
    }
    auto sources = nsswitch_sources(text, database);
    if (sources) {
        if (std::find(sources->begin(), sources->end(), "lockbox") != sources->end()) {
            r.verdict = Verdict::Pass;
            r.detail = database + ":";
            for (const auto& s : *sources)
                r.detail += " " + s;
            return r;
        }
        r.detail = "`" + database + ":` names no `lockbox` source";
        return r;
    }
    r.detail = "no `" + database + ":` line in " + paths.nsswitch;
    return r;
}

std::vector<CheckResult> check_sshd(const WiringPaths& paths) {
    std::vector<CheckResult> results;
    const std::string dropin_fix =
        "install the shipped /etc/ssh/sshd_config.d/lockbox.conf and make sure no "
        "earlier file sets this keyword (operator guide §4)";
    CheckResult akc{"sshd AuthorizedKeysCommand", Verdict::Fail, "", dropin_fix};
    auto global = run_program({paths.sshd, "-T"});
    if (global.exit_status != 0) {
        auto first_line = global.output.substr(0, global.output.find('\n'));
        akc.detail = paths.sshd + " -T failed: " + (first_line.empty() ? "could not run it" : first_line);
        akc.fix = "fix sshd's configuration until `sshd -T` succeeds";
        results.push_back(akc);
        return results;
    }
    std::string command = sshd_value(global.output, "authorizedkeyscommand");
    std::istringstream words(command);
    std::string program, verb;
    words >> program >> verb;
    akc.detail = "authorizedkeyscommand " + (command.empty() ? "none" : command);
    if (base_name(program) == "lockboxctl" && verb == "authorized-keys")
        akc.verdict = Verdict::Pass;
    results.push_back(akc);

    CheckResult keys_file{"sshd AuthorizedKeysFile for engineers", Verdict::Fail, "", dropin_fix};
    CheckResult forwarding{"sshd forwarding for engineers", Verdict::Fail, "", dropin_fix};
    const std::string engineer = some_grantee();
    if (engineer.empty()) {
        for (auto* r : {&keys_file, &forwarding}) {
            r->verdict = Verdict::Warn;
            r->detail = std::string(
                            "cannot check: no engineer with an active grant resolves, and sshd evaluates "
                            "`Match Group ") +
                        GRANTEES_GROUP + "` only for a member; run again during a grant";
            results.push_back(*r);
        }
        return results;
    }
    auto matched = run_program({paths.sshd, "-T", "-C", "user=" + engineer + ",host=localhost,addr=127.0.0.1"});
    if (matched.exit_status != 0) {
        keys_file.detail = "sshd -T -C user=" + engineer + " failed";
        results.push_back(keys_file);
        return results;
    }
    const std::string as_engineer = " (sshd -T -C user=" + engineer + ")";
    std::string files = sshd_value(matched.output, "authorizedkeysfile");
    keys_file.detail = "authorizedkeysfile " + (files.empty() ? "(unset)" : files) + as_engineer;
    if (lower(files) == "none")
        keys_file.verdict = Verdict::Pass;
    results.push_back(keys_file);

    std::string disable = lower(sshd_value(matched.output, "disableforwarding"));
    std::string user_rc = lower(sshd_value(matched.output, "permituserrc"));
    std::string tunnel = lower(sshd_value(matched.output, "permittunnel"));
    forwarding.detail =
        "disableforwarding " + disable + ", permittunnel " + tunnel + ", permituserrc " + user_rc + as_engineer;
    if (disable == "yes" && tunnel == "no" && user_rc == "no")
        forwarding.verdict = Verdict::Pass;
    results.push_back(forwarding);
    return results;
}

}  // namespace lockboxctl
