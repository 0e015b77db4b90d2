#pragma once
// RAII owners for the Windows handles the agent uses: kernel HANDLEs and COM
// interface pointers. Each releases exactly once and is movable, not copyable.

#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>

#include <string>
#include <utility>

namespace porthole::agent::win {

// A kernel HANDLE (process, token, file, event); INVALID_HANDLE_VALUE and null both mean none.
class UniqueHandle {
  public:
    UniqueHandle() = default;
    explicit UniqueHandle(HANDLE h) : h_(h) {}
    UniqueHandle(UniqueHandle&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
    UniqueHandle& operator=(UniqueHandle&& o) noexcept {
        if (this != &o) reset(std::exchange(o.h_, nullptr));
        return *this;
    }
    UniqueHandle(const UniqueHandle&) = delete;
    UniqueHandle& operator=(const UniqueHandle&) = delete;
    ~UniqueHandle() { reset(); }

    [[nodiscard]] HANDLE get() const { return h_; }
    [[nodiscard]] bool valid() const { return h_ != nullptr && h_ != INVALID_HANDLE_VALUE; }
    explicit operator bool() const { return valid(); }
    HANDLE* out() {
        reset();
        return &h_;
    }
    void reset(HANDLE h = nullptr) {
        if (valid()) CloseHandle(h_);
        h_ = h;
    }

  private:
    HANDLE h_ = nullptr;
};

// An owned COM interface pointer (the part of WRL's ComPtr we need).
template <class T>
class ComPtr {
  public:
    ComPtr() = default;
    ComPtr(ComPtr&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
    ComPtr& operator=(ComPtr&& o) noexcept {
        if (this != &o) {
            reset();
            p_ = std::exchange(o.p_, nullptr);
        }
        return *this;
    }
    ComPtr(const ComPtr& o) : p_(o.p_) {
        if (p_ != nullptr) p_->AddRef();
    }
    ComPtr& operator=(const ComPtr& o) {
        if (this != &o) {
            reset();
            p_ = o.p_;
            if (p_ != nullptr) p_->AddRef();
        }
        return *this;
    }
    ~ComPtr() { reset(); }

    [[nodiscard]] T* get() const { return p_; }
    T* operator->() const { return p_; }
    explicit operator bool() const { return p_ != nullptr; }
    // For out-parameters: releases the current pointer first.
    T** out() {
        reset();
        return &p_;
    }
    void reset() {
        if (p_ != nullptr) p_->Release();
        p_ = nullptr;
    }
    // QueryInterface into another interface; empty when not supported.
    template <class U>
    [[nodiscard]] ComPtr<U> as() const {
        ComPtr<U> r;
        if (p_ != nullptr) p_->QueryInterface(__uuidof(U), reinterpret_cast<void**>(r.out()));
        return r;
    }

  private:
    T* p_ = nullptr;
};

// "The operation failed (0x887A0026)": FormatMessage text and the code.
std::string hresult_message(long hr);
// The text of a Win32 error code (GetLastError), with the code.
std::string win32_message(unsigned long code);

}  // namespace porthole::agent::win
