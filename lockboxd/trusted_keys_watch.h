// When lockboxd reads its trusted keys again: on SIGHUP (`systemctl reload
// lockboxd`) and on any change inside [Keys] TrustedDir (inotify through an
// sd-event io source). Changes are debounced (DEBOUNCE after the last event)
// so that a key file being written is read once, complete. The watch follows
// the directory, not its path: a TrustedDir symlink re-pointed elsewhere, or a
// directory that did not exist, is only seen after a reload, which watches the
// path anew.
#pragma once

#include <functional>
#include <string>

#include "clock.h"
#include "result.h"
#include "libc_handles.h"
#include "sd_handles.h"

namespace lockboxd {

class TrustedKeysWatch {
public:
    // trigger: "reload" (SIGHUP) or "directory-changed" (inotify).
    using OnChange = std::function<void(const char* trigger)>;
    static constexpr lockbox::usec_t DEBOUNCE = 200 * lockbox::USEC_PER_MSEC;

    TrustedKeysWatch(sd_event* event, std::string dir, OnChange on_change);
    // SIGHUP must already be blocked (sd-event takes it through a signalfd).
    lockbox::Status start();
    // Watches the directory the path leads to now (after every reload).
    void rewatch();

private:
    static int on_sighup(sd_event_source* s, const struct signalfd_siginfo* si, void* userdata);
    static int on_inotify(sd_event_source* s, int fd, uint32_t revents, void* userdata);
    static int on_debounced(sd_event_source* s, uint64_t usec, void* userdata);
    void fire(const char* trigger);

    sd_event* event_;
    std::string dir_;
    OnChange on_change_;
    lockbox::UniqueFd inotify_;
    int wd_ = -1;
    lockbox::EventSourcePtr sighup_;
    lockbox::EventSourcePtr io_;
    lockbox::EventSourcePtr debounce_;
};

}  // namespace lockboxd
