// The e-mails the approval service sends: to the customer's approvers when a
// request awaits them, to the engineer when it is approved, denied or expires.
// Pure text composition; every field in a header has been validated (no
// newlines), free text only goes into the body.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config.h"
#include "request.h"

namespace lockbox::approval {

struct MailMessage {
    std::string kind;  // "pending-approver", "approved", "denied", "expired"
    std::string request_id;
    std::vector<std::string> to;
    std::string subject;
    std::string body;
};

// nullopt when [Notify] Approvers= is empty.
std::optional<MailMessage> approver_mail(const Request& r, const Config& config);
// nullopt when [Notify] MailDomain= is empty or r is in no state worth a mail.
std::optional<MailMessage> engineer_mail(const Request& r, const Config& config);
// RFC 5322 message (headers, blank line, body) for `sendmail -t`.
std::string render_mail(const MailMessage& m, usec_t now);

}  // namespace lockbox::approval
