#include "terminal_finder.h"

#include <algorithm>
#include <cstdlib>
#include <dirent.h>
#include <memory>
#include <sys/stat.h>

#include "process_table.h"
#include "libc_handles.h"

namespace lockboxd {

namespace {

bool all_digits(const char* s) {
    if (!*s)
        return false;
    for (; *s; ++s)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

// Candidates: every pts/N, and ttyN (virtual consoles).
std::vector<std::string> terminal_candidates(const std::string& dev_root) {
    std::vector<std::string> out;
    if (lockbox::UniqueDir pts(::opendir((dev_root + "/pts").c_str())); pts) {
        while (struct dirent* de = ::readdir(pts.get()))
            if (all_digits(de->d_name))
                out.push_back(dev_root + "/pts/" + de->d_name);
    }
    if (lockbox::UniqueDir dev(::opendir(dev_root.c_str())); dev) {
        while (struct dirent* de = ::readdir(dev.get())) {
            std::string_view name(de->d_name);
            if (name.size() > 3 && name.starts_with("tty") && all_digits(de->d_name + 3))
                out.push_back(dev_root + "/" + de->d_name);
        }
    }
    return out;
}

}  // namespace

std::vector<std::string> terminal_paths(const std::vector<dev_t>& devices, const std::string& dev_root) {
    std::vector<std::string> out;
    if (devices.empty())
        return out;
    for (const auto& path : terminal_candidates(dev_root)) {
        struct stat st {};
        if (::lstat(path.c_str(), &st) < 0 || !S_ISCHR(st.st_mode))
            continue;
        if (std::find(devices.begin(), devices.end(), st.st_rdev) != devices.end())
            out.push_back(path);
    }
    return out;
}

std::vector<std::string> terminals_of_uid(uid_t uid) { return terminal_paths(controlling_terminals_of_uid(uid)); }

}  // namespace lockboxd
