#include "completion_thread.h"

#include <grpcpp/grpcpp.h>

namespace lockbox::fleet {

std::shared_ptr<CompletionThread> CompletionThread::shared() {
    // Weak: the thread ends with its last user instead of at exit, when
    // gRPC's own globals may already be gone.
    static std::mutex mutex;
    static std::weak_ptr<CompletionThread> current;
    std::lock_guard lock(mutex);
    if (auto alive = current.lock())
        return alive;
    std::shared_ptr<CompletionThread> fresh(new CompletionThread());
    current = fresh;
    return fresh;
}

CompletionThread::CompletionThread() : queue_(std::make_unique<grpc::CompletionQueue>()) {
    thread_ = std::thread([this] { run(); });
}

CompletionThread::~CompletionThread() {
    // Holders wait for their own operations before letting go, so Next()
    // returns false as soon as the queue is shut down.
    queue_->Shutdown();
    thread_.join();
}

void* CompletionThread::tag(Continuation then) { return new Continuation(std::move(then)); }

void CompletionThread::run() {
    void* raw = nullptr;
    bool ok = false;
    while (queue_->Next(&raw, &ok)) {
        std::unique_ptr<Continuation> then(static_cast<Continuation*>(raw));
        (*then)(ok);
    }
}

}  // namespace lockbox::fleet
