// RAII owners for the C handles the daemons and the CLI hold: sd-bus, sd-event and file
// descriptors. Nothing calls unref/close by hand on a success path.
#pragma once

#include <memory>
#include <utility>

#include <dirent.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <unistd.h>

namespace lockbox {

struct SdBusUnref {
    void operator()(sd_bus* b) const { sd_bus_flush_close_unref(b); }
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

struct DirClose {
    void operator()(DIR* d) const { ::closedir(d); }
};

using BusPtr = std::unique_ptr<sd_bus, SdBusUnref>;
using BusMessagePtr = std::unique_ptr<sd_bus_message, SdBusMessageUnref>;
using BusSlotPtr = std::unique_ptr<sd_bus_slot, SdBusSlotUnref>;
using BusCredsPtr = std::unique_ptr<sd_bus_creds, SdBusCredsUnref>;
using EventPtr = std::unique_ptr<sd_event, SdEventUnref>;
using EventSourcePtr = std::unique_ptr<sd_event_source, SdEventSourceUnref>;
using UniqueDir = std::unique_ptr<DIR, DirClose>;  // opendir/fdopendir

class UniqueFd {
public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : fd_(fd) {}
    UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    UniqueFd& operator=(UniqueFd&& o) noexcept {
        if (this != &o) {
            reset();
            fd_ = std::exchange(o.fd_, -1);
        }
        return *this;
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    ~UniqueFd() { reset(); }

    int get() const { return fd_; }
    bool valid() const { return fd_ >= 0; }
    int release() { return std::exchange(fd_, -1); }
    void reset(int fd = -1) {
        if (fd_ >= 0)
            ::close(fd_);
        fd_ = fd;
    }

private:
    int fd_ = -1;
};

}  // namespace lockbox
