#include "issued_follower.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <random>

#include <grpcpp/grpcpp.h>

#include "daemon_log.h"
#include "rpc.grpc.pb.h"

namespace lockbox::fleet {
namespace {

// Reconnect backoff: full jitter between 0 and min(cap, base * 2^attempt), so
// a thousand hosts cut off together do not come back in one wave.
constexpr auto BACKOFF_BASE = std::chrono::milliseconds(100);
constexpr auto BACKOFF_CAP = std::chrono::seconds(5);

}  // namespace

IssuedFollower::IssuedFollower(std::unique_ptr<EtcdClient> client, std::string prefix, sd_event* event, Handler handler)
    : client_(std::move(client)), prefix_(std::move(prefix)), event_(event), handler_(std::move(handler)) {}

IssuedFollower::~IssuedFollower() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        if (active_context_)
            static_cast<grpc::ClientContext*>(active_context_)->TryCancel();
    }
    stop_cv_.notify_all();
    if (thread_.joinable())
        thread_.join();
}

Status IssuedFollower::start() {
    wakeup_ = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!wakeup_.valid())
        return make_error(Errc::Internal, std::string("eventfd: ") + std::strerror(errno));
    sd_event_source* raw = nullptr;
    int r = sd_event_add_io(event_, &raw, wakeup_.get(), EPOLLIN, on_wakeup, this);
    if (r < 0)
        return make_error(Errc::Internal, std::string("cannot watch the eventfd: ") + std::strerror(-r));
    wakeup_source_.reset(raw);
    thread_ = std::thread([this] { run(); });
    return {};
}

void IssuedFollower::post(IssuedChange change) {
    {
        std::lock_guard lock(mutex_);
        queue_.push_back(std::move(change));
    }
    uint64_t one = 1;
    // A full counter (2^64-2 wakeups unread) cannot happen; EAGAIN would only
    // mean the loop has a wakeup pending anyway.
    (void)!::write(wakeup_.get(), &one, sizeof one);
}

int IssuedFollower::on_wakeup(sd_event_source* /*s*/, int fd, uint32_t /*revents*/, void* userdata) {
    auto* self = static_cast<IssuedFollower*>(userdata);
    uint64_t n = 0;
    (void)!::read(fd, &n, sizeof n);
    std::deque<IssuedChange> batch;
    {
        std::lock_guard lock(self->mutex_);
        batch.swap(self->queue_);
    }
    for (const auto& change : batch)
        self->handler_(change);
    return 0;
}

void IssuedFollower::backoff() {
    auto cap = std::min<std::chrono::milliseconds>(BACKOFF_CAP, BACKOFF_BASE * (1u << std::min(attempt_, 6u)));
    attempt_++;
    static thread_local std::mt19937 rng(std::random_device{}());
    std::uniform_int_distribution<long> pick(0, cap.count());
    std::unique_lock lock(mutex_);
    stop_cv_.wait_for(lock, std::chrono::milliseconds(pick(rng)), [this] { return stopping_; });
}

void IssuedFollower::run() {
    bool need_list = true;
    while (true) {
        {
            std::lock_guard lock(mutex_);
            if (stopping_)
                return;
        }
        if (need_list) {
            auto listed = client_->get_prefix(prefix_);
            if (!listed) {
                post({IssuedChange::Kind::Lost, {}, revision_.load(), listed.error().message});
                backoff();
                continue;
            }
            relists_++;
            revision_ = listed->revision;
            post({IssuedChange::Kind::Snapshot, std::move(listed->kvs), listed->revision, ""});
            need_list = false;
        }
        bool compacted = false;
        if (watch_from(revision_.load() + 1, &compacted))
            attempt_ = 0;  // the stream delivered something: start the backoff afresh
        if (compacted) {
            need_list = true;
            continue;
        }
        reconnects_++;
        client_->next_endpoint();
        backoff();
    }
}

// Returns whether the stream carried any response; sets *compacted when etcd
// no longer has the revision asked for.
bool IssuedFollower::watch_from(int64_t revision, bool* compacted) {
    grpc::ClientContext ctx;
    {
        std::lock_guard lock(mutex_);
        if (stopping_)
            return false;
        active_context_ = &ctx;
    }
    auto stub = etcdserverpb::Watch::NewStub(client_->current_channel());
    auto stream = stub->Watch(&ctx);
    etcdserverpb::WatchRequest req;
    auto* create = req.mutable_create_request();
    create->set_key(prefix_);
    create->set_range_end(prefix_end(prefix_));
    create->set_start_revision(revision);
    create->set_progress_notify(true);
    bool any = false;
    std::string why;
    if (stream->Write(req)) {
        etcdserverpb::WatchResponse resp;
        while (stream->Read(&resp)) {
            any = true;
            if (resp.compact_revision() > 0) {
                *compacted = true;
                why = "revision " + std::to_string(revision) + " was compacted (now " +
                      std::to_string(resp.compact_revision()) + "); listing again";
                break;
            }
            if (resp.canceled()) {
                why = "etcd cancelled the watch: " + resp.cancel_reason();
                break;
            }
            for (const auto& ev : resp.events()) {
                KeyValue kv{ev.kv().key(), ev.kv().value(), ev.kv().create_revision(), ev.kv().mod_revision(),
                            ev.kv().lease()};
                auto kind = ev.type() == mvccpb::Event::DELETE ? IssuedChange::Kind::Delete : IssuedChange::Kind::Put;
                revision_ = std::max(revision_.load(), kv.mod_revision);
                const int64_t at = kv.mod_revision;
                post({kind, {std::move(kv)}, at, ""});
            }
            // Progress notices carry the store's revision with no event.
            if (resp.events_size() == 0 && resp.header().revision() > revision_.load() && !resp.created())
                revision_ = resp.header().revision();
        }
    }
    if (!why.empty())  // we stopped reading ourselves: end the call first
        ctx.TryCancel();
    auto status = stream->Finish();
    {
        std::lock_guard lock(mutex_);
        active_context_ = nullptr;
        if (stopping_)
            return any;
    }
    if (why.empty())
        why = "watch stream ended: " + status.error_message();
    if (!*compacted)
        post({IssuedChange::Kind::Lost, {}, revision_.load(), why});
    else
        log_info(why);
    return any;
}

}  // namespace lockbox::fleet
