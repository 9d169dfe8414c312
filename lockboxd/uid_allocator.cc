#include "uid_allocator.h"

#include "names.h"

namespace lockboxd {

UidAllocator::UidAllocator(uint32_t uid_min, uint32_t uid_max) : min_(uid_min), max_(uid_max) {}

std::optional<uint32_t> UidAllocator::find(const std::string& name) const {
    auto it = by_name_.find(name);
    if (it == by_name_.end())
        return std::nullopt;
    return it->second;
}

std::optional<std::string> UidAllocator::name_of(uint32_t uid) const {
    auto it = by_uid_.find(uid);
    if (it == by_uid_.end())
        return std::nullopt;
    return it->second;
}

lockbox::Result<uint32_t> UidAllocator::allocate(const std::string& name) {
    if (auto existing = find(name))
        return *existing;
    if (max_ < min_)
        return lockbox::make_error(lockbox::Errc::UidRangeExhausted, "the engineer uid range is empty");
    uint64_t span = uint64_t(max_) - min_ + 1;
    if (by_uid_.size() >= span)
        return lockbox::make_error(lockbox::Errc::UidRangeExhausted, "every uid of the engineer range is allocated");
    // FNV-1a: stable across builds and machines, unlike std::hash.
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : name) {
        h ^= c;
        h *= 1099511628211ull;
    }
    uint64_t offset = h % span;
    for (uint64_t i = 0; i < span; i++) {
        auto uid = static_cast<uint32_t>(min_ + (offset + i) % span);
        if (by_uid_.count(uid) == 0) {
            by_name_[name] = uid;
            by_uid_[uid] = name;
            added_.insert(name);
            return uid;
        }
    }
    return lockbox::make_error(lockbox::Errc::UidRangeExhausted, "every uid of the engineer range is allocated");
}

void UidAllocator::release(const std::string& name) {
    auto it = by_name_.find(name);
    if (it == by_name_.end())
        return;
    by_uid_.erase(it->second);
    by_name_.erase(it);
    added_.erase(name);
}

std::vector<std::pair<std::string, uint32_t>> UidAllocator::added() const {
    std::vector<std::pair<std::string, uint32_t>> out;
    for (const auto& name : added_)
        if (auto uid = find(name))
            out.emplace_back(name, *uid);
    return out;
}

lockbox::Status UidAllocator::restore(const std::vector<std::pair<std::string, uint32_t>>& entries) {
    std::map<std::string, uint32_t> names;
    std::unordered_map<uint32_t, std::string> uids;
    for (const auto& [name, uid] : entries) {
        if (!lockbox::is_valid_user_name(name))
            return lockbox::make_error(lockbox::Errc::Malformed, "bad uid map entry for \"" + name + "\"");
        if (uid < min_ || uid > max_)
            return lockbox::make_error(lockbox::Errc::Malformed,
                                       "uid " + std::to_string(uid) + " of " + name + " is outside the engineer range");
        if (!uids.emplace(uid, name).second)
            return lockbox::make_error(lockbox::Errc::Malformed, "uid " + std::to_string(uid) + " appears twice");
        if (!names.emplace(name, uid).second)
            return lockbox::make_error(lockbox::Errc::Malformed, "engineer " + name + " appears twice");
    }
    by_name_ = std::move(names);
    by_uid_ = std::move(uids);
    added_.clear();
    return {};
}

}  // namespace lockboxd
