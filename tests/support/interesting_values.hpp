#pragma once
// Values a hostile writer stores into a region word: the edges where checks
// overflow or wrap, single bits, INT32_MIN/INT32_MAX in either half, a step of
// 2^32 (a length's high word), or anything.

#include <cstdint>
#include <random>

namespace porthole::test {

inline std::uint64_t interesting_value(std::mt19937_64& rng, std::uint64_t current) {
    switch (rng() % 9) {
        case 0:
            return 0;
        case 1:
            return ~std::uint64_t{0};
        case 2:
            return current + 1;
        case 3:
            return current - 1;
        case 4:
            return current ^ (std::uint64_t{1} << (rng() % 64));
        case 5:
            return std::uint64_t{1} << (rng() % 64);
        case 6:
            return (rng() & 1) != 0 ? (current & ~0xFFFFFFFFULL) | 0x80000000ULL
                                    : (current & 0xFFFFFFFFULL) | (0x7FFFFFFFULL << 32);
        case 7:
            return current + (std::uint64_t{1} << 32);
        default:
            return rng();
    }
}

}  // namespace porthole::test
