#include <sys/mman.h>

#include <utility>

#include "porthole/ivshmem/mapping.hpp"

namespace porthole::ivshmem {

void Mapping::reset() {
    if (addr_ != nullptr) ::munmap(addr_, size_);
    addr_ = nullptr;
    size_ = 0;
}

}  // namespace porthole::ivshmem
