// The one thread that drives asynchronous etcd calls (docs/fleet.md): a
// grpc::CompletionQueue and a thread that takes each completed operation off
// it and runs the operation's continuation there. Every follower of the
// process shares it, so a process that follows etcd N times (the fleet
// benchmark runs thousands of hosts in one) has one thread doing gRPC's I/O,
// not N threads each blocked in a call. Continuations must not block: they
// start the next operation, or hand a result to an sd-event loop through that
// loop's eventfd.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <thread>

namespace grpc {
class CompletionQueue;
}  // namespace grpc

namespace lockbox::fleet {

class CompletionThread {
public:
    // A continuation: ok is gRPC's verdict on the operation (false: it failed
    // or was cancelled; for a unary Finish the call's status tells more).
    using Continuation = std::function<void(bool ok)>;

    // The process's thread, started on first use and stopped when the last
    // holder lets go (after every operation it was handed has completed).
    static std::shared_ptr<CompletionThread> shared();

    ~CompletionThread();
    CompletionThread(const CompletionThread&) = delete;
    CompletionThread& operator=(const CompletionThread&) = delete;

    grpc::CompletionQueue* queue() { return queue_.get(); }

    // The tag to give gRPC for one operation: run once, on this thread, when
    // the operation completes, then freed.
    static void* tag(Continuation then);

private:
    CompletionThread();
    void run();

    std::unique_ptr<grpc::CompletionQueue> queue_;
    std::thread thread_;
};

}  // namespace lockbox::fleet
