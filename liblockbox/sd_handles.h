// RAII owners for the sd-bus and sd-event handles the daemons, the CLI and the PAM
// module hold. Nothing calls unref by hand on a success path. The fd and directory
// owners are in libc_handles.h (libc only, so the NSS module can use them).
#pragma once

#include <memory>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

namespace lockbox {

struct SdBusUnref {
    void operator()(sd_bus* b) const { sd_bus_flush_close_unref(b); }
};
// Close without flushing: sd_bus_flush waits without a bound when the peer stops
// reading. For a client whose last call already has its reply (pam_lockbox).
struct SdBusCloseUnref {
    void operator()(sd_bus* b) const { sd_bus_close_unref(b); }
};
struct SdBusMessageUnref {
    void operator()(sd_bus_message* m) const { sd_bus_message_unref(m); }
};
struct SdBusSlotUnref {
    void operator()(sd_bus_slot* s) const { sd_bus_slot_unref(s); }
};
struct SdBusCredsUnref {
    void operator()(sd_bus_creds* c) const { sd_bus_creds_unref(c); }
};
struct SdEventUnref {
    void operator()(sd_event* e) const { sd_event_unref(e); }
};
struct SdEventSourceUnref {
    void operator()(sd_event_source* s) const { sd_event_source_disable_unref(s); }
};

using BusPtr = std::unique_ptr<sd_bus, SdBusUnref>;
using UnflushedBusPtr = std::unique_ptr<sd_bus, SdBusCloseUnref>;
using BusMessagePtr = std::unique_ptr<sd_bus_message, SdBusMessageUnref>;
using BusSlotPtr = std::unique_ptr<sd_bus_slot, SdBusSlotUnref>;
using BusCredsPtr = std::unique_ptr<sd_bus_creds, SdBusCredsUnref>;
using EventPtr = std::unique_ptr<sd_event, SdEventUnref>;
using EventSourcePtr = std::unique_ptr<sd_event_source, SdEventSourceUnref>;

}  // namespace lockbox
