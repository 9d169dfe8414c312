// The directories lockboxd keeps its files in (state, runtime), and the reading
// of a JSON state file an older release left (enforcer.db has replaced those;
// see enforcer_store.h).
#pragma once

#include <string>
#include <sys/types.h>

#include "result.h"

namespace lockboxd {

// Reads a regular file (no symlink) of at most max_bytes. A missing file is
// Errc::NotFound so callers can treat a first start apart from damage.
lockbox::Result<std::string> read_state_file(const std::string& path, size_t max_bytes);

// Creates path (one level) with mode if missing; refuses a symlink or non-directory
// and resets the mode of an existing directory.
lockbox::Status ensure_directory(const std::string& path, mode_t mode);

}  // namespace lockboxd
