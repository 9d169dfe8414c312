// One CLOCK_REALTIME timer, armed for the registry's next deadline with an
// explicit 1 ms accuracy (sd-event's default slack is 250 ms, far beyond the
// kill target). Absolute realtime timers follow wall-clock changes in the
// kernel; a timerfd with TFD_TIMER_CANCEL_ON_SET additionally tells us the clock
// was set, so every deadline is re-evaluated against the new time at once.
#pragma once

#include <functional>
#include <optional>

#include "clock.h"
#include "result.h"
#include "libc_handles.h"
#include "sd_handles.h"

namespace lockboxd {

class ExpiryScheduler {
public:
    static constexpr uint64_t ACCURACY_USEC = 1000;

    ExpiryScheduler(sd_event* event, std::function<void()> on_due);
    lockbox::Status start();
    // nullopt disarms. A deadline in the past fires on the next loop iteration.
    void arm(std::optional<lockbox::usec_t> deadline);
    std::optional<lockbox::usec_t> armed_for() const { return armed_; }

private:
    static int on_timer(sd_event_source* s, uint64_t usec, void* userdata);
    static int on_clock_set(sd_event_source* s, int fd, uint32_t revents, void* userdata);
    lockbox::Status arm_clock_watch();

    sd_event* event_;
    std::function<void()> on_due_;
    lockbox::EventSourcePtr timer_;
    lockbox::EventSourcePtr clock_watch_;
    lockbox::UniqueFd clock_fd_;
    std::optional<lockbox::usec_t> armed_;
};

}  // namespace lockboxd
