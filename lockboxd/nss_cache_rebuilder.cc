#include "nss_cache_rebuilder.h"

#include <cerrno>
#include <cstring>
#include <exception>

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/stat.h>

#include "log.h"
#include "nss_cache.h"
#include "nss_cache_format.h"

namespace lockboxd {

NssCacheRebuilder::NssCacheRebuilder(lockbox::Config config, sd_event* event, ReportSink on_report, size_t wait_below)
    : config_(std::move(config)), on_report_(std::move(on_report)), wait_below_(wait_below) {
    if (event) {
        reports_fd_.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
        sd_event_source* source = nullptr;
        if (reports_fd_.valid() &&
            sd_event_add_io(event, &source, reports_fd_.get(), EPOLLIN, on_reports_ready, this) >= 0)
            reports_source_.reset(source);
        else
            log_error(std::string("NSS cache: no eventfd for rebuild reports (") + std::strerror(errno) +
                      "); every rebuild is waited for");
    }
    worker_ = std::thread([this] { run_worker(); });
}

NssCacheRebuilder::~NssCacheRebuilder() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_worker_.notify_one();
    worker_.join();
}

void NssCacheRebuilder::set(const std::string& jti, NssEngineer engineer) {
    auto [it, inserted] = name_of_jti_.try_emplace(jti, engineer.name);
    if (inserted)
        grants_of_name_[engineer.name]++;
    outgoing_.push_back({jti, std::move(engineer)});
}

void NssCacheRebuilder::drop(const std::string& jti) {
    auto it = name_of_jti_.find(jti);
    if (it == name_of_jti_.end())
        return;
    auto count = grants_of_name_.find(it->second);
    if (--count->second == 0) {
        grants_of_name_.erase(count);
        lost_names_.push_back(it->second);
    }
    name_of_jti_.erase(it);
    outgoing_.push_back({jti, std::nullopt});
}

void NssCacheRebuilder::publish(bool wait) {
    wait = wait || !reports_source_ || active_count() < wait_below_;
    // A name dropped and set again before this publish never stopped holding a grant.
    std::erase_if(lost_names_, [&](const std::string& name) { return grants_of_name_.count(name) > 0; });
    uint64_t seq = 0;
    {
        std::lock_guard lock(mutex_);
        if (!outgoing_.empty() || !lost_names_.empty() || full_rebuild_requested_) {
            seq = ++queued_seq_;
            if (!lost_names_.empty())
                withdraw_locked(lost_names_, seq);
            std::move(outgoing_.begin(), outgoing_.end(), std::back_inserter(pending_));
        } else {
            seq = queued_seq_;  // nothing new: waiting means for what is in flight
        }
    }
    outgoing_.clear();
    lost_names_.clear();
    full_rebuild_requested_ = false;
    wake_worker_.notify_one();
    if (!wait)
        return;
    {
        std::unique_lock lock(mutex_);
        rebuilt_.wait(lock, [&] { return published_seq_ >= seq; });
    }
    deliver_reports();
}

// Called with mutex_ held, so that no rebuild renames its file between the
// patch below and the record in withdrawn_ that makes it patch its own.
void NssCacheRebuilder::withdraw_locked(const std::vector<std::string>& names, uint64_t seq) {
    for (const auto& name : names)
        withdrawn_.emplace_back(seq, name);
    const std::string path = config_.nss_cache_path();
    auto give_up = [&](const std::string& why) {
        // Fail closed: nobody resolves until the next rebuild lands, rather
        // than an engineer whose access ended.
        log_error("NSS cache: cannot withdraw " + std::to_string(names.size()) + " name(s) in place (" + why +
                  "); withdrawing the whole cache until the rebuild");
        if (auto st = lockbox::withdraw_nss_cache(path); !st)
            log_error("NSS cache: cannot withdraw " + path + " either: " + st.error().message);
        current_.clear();
        current_known_ = true;  // no file
    };
    if (!current_known_ && !load_current_locked())
        return give_up("cannot read " + path + ": " + std::strerror(errno));
    if (current_.empty())
        return;  // no file: nobody resolves already
    auto expired = lockbox::expire_nss_names(current_, names);
    if (!expired)
        return give_up(expired.error().message);
    if (*expired == 0)
        return;
    if (auto st = lockbox::replace_nss_cache(path, current_, lockbox::Durability::Unsynced); !st)
        return give_up(st.error().message);
}

// The file a previous lockboxd (or a failed write) left: the bytes a
// withdrawal patches. False with errno set when it exists but cannot be read.
bool NssCacheRebuilder::load_current_locked() {
    current_.clear();
    lockbox::UniqueFd fd(::open(config_.nss_cache_path().c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
    if (!fd.valid()) {
        if (errno != ENOENT)
            return false;
        current_known_ = true;
        return true;
    }
    struct stat st {};
    if (fstat(fd.get(), &st) != 0)
        return false;
    if (!S_ISREG(st.st_mode) || st.st_size > static_cast<off_t>(LOCKBOX_NSS_CACHE_MAX_SIZE)) {
        errno = EINVAL;
        return false;
    }
    current_.resize(static_cast<size_t>(st.st_size));
    size_t done = 0;
    while (done < current_.size()) {
        ssize_t n = ::read(fd.get(), current_.data() + done, current_.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO;  // shorter than fstat said: replaced under us, not ours
            current_.clear();
            return false;
        }
        done += static_cast<size_t>(n);
    }
    current_known_ = true;
    return true;
}

void NssCacheRebuilder::run_worker() {
    std::unique_lock lock(mutex_);
    for (;;) {
        wake_worker_.wait(lock, [&] { return stopping_ || queued_seq_ > taken_seq_; });
        if (stopping_)
            return;
        std::vector<Change> changes = std::move(pending_);
        pending_.clear();
        const uint64_t seq = queued_seq_;
        taken_seq_ = seq;
        lock.unlock();

        // The slow part, outside the lock: the loop may queue and withdraw meanwhile.
        for (auto& c : changes) {
            if (c.engineer)
                table_[c.jti] = std::move(*c.engineer);
            else
                table_.erase(c.jti);
        }
        PreparedNssCache prepared;
        try {
            std::vector<NssEngineer> engineers;
            engineers.reserve(table_.size());
            for (const auto& [jti, e] : table_)
                engineers.push_back(e);
            prepared = prepare_nss_cache(engineers, config_);
        } catch (const std::exception& e) {  // bad_alloc: never across the thread's edge
            prepared.bytes.clear();
            prepared.encoded = lockbox::make_error(lockbox::Errc::Internal, std::string("rebuild: ") + e.what());
        }
        if (after_encode_for_tests)
            after_encode_for_tests();

        lock.lock();
        // Names withdrawn after this rebuild took its changes may still be in
        // it: they stop resolving in this file too.
        if (prepared.encoded) {
            std::vector<std::string> later;
            for (const auto& [withdrawn_at, name] : withdrawn_)
                if (withdrawn_at > seq)
                    later.push_back(name);
            if (!later.empty())
                if (auto r = lockbox::expire_nss_names(prepared.bytes, later); !r)
                    prepared.encoded = r.error();
        }
        NssPublishReport report = write_nss_cache_file(prepared, config_);
        if (report.written) {
            current_ = std::move(prepared.bytes);
            current_known_ = true;
        } else {
            current_.clear();
            current_known_ = false;  // an empty cache, or none: read again before a patch
        }
        std::erase_if(withdrawn_, [&](const auto& w) { return w.first <= seq; });
        published_seq_ = seq;
        reports_.push_back(std::move(report));
        rebuilt_.notify_all();
        if (reports_fd_.valid()) {
            uint64_t one = 1;
            (void)!::write(reports_fd_.get(), &one, sizeof one);
        }
    }
}

int NssCacheRebuilder::on_reports_ready(sd_event_source*, int fd, uint32_t, void* userdata) {
    uint64_t count = 0;
    (void)!::read(fd, &count, sizeof count);
    static_cast<NssCacheRebuilder*>(userdata)->deliver_reports();
    return 0;
}

void NssCacheRebuilder::deliver_reports() {
    std::deque<NssPublishReport> reports;
    {
        std::lock_guard lock(mutex_);
        reports.swap(reports_);
    }
    for (const auto& r : reports)
        if (on_report_)
            on_report_(r);
}

}  // namespace lockboxd
