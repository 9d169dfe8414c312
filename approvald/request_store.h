// Where requests, grants and the audit outbox live. The workflow and the service
// see only this interface, so a shared SQL store for fleets (docs/design.md §9) can
// sit beside the SQLite one without touching them.
//
// Atomicity contract: insert/update write the request AND its audit entries in
// one transaction; a crash leaves the old state or the new, never a mix, and
// never a state change without its audit record.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "audit_entry.h"
#include "list_page.h"
#include "request.h"
#include "result.h"

namespace lockbox::approval {

// A stretch of the list order (newest first: created_at descending, then id),
// for paging: up to limit requests listed after `after` (nullopt = from the
// newest), narrowed to the stored states given (empty = all) and, when
// involving is set, to the requests that user filed or that name them as
// engineer. The narrowing only spares reading rows; the service still decides
// who sees what (request_workflow.h may_read).
struct ListSlice {
    std::optional<ListPosition> after;
    std::vector<RequestState> stored_states;
    std::optional<std::string> involving;
    size_t limit = 0;
};

struct OutboxItem {
    int64_t seq = 0;
    AuditEntry entry;
};

class RequestStore {
public:
    virtual ~RequestStore() = default;

    virtual Status insert(const Request& r, const std::vector<AuditEntry>& audit) = 0;
    // Compare-and-set on the stored state: error code "conflict" if the stored
    // state is no longer expected_state (another writer got there first).
    virtual Status update(const Request& r, RequestState expected_state, const std::vector<AuditEntry>& audit) = 0;
    // Audit records with no request change (refusals, notifications).
    virtual Status append_audit(const std::vector<AuditEntry>& audit) = 0;

    // Error code "not-found" when there is no such id.
    virtual Result<Request> get(const std::string& id) = 0;
    // Newest first, then by id (list_page.h's order); state filter on the
    // stored state (nullopt = all).
    virtual Result<std::vector<Request>> list(std::optional<RequestState> stored_state) = 0;
    // See ListSlice. SQLite answers it with a keyset query on an index, so a
    // page costs the same however deep into the list it starts. A store
    // without such an index keeps this default: its whole list, cut.
    virtual Result<std::vector<Request>> list_slice(const ListSlice& slice) {
        auto all = list(std::nullopt);
        if (!all)
            return all;
        std::vector<Request> out;
        for (auto& r : *all) {
            if (out.size() >= slice.limit)
                break;
            if (slice.after && !listed_before(*slice.after, {r.created_at, r.id}))
                continue;
            if (slice.involving && r.engineer != *slice.involving && r.created_by != *slice.involving)
                continue;
            if (!slice.stored_states.empty() &&
                std::find(slice.stored_states.begin(), slice.stored_states.end(), r.state) == slice.stored_states.end())
                continue;
            out.push_back(std::move(r));
        }
        return out;
    }
    // Pending requests whose deadline is <= now.
    virtual Result<std::vector<Request>> due_for_expiry(usec_t now) = 0;
    // Earliest pending deadline, nullopt when nothing is pending.
    virtual Result<std::optional<usec_t>> next_pending_deadline() = 0;
    // Approved, revoked or released requests whose hosts include one of targets
    // (a host name and "@group" for each of its groups), for the enforcer's resync.
    virtual Result<std::vector<Request>> grants_for_host(const std::string& tenant,
                                                         const std::vector<std::string>& targets) = 0;

    // Retention ([Policy] Retention=): deletes every request that ended before
    // cutoff (denied, expired, cancelled, revoked, released, and approved ones
    // whose window closed), with its hosts, keys and approvals, and writes the
    // record audit(count) returns in the same transaction, so a pruning never
    // happens unaudited. Returns the count. Pending and approved requests whose
    // window is still open stay, however old.
    virtual Result<size_t> prune_ended(usec_t cutoff, const std::function<AuditEntry(size_t count)>& audit) = 0;

    virtual Result<std::vector<OutboxItem>> unsent_audit(size_t limit) = 0;
    // Deletes records journald has taken: the journal is the audit trail, the
    // outbox only a queue, and a queue that keeps what it delivered grows with
    // every call anybody makes. One transaction for the whole batch: one fsync,
    // not one per record.
    virtual Status remove_sent_audit(const std::vector<int64_t>& seqs) = 0;
};

}  // namespace lockbox::approval
