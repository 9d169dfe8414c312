// Keeps the NSS cache in step with the active grants without holding the event
// loop: encoding every record takes about a second at 100 000 engineers, so
// the rebuild runs on one worker thread and the loop only hands it changes
// (O(1) each). Bursts coalesce: one rebuild takes every change queued while the
// previous one ran.
//
// Ends are not left to the worker. When a name loses its last active grant,
// publish() makes it stop resolving before it returns: the last file written
// is rewritten with that name's records expired (expire_nss_names: no
// encoding, but a copy of the whole file, ~55 ms for the 21 MB of 100 000
// engineers on a loaded 2-core VM), and a rebuild taken before the end is patched the same
// way before its rename, so no queued rebuild can bring the name back
// (docs/enforcement.md, "NSS cache").
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "config.h"
#include "libc_handles.h"
#include "nss_cache_publisher.h"
#include "sd_handles.h"

namespace lockboxd {

class NssCacheRebuilder {
public:
    using ReportSink = std::function<void(const NssPublishReport&)>;
    // Reports come back to on_report on the event loop (through an eventfd);
    // with no event loop (unit tests) every publish() waits for its rebuild.
    // wait_below: see WAIT_BELOW (tests pass 0 to take the asynchronous path
    // with a handful of engineers).
    NssCacheRebuilder(lockbox::Config config, sd_event* event, ReportSink on_report, size_t wait_below = WAIT_BELOW);
    ~NssCacheRebuilder();
    NssCacheRebuilder(const NssCacheRebuilder&) = delete;
    NssCacheRebuilder& operator=(const NssCacheRebuilder&) = delete;

    // The loop's side, O(1) each, effective at the next publish().
    void set(const std::string& jti, NssEngineer engineer);  // an active grant
    void drop(const std::string& jti);                       // a grant no longer active (unknown: ignored)
    bool holds_name(const std::string& name) const { return grants_of_name_.count(name) > 0; }

    // Withdraws the names that lost their last grant at once, then queues the
    // changes for a rebuild. wait: return only once a rebuild with every change
    // so far is on disk (start-up, small caches, a retry after a failure).
    void publish(bool wait);
    // A rebuild even without changes (after a failed write).
    void request_full_rebuild() { full_rebuild_requested_ = true; }

    // Below this many active grants a rebuild takes under a millisecond:
    // publish() then waits for it, so the cache is current when a bus call
    // that changed it returns, as it always was.
    static constexpr size_t WAIT_BELOW = 1000;
    size_t active_count() const { return name_of_jti_.size(); }

    // Runs on the worker between encoding and writing, no lock held: tests
    // hold a rebuild there to end a grant while it is in flight. Set it before
    // the first publish().
    std::function<void()> after_encode_for_tests;

private:
    struct Change {
        std::string jti;
        std::optional<NssEngineer> engineer;  // nullopt: dropped
    };
    void run_worker();
    void withdraw_locked(const std::vector<std::string>& names, uint64_t seq);
    bool load_current_locked();
    static int on_reports_ready(sd_event_source* s, int fd, uint32_t revents, void* userdata);
    void deliver_reports();

    const lockbox::Config config_;
    ReportSink on_report_;
    const size_t wait_below_;

    // Loop thread only.
    std::unordered_map<std::string, std::string> name_of_jti_;
    std::unordered_map<std::string, size_t> grants_of_name_;
    std::vector<std::string> lost_names_;  // no grant left since the last publish()
    std::vector<Change> outgoing_;
    bool full_rebuild_requested_ = false;
    lockbox::UniqueFd reports_fd_;  // eventfd: the worker wrote reports_
    lockbox::EventSourcePtr reports_source_;

    // Shared, under mutex_.
    std::mutex mutex_;
    std::condition_variable wake_worker_, rebuilt_;
    std::vector<Change> pending_;
    uint64_t queued_seq_ = 0;     // the last publish() that queued something
    uint64_t taken_seq_ = 0;      // the worker took changes up to here
    uint64_t published_seq_ = 0;  // the file on disk has every change up to here
    // (seq, name) withdrawn by publish(): a rebuild taken before seq still
    // lists the name and expires it before its rename.
    std::vector<std::pair<uint64_t, std::string>> withdrawn_;
    std::vector<uint8_t> current_;  // the bytes of the file on disk, when current_known_
    bool current_known_ = false;
    std::deque<NssPublishReport> reports_;
    bool stopping_ = false;

    // Worker thread only.
    std::map<std::string, NssEngineer> table_;  // jti -> its engineer record

    std::thread worker_;  // last: started once everything above exists
};

}  // namespace lockboxd
