// Engineer uids: one stable uid per engineer name inside [UIDMin, UIDMax], kept
// across grants and restarts so files, audit records and recordings of the same
// person always carry the same number. The first choice is a hash of the name,
// so even a lost map tends to give the same uid back.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "result.h"

namespace lockboxd {

class UidAllocator {
public:
    UidAllocator(uint32_t uid_min, uint32_t uid_max);

    bool in_range(uint32_t uid) const { return uid >= min_ && uid <= max_; }
    std::optional<uint32_t> find(const std::string& name) const;
    std::optional<std::string> name_of(uint32_t uid) const;

    // The name's uid, allocating (and remembering) one if it has none. Fails with
    // "uid-range-exhausted" when every uid of the range is taken. The caller
    // persists added() before acting on a new uid.
    lockbox::Result<uint32_t> allocate(const std::string& name);
    // Forgets a mapping allocate() just made and that was never persisted.
    void release(const std::string& name);

    size_t size() const { return by_name_.size(); }

    // Replaces the map; refuses entries outside the range, duplicate names or
    // uids and invalid names as a whole (a damaged map is not half-loaded).
    lockbox::Status restore(const std::vector<std::pair<std::string, uint32_t>>& entries);

    // Mappings allocated since the last clear_added(), in name order.
    std::vector<std::pair<std::string, uint32_t>> added() const;
    void clear_added() { added_.clear(); }

private:
    uint32_t min_;
    uint32_t max_;
    std::map<std::string, uint32_t> by_name_;
    std::unordered_map<uint32_t, std::string> by_uid_;
    std::set<std::string> added_;
};

}  // namespace lockboxd
