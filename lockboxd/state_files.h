// The directories lockboxd keeps its files in (state, runtime).
#pragma once

#include <string>
#include <sys/types.h>

#include "result.h"

namespace lockboxd {

// Creates path (one level) with mode if missing; refuses a symlink or non-directory
// and resets the mode of an existing directory.
lockbox::Status ensure_directory(const std::string& path, mode_t mode);

}  // namespace lockboxd
