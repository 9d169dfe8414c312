// Crash-safe state files: a reader sees either the old or the new content, never
// a torn write, and a rename is durable once write_file_atomically returns.
#pragma once

#include <string>
#include <string_view>
#include <sys/types.h>

#include "result.h"

namespace lockboxd {

// Writes PATH.tmp.PID, fsyncs it, renames it over PATH and fsyncs the directory.
lockbox::Status write_file_atomically(const std::string& path, std::string_view data, mode_t mode);

// Reads a regular file (no symlink) of at most max_bytes. A missing file is the
// error code "ENOENT" so callers can treat a first start apart from damage.
lockbox::Result<std::string> read_state_file(const std::string& path, size_t max_bytes);

// Creates path (one level) with mode if missing; refuses a symlink or non-directory
// and resets the mode of an existing directory.
lockbox::Status ensure_directory(const std::string& path, mode_t mode);

}  // namespace lockboxd
