#pragma once
// A page-aligned, zeroed block of memory standing in for a mapped region in
// tests and benchmarks.

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <span>

namespace porthole::testing {

class AlignedRegion {
  public:
    explicit AlignedRegion(std::size_t size)
        : size_(size),
          mem_(static_cast<std::byte*>(::operator new (round(size), std::align_val_t{4096}))) {
        std::memset(mem_.get(), 0, round(size));
    }
    [[nodiscard]] std::span<std::byte> bytes() const { return {mem_.get(), size_}; }
    [[nodiscard]] std::byte* data() const { return mem_.get(); }
    [[nodiscard]] std::size_t size() const { return size_; }

  private:
    static std::size_t round(std::size_t n) { return (n + 4095) / 4096 * 4096; }
    struct Free {
        void operator()(std::byte* p) const {
            ::operator delete (p, std::align_val_t{4096});  // MinGW has no std::aligned_alloc
        }                                                   // NOLINT(cppcoreguidelines-no-malloc)
    };
    std::size_t size_;
    std::unique_ptr<std::byte, Free> mem_;
};

}  // namespace porthole::testing
