// assert_errc for the cmocka tests: compares error codes as values, names both
// on failure. Include after <cmocka.h>.
#pragma once

#include "error_code.h"

#define assert_errc(actual, expected)                                                \
    do {                                                                             \
        const lockbox::Errc errc_actual_ = (actual);                                 \
        const lockbox::Errc errc_expected_ = (expected);                             \
        if (errc_actual_ != errc_expected_)                                          \
            fail_msg("error code %s, expected %s", lockbox::errc_name(errc_actual_), \
                     lockbox::errc_name(errc_expected_));                            \
    } while (0)
