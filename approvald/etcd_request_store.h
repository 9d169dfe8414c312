// The fleet's shared store (docs/fleet.md, "The shared workflow"): requests at
// /lockbox/<tenant>/requests/<id> as request records (request_record.h), and each
// instance's audit outbox at /lockbox/<tenant>/outbox/<instance>/<seq>.
//
// Atomicity as RequestStore promises, with etcd's transactions: a change and
// its audit entries are one transaction, written only if the request's
// mod_revision is still the one the change was computed from (Request::version).
// Two instances racing on one request: one transaction succeeds, the other is
// "conflict". A transaction whose reply was lost with a dying leader is sent
// again to the next member; its compare then fails, so a failed compare is
// checked against the stored record before it is called a conflict.
//
// Calls block for at most the client's deadline per member; the approval
// service makes them from its event loop as it does SQLite's fsyncs. Nothing
// on a host's enforcement path waits on them.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "etcd_client.h"
#include "request_store.h"
#include "tenant_layout.h"

namespace lockbox::approval {

class EtcdRequestStore final : public RequestStore {
public:
    // instance: this service's name in the outbox (its host name); each
    // instance forwards its own outbox to its own journald.
    EtcdRequestStore(std::unique_ptr<fleet::EtcdClient> client, const std::string& tenant, std::string instance);

    Status insert(const Request& r, const std::vector<AuditEntry>& audit) override;
    Status update(const Request& r, RequestState expected_state, const std::vector<AuditEntry>& audit) override;
    Status append_audit(const std::vector<AuditEntry>& audit) override;
    Result<Request> get(const std::string& id) override;
    Result<std::vector<Request>> list(std::optional<RequestState> stored_state) override;
    Result<std::vector<Request>> due_for_expiry(usec_t now) override;
    Result<std::optional<usec_t>> next_pending_deadline() override;
    Result<std::vector<Request>> grants_for_host(const std::string& tenant,
                                                 const std::vector<std::string>& targets) override;
    Result<size_t> prune_ended(usec_t cutoff, const std::function<AuditEntry(size_t count)>& audit) override;
    Result<std::vector<OutboxItem>> unsent_audit(size_t limit) override;
    Status remove_sent_audit(const std::vector<int64_t>& seqs) override;

    // update() with more conditions and writes in the same transaction: the
    // signer fences on its election key and publishes the grant with the
    // request that carries it (fleet_signer.h).
    Status update_with(const Request& r, const std::vector<AuditEntry>& audit,
                       const std::vector<fleet::Compare>& also_compare, const std::vector<fleet::Op>& also_do);

    // After a transaction whose compare failed: does key hold exactly value,
    // i.e. did our own earlier attempt land (see above)?
    bool holds(const std::string& key, const std::string& value);

    fleet::EtcdClient& client() { return *client_; }
    const fleet::TenantLayout& layout() const { return layout_; }

private:
    Result<std::vector<Request>> load_all();
    std::vector<fleet::Op> outbox_puts(const std::vector<AuditEntry>& audit);

    std::unique_ptr<fleet::EtcdClient> client_;
    fleet::TenantLayout layout_;
    std::string outbox_prefix_;  // outbox/<instance>/
    std::atomic<int64_t> last_seq_{0};
};

}  // namespace lockbox::approval
