#include "refusal_limiter.h"

namespace lockbox::approval {

RefusalLimiter::RefusalLimiter(unsigned audited_per_window, usec_t window, size_t max_uids)
    : audited_per_window_(audited_per_window), window_(window), max_uids_(max_uids) {}

bool RefusalLimiter::admit(uid_t uid, usec_t now) {
    // A window past its end that close_windows has not closed yet keeps
    // counting: its summary then says when it really closed.
    auto it = windows_.find(uid);
    if (it == windows_.end()) {
        if (windows_.size() >= max_uids_)
            uid = REFUSAL_OVERFLOW_UID;
        it = windows_.try_emplace(uid, Window{now, 0}).first;
    }
    return ++it->second.total <= audited_per_window_;
}

std::vector<RefusalSummary> RefusalLimiter::close_windows(usec_t now, bool flush_all) {
    std::vector<RefusalSummary> out;
    for (auto it = windows_.begin(); it != windows_.end();) {
        const Window& w = it->second;
        if (!flush_all && now < w.start + window_) {
            ++it;
            continue;
        }
        if (w.total > audited_per_window_)
            out.push_back({it->first, w.total - audited_per_window_, w.total, w.start, now});
        it = windows_.erase(it);
    }
    return out;
}

std::optional<usec_t> RefusalLimiter::next_close() const {
    std::optional<usec_t> earliest;
    for (const auto& [uid, w] : windows_)
        if (!earliest || w.start + window_ < *earliest)
            earliest = w.start + window_;
    return earliest;
}

}  // namespace lockbox::approval
