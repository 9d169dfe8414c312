// A private temp directory for one test, removed (without following links) when
// the owner goes away.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <ftw.h>
#include <stdexcept>
#include <string>
#include <unistd.h>

class TempDir {
public:
    TempDir() {
        char tmpl[] = "/tmp/lockboxd-test-XXXXXX";
        if (!mkdtemp(tmpl))
            std::abort();
        path_ = tmpl;
    }
    ~TempDir() {
        nftw(
            path_.c_str(), [](const char* p, const struct stat*, int, struct FTW*) { return ::remove(p); }, 16,
            FTW_DEPTH | FTW_PHYS);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }
    std::string operator/(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
};
