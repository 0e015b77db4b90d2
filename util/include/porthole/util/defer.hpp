#pragma once
// Runs a callable at scope exit unless dismissed: rollback on the error path.

#include <utility>

namespace porthole {

template <class F>
class Defer {
  public:
    explicit Defer(F f) : f_(std::move(f)) {}
    Defer(const Defer&) = delete;
    Defer& operator=(const Defer&) = delete;
    ~Defer() {
        if (armed_) f_();
    }
    void dismiss() { armed_ = false; }

  private:
    F f_;
    bool armed_ = true;
};

}  // namespace porthole
