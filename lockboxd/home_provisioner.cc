#include "home_provisioner.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include "as_engineer.h"
#include "names.h"
#include "libc_handles.h"

namespace lockboxd {

namespace {

constexpr int MAX_DEPTH = 64;

lockbox::Error sys_error(const std::string& what, int err) {
    return lockbox::make_error(lockbox::Errc::IoError, what + ": " + std::strerror(err));
}

// Empties the directory behind dirfd (takes ownership of dirfd).
void remove_contents(int dirfd, int depth, size_t& removed, std::vector<std::string>& problems) {
    lockbox::UniqueDir dir(::fdopendir(dirfd));
    if (!dir) {
        ::close(dirfd);
        return;
    }
    std::vector<std::string> names;
    while (struct dirent* de = ::readdir(dir.get()))
        if (std::strcmp(de->d_name, ".") != 0 && std::strcmp(de->d_name, "..") != 0)
            names.emplace_back(de->d_name);
    for (const auto& n : names) {
        struct stat st {};
        if (::fstatat(::dirfd(dir.get()), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            if (depth >= MAX_DEPTH) {
                problems.push_back("tree too deep at " + n);
                continue;
            }
            int sub = ::openat(::dirfd(dir.get()), n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0)
                remove_contents(sub, depth + 1, removed, problems);
            if (::unlinkat(::dirfd(dir.get()), n.c_str(), AT_REMOVEDIR) == 0)
                removed++;
        } else if (::unlinkat(::dirfd(dir.get()), n.c_str(), 0) == 0) {
            removed++;
        }
    }
}

// Walks a shared scratch dir: subtrees the uid owns go entirely; other
// directories are searched for the uid's files.
void sweep_owned(int dirfd, uid_t uid, int depth, size_t& removed, std::vector<std::string>& problems) {
    lockbox::UniqueDir dir(::fdopendir(dirfd));
    if (!dir) {
        ::close(dirfd);
        return;
    }
    std::vector<std::string> names;
    while (struct dirent* de = ::readdir(dir.get()))
        if (std::strcmp(de->d_name, ".") != 0 && std::strcmp(de->d_name, "..") != 0)
            names.emplace_back(de->d_name);
    for (const auto& n : names) {
        struct stat st {};
        if (::fstatat(::dirfd(dir.get()), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        bool is_dir = S_ISDIR(st.st_mode);
        if (is_dir && depth < MAX_DEPTH) {
            int sub = ::openat(::dirfd(dir.get()), n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0) {
                if (st.st_uid == uid)
                    remove_contents(sub, depth + 1, removed, problems);
                else
                    sweep_owned(sub, uid, depth + 1, removed, problems);
            }
        }
        if (st.st_uid != uid)
            continue;
        if (::unlinkat(::dirfd(dir.get()), n.c_str(), is_dir ? AT_REMOVEDIR : 0) == 0)
            removed++;
        else
            problems.push_back("cannot remove " + n + ": " + std::strerror(errno));
    }
}

void remove_sysv_ipc(uid_t uid, LeftoverReport& report) {
    struct Kind {
        const char* file;
        int id_column;
        int uid_column;
        int cuid_column;
        int (*remove)(int id);
    };
    static const Kind kinds[] = {
        // /proc/sysvipc/shm: key shmid perms size cpid lpid nattch uid gid cuid cgid ...
        {"/proc/sysvipc/shm", 1, 7, 9, [](int id) { return ::shmctl(id, IPC_RMID, nullptr); }},
        // msg: key msqid perms cbytes qnum lspid lrpid uid gid cuid cgid ...
        {"/proc/sysvipc/msg", 1, 7, 9, [](int id) { return ::msgctl(id, IPC_RMID, nullptr); }},
        // sem: key semid perms nsems uid gid cuid cgid ...
        {"/proc/sysvipc/sem", 1, 4, 6, [](int id) { return ::semctl(id, 0, IPC_RMID); }},
    };
    std::vector<std::pair<int (*)(int), int>> objects;
    for (const auto& kind : kinds) {
        std::ifstream in(kind.file);
        std::string line;
        std::getline(in, line);  // header
        while (std::getline(in, line)) {
            std::istringstream fields(line);
            std::vector<long long> v;
            long long x;
            while (fields >> x)
                v.push_back(x);
            int need = std::max({kind.id_column, kind.uid_column, kind.cuid_column});
            if (static_cast<int>(v.size()) <= need)
                continue;
            if (v[kind.uid_column] != static_cast<long long>(uid) && v[kind.cuid_column] != static_cast<long long>(uid))
                continue;
            objects.emplace_back(kind.remove, static_cast<int>(v[kind.id_column]));
        }
    }
    if (objects.empty())
        return;
    // IPC_RMID needs the owner or creator, or CAP_SYS_ADMIN, which the unit
    // does not grant: the engineer's own uid removes what it owns.
    auto failed = run_as_engineer(uid, uid, [&objects] {
        int n = 0;
        for (const auto& [remove, id] : objects)
            if (remove(id) < 0 && errno != EINVAL && errno != EIDRM)  // gone meanwhile: fine
                n++;
        return n;
    });
    size_t not_removed = failed ? std::min<size_t>(objects.size(), static_cast<size_t>(*failed)) : objects.size();
    report.ipc_removed += objects.size() - not_removed;
    if (!failed)
        report.problems.push_back("cannot remove SysV IPC objects: " + failed.error().message);
    else if (not_removed > 0)
        report.problems.push_back("cannot remove " + std::to_string(not_removed) + " of " +
                                  std::to_string(objects.size()) + " SysV IPC objects");
}

void remove_owned_files_in(const std::string& dir, uid_t uid, LeftoverReport& report) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return;
    lockbox::UniqueDir d(::fdopendir(fd));
    if (!d) {
        ::close(fd);
        return;
    }
    std::vector<std::string> names;
    while (struct dirent* de = ::readdir(d.get()))
        if (de->d_name[0] != '.')
            names.emplace_back(de->d_name);
    for (const auto& n : names) {
        struct stat st {};
        if (::fstatat(::dirfd(d.get()), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_uid == uid &&
            !S_ISDIR(st.st_mode) && ::unlinkat(::dirfd(d.get()), n.c_str(), 0) == 0)
            report.files_removed++;
    }
}

}  // namespace

lockbox::Status create_home(const std::string& base, const std::string& name, uid_t uid) {
    if (!lockbox::is_valid_user_name(name))
        return lockbox::make_error(lockbox::Errc::InvalidArgument, "not a valid user name: " + name);
    if (::mkdir(base.c_str(), 0755) < 0 && errno != EEXIST)
        return sys_error("cannot create " + base, errno);
    lockbox::UniqueFd basefd(::open(base.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!basefd.valid())
        return sys_error("cannot open " + base, errno);
    if (::mkdirat(basefd.get(), name.c_str(), 0700) < 0 && errno != EEXIST)
        return sys_error("cannot create " + base + "/" + name, errno);
    lockbox::UniqueFd home(::openat(basefd.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!home.valid())
        return sys_error("cannot open " + base + "/" + name, errno);
    if (::fchown(home.get(), uid, uid) < 0 || ::fchmod(home.get(), 0700) < 0)
        return sys_error("cannot set owner of " + base + "/" + name, errno);
    return {};
}

lockbox::Status remove_home(const std::string& base, const std::string& name) {
    if (!lockbox::is_valid_user_name(name))
        return lockbox::make_error(lockbox::Errc::InvalidArgument, "not a valid user name: " + name);
    lockbox::UniqueFd basefd(::open(base.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!basefd.valid())
        return errno == ENOENT ? lockbox::Status{} : lockbox::Status(sys_error("cannot open " + base, errno));
    struct stat st {};
    if (::fstatat(basefd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? lockbox::Status{} : lockbox::Status(sys_error("cannot stat home", errno));
    if (!S_ISDIR(st.st_mode)) {
        if (::unlinkat(basefd.get(), name.c_str(), 0) < 0)
            return sys_error("cannot remove " + base + "/" + name, errno);
        return {};
    }
    int sub = ::openat(basefd.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0)
        return sys_error("cannot open home", errno);
    size_t removed = 0;
    std::vector<std::string> problems;
    remove_contents(sub, 1, removed, problems);
    if (::unlinkat(basefd.get(), name.c_str(), AT_REMOVEDIR) < 0)
        return sys_error("cannot remove " + base + "/" + name, errno);
    return {};
}

LeftoverReport remove_leftovers(uid_t uid, const std::string& name, const LeftoverPlaces& places) {
    LeftoverReport report;
    if (uid == 0)
        return report;
    for (const auto& dir : places.scratch_dirs) {
        int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0)
            sweep_owned(fd, uid, 1, report.files_removed, report.problems);
    }
    if (lockbox::is_valid_user_name(name) && !places.crontab_dir.empty()) {
        lockbox::UniqueFd cron(::open(places.crontab_dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (cron.valid() && ::unlinkat(cron.get(), name.c_str(), 0) == 0)
            report.files_removed++;
    }
    if (!places.atjobs_dir.empty())
        remove_owned_files_in(places.atjobs_dir, uid, report);
    if (places.sysv_ipc)
        remove_sysv_ipc(uid, report);
    return report;
}

}  // namespace lockboxd
