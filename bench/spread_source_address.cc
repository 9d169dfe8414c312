#include "spread_source_address.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <cstring>

namespace {

std::atomic<bool> spreading{false};
std::atomic<uint32_t> next_host{0};
std::atomic<size_t> bound{0}, failed{0};

bool is_loopback(const sockaddr* to, socklen_t len) {
    if (to->sa_family == AF_INET && len >= sizeof(sockaddr_in)) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(to);
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (to->sa_family == AF_INET6 && len >= sizeof(sockaddr_in6)) {  // gRPC's dual-stack sockets: ::ffff:127.x
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(to);
        return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && in6->sin6_addr.s6_addr[12] == 127;
    }
    return false;
}

// 127.1.0.1 onwards: host numbers 1..254 in the last octet, never .0 or .255.
in_addr_t next_source() {
    uint32_t i = next_host.fetch_add(1);
    return htonl((127u << 24) | ((1u + i / (254u * 256u)) << 16) | (((i / 254u) % 256u) << 8) | (1u + i % 254u));
}

// A socket no one bound yet: getsockname says the any-address.
bool unbound(int fd) {
    sockaddr_storage local{};
    socklen_t len = sizeof local;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) != 0)
        return false;
    if (local.ss_family == AF_INET)
        return reinterpret_cast<sockaddr_in*>(&local)->sin_addr.s_addr == htonl(INADDR_ANY);
    return IN6_IS_ADDR_UNSPECIFIED(&reinterpret_cast<sockaddr_in6*>(&local)->sin6_addr);
}

bool bind_source(int fd, sa_family_t family) {
    const int one = 1;
    // The port is chosen at connect(), per destination: no ephemeral port is
    // taken from every other connection's pool.
    (void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    const in_addr_t source = next_source();
    if (family == AF_INET) {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = source;
        return ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    }
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_addr.s6_addr[10] = 0xff;
    a.sin6_addr.s6_addr[11] = 0xff;
    std::memcpy(&a.sin6_addr.s6_addr[12], &source, 4);
    return ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
}

}  // namespace

namespace lockbox::bench {

void spread_source_addresses() { spreading = true; }
size_t source_addresses_bound() { return bound.load(); }
size_t source_address_failures() { return failed.load(); }

}  // namespace lockbox::bench

extern "C" int connect(int fd, const sockaddr* to, socklen_t len) {
    using Connect = int (*)(int, const sockaddr*, socklen_t);
    static const auto real = reinterpret_cast<Connect>(dlsym(RTLD_NEXT, "connect"));
    int type = 0;
    socklen_t type_len = sizeof type;
    // TCP only: gRPC's resolver connect()s a UDP socket to sort addresses.
    if (spreading && to && is_loopback(to, len) && ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_len) == 0 &&
        type == SOCK_STREAM && unbound(fd))
        (bind_source(fd, to->sa_family) ? bound : failed)++;
    return real(fd, to, len);
}
