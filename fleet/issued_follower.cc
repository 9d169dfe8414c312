#include "issued_follower.h"

#include <random>

#include <grpcpp/alarm.h>
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

// What the operation in flight needs kept alive until it completes.
struct IssuedFollower::Calls {
    std::unique_ptr<grpc::ClientContext> context;
    grpc::Status status;
    // A listing.
    std::unique_ptr<etcdserverpb::KV::Stub> kv;
    std::unique_ptr<grpc::ClientAsyncResponseReader<etcdserverpb::RangeResponse>> range_call;
    etcdserverpb::RangeResponse range;
    // A watch stream.
    std::unique_ptr<etcdserverpb::Watch::Stub> watcher;
    std::unique_ptr<grpc::ClientAsyncReaderWriter<etcdserverpb::WatchRequest, etcdserverpb::WatchResponse>> stream;
    etcdserverpb::WatchRequest request;
    etcdserverpb::WatchResponse response;
    bool finishing = false;
    // The backoff.
    std::unique_ptr<grpc::Alarm> alarm;
};

IssuedFollower::IssuedFollower(std::unique_ptr<EtcdClient> client, std::string prefix, sd_event* event, Handler handler)
    : client_(std::move(client)), prefix_(std::move(prefix)), event_(event), handler_(std::move(handler)) {}

IssuedFollower::~IssuedFollower() {
    std::unique_lock lock(mutex_);
    stopping_ = true;
    if (calls_ && calls_->context)
        calls_->context->TryCancel();
    if (calls_ && calls_->alarm)
        calls_->alarm->Cancel();
    // Bounded: a cancelled call or alarm completes at once.
    idle_cv_.wait(lock, [this] { return !in_flight_; });
    calls_.reset();
    if (mailbox_)
        mailbox_->forget(this);
}

Status IssuedFollower::start() {
    auto mailbox = LoopMailbox::of(event_);
    if (!mailbox)
        return mailbox.error();
    mailbox_ = std::move(*mailbox);
    completions_ = CompletionThread::shared();
    std::lock_guard lock(mutex_);
    list();
    return {};
}

void IssuedFollower::post(IssuedChange change) {
    mailbox_->post(this, [this, change = std::move(change)] { handler_(change); });
}

void IssuedFollower::step(const std::function<void()>& then) {
    std::unique_lock lock(mutex_);
    in_flight_ = false;
    if (stopping_) {
        // A stream is finished before it is dropped, even when cancelled.
        if (calls_ && calls_->stream && !calls_->finishing) {
            finish_watch();
            return;
        }
        idle_cv_.notify_all();
        return;
    }
    then();
}

void* IssuedFollower::when_done(std::function<void(bool ok)> next) {
    in_flight_ = true;
    return CompletionThread::tag([this, next = std::move(next)](bool ok) { step([&] { next(ok); }); });
}

void IssuedFollower::list() {
    calls_ = std::make_unique<Calls>();
    calls_->context = std::make_unique<grpc::ClientContext>();
    calls_->context->set_deadline(std::chrono::system_clock::now() + client_->call_timeout());
    etcdserverpb::RangeRequest req;
    req.set_key(prefix_);
    req.set_range_end(prefix_end(prefix_));
    calls_->kv = etcdserverpb::KV::NewStub(client_->current_channel());
    calls_->range_call = calls_->kv->PrepareAsyncRange(calls_->context.get(), req, completions_->queue());
    calls_->range_call->StartCall();
    calls_->range_call->Finish(&calls_->range, &calls_->status, when_done([this](bool) { on_listed(); }));
}

void IssuedFollower::on_listed() {
    if (!calls_->status.ok()) {
        post({IssuedChange::Kind::Lost,
              {},
              revision_.load(),
              "listing " + prefix_ + " at " + client_->current_endpoint() + ": " + calls_->status.error_message()});
        client_->next_endpoint();
        backoff();
        return;
    }
    relists_++;
    const auto& resp = calls_->range;
    std::vector<KeyValue> kvs;
    kvs.reserve(static_cast<size_t>(resp.kvs_size()));
    for (const auto& kv : resp.kvs())
        kvs.push_back(from_proto(kv));
    revision_ = resp.header().revision();
    post({IssuedChange::Kind::Snapshot, std::move(kvs), resp.header().revision(), ""});
    need_list_ = false;
    watch();
}

void IssuedFollower::watch() {
    calls_ = std::make_unique<Calls>();
    calls_->context = std::make_unique<grpc::ClientContext>();
    calls_->watcher = etcdserverpb::Watch::NewStub(client_->current_channel());
    delivered_ = false;
    compacted_ = false;
    why_.clear();
    watched_from_ = revision_.load() + 1;
    auto* create = calls_->request.mutable_create_request();
    create->set_key(prefix_);
    create->set_range_end(prefix_end(prefix_));
    create->set_start_revision(watched_from_);
    create->set_progress_notify(true);
    calls_->stream = calls_->watcher->PrepareAsyncWatch(calls_->context.get(), completions_->queue());
    calls_->stream->StartCall(when_done([this](bool started) {
        if (!started)
            return finish_watch();
        calls_->stream->Write(calls_->request,
                              when_done([this](bool written) { written ? read_next() : finish_watch(); }));
    }));
}

void IssuedFollower::read_next() {
    calls_->stream->Read(&calls_->response, when_done([this](bool ok) { ok ? on_response() : finish_watch(); }));
}

void IssuedFollower::on_response() {
    const auto& resp = calls_->response;
    delivered_ = true;
    if (resp.compact_revision() > 0) {
        compacted_ = true;
        why_ = "revision " + std::to_string(watched_from_) + " was compacted (now " +
               std::to_string(resp.compact_revision()) + "); listing again";
    } else if (resp.canceled()) {
        why_ = "etcd cancelled the watch: " + resp.cancel_reason();
    }
    if (!why_.empty()) {  // we stop reading ourselves: end the call first
        calls_->context->TryCancel();
        return finish_watch();
    }
    for (const auto& ev : resp.events()) {
        KeyValue kv = from_proto(ev.kv());
        auto kind = ev.type() == mvccpb::Event::DELETE ? IssuedChange::Kind::Delete : IssuedChange::Kind::Put;
        revision_ = std::max(revision_.load(), kv.mod_revision);
        const int64_t at = kv.mod_revision;
        post({kind, {std::move(kv)}, at, ""});
    }
    // Progress notices carry the store's revision with no event.
    if (resp.events_size() == 0 && resp.header().revision() > revision_.load() && !resp.created())
        revision_ = resp.header().revision();
    read_next();
}

void IssuedFollower::finish_watch() {
    calls_->finishing = true;
    calls_->stream->Finish(&calls_->status, when_done([this](bool) { on_watch_finished(); }));
}

void IssuedFollower::on_watch_finished() {
    if (delivered_)
        attempt_ = 0;  // the stream delivered something: start the backoff afresh
    if (compacted_) {
        log_info(why_);
        need_list_ = true;
        return list();
    }
    if (why_.empty())
        why_ = "watch stream ended: " + calls_->status.error_message();
    post({IssuedChange::Kind::Lost, {}, revision_.load(), why_});
    reconnects_++;
    client_->next_endpoint();
    backoff();
}

void IssuedFollower::backoff() {
    auto cap = std::min<std::chrono::milliseconds>(BACKOFF_CAP, BACKOFF_BASE * (1u << std::min(attempt_, 6u)));
    attempt_++;
    static thread_local std::mt19937 rng(std::random_device{}());
    std::uniform_int_distribution<long> pick(0, cap.count());
    calls_ = std::make_unique<Calls>();
    calls_->alarm = std::make_unique<grpc::Alarm>();
    calls_->alarm->Set(completions_->queue(), std::chrono::system_clock::now() + std::chrono::milliseconds(pick(rng)),
                       when_done([this](bool) { need_list_ ? list() : watch(); }));
}

}  // namespace lockbox::fleet
