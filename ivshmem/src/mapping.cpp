// Mapping's ownership, the same on every OS; reset() (unmapping) is per OS
// in mapping_posix.cpp and mapping_windows.cpp.
#include <utility>

#include "porthole/ivshmem/mapping.hpp"

namespace porthole::ivshmem {

Mapping::Mapping(void* addr, std::size_t size, std::string description, void* os_handle)
    : addr_(addr), size_(size), os_handle_(os_handle), description_(std::move(description)) {}

Mapping::Mapping(Mapping&& o) noexcept
    : addr_(std::exchange(o.addr_, nullptr)),
      size_(std::exchange(o.size_, 0)),
      os_handle_(std::exchange(o.os_handle_, nullptr)),
      interrupt_vectors_(std::exchange(o.interrupt_vectors_, 0)),
      description_(std::move(o.description_)) {}

Mapping& Mapping::operator=(Mapping&& o) noexcept {
    if (this != &o) {
        reset();
        addr_ = std::exchange(o.addr_, nullptr);
        size_ = std::exchange(o.size_, 0);
        os_handle_ = std::exchange(o.os_handle_, nullptr);
        interrupt_vectors_ = std::exchange(o.interrupt_vectors_, 0);
        description_ = std::move(o.description_);
    }
    return *this;
}

Mapping::~Mapping() {
    reset();
}

}  // namespace porthole::ivshmem
