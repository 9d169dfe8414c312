// The fleet simulator's followers (run by bench/bench_fleet.py, docs/fleet.md):
// N etcd watchers in one process, each with a connection of its own, and for
// every key they all see, the wall-clock time the last of them saw it.
//
//   bench_fleet_followers bare  N ENDPOINT CA CERT KEY PREFIX
//     N bare gRPC watch streams on PREFIX, nothing else: the baseline,
//     asynchronous on one completion thread as the followers are. Reads
//     "put KEY SIZE" lines on stdin and puts SIZE bytes at KEY itself, so the
//     time counts from the put call.
//   bench_fleet_followers hosts N CONFIG STATE_BASE
//     N host-mode followers exactly as lockbox-approvald runs them (FleetHost:
//     list, watch, verify with the trusted keys, mirror on disk), hosts
//     h00001… in group "bench", configured from CONFIG's [Fleet], [Keys] and
//     [Host] Tenant=, mirrors under STATE_BASE.
//
// Every connection comes from a source address of its own in 127.0.0.0/8
// (spread_source_address.h).
//
// Prints JSON lines: {"ready":N,"setup_ms":…,"sources":…,"source_failures":…}
// once every watcher is in place (how many connections were bound to a
// source address of their own, and how many binds failed),
// then {"key":…,"event":…,"first_ms":…,"last_ms":…,"count":N} per key, times in
// ms since the epoch (CLOCK_REALTIME, as the driver's time.time()).
#include <sys/resource.h>
#include <sys/stat.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/alarm.h>
#include <grpcpp/grpcpp.h>
#include <systemd/sd-event.h>

#include "clock.h"
#include "completion_thread.h"
#include "config.h"
#include "etcd_client.h"
#include "fleet_host.h"
#include "rpc.grpc.pb.h"
#include "sd_handles.h"
#include "spread_source_address.h"
#include "tls_identity.h"

namespace {

using namespace lockbox;

double now_ms() { return static_cast<double>(system_clock().now()) / 1000.0; }

// Per key: how many watchers saw it, first and last time.
class Tally {
public:
    explicit Tally(size_t n) : n_(n) {}
    void saw(const std::string& key, const std::string& event) {
        std::lock_guard lock(mutex_);
        auto& t = seen_[key + " " + event];
        double t_ms = now_ms();
        if (t.count == 0)
            t.first = t_ms;
        t.last = t_ms;
        if (++t.count == n_) {
            std::printf("{\"key\":\"%s\",\"event\":\"%s\",\"first_ms\":%.3f,\"last_ms\":%.3f,\"count\":%zu}\n",
                        key.c_str(), event.c_str(), t.first, t.last, n_);
            std::fflush(stdout);
        }
    }

    // How many saw each key so far: what the driver prints when it gave up.
    void report(size_t streams_ended) {
        std::lock_guard lock(mutex_);
        std::printf("{\"report\":{");
        const char* sep = "";
        for (const auto& [key, t] : seen_) {
            std::printf("%s\"%s\":%zu", sep, key.c_str(), t.count);
            sep = ",";
        }
        std::printf("},\"streams_ended\":%zu}\n", streams_ended);
        std::fflush(stdout);
    }

private:
    struct Seen {
        size_t count = 0;
        double first = 0, last = 0;
    };
    size_t n_;
    std::mutex mutex_;
    std::map<std::string, Seen> seen_;
};

void announce_ready(size_t n, double started) {
    std::printf("{\"ready\":%zu,\"setup_ms\":%.0f,\"sources\":%zu,\"source_failures\":%zu}\n", n, now_ms() - started,
                bench::source_addresses_bound(), bench::source_address_failures());
    std::fflush(stdout);
}

constexpr size_t SETUP_IN_FLIGHT = 200;
constexpr int SETUP_ATTEMPTS = 5;  // per bare watcher, 100 ms apart

// Each follower holds a connection and an eventfd: 10 000 of them need more
// than a login's hard limit, which root may raise.
void raise_fd_limit() {
    rlimit want{1 << 16, 1 << 16};
    if (setrlimit(RLIMIT_NOFILE, &want) == 0)
        return;
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

// One bare watch stream, asynchronous on the process's CompletionThread as
// the host followers' are: create the watch, read until the stream ends, and
// watch again from the next revision when it does (as any etcd watcher does:
// nothing is missed, nothing seen twice).
class BareWatcher {
public:
    struct Counters {
        std::atomic<size_t> ready{0}, failed{0}, ended{0};
    };
    BareWatcher(std::shared_ptr<grpc::Channel> channel, std::string prefix, fleet::CompletionThread& completions,
                Tally& tally, Counters& counters)
        : stub_(etcdserverpb::Watch::NewStub(std::move(channel))),
          prefix_(std::move(prefix)),
          completions_(completions),
          tally_(tally),
          counters_(counters) {}

    void start() {
        std::lock_guard lock(mutex_);
        watch();
    }
    void stop() {
        std::unique_lock lock(mutex_);
        stopping_ = true;
        if (context_)
            context_->TryCancel();
        if (alarm_)
            alarm_->Cancel();
        idle_.wait(lock, [this] { return !in_flight_; });
    }

private:
    // As IssuedFollower::when_done: the operation about to start is in
    // flight (stop() waits for it), and next runs through step().
    void* when_done(std::function<void(bool ok)> next) {
        in_flight_ = true;
        return fleet::CompletionThread::tag([this, next = std::move(next)](bool ok) { step([&] { next(ok); }); });
    }
    void watch() {
        context_ = std::make_unique<grpc::ClientContext>();
        stream_ = stub_->PrepareAsyncWatch(context_.get(), completions_.queue());
        finishing_ = false;
        stream_->StartCall(when_done([this](bool started) {
            if (!started)
                return finish();
            etcdserverpb::WatchRequest req;
            req.mutable_create_request()->set_key(prefix_);
            req.mutable_create_request()->set_range_end(fleet::prefix_end(prefix_));
            req.mutable_create_request()->set_start_revision(next_revision_);
            stream_->Write(req, when_done([this](bool written) { written ? read() : finish(); }));
        }));
    }
    void read() {
        stream_->Read(&response_, when_done([this](bool ok) { ok ? on_response() : finish(); }));
    }
    void on_response() {
        if (response_.created()) {
            if (!came_up_)
                counters_.ready++;
            came_up_ = true;
            next_revision_ = std::max(next_revision_, response_.header().revision() + 1);
        }
        for (const auto& ev : response_.events()) {
            tally_.saw(ev.kv().key(), "put");
            next_revision_ = std::max(next_revision_, ev.kv().mod_revision() + 1);
        }
        read();
    }
    void finish() {
        finishing_ = true;
        stream_->Finish(&status_, when_done([this](bool) { on_finished(); }));
    }
    void on_finished() {
        if (!came_up_ && ++attempts_ == SETUP_ATTEMPTS) {
            counters_.failed++;  // counted, so the driver hears of it instead of waiting
            return;
        }
        counters_.ended += came_up_;
        alarm_ = std::make_unique<grpc::Alarm>();
        alarm_->Set(completions_.queue(), std::chrono::system_clock::now() + std::chrono::milliseconds(100),
                    when_done([this](bool) { watch(); }));
    }
    void step(const std::function<void()>& then) {
        std::unique_lock lock(mutex_);
        in_flight_ = false;
        if (stopping_) {
            if (stream_ && !finishing_)
                return finish();
            idle_.notify_all();
            return;
        }
        then();
    }

    std::unique_ptr<etcdserverpb::Watch::Stub> stub_;
    std::string prefix_;
    fleet::CompletionThread& completions_;
    Tally& tally_;
    Counters& counters_;
    std::mutex mutex_;
    std::condition_variable idle_;
    bool stopping_ = false, in_flight_ = false, finishing_ = false, came_up_ = false;
    int attempts_ = 0;
    int64_t next_revision_ = 0;
    std::unique_ptr<grpc::ClientContext> context_;
    std::unique_ptr<grpc::ClientAsyncReaderWriter<etcdserverpb::WatchRequest, etcdserverpb::WatchResponse>> stream_;
    etcdserverpb::WatchResponse response_;
    grpc::Status status_;
    std::unique_ptr<grpc::Alarm> alarm_;
};

int run_bare(size_t n, const std::string& endpoint, const std::string& ca, const std::string& cert,
             const std::string& key, const std::string& prefix) {
    auto identity = fleet::load_tls_identity(ca, cert, key, ::geteuid());
    if (!identity) {
        std::fprintf(stderr, "%s\n", identity.error().message.c_str());
        return 1;
    }
    Tally tally(n);
    BareWatcher::Counters counters;
    auto completions = fleet::CompletionThread::shared();
    std::vector<std::unique_ptr<fleet::EtcdClient>> clients;
    std::vector<std::unique_ptr<BareWatcher>> watchers;
    const double started = now_ms();
    for (size_t i = 0; i < n; i++) {
        // At most SETUP_IN_FLIGHT handshakes at once: 10 000 started together
        // time out in gRPC's connect deadline (most of them did, measured).
        while (i >= counters.ready.load() + counters.failed.load() + SETUP_IN_FLIGHT)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        auto c = fleet::EtcdClient::open({endpoint}, *identity);
        if (!c)
            return 1;
        clients.push_back(std::move(*c));
        watchers.push_back(
            std::make_unique<BareWatcher>(clients.back()->current_channel(), prefix, *completions, tally, counters));
        watchers.back()->start();
    }
    while (counters.ready.load() + counters.failed.load() < n)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (counters.failed.load() > 0) {
        std::fprintf(stderr, "%zu of %zu watch streams could not be created\n", counters.failed.load(), n);
        std::printf("{\"failed\":%zu}\n", counters.failed.load());
        std::fflush(stdout);
        for (auto& w : watchers)
            w->stop();
        return 1;
    }
    announce_ready(n, started);
    auto writer = fleet::EtcdClient::open({endpoint}, *identity);
    std::string line;
    while (std::getline(std::cin, line)) {
        if (line == "report") {
            tally.report(counters.ended.load());
            continue;
        }
        char k[512];
        size_t size = 0;
        if (std::sscanf(line.c_str(), "put %511s %zu", k, &size) != 2)
            continue;
        double t0 = now_ms();
        if (auto r = (*writer)->put(k, std::string(size, 'x')); !r)
            std::fprintf(stderr, "put: %s\n", r.error().message.c_str());
        std::printf("{\"put\":\"%s\",\"t0_ms\":%.3f}\n", k, t0);
        std::fflush(stdout);
    }
    for (auto& w : watchers)
        w->stop();
    return 0;
}

int on_stdin(sd_event_source* s, int fd, uint32_t /*revents*/, void* /*userdata*/) {
    char buf[256];
    if (::read(fd, buf, sizeof buf) <= 0)
        sd_event_exit(sd_event_source_get_event(s), 0);
    return 0;
}

int run_hosts(size_t n, const std::string& config_path, const std::string& state_base) {
    auto base = load_config(config_path);
    if (!base) {
        std::fprintf(stderr, "%s\n", base.error().message.c_str());
        return 1;
    }
    sd_event* raw = nullptr;
    sd_event_new(&raw);
    EventPtr event(raw);
    Tally tally(n);
    std::vector<std::unique_ptr<Config>> configs;
    std::vector<std::unique_ptr<approval::FleetHost>> hosts;
    const double started = now_ms();
    auto start_host = [&](size_t i) {
        auto c = std::make_unique<Config>(*base);
        char name[32];
        std::snprintf(name, sizeof name, "h%05zu", i + 1);
        c->host_name = name;
        c->host_groups = {"bench"};
        c->state_dir = state_base + "/" + name;
        ::mkdir(c->state_dir.c_str(), 0700);
        ::mkdir(c->approval_dir().c_str(), 0700);
        auto host = std::make_unique<approval::FleetHost>(
            *c, system_clock(), event.get(),
            [&tally](const char* signal, const std::string& id) { tally.saw(id, signal); });
        if (auto s = host->start(); !s) {
            std::fprintf(stderr, "%s\n", s.error().message.c_str());
            return false;
        }
        configs.push_back(std::move(c));
        hosts.push_back(std::move(host));
        return true;
    };
    sd_event_source* src = nullptr;
    sd_event_add_io(event.get(), &src, 0, EPOLLIN, on_stdin, nullptr);
    EventSourcePtr stdin_source(src);
    // Followers start while earlier ones list, at most SETUP_IN_FLIGHT ahead
    // of the listed ones (as in run_bare); ready once every follower has
    // listed (its revision moved off 0).
    size_t listed = 0;  // hosts[0, listed) have listed
    bool announced = false;
    while (sd_event_get_state(event.get()) != SD_EVENT_FINISHED) {
        while (hosts.size() < n && hosts.size() < listed + SETUP_IN_FLIGHT)
            if (!start_host(hosts.size()))
                return 1;
        if (sd_event_run(event.get(), announced ? 100 * 1000 : 10 * 1000) < 0)
            break;
        while (listed < hosts.size() && hosts[listed]->revision() > 0)
            listed++;
        if (!announced && listed == n) {
            announce_ready(n, started);
            announced = true;
        }
    }
    hosts.clear();
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    raise_fd_limit();
    bench::spread_source_addresses();
    std::vector<std::string> a(argv + 1, argv + argc);
    if (a.size() == 7 && a[0] == "bare")
        return run_bare(std::stoul(a[1]), a[2], a[3], a[4], a[5], a[6]);
    if (a.size() == 4 && a[0] == "hosts")
        return run_hosts(std::stoul(a[1]), a[2], a[3]);
    std::fprintf(stderr,
                 "usage: bench_fleet_followers bare N ENDPOINT CA CERT KEY PREFIX | hosts N CONFIG STATE_BASE\n");
    return 2;
}
