#include "clock.h"

#include <ctime>

namespace lockbox {

usec_t SystemClock::now() const {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<usec_t>(ts.tv_sec) * USEC_PER_SEC + ts.tv_nsec / 1000;
}

usec_t monotonic_now() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<usec_t>(ts.tv_sec) * USEC_PER_SEC + ts.tv_nsec / 1000;
}

const Clock& system_clock() {
    static const SystemClock clock;
    return clock;
}

}  // namespace lockbox
