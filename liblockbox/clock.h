// Time in Lockbox is int64 microseconds since the Unix epoch (CLOCK_REALTIME),
// like systemd's usec_t. Everything that decides on time takes a Clock so tests
// can move time without sleeping.
#pragma once

#include <cstdint>

namespace lockbox {

using usec_t = int64_t;
constexpr usec_t USEC_PER_SEC = 1000000;
constexpr usec_t USEC_PER_MSEC = 1000;

class Clock {
public:
    virtual ~Clock() = default;
    virtual usec_t now() const = 0;
};

class SystemClock final : public Clock {
public:
    usec_t now() const override;
};

// For tests: time stands still until advanced.
class FakeClock final : public Clock {
public:
    explicit FakeClock(usec_t start) : now_(start) {}
    usec_t now() const override { return now_; }
    void set(usec_t t) { now_ = t; }
    void advance(usec_t d) { now_ += d; }

private:
    usec_t now_;
};

const Clock& system_clock();

// CLOCK_MONOTONIC in microseconds: for deadlines and rate windows, which must
// not move when someone sets the wall clock.
usec_t monotonic_now();

}  // namespace lockbox
