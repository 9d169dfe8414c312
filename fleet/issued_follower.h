// Follows what a tenant's signer issued (docs/fleet.md): lists the tenant's
// issued/ prefix, then watches it from the next revision, and hands every
// change to the sd-event loop that owns it. Its calls are asynchronous, driven
// by the process's CompletionThread; changes reach the loop through its
// LoopMailbox, and the loop never waits on etcd. On a broken stream it
// reconnects to the next endpoint with jittered backoff and resumes from the
// last revision it saw; when etcd has compacted that revision away, it lists
// everything again.
//
// One operation at a time is in flight (a listing, a step of the watch
// stream, or the backoff alarm), and each one's continuation starts the next:
// a state machine on the completion thread, guarded by mutex_ against the
// destructor, which cancels that one operation and waits for it to end.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <systemd/sd-event.h>

#include "completion_thread.h"
#include "etcd_client.h"
#include "loop_mailbox.h"

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
    ~IssuedFollower();  // cancels its etcd call and waits for it to end
    IssuedFollower(const IssuedFollower&) = delete;
    IssuedFollower& operator=(const IssuedFollower&) = delete;

    Status start();

    int64_t revision() const { return revision_.load(); }
    // Counters for lockboxctl fleet status and the tests.
    uint64_t reconnects() const { return reconnects_.load(); }
    uint64_t relists() const { return relists_.load(); }

private:
    struct Calls;  // the gRPC objects of the operation in flight

    // Each starts one operation, with mutex_ held; its continuation, on the
    // completion thread, goes through step() and decides what comes next.
    void list();
    void on_listed();
    void watch();
    void read_next();
    void on_response();
    void finish_watch();
    void on_watch_finished();
    void backoff();
    // The tag for the operation about to start: marks it in flight (so the
    // destructor waits for it) and runs next through step() when it ends.
    void* when_done(std::function<void(bool ok)> next);
    // Runs a continuation under mutex_; when stopping, ends instead (a watch
    // stream still gets its Finish) and wakes the destructor.
    void step(const std::function<void()>& then);

    void post(IssuedChange change);

    std::unique_ptr<EtcdClient> client_;
    std::string prefix_;
    sd_event* event_;
    Handler handler_;
    std::shared_ptr<LoopMailbox> mailbox_;
    std::shared_ptr<CompletionThread> completions_;

    std::mutex mutex_;
    std::condition_variable idle_cv_;
    bool stopping_ = false;
    bool in_flight_ = false;  // an operation is pending on the completion queue
    std::unique_ptr<Calls> calls_;
    bool need_list_ = true;
    bool delivered_ = false;  // the current stream carried a response
    bool compacted_ = false;
    std::string why_;  // why this follower ended the current stream itself
    int64_t watched_from_ = 0;
    unsigned attempt_ = 0;

    std::atomic<int64_t> revision_{0};
    std::atomic<uint64_t> reconnects_{0};
    std::atomic<uint64_t> relists_{0};
};

}  // namespace lockbox::fleet
