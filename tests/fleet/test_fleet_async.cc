// The fleet's asynchronous plumbing without etcd (docs/fleet.md, "Threads"):
// LoopMailbox runs what other threads post, in order, on the loop, and drops
// what a departed owner left behind; IssuedFollower reports an endpoint that
// refuses as Lost, naming it, and its destructor ends a call that would
// otherwise wait for gRPC's 20 s connect deadline (this test's timeout is 15 s;
// without the cancel it was measured to take 20.2 s).
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csetjmp>
#include <cstdarg>
#include <cstddef>
#include <string>
#include <thread>
#include <vector>

extern "C" {
#include <cmocka.h>
}

#include "etcd_client.h"
#include "issued_follower.h"
#include "loop_mailbox.h"
#include "sd_handles.h"

using namespace lockbox;

namespace {

EventPtr new_loop() {
    sd_event* raw = nullptr;
    assert_int_equal(sd_event_new(&raw), 0);
    return EventPtr(raw);
}

// Runs the loop until done() or 1 000 turns of at most 10 ms each.
template <typename Done>
void run_until(sd_event* e, Done done) {
    for (int i = 0; i < 1000 && !done(); i++)
        assert_true(sd_event_run(e, 10 * 1000) >= 0);
    assert_true(done());
}

void test_mailbox_runs_posts_in_order_on_the_loop(void**) {
    auto loop = new_loop();
    auto box = fleet::LoopMailbox::of(loop.get());
    assert_true(box.ok());
    auto again = fleet::LoopMailbox::of(loop.get());
    assert_true(again.ok());
    assert_ptr_equal(box->get(), again->get());  // one per loop
    std::vector<int> seen;
    const auto loop_thread = std::this_thread::get_id();
    bool on_loop = true;
    int owner = 0;
    std::thread poster([&] {
        for (int i = 0; i < 1000; i++)
            (*box)->post(&owner, [&, i] {
                on_loop = on_loop && std::this_thread::get_id() == loop_thread;
                seen.push_back(i);
            });
    });
    poster.join();
    run_until(loop.get(), [&] { return seen.size() == 1000; });
    assert_true(on_loop);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(seen[static_cast<size_t>(i)], i);
}

void test_mailbox_forgets_a_departed_owner(void**) {
    auto loop = new_loop();
    auto box = *fleet::LoopMailbox::of(loop.get());
    int a = 0, b = 0, c = 0;
    std::vector<char> ran;
    box->post(&a, [&] { ran.push_back('a'); });
    box->post(&b, [&] { ran.push_back('b'); });
    // c's first piece of work ends b: b's later work must not run.
    box->post(&c, [&] {
        ran.push_back('c');
        box->forget(&b);
    });
    box->post(&b, [&] { ran.push_back('B'); });
    box->post(&a, [&] { ran.push_back('A'); });
    box->post(&b, [&] { ran.push_back('X'); });
    run_until(loop.get(), [&] { return ran.size() == 4; });
    assert_true(sd_event_run(loop.get(), 50 * 1000) >= 0);
    assert_int_equal(ran.size(), 4);
    assert_memory_equal(ran.data(), "abcA", 4);
    // Forgotten before the loop ran: none of it runs.
    box->post(&b, [&] { ran.push_back('Y'); });
    box->post(&a, [&] { ran.push_back('Z'); });
    box->forget(&b);
    run_until(loop.get(), [&] { return ran.size() == 5; });
    assert_true(sd_event_run(loop.get(), 50 * 1000) >= 0);
    assert_int_equal(ran.size(), 5);
    assert_int_equal(ran[4], 'Z');
}

// A TCP port that accepts connections and never says a word: a TLS handshake
// there waits until someone gives up.
struct SilentPort {
    int fd = -1;
    int port = 0;
    SilentPort() {
        fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        assert_int_equal(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        assert_int_equal(::listen(fd, 16), 0);
        socklen_t len = sizeof a;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
        port = ntohs(a.sin_port);
    }
    ~SilentPort() { ::close(fd); }
};

int closed_port() {
    SilentPort p;  // bound, then closed: nothing listens there now
    return p.port;
}

std::unique_ptr<fleet::EtcdClient> client_for(int port) {
    fleet::TlsIdentity none;  // no files: the calls never get past the connection
    auto c = fleet::EtcdClient::open({"https://127.0.0.1:" + std::to_string(port)}, none, std::chrono::seconds(60));
    assert_true(c.ok());
    return std::move(*c);
}

void test_follower_reports_a_refusing_endpoint_as_lost(void**) {
    auto loop = new_loop();
    const int port = closed_port();
    std::vector<fleet::IssuedChange> changes;
    {
        fleet::IssuedFollower f(client_for(port), "/lockbox/t/issued/", loop.get(),
                                [&](const fleet::IssuedChange& c) { changes.push_back(c); });
        assert_true(f.start().ok());
        run_until(loop.get(), [&] { return !changes.empty(); });
    }
    assert_true(changes[0].kind == fleet::IssuedChange::Kind::Lost);
    assert_true(changes[0].error.find("127.0.0.1:" + std::to_string(port)) != std::string::npos);
}

void test_follower_destructor_ends_a_hanging_call(void**) {
    auto loop = new_loop();
    SilentPort silent;
    int changes = 0;
    auto f = std::make_unique<fleet::IssuedFollower>(client_for(silent.port), "/lockbox/t/issued/", loop.get(),
                                                     [&](const fleet::IssuedChange&) { changes++; });
    assert_true(f->start().ok());
    for (int i = 0; i < 20; i++)  // 200 ms: the listing is in flight, waiting
        sd_event_run(loop.get(), 10 * 1000);
    f.reset();  // must not wait for the handshake's 20 s deadline
    assert_int_equal(changes, 0);
    assert_true(sd_event_run(loop.get(), 0) >= 0);  // nothing of it left to run
    assert_int_equal(changes, 0);
}

}  // namespace

int main() {
    const CMUnitTest tests[] = {
        cmocka_unit_test(test_mailbox_runs_posts_in_order_on_the_loop),
        cmocka_unit_test(test_mailbox_forgets_a_departed_owner),
        cmocka_unit_test(test_follower_reports_a_refusing_endpoint_as_lost),
        cmocka_unit_test(test_follower_destructor_ends_a_hanging_call),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
