#include "trusted_keys_watch.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "log.h"

namespace lockboxd {

namespace {

// Every way a key can appear, vanish or change owner or mode; the *_SELF events
// say the watched directory itself went away.
constexpr uint32_t WATCH_MASK = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_CLOSE_WRITE | IN_MODIFY |
                                IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;
constexpr uint64_t DEBOUNCE_ACCURACY_USEC = 10 * 1000;

}  // namespace

TrustedKeysWatch::TrustedKeysWatch(sd_event* event, std::string dir, OnChange on_change)
    : event_(event), dir_(std::move(dir)), on_change_(std::move(on_change)) {}

lockbox::Status TrustedKeysWatch::start() {
    sd_event_source* raw = nullptr;
    int r = sd_event_add_signal(event_, &raw, SIGHUP, on_sighup, this);
    if (r < 0)
        return lockbox::make_error(lockbox::Errc::Internal, std::string("cannot handle SIGHUP: ") + std::strerror(-r));
    sighup_.reset(raw);
    r = sd_event_add_time(event_, &raw, CLOCK_MONOTONIC, UINT64_MAX, DEBOUNCE_ACCURACY_USEC, on_debounced, this);
    if (r < 0)
        return lockbox::make_error(lockbox::Errc::Internal,
                                   std::string("cannot add the key reload timer: ") + std::strerror(-r));
    debounce_.reset(raw);
    sd_event_source_set_enabled(raw, SD_EVENT_OFF);
    inotify_.reset(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
    if (!inotify_.valid())
        return lockbox::make_error(lockbox::Errc::Internal, std::string("inotify_init1: ") + std::strerror(errno));
    r = sd_event_add_io(event_, &raw, inotify_.get(), EPOLLIN, on_inotify, this);
    if (r < 0)
        return lockbox::make_error(lockbox::Errc::Internal,
                                   std::string("cannot watch the trusted keys: ") + std::strerror(-r));
    io_.reset(raw);
    sd_event_source_set_description(raw, "trusted-keys");
    rewatch();
    return {};
}

void TrustedKeysWatch::rewatch() {
    if (!inotify_.valid())
        return;
    int wd = ::inotify_add_watch(inotify_.get(), dir_.c_str(), WATCH_MASK);
    if (wd < 0) {
        log_warning("cannot watch " + dir_ + " (" + std::strerror(errno) +
                    "): changes there take effect with systemctl reload lockboxd");
    }
    if (wd_ >= 0 && wd_ != wd)
        ::inotify_rm_watch(inotify_.get(), wd_);  // the path leads elsewhere now
    wd_ = wd;
}

int TrustedKeysWatch::on_sighup(sd_event_source* /*s*/, const struct signalfd_siginfo* si, void* userdata) {
    auto* self = static_cast<TrustedKeysWatch*>(userdata);
    log_info("SIGHUP from pid " + std::to_string(si ? si->ssi_pid : 0) + ": reading the trusted keys again");
    self->fire("reload");
    return 0;
}

int TrustedKeysWatch::on_inotify(sd_event_source* /*s*/, int fd, uint32_t /*revents*/, void* userdata) {
    auto* self = static_cast<TrustedKeysWatch*>(userdata);
    alignas(struct inotify_event) char buf[4096];
    bool changed = false;
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0)
            break;  // EAGAIN: drained
        for (char* p = buf; p < buf + n;) {
            auto* ev = reinterpret_cast<struct inotify_event*>(p);
            if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
                if (ev->wd == self->wd_ && (ev->mask & IN_IGNORED))
                    self->wd_ = -1;
            }
            changed = true;  // IN_Q_OVERFLOW included: something changed, read all
            p += sizeof(struct inotify_event) + ev->len;
        }
    }
    if (changed && self->debounce_) {
        sd_event_source_set_time_relative(self->debounce_.get(), DEBOUNCE);
        sd_event_source_set_enabled(self->debounce_.get(), SD_EVENT_ONESHOT);
    }
    return 0;
}

int TrustedKeysWatch::on_debounced(sd_event_source* /*s*/, uint64_t /*usec*/, void* userdata) {
    static_cast<TrustedKeysWatch*>(userdata)->fire("directory-changed");
    return 0;
}

void TrustedKeysWatch::fire(const char* trigger) {
    if (debounce_)
        sd_event_source_set_enabled(debounce_.get(), SD_EVENT_OFF);  // this read covers what was pending
    if (on_change_)
        on_change_(trigger);
    rewatch();
}

}  // namespace lockboxd
