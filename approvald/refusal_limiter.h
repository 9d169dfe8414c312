// Bounds what refused calls cost the store and the journal. Any local user may
// call the service, and every refusal used to be an fsync'd outbox row and a
// journal entry: a loop of refused calls grew both without limit. Per caller uid
// the first REFUSALS_AUDITED_PER_WINDOW refusals of a window are audited one by
// one; the rest are only counted, and one calls-refused-summary record per uid
// and window carries the count (docs/approval.md, "Refused calls").
//
// Pure bookkeeping over a monotonic time the caller passes in, so the unit test
// drives it with plain numbers.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <sys/types.h>
#include <vector>

#include "clock.h"

namespace lockbox::approval {

inline constexpr unsigned REFUSALS_AUDITED_PER_WINDOW = 20;
inline constexpr usec_t REFUSAL_WINDOW = 60 * USEC_PER_SEC;
// Distinct uids tracked at once. A local user has one uid, so this is never
// reached in practice; if it is, further uids share OVERFLOW_UID's window, which
// stays bounded and is still summarized.
inline constexpr size_t REFUSAL_TRACKED_UIDS = 4096;
inline constexpr uid_t REFUSAL_OVERFLOW_UID = static_cast<uid_t>(-1);

// What the limiter tells the caller to write for one uid's finished window.
struct RefusalSummary {
    uid_t uid;
    unsigned long suppressed;  // refusals counted, not audited one by one
    unsigned long total;       // all refusals of the window, audited or not
    usec_t window_start;
    usec_t window_end;  // when close_windows closed it
};

class RefusalLimiter {
public:
    RefusalLimiter(unsigned audited_per_window = REFUSALS_AUDITED_PER_WINDOW, usec_t window = REFUSAL_WINDOW,
                   size_t max_uids = REFUSAL_TRACKED_UIDS);

    // Counts one refusal of uid at monotonic time now; true when this one is
    // to be audited on its own, false when only counted.
    bool admit(uid_t uid, usec_t now);

    // Ends every window that closed by now (all of them with flush_all) and
    // returns a summary for each that suppressed something.
    std::vector<RefusalSummary> close_windows(usec_t now, bool flush_all = false);

    // When the earliest open window closes; nullopt when none is open.
    std::optional<usec_t> next_close() const;

    size_t tracked() const { return windows_.size(); }

private:
    struct Window {
        usec_t start = 0;
        unsigned long total = 0;
    };
    unsigned audited_per_window_;
    usec_t window_;
    size_t max_uids_;
    std::map<uid_t, Window> windows_;
};

}  // namespace lockbox::approval
