#pragma once
// Result<T>: a value or an Error, returned by every call that touches the OS or
// the shared region. A small std::expected stand-in: clang 14 (our fuzzer and
// clang-tidy compiler) cannot use libstdc++ 12's <expected>.

#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace porthole {

// What failed, on what, and what to do: the message is meant for the user.
struct Error {
    std::string message;
    int code = 0;  // errno where one applies, else a module-specific code

    [[nodiscard]] static Error make(std::string msg, int errnum = 0) {
        return Error{std::move(msg), errnum};
    }
};

template <class T>
class [[nodiscard]] Result {
  public:
    Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit
    Result(Error err) : v_(std::in_place_index<1>, std::move(err)) {}  // NOLINT: implicit

    [[nodiscard]] bool has_value() const { return v_.index() == 0; }
    explicit operator bool() const { return has_value(); }

    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T&& operator*() && { return std::move(*this).value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    [[nodiscard]] const Error& error() const { return std::get<1>(v_); }

  private:
    std::variant<T, Error> v_;
};

// Result<void>: success or an Error.
template <>
class [[nodiscard]] Result<void> {
  public:
    Result() = default;
    Result(Error err) : err_(std::move(err)), ok_(false) {}  // NOLINT: implicit

    [[nodiscard]] bool has_value() const { return ok_; }
    explicit operator bool() const { return ok_; }
    [[nodiscard]] const Error& error() const { return err_; }

  private:
    Error err_;
    bool ok_ = true;
};

using Status = Result<void>;

}  // namespace porthole
