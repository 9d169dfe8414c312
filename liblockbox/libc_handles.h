// RAII owners for the libc handles every component holds: a file descriptor and a
// directory stream. libc headers only, no libstdc++ (not even <utility>), so the NSS
// module, built with -nostdinc++ and loaded into every process, can use them too.
// The sd-bus and sd-event owners are in sd_handles.h.
#pragma once

#include <dirent.h>
#include <unistd.h>

namespace lockbox {

class UniqueFd {
public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : fd_(fd) {}
    UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
    UniqueFd& operator=(UniqueFd&& o) noexcept {
        if (this != &o)
            reset(o.release());
        return *this;
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    ~UniqueFd() { reset(); }

    int get() const { return fd_; }
    bool valid() const { return fd_ >= 0; }
    int release() {
        int fd = fd_;
        fd_ = -1;
        return fd;
    }
    void reset(int fd = -1) {
        if (fd_ >= 0)
            ::close(fd_);
        fd_ = fd;
    }
    // close() reports delayed write errors (NFS, quota): a writer must see them, so it
    // closes through this rather than the destructor. Returns what close() returned.
    int close_checked() { return ::close(release()); }

private:
    int fd_ = -1;
};

// An opendir()/fdopendir() stream; fdopendir() takes over the descriptor it is given.
class UniqueDir {
public:
    UniqueDir() = default;
    explicit UniqueDir(DIR* dir) : dir_(dir) {}
    UniqueDir(UniqueDir&& o) noexcept : dir_(o.release()) {}
    UniqueDir& operator=(UniqueDir&& o) noexcept {
        if (this != &o)
            reset(o.release());
        return *this;
    }
    UniqueDir(const UniqueDir&) = delete;
    UniqueDir& operator=(const UniqueDir&) = delete;
    ~UniqueDir() { reset(); }

    DIR* get() const { return dir_; }
    explicit operator bool() const { return dir_ != nullptr; }
    DIR* release() {
        DIR* dir = dir_;
        dir_ = nullptr;
        return dir;
    }
    void reset(DIR* dir = nullptr) {
        if (dir_)
            ::closedir(dir_);
        dir_ = dir;
    }

private:
    DIR* dir_ = nullptr;
};

}  // namespace lockbox
