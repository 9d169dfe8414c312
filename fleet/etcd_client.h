// A client of etcd's v3 gRPC API (docs/fleet.md): the calls Lockbox makes, with
// etcd's answers translated into lockbox::Errc once, here.
//
// One gRPC channel per endpoint, TLS with the caller's client certificate (etcd
// takes its CN as the user). A call goes to the endpoint that answered last; when
// that one is unreachable or has lost its leader it moves on to the next, once
// around the list, so a killed member costs one retry and not an error. Calls
// are blocking with a deadline: the daemons make them from their own worker
// thread or a short-lived CLI, never from the sd-event loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config.h"
#include "result.h"
#include "tls_identity.h"

namespace etcdserverpb {
class KV;
class Watch;
}  // namespace etcdserverpb

namespace grpc {
class Channel;
}  // namespace grpc

namespace mvccpb {
class KeyValue;
}  // namespace mvccpb

namespace lockbox::fleet {

struct KeyValue {
    std::string key;
    std::string value;
    int64_t create_revision = 0;
    int64_t mod_revision = 0;
    int64_t lease = 0;
};

struct RangeReply {
    std::vector<KeyValue> kvs;
    int64_t revision = 0;  // the store's revision the reply was read at
    bool more = false;
};

// One comparison of a transaction (etcd Compare): the key's mod_revision, or its
// value, equals the given one. mod_revision 0 means "the key does not exist".
struct Compare {
    enum class Target { ModRevision, Value } target = Target::ModRevision;
    std::string key;
    int64_t mod_revision = 0;
    std::string value;
};

struct Op {
    enum class Kind { Put, Delete, DeletePrefix } kind = Kind::Put;
    std::string key;
    std::string value;
    int64_t lease = 0;
};

struct TxnReply {
    bool succeeded = false;
    int64_t revision = 0;
};

struct Member {
    uint64_t id = 0;
    std::string name;
    std::vector<std::string> client_urls;
};

struct EndpointStatus {
    std::string endpoint;
    uint64_t member_id = 0;
    uint64_t leader = 0;
    int64_t revision = 0;
    int64_t raft_term = 0;
    int64_t db_size = 0;
    std::string version;
    std::string error;  // set when this endpoint did not answer
};

enum class Permission { Read, Write, ReadWrite };

// The smallest key after every key that starts with prefix: etcd's range_end
// for "every key under prefix" (ranges, watches, permissions, deletes).
std::string prefix_end(const std::string& prefix);

// etcd's key-value message as Lockbox holds it (listings and watch events).
KeyValue from_proto(const mvccpb::KeyValue& kv);

// "https://h:p" -> "h:p" (the form gRPC's target takes).
std::string grpc_target(const std::string& endpoint);

class EtcdClient {
public:
    ~EtcdClient();
    EtcdClient(const EtcdClient&) = delete;
    EtcdClient& operator=(const EtcdClient&) = delete;

    // Channels to every endpoint; connects lazily, so this fails only on bad
    // files or arguments. Calls wait at most call_timeout each.
    static Result<std::unique_ptr<EtcdClient>> open(const std::vector<std::string>& endpoints,
                                                    const TlsIdentity& identity,
                                                    std::chrono::milliseconds call_timeout = std::chrono::seconds(5));
    // From [Fleet], reading the identity files as the calling user.
    // root_reads_any_owner: root may use a service's key (fleet status).
    static Result<std::unique_ptr<EtcdClient>> open(const FleetConfig& fleet,
                                                    std::chrono::milliseconds call_timeout = std::chrono::seconds(5),
                                                    bool root_reads_any_owner = false);

    Result<RangeReply> get(const std::string& key);
    // Every key under prefix, read at revision (0: the newest), limit 0 = all.
    Result<RangeReply> get_prefix(const std::string& prefix, int64_t revision = 0, int64_t limit = 0);
    // How many keys under prefix were written after revision (etcd's
    // min_mod_revision): what a follower at revision has not seen.
    Result<int64_t> count_newer(const std::string& prefix, int64_t revision);
    Result<int64_t> put(const std::string& key, const std::string& value, int64_t lease = 0);
    Result<TxnReply> txn(const std::vector<Compare>& compares, const std::vector<Op>& on_success,
                         const std::vector<Op>& on_failure = {});

    Result<int64_t> lease_grant(std::chrono::seconds ttl);
    Status lease_keep_alive(int64_t lease);
    Status lease_revoke(int64_t lease);
    // Drops history up to revision (etcd's compaction); tests force it.
    Status compact(int64_t revision);

    // Administration (lockboxctl fleet bootstrap, with etcd's root identity).
    // Each is idempotent: "exists already" is success.
    Status role_add(const std::string& role);
    Status role_grant_prefix(const std::string& role, const std::string& prefix, Permission permission);
    // A user without password: it logs in by its client certificate's CN only.
    Status user_add(const std::string& user);
    Status user_grant_role(const std::string& user, const std::string& role);
    Status auth_enable();

    Result<std::vector<Member>> members();
    // Asks every endpoint; an endpoint that does not answer has .error set.
    std::vector<EndpointStatus> status_of_each();

    const std::vector<std::string>& endpoints() const { return endpoints_; }
    const std::string& current_endpoint() const { return endpoints_[current_]; }
    std::chrono::milliseconds call_timeout() const { return call_timeout_; }
    // The channel of the endpoint that answered last (for watch streams).
    std::shared_ptr<grpc::Channel> current_channel();
    // Moves on to the next endpoint (a watch whose stream broke calls this).
    void next_endpoint();

private:
    EtcdClient() = default;
    template <typename Fn>
    Status with_failover(const char* what, Fn&& call);
    Result<RangeReply> range(const std::string& key, const std::string& end, int64_t revision, int64_t limit);

    std::vector<std::string> endpoints_;
    std::vector<std::shared_ptr<grpc::Channel>> channels_;
    size_t current_ = 0;
    std::chrono::milliseconds call_timeout_{5000};
};

}  // namespace lockbox::fleet
