// What the core unit tests share: cmocka in C++, hex helpers, and the official
// PASETO/PASERK vectors (LOCKBOX_SOURCE_ROOT, or the directory given as argv[1]).
#pragma once

#include <cstdarg>
#include <cstddef>
#include <csetjmp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

extern "C" {
#include <cmocka.h>
}
#include <nlohmann/json.hpp>

namespace core_test {

inline std::string vectors_dir;

// argv[1] wins over the environment so a test can be run by hand.
inline void find_vectors(int argc, char** argv) {
    if (argc > 1) {
        vectors_dir = argv[1];
        return;
    }
    if (const char* root = std::getenv("LOCKBOX_SOURCE_ROOT"))
        vectors_dir = std::string(root) + "/tests/vectors/paseto";
}

// Missing vectors are a failure, not a skip: passing them is the point.
inline nlohmann::json load_vectors(const std::string& file) {
    std::ifstream in(vectors_dir + "/" + file);
    if (!in) {
        std::fprintf(stderr, "cannot open %s/%s (set LOCKBOX_SOURCE_ROOT or pass the directory)\n", vectors_dir.c_str(),
                     file.c_str());
        std::exit(1);
    }
    std::stringstream ss;
    ss << in.rdbuf();
    return nlohmann::json::parse(ss.str());
}

inline std::vector<uint8_t> from_hex(const std::string& hex) {
    std::vector<uint8_t> out;
    for (size_t i = 0; i + 1 < hex.size(); i += 2)
        out.push_back(static_cast<uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
    return out;
}

inline std::string str(const nlohmann::json& j, const char* key) {
    auto it = j.find(key);
    return (it == j.end() || !it->is_string()) ? std::string() : it->get<std::string>();
}

}  // namespace core_test
