#include "etcd_client.h"

#include <pwd.h>
#include <unistd.h>

#include <absl/synchronization/mutex.h>
#include <grpcpp/grpcpp.h>
#include <sodium.h>

#include <mutex>

#include "rpc.grpc.pb.h"

namespace lockbox::fleet {
namespace {

using Channel = std::shared_ptr<grpc::Channel>;

// etcd answers these while a member is down or an election runs: another
// member may well answer at once.
bool try_next_endpoint(const grpc::Status& s) {
    if (s.error_code() == grpc::StatusCode::UNAVAILABLE || s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED)
        return true;
    const std::string& m = s.error_message();
    return m.find("leader changed") != std::string::npos || m.find("no leader") != std::string::npos;
}

Error translate(const char* what, const std::string& endpoint, const grpc::Status& s) {
    std::string msg = std::string(what) + " at " + endpoint + ": " + s.error_message();
    switch (s.error_code()) {
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::UNAUTHENTICATED:
        return make_error(Errc::AccessDenied, msg);
    case grpc::StatusCode::UNAVAILABLE:
        return make_error(Errc::Unavailable, msg);
    case grpc::StatusCode::DEADLINE_EXCEEDED:
        return make_error(Errc::Timeout, msg);
    case grpc::StatusCode::OUT_OF_RANGE:
        return make_error(Errc::InvalidState, msg);  // revision compacted
    case grpc::StatusCode::INVALID_ARGUMENT:
        return make_error(Errc::InvalidArgument, msg);
    case grpc::StatusCode::FAILED_PRECONDITION:
        if (s.error_message().find("already exists") != std::string::npos)
            return make_error(Errc::Conflict, msg);
        return make_error(Errc::InvalidState, msg);
    default:
        return make_error(Errc::StoreError, msg);
    }
}

void to_proto(const Op& op, etcdserverpb::RequestOp* out) {
    switch (op.kind) {
    case Op::Kind::Put: {
        auto* put = out->mutable_request_put();
        put->set_key(op.key);
        put->set_value(op.value);
        put->set_lease(op.lease);
        break;
    }
    case Op::Kind::Delete:
        out->mutable_request_delete_range()->set_key(op.key);
        break;
    case Op::Kind::DeletePrefix: {
        auto* del = out->mutable_request_delete_range();
        del->set_key(op.key);
        del->set_range_end(prefix_end(op.key));
        break;
    }
    }
}

bool is_conflict(const Error& e) { return e.code == Errc::Conflict; }

// Debian builds abseil without NDEBUG, which leaves absl::Mutex's deadlock
// detector on: every lock gRPC takes walks a lock graph. A debugging aid, not
// a check a daemon wants; off, it took 6-7% of a fleet follower's CPU
// (bench_fleet, perf).
void switch_off_abseil_deadlock_detection() {
    static std::once_flag once;
    std::call_once(once, [] { absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore); });
}

}  // namespace

KeyValue from_proto(const mvccpb::KeyValue& kv) {
    return KeyValue{kv.key(), kv.value(), kv.create_revision(), kv.mod_revision(), kv.lease()};
}

std::string prefix_end(const std::string& prefix) {
    std::string end = prefix;
    while (!end.empty()) {
        auto& c = reinterpret_cast<unsigned char&>(end.back());
        if (c < 0xff) {
            c++;
            return end;
        }
        end.pop_back();
    }
    return std::string(1, '\0');  // every key
}

std::string grpc_target(const std::string& endpoint) {
    std::string t = endpoint;
    if (t.starts_with("https://"))
        t.erase(0, 8);
    return t;
}

EtcdClient::~EtcdClient() = default;

Result<std::unique_ptr<EtcdClient>> EtcdClient::open(const std::vector<std::string>& endpoints,
                                                     const TlsIdentity& identity,
                                                     std::chrono::milliseconds call_timeout) {
    if (endpoints.empty())
        return make_error(Errc::InvalidArgument, "no etcd endpoint given");
    switch_off_abseil_deadlock_detection();
    grpc::SslCredentialsOptions tls;
    tls.pem_root_certs = identity.ca_pem;
    tls.pem_cert_chain = identity.cert_pem;
    tls.pem_private_key = identity.key_pem;
    auto credentials = grpc::SslCredentials(tls);
    std::unique_ptr<EtcdClient> client(new EtcdClient());
    client->endpoints_ = endpoints;
    client->call_timeout_ = call_timeout;
    for (const auto& e : endpoints) {
        grpc::ChannelArguments args;
        // Reconnect fast after a member comes back: the default backoff grows to
        // two minutes, longer than a test or an outage should cost.
        // (GRPC_ARG_MIN_RECONNECT_BACKOFF_MS is gRPC's connect timeout, not a
        // backoff: it stays at its 20 s default, or a TLS handshake on a busy
        // host is cut short again and again.)
        args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
        args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
        // A link cut without a reset (a host's network gone) would leave a watch
        // waiting forever: ping while a stream is open. 10 s is above etcd's
        // --grpc-keepalive-min-time (5 s), below which it hangs up on pingers.
        args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
        // A connection of its own per client, never one shared with another
        // client of the same process (the fleet benchmark runs many hosts in one).
        args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
        args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
        // etcd's replies to a full listing may exceed gRPC's 4 MiB default.
        args.SetMaxReceiveMessageSize(64 * 1024 * 1024);
        client->channels_.push_back(grpc::CreateCustomChannel(grpc_target(e), credentials, args));
    }
    sodium_memzero(tls.pem_private_key.data(), tls.pem_private_key.size());
    return client;
}

Result<std::unique_ptr<EtcdClient>> EtcdClient::open(const FleetConfig& fleet, std::chrono::milliseconds call_timeout,
                                                     bool root_reads_any_owner) {
    std::optional<uid_t> owner = ::geteuid();
    if (root_reads_any_owner && *owner == 0)
        owner.reset();
    auto identity = load_tls_identity(fleet.ca_file, fleet.cert_file, fleet.key_file, owner);
    if (!identity)
        return identity.error();
    return open(fleet.endpoints, *identity, call_timeout);
}

std::shared_ptr<grpc::Channel> EtcdClient::current_channel() { return channels_[current_]; }

void EtcdClient::next_endpoint() { current_ = (current_ + 1) % channels_.size(); }

template <typename Fn>
Status EtcdClient::with_failover(const char* what, Fn&& call) {
    grpc::Status last;
    for (size_t tried = 0; tried < channels_.size(); tried++) {
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + call_timeout_);
        last = call(channels_[current_], ctx);
        if (last.ok())
            return {};
        if (!try_next_endpoint(last))
            return translate(what, endpoints_[current_], last);
        next_endpoint();
    }
    return translate(what, "every endpoint", last);
}

Result<RangeReply> EtcdClient::get(const std::string& key) { return range(key, "", 0, 0); }

Result<RangeReply> EtcdClient::get_prefix(const std::string& prefix, int64_t revision, int64_t limit) {
    return range(prefix, prefix_end(prefix), revision, limit);
}

Result<RangeReply> EtcdClient::range(const std::string& key, const std::string& end, int64_t revision, int64_t limit) {
    etcdserverpb::RangeRequest req;
    req.set_key(key);
    req.set_range_end(end);
    req.set_revision(revision);
    req.set_limit(limit);
    etcdserverpb::RangeResponse resp;
    auto s = with_failover("get", [&](const Channel& ch, grpc::ClientContext& ctx) {
        return etcdserverpb::KV::NewStub(ch)->Range(&ctx, req, &resp);
    });
    if (!s)
        return s.error();
    RangeReply r;
    for (const auto& kv : resp.kvs())
        r.kvs.push_back(from_proto(kv));
    r.revision = resp.header().revision();
    r.more = resp.more();
    return r;
}

Result<int64_t> EtcdClient::count_newer(const std::string& prefix, int64_t revision) {
    etcdserverpb::RangeRequest req;
    req.set_key(prefix);
    req.set_range_end(prefix_end(prefix));
    req.set_min_mod_revision(revision + 1);
    // Keys only, counted here: etcd's count ignores the revision filters.
    req.set_keys_only(true);
    etcdserverpb::RangeResponse resp;
    auto s = with_failover("count", [&](const Channel& ch, grpc::ClientContext& ctx) {
        return etcdserverpb::KV::NewStub(ch)->Range(&ctx, req, &resp);
    });
    if (!s)
        return s.error();
    return static_cast<int64_t>(resp.kvs_size());
}

Result<int64_t> EtcdClient::put(const std::string& key, const std::string& value, int64_t lease) {
    etcdserverpb::PutRequest req;
    req.set_key(key);
    req.set_value(value);
    req.set_lease(lease);
    etcdserverpb::PutResponse resp;
    auto s = with_failover("put", [&](const Channel& ch, grpc::ClientContext& ctx) {
        return etcdserverpb::KV::NewStub(ch)->Put(&ctx, req, &resp);
    });
    if (!s)
        return s.error();
    return resp.header().revision();
}

Result<TxnReply> EtcdClient::txn(const std::vector<Compare>& compares, const std::vector<Op>& on_success,
                                 const std::vector<Op>& on_failure) {
    etcdserverpb::TxnRequest req;
    for (const auto& c : compares) {
        auto* cmp = req.add_compare();
        cmp->set_key(c.key);
        cmp->set_result(etcdserverpb::Compare::EQUAL);
        if (c.target == Compare::Target::ModRevision) {
            cmp->set_target(etcdserverpb::Compare::MOD);
            cmp->set_mod_revision(c.mod_revision);
        } else {
            cmp->set_target(etcdserverpb::Compare::VALUE);
            cmp->set_value(c.value);
        }
    }
    for (const auto& op : on_success)
        to_proto(op, req.add_success());
    for (const auto& op : on_failure)
        to_proto(op, req.add_failure());
    etcdserverpb::TxnResponse resp;
    auto s = with_failover("transaction", [&](const Channel& ch, grpc::ClientContext& ctx) {
        return etcdserverpb::KV::NewStub(ch)->Txn(&ctx, req, &resp);
    });
    if (!s)
        return s.error();
    return TxnReply{resp.succeeded(), resp.header().revision()};
}

Status EtcdClient::compact(int64_t revision) {
    etcdserverpb::CompactionRequest req;
    req.set_revision(revision);
    req.set_physical(true);
    etcdserverpb::CompactionResponse resp;
    return with_failover("compaction", [&](const Channel& ch, grpc::ClientContext& ctx) {
        return etcdserverpb::KV::NewStub(ch)->Compact(&ctx, req, &resp);
    });
}

Result<int64_t> EtcdClient::lease_grant(std::chrono::seconds ttl) {
    etcdserverpb::LeaseGrantRequest req;
    req.set_ttl(ttl.count());
    etcdserverpb::LeaseGrantResponse resp;
    auto s = with_failover("lease grant", [&](const Channel& ch, grpc::ClientContext& ctx) {
        return etcdserverpb::Lease::NewStub(ch)->LeaseGrant(&ctx, req, &resp);
    });
    if (!s)
        return s.error();
    if (!resp.error().empty())
        return make_error(Errc::StoreError, "lease grant: " + resp.error());
    return resp.id();
}

Status EtcdClient::lease_keep_alive(int64_t lease) {
    etcdserverpb::LeaseKeepAliveRequest req;
    req.set_id(lease);
    etcdserverpb::LeaseKeepAliveResponse resp;
    auto s = with_failover("lease keep-alive", [&](const Channel& ch, grpc::ClientContext& ctx) {
        auto stream = etcdserverpb::Lease::NewStub(ch)->LeaseKeepAlive(&ctx);
        if (!stream->Write(req) || !stream->Read(&resp)) {
            stream->WritesDone();
            return stream->Finish();
        }
        stream->WritesDone();
        return grpc::Status::OK;
    });
    if (!s)
        return s;
    if (resp.ttl() <= 0)
        return make_error(Errc::NotFound, "lease " + std::to_string(lease) + " has expired");
    return {};
}

Status EtcdClient::lease_revoke(int64_t lease) {
    etcdserverpb::LeaseRevokeRequest req;
    req.set_id(lease);
    etcdserverpb::LeaseRevokeResponse resp;
    return with_failover("lease revoke", [&](const Channel& ch, grpc::ClientContext& ctx) {
        return etcdserverpb::Lease::NewStub(ch)->LeaseRevoke(&ctx, req, &resp);
    });
}

Status EtcdClient::role_add(const std::string& role) {
    etcdserverpb::AuthRoleAddRequest req;
    req.set_name(role);
    etcdserverpb::AuthRoleAddResponse resp;
    auto s = with_failover("role add", [&](const Channel& ch, grpc::ClientContext& ctx) {
        return etcdserverpb::Auth::NewStub(ch)->RoleAdd(&ctx, req, &resp);
    });
    return !s && is_conflict(s.error()) ? Status{} : s;
}

Status EtcdClient::role_grant_prefix(const std::string& role, const std::string& prefix, Permission permission) {
    etcdserverpb::AuthRoleGrantPermissionRequest req;
    req.set_name(role);
    auto* perm = req.mutable_perm();
    perm->set_key(prefix);
    perm->set_range_end(prefix_end(prefix));
    perm->set_permtype(permission == Permission::Read    ? authpb::Permission::READ
                       : permission == Permission::Write ? authpb::Permission::WRITE
                                                         : authpb::Permission::READWRITE);
    etcdserverpb::AuthRoleGrantPermissionResponse resp;
    return with_failover("role grant", [&](const Channel& ch, grpc::ClientContext& ctx) {
        return etcdserverpb::Auth::NewStub(ch)->RoleGrantPermission(&ctx, req, &resp);
    });
}

Status EtcdClient::user_add(const std::string& user) {
    etcdserverpb::AuthUserAddRequest req;
    req.set_name(user);
    req.mutable_options()->set_no_password(true);
    etcdserverpb::AuthUserAddResponse resp;
    auto s = with_failover("user add", [&](const Channel& ch, grpc::ClientContext& ctx) {
        return etcdserverpb::Auth::NewStub(ch)->UserAdd(&ctx, req, &resp);
    });
    return !s && is_conflict(s.error()) ? Status{} : s;
}

Status EtcdClient::user_grant_role(const std::string& user, const std::string& role) {
    etcdserverpb::AuthUserGrantRoleRequest req;
    req.set_user(user);
    req.set_role(role);
    etcdserverpb::AuthUserGrantRoleResponse resp;
    return with_failover("user grant", [&](const Channel& ch, grpc::ClientContext& ctx) {
        return etcdserverpb::Auth::NewStub(ch)->UserGrantRole(&ctx, req, &resp);
    });
}

Status EtcdClient::auth_enable() {
    etcdserverpb::AuthEnableRequest req;
    etcdserverpb::AuthEnableResponse resp;
    return with_failover("auth enable", [&](const Channel& ch, grpc::ClientContext& ctx) {
        return etcdserverpb::Auth::NewStub(ch)->AuthEnable(&ctx, req, &resp);
    });
}

Result<std::vector<Member>> EtcdClient::members() {
    etcdserverpb::MemberListRequest req;
    etcdserverpb::MemberListResponse resp;
    auto s = with_failover("member list", [&](const Channel& ch, grpc::ClientContext& ctx) {
        return etcdserverpb::Cluster::NewStub(ch)->MemberList(&ctx, req, &resp);
    });
    if (!s)
        return s.error();
    std::vector<Member> out;
    for (const auto& m : resp.members())
        out.push_back(Member{m.id(), m.name(), {m.clienturls().begin(), m.clienturls().end()}});
    return out;
}

std::vector<EndpointStatus> EtcdClient::status_of_each() {
    std::vector<EndpointStatus> out;
    for (size_t i = 0; i < channels_.size(); i++) {
        EndpointStatus st;
        st.endpoint = endpoints_[i];
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + call_timeout_);
        etcdserverpb::StatusRequest req;
        etcdserverpb::StatusResponse resp;
        auto s = etcdserverpb::Maintenance::NewStub(channels_[i])->Status(&ctx, req, &resp);
        if (!s.ok()) {
            st.error = s.error_message();
        } else {
            st.member_id = resp.header().member_id();
            st.leader = resp.leader();
            st.revision = resp.header().revision();
            st.raft_term = static_cast<int64_t>(resp.raftterm());
            st.db_size = resp.dbsize();
            st.version = resp.version();
        }
        out.push_back(std::move(st));
    }
    return out;
}

}  // namespace lockbox::fleet
