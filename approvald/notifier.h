// Runs the [Notify] Command (a sendmail-compatible program) once per message,
// without a shell: the command line is split on whitespace, the message goes to
// its stdin from a sealed memfd (no pipe to block on), its exit is collected by an
// sd-event child source and a timer kills it if it overstays. The event loop
// never waits for mail.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <systemd/sd-event.h>

#include "clock.h"
#include "notification_message.h"
#include "result.h"
#include "sd_handles.h"

namespace lockbox::approval {

// "/usr/bin/msmtp --host=127.0.0.1 -t" → argv; error for an empty or relative command.
Result<std::vector<std::string>> split_command(const std::string& command);

class Notifier {
public:
    // done(message, status) runs on the event loop once the command finished,
    // failed to start or timed out.
    using Done = std::function<void(const MailMessage&, const Status&)>;

    Notifier(sd_event* event, std::string command, usec_t timeout, Done done);
    ~Notifier();
    Notifier(const Notifier&) = delete;
    Notifier& operator=(const Notifier&) = delete;

    void send(const MailMessage& message, usec_t now);
    size_t in_flight() const { return jobs_.size(); }

private:
    struct Job {
        Notifier* owner = nullptr;
        pid_t pid = -1;
        MailMessage message;
        EventSourcePtr child;
        EventSourcePtr timer;
        bool timed_out = false;
    };
    static int on_child_exit(sd_event_source* s, const siginfo_t* si, void* userdata);
    static int on_timeout(sd_event_source* s, uint64_t usec, void* userdata);
    Result<pid_t> spawn(const std::string& text);

    sd_event* event_;
    std::string command_;
    usec_t timeout_;
    Done done_;
    std::map<pid_t, std::unique_ptr<Job>> jobs_;
};

}  // namespace lockbox::approval
