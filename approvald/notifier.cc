#include "notifier.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libc_handles.h"

extern char** environ;

namespace lockbox::approval {

namespace {

constexpr size_t MAX_ARGS = 64;

struct SpawnActions {
    posix_spawn_file_actions_t fa;
    SpawnActions() { posix_spawn_file_actions_init(&fa); }
    ~SpawnActions() { posix_spawn_file_actions_destroy(&fa); }
    SpawnActions(const SpawnActions&) = delete;
    SpawnActions& operator=(const SpawnActions&) = delete;
};

struct SpawnAttr {
    posix_spawnattr_t a;
    SpawnAttr() { posix_spawnattr_init(&a); }
    ~SpawnAttr() { posix_spawnattr_destroy(&a); }
    SpawnAttr(const SpawnAttr&) = delete;
    SpawnAttr& operator=(const SpawnAttr&) = delete;
};

Result<UniqueFd> message_fd(const std::string& text) {
    UniqueFd fd(memfd_create("lockbox-mail", MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (fd.get() < 0)
        return make_error(Errc::ProcessFailed, std::string("memfd_create: ") + std::strerror(errno));
    size_t off = 0;
    while (off < text.size()) {
        ssize_t n = ::write(fd.get(), text.data() + off, text.size() - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return make_error(Errc::ProcessFailed, std::string("write: ") + std::strerror(errno));
        off += static_cast<size_t>(n);
    }
    if (lseek(fd.get(), 0, SEEK_SET) < 0)
        return make_error(Errc::ProcessFailed, std::string("lseek: ") + std::strerror(errno));
    // The child reads what we wrote and nothing else can change it meanwhile.
    (void)fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
    return fd;
}

std::string describe_exit(const siginfo_t* si) {
    if (si->si_code == CLD_EXITED)
        return "exit status " + std::to_string(si->si_status);
    return std::string("killed by signal ") + (sigabbrev_np(si->si_status) ? sigabbrev_np(si->si_status) : "?");
}

}  // namespace

Result<std::vector<std::string>> split_command(const std::string& command) {
    std::vector<std::string> argv;
    size_t i = 0;
    while (i < command.size()) {
        while (i < command.size() && (command[i] == ' ' || command[i] == '\t'))
            ++i;
        size_t start = i;
        while (i < command.size() && command[i] != ' ' && command[i] != '\t')
            ++i;
        if (i > start)
            argv.push_back(command.substr(start, i - start));
    }
    if (argv.empty())
        return make_error(Errc::BadConfig, "[Notify] Command is empty");
    if (argv.front().front() != '/')
        return make_error(Errc::BadConfig, "[Notify] Command must start with an absolute path, got " + argv.front());
    if (argv.size() > MAX_ARGS)
        return make_error(Errc::BadConfig, "[Notify] Command has too many arguments");
    return argv;
}

Notifier::Notifier(sd_event* event, std::string command, usec_t timeout, Done done)
    : event_(event), command_(std::move(command)), timeout_(timeout), done_(std::move(done)) {}

Notifier::~Notifier() {
    // Children still running are killed with their sources (process ownership set at spawn).
    jobs_.clear();
}

Result<pid_t> Notifier::spawn(const std::string& text) {
    auto argv_s = split_command(command_);
    if (!argv_s)
        return argv_s.error();
    auto fd = message_fd(text);
    if (!fd)
        return fd.error();
    std::vector<char*> argv;
    for (auto& a : *argv_s)
        argv.push_back(a.data());
    argv.push_back(nullptr);

    SpawnActions actions;
    posix_spawn_file_actions_adddup2(&actions.fa, fd->get(), STDIN_FILENO);
    posix_spawn_file_actions_addopen(&actions.fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    SpawnAttr attr;
    // The daemon blocks the signals sd-event handles; the mailer must start with
    // a clean mask and default dispositions, in its own process group.
    sigset_t empty, defaults;
    sigemptyset(&empty);
    sigemptyset(&defaults);
    for (int sig : {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGPIPE})
        sigaddset(&defaults, sig);
    posix_spawnattr_setsigmask(&attr.a, &empty);
    posix_spawnattr_setsigdefault(&attr.a, &defaults);
    posix_spawnattr_setpgroup(&attr.a, 0);
    posix_spawnattr_setflags(&attr.a, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
    pid_t pid = -1;
    int r = posix_spawn(&pid, argv[0], &actions.fa, &attr.a, argv.data(), environ);
    if (r != 0)
        return make_error(Errc::ProcessFailed, std::string("cannot run ") + argv[0] + ": " + std::strerror(r));
    return pid;
}

void Notifier::send(const MailMessage& message, usec_t now) {
    auto pid = spawn(render_mail(message, now));
    if (!pid) {
        done_(message, pid.error());
        return;
    }
    auto job = std::make_unique<Job>();
    job->owner = this;
    job->pid = *pid;
    job->message = message;
    sd_event_source* child = nullptr;
    int r = sd_event_add_child(event_, &child, *pid, WEXITED, on_child_exit, job.get());
    if (r < 0) {
        ::kill(*pid, SIGKILL);
        (void)waitpid(*pid, nullptr, 0);  // bounded: SIGKILL cannot be ignored
        done_(message,
              make_error(Errc::ProcessFailed, std::string("cannot watch the mail command: ") + std::strerror(-r)));
        return;
    }
    job->child.reset(child);
    (void)sd_event_source_set_child_process_own(child, 1);
    sd_event_source* timer = nullptr;
    uint64_t mono = 0;
    sd_event_now(event_, CLOCK_MONOTONIC, &mono);
    if (sd_event_add_time(event_, &timer, CLOCK_MONOTONIC, mono + static_cast<uint64_t>(timeout_), 0, on_timeout,
                          job.get()) >= 0)
        job->timer.reset(timer);
    jobs_.emplace(*pid, std::move(job));
}

int Notifier::on_timeout(sd_event_source* /*s*/, uint64_t /*usec*/, void* userdata) {
    auto* job = static_cast<Job*>(userdata);
    job->timed_out = true;
    (void)sd_event_source_send_child_signal(job->child.get(), SIGKILL, nullptr, 0);
    return 0;
}

int Notifier::on_child_exit(sd_event_source* /*s*/, const siginfo_t* si, void* userdata) {
    auto* job = static_cast<Job*>(userdata);
    Notifier* self = job->owner;
    auto it = self->jobs_.find(job->pid);
    if (it == self->jobs_.end())
        return 0;
    std::unique_ptr<Job> owned = std::move(it->second);
    self->jobs_.erase(it);
    // sd-event reaps the child after this handler; it must not kill it on unref.
    (void)sd_event_source_set_child_process_own(owned->child.get(), 0);
    Status status;
    if (owned->timed_out)
        status = make_error(Errc::Timeout, "the mail command did not finish in time and was killed");
    else if (!(si->si_code == CLD_EXITED && si->si_status == 0))
        status = make_error(Errc::ProcessFailed, "the mail command failed: " + describe_exit(si));
    // Destroying the child source inside its own handler is allowed; sd-event
    // keeps it alive until dispatch returns.
    MailMessage message = std::move(owned->message);
    owned.reset();
    self->done_(message, status);
    return 0;
}

}  // namespace lockbox::approval
