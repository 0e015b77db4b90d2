#pragma once
// Access to memory shared with another machine (the VM boundary). Every field
// has one writer; ordering comes from acquire/release on std::atomic_ref.
// Structs are moved in and out word by word with relaxed atomics so that a
// concurrent writer can only make a copy stale (caught by a seqlock or by
// validation), never undefined.

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace porthole::protocol {

static_assert(std::endian::native == std::endian::little, "the region format is little-endian");

inline std::uint64_t load_acquire(const std::uint64_t& field) {
    // atomic_ref needs a non-const object; the load never writes.
    return std::atomic_ref<std::uint64_t>(const_cast<std::uint64_t&>(field))  // NOLINT
        .load(std::memory_order_acquire);
}
inline std::uint64_t load_relaxed(const std::uint64_t& field) {
    return std::atomic_ref<std::uint64_t>(const_cast<std::uint64_t&>(field))  // NOLINT
        .load(std::memory_order_relaxed);
}
inline void store_release(std::uint64_t& field, std::uint64_t v) {
    std::atomic_ref<std::uint64_t>(field).store(v, std::memory_order_release);
}
inline void store_relaxed(std::uint64_t& field, std::uint64_t v) {
    std::atomic_ref<std::uint64_t>(field).store(v, std::memory_order_relaxed);
}

template <class T>
concept RegionWords = std::is_trivially_copyable_v<T> && sizeof(T) % 8 == 0 && alignof(T) >= 8;

// Copies a struct out of the region, one relaxed 64-bit load per word.
template <RegionWords T>
T copy_out(const T& shared) {
    std::uint64_t words[sizeof(T) / 8];
    const auto* src = reinterpret_cast<const std::uint64_t*>(&shared);
    for (std::size_t i = 0; i < sizeof(T) / 8; ++i)
        words[i] = load_relaxed(src[i]);
    T out{};
    std::memcpy(&out, words, sizeof(T));
    return out;
}

// Writes a struct into the region, one relaxed 64-bit store per word.
template <RegionWords T>
void copy_in(T& shared, const T& value) {
    std::uint64_t words[sizeof(T) / 8];
    std::memcpy(words, &value, sizeof(T));
    auto* dst = reinterpret_cast<std::uint64_t*>(&shared);
    for (std::size_t i = 0; i < sizeof(T) / 8; ++i)
        store_relaxed(dst[i], words[i]);
}

#if defined(__SANITIZE_THREAD__)
#define PORTHOLE_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define PORTHOLE_TSAN 1
#endif
#endif
#if defined(PORTHOLE_TSAN)
// ThreadSanitizer intercepts memcpy whatever the caller's attributes; these
// make it skip the accesses of one intentionally racy copy.
extern "C" void AnnotateIgnoreReadsBegin(const char* file, int line);
extern "C" void AnnotateIgnoreReadsEnd(const char* file, int line);
extern "C" void AnnotateIgnoreWritesBegin(const char* file, int line);
extern "C" void AnnotateIgnoreWritesEnd(const char* file, int line);
#endif

// Bulk bytes (pixels, PCM) whose consistency a seqlock or a position re-check
// guards: a racing copy is detected afterwards and discarded.
inline void copy_racy(void* dst, const void* src, std::size_t n) {
#if defined(PORTHOLE_TSAN)
    AnnotateIgnoreReadsBegin(__FILE__, __LINE__);
    AnnotateIgnoreWritesBegin(__FILE__, __LINE__);
    std::memcpy(dst, src, n);
    AnnotateIgnoreWritesEnd(__FILE__, __LINE__);
    AnnotateIgnoreReadsEnd(__FILE__, __LINE__);
#else
    std::memcpy(dst, src, n);
#endif
}

// Orders every earlier store, write-combined ones included, before the
// stores that follow. The Windows agent maps the region write-combined; WC
// stores are weakly ordered and a release (a plain store on x86) does not
// drain the WC buffers, so a frame ends with this before its counters.
inline void wc_store_fence() {
#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__)
    __builtin_ia32_sfence();
#else
    std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
}

// Seqlock writer side: odd while a writer is inside.
inline void seqlock_begin_write(std::uint64_t& seq) {
    const std::uint64_t s = load_relaxed(seq);
    store_relaxed(seq, s | 1U);
    std::atomic_thread_fence(std::memory_order_release);
}
inline void seqlock_end_write(std::uint64_t& seq) {
    const std::uint64_t s = load_relaxed(seq);
    store_release(seq, (s | 1U) + 1U);
}
// Reader side: a read is consistent when the sequence was even and unchanged.
inline std::uint64_t seqlock_read_begin(const std::uint64_t& seq) {
    return load_acquire(seq);
}
inline bool seqlock_read_valid(const std::uint64_t& seq, std::uint64_t begin) {
    std::atomic_thread_fence(std::memory_order_acquire);
    return (begin & 1U) == 0 && load_relaxed(seq) == begin;
}

}  // namespace porthole::protocol
