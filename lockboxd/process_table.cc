#include "process_table.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <memory>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "libc_handles.h"

namespace lockboxd {

namespace {

// Small /proc files fit in one page; a bounded read is enough.
bool read_proc_file(const std::string& path, std::string& out) {
    lockbox::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd.valid())
        return false;
    char buf[4096];
    ssize_t n;
    do {
        n = ::read(fd.get(), buf, sizeof buf - 1);
    } while (n < 0 && errno == EINTR);
    if (n <= 0)
        return false;
    out.assign(buf, static_cast<size_t>(n));
    return true;
}

template <typename F>
void for_each_pid(const std::string& proc_root, F&& f) {
    lockbox::UniqueDir dir(::opendir(proc_root.c_str()));
    if (!dir)
        return;
    while (struct dirent* de = ::readdir(dir.get())) {
        if (de->d_name[0] < '1' || de->d_name[0] > '9')
            continue;
        char* end = nullptr;
        long pid = std::strtol(de->d_name, &end, 10);
        if (*end != '\0' || pid <= 0)
            continue;
        f(static_cast<pid_t>(pid));
    }
}

bool read_status(const std::string& proc_root, pid_t pid, ProcessInfo& info) {
    std::string text;
    if (!read_proc_file(proc_root + "/" + std::to_string(pid) + "/status", text))
        return false;
    info.pid = pid;
    return parse_proc_status(text, info);
}

uint32_t read_id_file(const std::string& path) {
    std::string text;
    if (!read_proc_file(path, text))
        return UINT32_MAX;
    char* end = nullptr;
    unsigned long v = std::strtoul(text.c_str(), &end, 10);
    if (end == text.c_str() || v > UINT32_MAX)
        return UINT32_MAX;
    return static_cast<uint32_t>(v);
}

// The second read (loginuid) only for processes the uids do not already
// claim: a scan of the host costs one small read more per foreign process.
bool belongs_to(const std::string& proc_root, const ProcessInfo& info, uid_t uid) {
    if (info.ruid == uid || info.euid == uid || info.suid == uid)
        return true;
    return login_uid_of(info.pid, proc_root) == uid;
}

}  // namespace

bool is_gone_state(char state) { return state == 'Z' || state == 'X' || state == 'x'; }

bool parse_proc_status(const std::string& text, ProcessInfo& out) {
    bool have_state = false, have_uid = false;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t eol = text.find('\n', pos);
        if (eol == std::string::npos)
            eol = text.size();
        std::string_view line(text.data() + pos, eol - pos);
        if (line.starts_with("State:")) {
            auto v = line.substr(6);
            while (!v.empty() && (v.front() == ' ' || v.front() == '\t'))
                v.remove_prefix(1);
            if (!v.empty()) {
                out.state = v.front();
                have_state = true;
            }
        } else if (line.starts_with("Uid:")) {
            unsigned long r = 0, e = 0, s = 0;
            std::string copy(line.substr(4));
            if (std::sscanf(copy.c_str(), "%lu %lu %lu", &r, &e, &s) == 3) {
                out.ruid = static_cast<uid_t>(r);
                out.euid = static_cast<uid_t>(e);
                out.suid = static_cast<uid_t>(s);
                have_uid = true;
            }
        }
        if (have_state && have_uid)
            return true;
        pos = eol + 1;
    }
    return have_state && have_uid;
}

std::vector<pid_t> live_processes_of_uid(uid_t uid, const std::string& proc_root, std::vector<pid_t>* zombies) {
    std::vector<pid_t> out;
    for_each_pid(proc_root, [&](pid_t pid) {
        ProcessInfo info;
        if (!read_status(proc_root, pid, info))
            return;  // exited between readdir and open: gone
        if (!belongs_to(proc_root, info, uid))
            return;
        if (!is_gone_state(info.state))
            out.push_back(pid);
        else if (zombies)
            zombies->push_back(pid);
    });
    return out;
}

std::vector<uid_t> live_uids_in_range(uid_t min, uid_t max, const std::string& proc_root) {
    std::vector<uid_t> out;
    auto add = [&](uid_t u) {
        if (u >= min && u <= max && std::find(out.begin(), out.end(), u) == out.end())
            out.push_back(u);
    };
    for_each_pid(proc_root, [&](pid_t pid) {
        ProcessInfo info;
        if (!read_status(proc_root, pid, info) || is_gone_state(info.state))
            return;
        add(info.ruid);
        add(info.euid);
        add(info.suid);
    });
    return out;
}

namespace {

struct StatFields {
    pid_t session = 0;
    unsigned tty_nr = 0;  // the kernel's encoding: major in bits 8-19, minor split around it
};

bool read_stat_fields(const std::string& proc_root, pid_t pid, StatFields& out) {
    std::string stat;
    if (!read_proc_file(proc_root + "/" + std::to_string(pid) + "/stat", stat))
        return false;
    // comm may hold spaces and parentheses: fields start after the last ')'.
    auto close = stat.rfind(')');
    if (close == std::string::npos)
        return false;
    char st = 0;
    int ppid = 0, pgrp = 0, session = 0, tty_nr = 0;
    if (std::sscanf(stat.c_str() + close + 1, " %c %d %d %d %d", &st, &ppid, &pgrp, &session, &tty_nr) != 5)
        return false;
    out.session = session;
    out.tty_nr = static_cast<unsigned>(tty_nr);
    return true;
}

pid_t kernel_session_of(pid_t pid, const std::string& proc_root) {
    StatFields f;
    return read_stat_fields(proc_root, pid, f) ? f.session : 0;
}

}  // namespace

std::vector<dev_t> controlling_terminals_of_uid(uid_t uid, const std::string& proc_root) {
    std::vector<dev_t> out;
    for_each_pid(proc_root, [&](pid_t pid) {
        ProcessInfo info;
        if (!read_status(proc_root, pid, info) || is_gone_state(info.state))
            return;
        if (info.ruid != uid && info.euid != uid)
            return;
        StatFields f;
        if (!read_stat_fields(proc_root, pid, f) || f.tty_nr == 0)
            return;
        dev_t dev = makedev((f.tty_nr >> 8) & 0xfff, (f.tty_nr & 0xff) | ((f.tty_nr >> 12) & 0xfff00));
        if (std::find(out.begin(), out.end(), dev) == out.end())
            out.push_back(dev);
    });
    return out;
}

bool is_live_process_of_uid(pid_t pid, uid_t uid, const std::string& proc_root) {
    ProcessInfo info;
    if (pid <= 0 || !read_status(proc_root, pid, info) || is_gone_state(info.state))
        return false;
    return belongs_to(proc_root, info, uid);
}

bool is_live_process_in_session(pid_t pid, const SessionScope& scope, uid_t uid, const std::string& proc_root) {
    if (scope.audit_session == UINT32_MAX && scope.sid <= 0)
        return false;  // nothing to tell this session's processes from the others
    if (!is_live_process_of_uid(pid, uid, proc_root))
        return false;
    return scope.audit_session != UINT32_MAX ? audit_session_of(pid, proc_root) == scope.audit_session
                                             : kernel_session_of(pid, proc_root) == scope.sid;
}

std::vector<pid_t> live_processes_in_session(const SessionScope& scope, uid_t uid, const std::string& proc_root) {
    std::vector<pid_t> out;
    if (scope.audit_session == UINT32_MAX && scope.sid <= 0)
        return out;
    for_each_pid(proc_root, [&](pid_t pid) {
        if (is_live_process_in_session(pid, scope, uid, proc_root))
            out.push_back(pid);
    });
    return out;
}

uint32_t audit_session_of(pid_t pid, const std::string& proc_root) {
    return pid <= 0 ? UINT32_MAX : read_id_file(proc_root + "/" + std::to_string(pid) + "/sessionid");
}

uint32_t login_uid_of(pid_t pid, const std::string& proc_root) {
    return pid <= 0 ? UINT32_MAX : read_id_file(proc_root + "/" + std::to_string(pid) + "/loginuid");
}

}  // namespace lockboxd
