#include "expiry_scheduler.h"

#include <cerrno>
#include <cstring>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

namespace lockboxd {

ExpiryScheduler::ExpiryScheduler(sd_event* event, std::function<void()> on_due)
    : event_(event), on_due_(std::move(on_due)) {}

lockbox::Status ExpiryScheduler::start() {
    sd_event_source* raw = nullptr;
    int r = sd_event_add_time(event_, &raw, CLOCK_REALTIME, UINT64_MAX, ACCURACY_USEC, on_timer, this);
    if (r < 0)
        return lockbox::make_error(lockbox::Errc::Internal,
                                   std::string("cannot add the expiry timer: ") + std::strerror(-r));
    timer_.reset(raw);
    sd_event_source_set_enabled(raw, SD_EVENT_OFF);
    sd_event_source_set_description(raw, "expiry");
    return arm_clock_watch();
}

lockbox::Status ExpiryScheduler::arm_clock_watch() {
    clock_watch_.reset();
    clock_fd_.reset(::timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC));
    if (!clock_fd_.valid())
        return lockbox::make_error(lockbox::Errc::Internal, std::string("timerfd_create: ") + std::strerror(errno));
    // A timer far in the future never fires; it only exists to be cancelled
    // when someone sets the clock.
    struct itimerspec its {};
    its.it_value.tv_sec = INT32_MAX;
    if (::timerfd_settime(clock_fd_.get(), TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, nullptr) < 0)
        return lockbox::make_error(lockbox::Errc::Internal, std::string("timerfd_settime: ") + std::strerror(errno));
    sd_event_source* raw = nullptr;
    int r = sd_event_add_io(event_, &raw, clock_fd_.get(), EPOLLIN, on_clock_set, this);
    if (r < 0)
        return lockbox::make_error(lockbox::Errc::Internal,
                                   std::string("cannot watch clock changes: ") + std::strerror(-r));
    clock_watch_.reset(raw);
    sd_event_source_set_description(raw, "clock-set");
    return {};
}

void ExpiryScheduler::arm(std::optional<lockbox::usec_t> deadline) {
    armed_ = deadline;
    if (!timer_)
        return;
    if (!deadline) {
        sd_event_source_set_enabled(timer_.get(), SD_EVENT_OFF);
        return;
    }
    uint64_t t = *deadline <= 0 ? 1 : static_cast<uint64_t>(*deadline);
    sd_event_source_set_time(timer_.get(), t);
    sd_event_source_set_enabled(timer_.get(), SD_EVENT_ONESHOT);
}

int ExpiryScheduler::on_timer(sd_event_source* /*s*/, uint64_t /*usec*/, void* userdata) {
    auto* self = static_cast<ExpiryScheduler*>(userdata);
    self->armed_.reset();
    self->on_due_();
    return 0;
}

int ExpiryScheduler::on_clock_set(sd_event_source* /*s*/, int fd, uint32_t /*revents*/, void* userdata) {
    auto* self = static_cast<ExpiryScheduler*>(userdata);
    uint64_t ticks = 0;
    // ECANCELED is the notification; the timer must be re-armed to get the next one.
    if (::read(fd, &ticks, sizeof ticks) < 0 && errno != ECANCELED && errno != EAGAIN)
        return 0;
    (void)self->arm_clock_watch();
    self->on_due_();
    return 0;
}

}  // namespace lockboxd
