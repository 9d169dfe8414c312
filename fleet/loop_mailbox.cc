#include "loop_mailbox.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <string>

namespace lockbox::fleet {

Result<std::shared_ptr<LoopMailbox>> LoopMailbox::of(sd_event* event) {
    static std::mutex registry_mutex;
    static std::map<sd_event*, std::weak_ptr<LoopMailbox>> registry;
    std::lock_guard lock(registry_mutex);
    if (auto alive = registry[event].lock())
        return alive;
    std::shared_ptr<LoopMailbox> box(new LoopMailbox());
    box->wakeup_ = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!box->wakeup_.valid())
        return make_error(Errc::Internal, std::string("eventfd: ") + std::strerror(errno));
    sd_event_source* raw = nullptr;
    int r = sd_event_add_io(event, &raw, box->wakeup_.get(), EPOLLIN, on_wakeup, box.get());
    if (r < 0)
        return make_error(Errc::Internal, std::string("cannot watch the eventfd: ") + std::strerror(-r));
    box->source_.reset(raw);
    // An expired entry of a freed loop whose address was reused is replaced here.
    registry[event] = box;
    return box;
}

LoopMailbox::~LoopMailbox() = default;

void LoopMailbox::post(const void* owner, std::function<void()> work) {
    {
        std::lock_guard lock(mutex_);
        queue_.emplace_back(owner, std::move(work));
    }
    uint64_t one = 1;
    // A full counter (2^64-2 wakeups unread) cannot happen; EAGAIN would only
    // mean the loop has a wakeup pending anyway.
    (void)!::write(wakeup_.get(), &one, sizeof one);
}

void LoopMailbox::forget(const void* owner) {
    std::lock_guard lock(mutex_);
    std::erase_if(queue_, [owner](const auto& item) { return item.first == owner; });
}

int LoopMailbox::on_wakeup(sd_event_source* /*s*/, int fd, uint32_t /*revents*/, void* userdata) {
    auto* self = static_cast<LoopMailbox*>(userdata);
    // A piece of work may drop the last holder: live until the loop is done.
    auto keep = self->shared_from_this();
    uint64_t n = 0;
    (void)!::read(fd, &n, sizeof n);
    // One at a time, not a swapped batch: a piece of work may end another
    // owner (forget), whose remaining work must then not run.
    for (;;) {
        std::function<void()> work;
        {
            std::lock_guard lock(self->mutex_);
            if (self->queue_.empty())
                break;
            work = std::move(self->queue_.front().second);
            self->queue_.pop_front();
        }
        work();
    }
    return 0;
}

}  // namespace lockbox::fleet
