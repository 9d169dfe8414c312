// The text of a JSON array holding, in the order offered, the items that fit
// max_bytes: a list reply must fit one bus message (bus::MAX_LIST_REPLY), and
// the first item that does not fit ends the list, so what is shown stays a
// prefix of the order (newest first) rather than a selection.
#pragma once

#include <cstddef>
#include <string>

namespace lockbox {

class BoundedJsonArray {
public:
    explicit BoundedJsonArray(size_t max_bytes) : max_bytes_(max_bytes) {}

    // item: one serialized JSON value. False, and nothing added, once full.
    bool add(const std::string& item) {
        bool first = count_ == 0;
        if (full_ || text_.size() + (first ? 0 : 1) + item.size() + 1 > max_bytes_) {  // ',' before, ']' after
            full_ = true;
            return false;
        }
        if (!first)
            text_ += ',';
        text_ += item;
        count_++;
        return true;
    }
    size_t count() const { return count_; }
    std::string finish() const { return text_ + "]"; }

private:
    size_t max_bytes_;
    std::string text_ = "[";
    size_t count_ = 0;
    bool full_ = false;
};

}  // namespace lockbox
