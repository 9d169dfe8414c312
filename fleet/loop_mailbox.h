// Hands work from the completion thread (completion_thread.h) to the sd-event
// loop that owns the result: a queue and one eventfd per loop, however many
// followers post to it. One eventfd per follower would cost the fleet
// benchmark 10 000 descriptors on top of its 10 000 connections, past the
// 20 000 a process may hold here; a daemon has one follower and notices no
// difference.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>

#include <systemd/sd-event.h>

#include "libc_handles.h"
#include "result.h"
#include "sd_handles.h"

namespace lockbox::fleet {

class LoopMailbox : public std::enable_shared_from_this<LoopMailbox> {
public:
    // The mailbox of this loop, created on first use, freed with its last
    // holder. Call from the loop's thread.
    static Result<std::shared_ptr<LoopMailbox>> of(sd_event* event);

    ~LoopMailbox();
    LoopMailbox(const LoopMailbox&) = delete;
    LoopMailbox& operator=(const LoopMailbox&) = delete;

    // From any thread: run work on the loop, after what owner posted before.
    void post(const void* owner, std::function<void()> work);
    // From the loop's thread, before owner goes away: drops what it posted
    // and has not run yet (also from inside a piece of work).
    void forget(const void* owner);

private:
    LoopMailbox() = default;
    static int on_wakeup(sd_event_source* s, int fd, uint32_t revents, void* userdata);

    UniqueFd wakeup_;
    EventSourcePtr source_;
    std::mutex mutex_;
    std::deque<std::pair<const void*, std::function<void()>>> queue_;
};

}  // namespace lockbox::fleet
