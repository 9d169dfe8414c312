// Follows what a tenant's signer issued (docs/fleet.md): lists the tenant's
// issued/ prefix, then watches it from the next revision, and hands every
// change to the sd-event loop that owns it. Runs on its own thread, because
// gRPC calls block; the loop is woken through an eventfd and never waits on
// etcd. On a broken stream it reconnects to the next endpoint with jittered
// backoff and resumes from the last revision it saw; when etcd has compacted
// that revision away, it lists everything again.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <systemd/sd-event.h>

#include "etcd_client.h"
#include "libc_handles.h"
#include "sd_handles.h"

namespace lockbox::fleet {

struct IssuedChange {
    enum class Kind {
        Snapshot,  // kvs is the whole prefix at revision: replace what you hold
        Put,       // one key written
        Delete,    // one key removed (retention)
        Lost,      // etcd unreachable; error says why (nothing changed)
    } kind = Kind::Lost;
    std::vector<KeyValue> kvs;  // Snapshot: all; Put/Delete: one
    int64_t revision = 0;
    std::string error;
};

class IssuedFollower {
public:
    using Handler = std::function<void(const IssuedChange&)>;

    // start_revision: the revision a previous run's mirror had (0: none). The
    // follower lists anyway on start, so a mirror older than etcd's compaction
    // cannot miss anything; then it watches from the listing's revision.
    IssuedFollower(std::unique_ptr<EtcdClient> client, std::string prefix, sd_event* event, Handler handler);
    ~IssuedFollower();  // stops the thread, cancelling its etcd call
    IssuedFollower(const IssuedFollower&) = delete;
    IssuedFollower& operator=(const IssuedFollower&) = delete;

    Status start();

    int64_t revision() const { return revision_.load(); }
    // Counters for lockboxctl fleet status and the tests.
    uint64_t reconnects() const { return reconnects_.load(); }
    uint64_t relists() const { return relists_.load(); }

private:
    void run();
    bool watch_from(int64_t revision, bool* compacted);
    void post(IssuedChange change);
    void backoff();
    static int on_wakeup(sd_event_source* s, int fd, uint32_t revents, void* userdata);

    std::unique_ptr<EtcdClient> client_;
    std::string prefix_;
    sd_event* event_;
    Handler handler_;
    UniqueFd wakeup_;
    EventSourcePtr wakeup_source_;

    std::mutex mutex_;
    std::condition_variable stop_cv_;
    std::deque<IssuedChange> queue_;
    bool stopping_ = false;
    void* active_context_ = nullptr;  // grpc::ClientContext of the running watch, to cancel
    std::thread thread_;

    std::atomic<int64_t> revision_{0};
    std::atomic<uint64_t> reconnects_{0};
    std::atomic<uint64_t> relists_{0};
    unsigned attempt_ = 0;
};

}  // namespace lockbox::fleet
