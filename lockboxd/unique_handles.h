// lockboxd uses the core's RAII owners (liblockbox/raii_handles.h) unqualified.
#pragma once

#include "raii_handles.h"

namespace lockboxd {

using lockbox::BusCredsPtr;
using lockbox::BusMessagePtr;
using lockbox::BusPtr;
using lockbox::BusSlotPtr;
using lockbox::EventPtr;
using lockbox::EventSourcePtr;
using lockbox::UniqueDir;
using lockbox::UniqueFd;

}  // namespace lockboxd
