// lockboxd logs through the daemons' one helper (liblockbox/daemon_log.h); these
// declarations only keep its call sites in namespace lockboxd short.
#pragma once

#include "daemon_log.h"

namespace lockboxd {

using lockbox::log_debug;
using lockbox::log_error;
using lockbox::log_info;
using lockbox::log_notice;
using lockbox::log_warning;

}  // namespace lockboxd
