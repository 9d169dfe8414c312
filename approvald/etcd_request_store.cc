#include "etcd_request_store.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "request_record.h"

namespace lockbox::approval {

namespace {

// etcd refuses a transaction of more than 128 operations (--max-txn-ops).
constexpr size_t MAX_TXN_OPS = 100;

std::string seq_key(const std::string& prefix, int64_t seq) {
    char digits[24];
    std::snprintf(digits, sizeof digits, "%020" PRId64, seq);
    return prefix + digits;
}

bool is_ended(const Request& r, usec_t cutoff) {
    const bool ended = r.state == RequestState::Denied || r.state == RequestState::Expired ||
                       r.state == RequestState::Cancelled || is_ended_early(r.state) ||
                       (r.state == RequestState::Approved && r.exp != 0);
    // As the SQLite store: every time the request carries is past the cutoff.
    return ended && r.updated_at < cutoff && r.closed_at < cutoff && r.exp < cutoff;
}

Status conflict(const Request& r) {
    return make_error(Errc::Conflict,
                      "request " + r.id + " was changed by another approval service meanwhile; read it again");
}

}  // namespace

EtcdRequestStore::EtcdRequestStore(std::unique_ptr<fleet::EtcdClient> client, const std::string& tenant,
                                   std::string instance)
    : client_(std::move(client)), layout_(tenant), outbox_prefix_(layout_.outbox + instance + "/") {}

std::vector<fleet::Op> EtcdRequestStore::outbox_puts(const std::vector<AuditEntry>& audit) {
    std::vector<fleet::Op> ops;
    for (const auto& a : audit) {
        // Ordered by time, unique within this instance (the only writer of its prefix).
        int64_t seq = static_cast<int64_t>(system_clock().now());
        int64_t last = last_seq_.load();
        while (!last_seq_.compare_exchange_weak(last, std::max(seq, last + 1))) {
        }
        seq = std::max(seq, last + 1);
        ops.push_back({fleet::Op::Kind::Put, seq_key(outbox_prefix_, seq), audit_entry_to_json(a), 0});
    }
    return ops;
}

bool EtcdRequestStore::holds(const std::string& key, const std::string& value) {
    auto now = client_->get(key);
    return now && now->kvs.size() == 1 && now->kvs[0].value == value;
}

Status EtcdRequestStore::insert(const Request& r, const std::vector<AuditEntry>& audit) {
    const std::string key = layout_.request_key(r.id);
    const std::string value = request_to_record(r);
    std::vector<fleet::Op> ops{{fleet::Op::Kind::Put, key, value, 0}};
    for (auto& op : outbox_puts(audit))
        ops.push_back(std::move(op));
    auto t = client_->txn({{fleet::Compare::Target::ModRevision, key, 0, {}}}, ops);
    if (!t)
        return t.error();
    if (!t->succeeded && !holds(key, value))
        return make_error(Errc::Conflict, "request " + r.id + " exists already");
    return {};
}

Status EtcdRequestStore::update(const Request& r, RequestState expected_state, const std::vector<AuditEntry>& audit) {
    if (r.version == 0) {
        // Not read from this store: compare against what is stored now.
        auto stored = get(r.id);
        if (!stored)
            return stored.error();
        if (stored->state != expected_state)
            return make_error(Errc::Conflict,
                              "request " + r.id + " is no longer " + std::string(state_name(expected_state)));
        Request copy = r;
        copy.version = stored->version;
        return update_with(copy, audit, {}, {});
    }
    return update_with(r, audit, {}, {});
}

Status EtcdRequestStore::update_with(const Request& r, const std::vector<AuditEntry>& audit,
                                     const std::vector<fleet::Compare>& also_compare,
                                     const std::vector<fleet::Op>& also_do) {
    const std::string key = layout_.request_key(r.id);
    const std::string value = request_to_record(r);
    std::vector<fleet::Compare> compares{{fleet::Compare::Target::ModRevision, key, r.version, {}}};
    compares.insert(compares.end(), also_compare.begin(), also_compare.end());
    std::vector<fleet::Op> ops{{fleet::Op::Kind::Put, key, value, 0}};
    ops.insert(ops.end(), also_do.begin(), also_do.end());
    for (auto& op : outbox_puts(audit))
        ops.push_back(std::move(op));
    auto t = client_->txn(compares, ops);
    if (!t)
        return t.error();
    if (!t->succeeded && !holds(key, value))
        return conflict(r);
    return {};
}

Status EtcdRequestStore::append_audit(const std::vector<AuditEntry>& audit) {
    if (audit.empty())
        return {};
    auto t = client_->txn({}, outbox_puts(audit));
    return t ? Status{} : Status{t.error()};
}

Result<Request> EtcdRequestStore::get(const std::string& id) {
    auto reply = client_->get(layout_.request_key(id));
    if (!reply)
        return reply.error();
    if (reply->kvs.empty())
        return make_error(Errc::NotFound, "no request with id " + id);
    auto r = request_from_record(reply->kvs[0].value);
    if (!r)
        return make_error(Errc::StoreError, "request " + id + ": " + r.error().message);
    if (r->id != id)
        return make_error(Errc::StoreError, "request " + id + ": the record names another id");
    r->version = reply->kvs[0].mod_revision;
    return r;
}

Result<std::vector<Request>> EtcdRequestStore::load_all() {
    auto reply = client_->get_prefix(layout_.requests);
    if (!reply)
        return reply.error();
    std::vector<Request> out;
    out.reserve(reply->kvs.size());
    for (const auto& kv : reply->kvs) {
        auto r = request_from_record(kv.value);
        if (!r || layout_.request_key(r->id) != kv.key)
            return make_error(Errc::StoreError,
                              kv.key + ": " + (r ? std::string("the record names another id") : r.error().message));
        r->version = kv.mod_revision;
        out.push_back(std::move(*r));
    }
    return out;
}

Result<std::vector<Request>> EtcdRequestStore::list(std::optional<RequestState> stored_state) {
    auto all = load_all();
    if (!all)
        return all;
    if (stored_state)
        std::erase_if(*all, [&](const Request& r) { return r.state != *stored_state; });
    std::sort(all->begin(), all->end(), [](const Request& a, const Request& b) {
        return a.created_at != b.created_at ? a.created_at > b.created_at : a.id < b.id;
    });
    return all;
}

Result<std::vector<Request>> EtcdRequestStore::due_for_expiry(usec_t now) {
    auto all = load_all();
    if (!all)
        return all;
    std::erase_if(*all, [&](const Request& r) { return !is_pending(r.state) || r.pending_until > now; });
    return all;
}

Result<std::optional<usec_t>> EtcdRequestStore::next_pending_deadline() {
    auto all = load_all();
    if (!all)
        return all.error();
    std::optional<usec_t> next;
    for (const auto& r : *all)
        if (is_pending(r.state) && (!next || r.pending_until < *next))
            next = r.pending_until;
    return next;
}

Result<std::vector<Request>> EtcdRequestStore::grants_for_host(const std::string& tenant,
                                                               const std::vector<std::string>& targets) {
    auto all = load_all();
    if (!all)
        return all;
    std::erase_if(*all, [&](const Request& r) {
        const bool grant = r.state == RequestState::Approved || is_ended_early(r.state);
        const bool named = std::any_of(r.hosts.begin(), r.hosts.end(), [&](const std::string& h) {
            return std::find(targets.begin(), targets.end(), h) != targets.end();
        });
        return r.tenant != tenant || !grant || r.token.empty() || !named;
    });
    std::sort(all->begin(), all->end(), [](const Request& a, const Request& b) { return a.created_at < b.created_at; });
    return all;
}

Result<size_t> EtcdRequestStore::prune_ended(usec_t cutoff, const std::function<AuditEntry(size_t count)>& audit) {
    auto all = load_all();
    if (!all)
        return all.error();
    std::vector<const Request*> ended;
    for (const auto& r : *all)
        if (is_ended(r, cutoff))
            ended.push_back(&r);
    // In batches etcd takes, each with its own audit record: a pruning is
    // never unaudited, and a request changed meanwhile (its version moved) stays.
    size_t pruned = 0;
    for (size_t start = 0; start < ended.size() || start == 0; start += MAX_TXN_OPS) {
        const size_t end = std::min(ended.size(), start + MAX_TXN_OPS);
        std::vector<fleet::Compare> compares;
        std::vector<fleet::Op> ops;
        for (size_t i = start; i < end; i++) {
            const std::string key = layout_.request_key(ended[i]->id);
            compares.push_back({fleet::Compare::Target::ModRevision, key, ended[i]->version, {}});
            ops.push_back({fleet::Op::Kind::Delete, key, {}, 0});
        }
        for (auto& op : outbox_puts({audit(end - start)}))
            ops.push_back(std::move(op));
        auto t = client_->txn(compares, ops);
        if (!t)
            return t.error();
        if (t->succeeded)
            pruned += end - start;
        if (ended.empty())
            break;
    }
    return pruned;
}

Result<std::vector<OutboxItem>> EtcdRequestStore::unsent_audit(size_t limit) {
    auto reply = client_->get_prefix(outbox_prefix_, 0, static_cast<int64_t>(limit));
    if (!reply)
        return reply.error();
    std::vector<OutboxItem> out;
    for (const auto& kv : reply->kvs) {
        const std::string digits = kv.key.substr(outbox_prefix_.size());
        int64_t seq = 0;
        if (digits.size() != 20 || !std::all_of(digits.begin(), digits.end(), ::isdigit) ||
            (seq = std::stoll(digits)) <= 0)
            return make_error(Errc::StoreError, kv.key + ": not an outbox key");
        auto e = audit_entry_from_json(kv.value);
        if (!e)
            return make_error(Errc::StoreError, kv.key + ": " + e.error().message);
        out.push_back({seq, std::move(*e)});
    }
    return out;
}

Status EtcdRequestStore::remove_sent_audit(const std::vector<int64_t>& seqs) {
    for (size_t start = 0; start < seqs.size(); start += MAX_TXN_OPS) {
        std::vector<fleet::Op> ops;
        for (size_t i = start; i < std::min(seqs.size(), start + MAX_TXN_OPS); i++)
            ops.push_back({fleet::Op::Kind::Delete, seq_key(outbox_prefix_, seqs[i]), {}, 0});
        if (auto t = client_->txn({}, ops); !t)
            return t.error();
    }
    return {};
}

}  // namespace lockbox::approval
