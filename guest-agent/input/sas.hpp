#pragma once
// Ctrl+Alt+Del from the host. Windows accepts the secure attention sequence
// only from the real keyboard or from SendSAS (sas.dll, allowed by the
// SoftwareSASGeneration policy the installer sets); injected keys never
// reach it. The detector sees the sequence in the host's key events.

#include <cstdint>

#include "porthole/protocol/region.hpp"

namespace porthole::agent {

class SasDetector {
  public:
    // True for the press of Delete (or keypad Delete) while a Ctrl and an Alt
    // key are held; auto-repeats do not count again.
    bool on_event(const protocol::InputEvent& e);

  private:
    bool ctrl_l_ = false, ctrl_r_ = false, alt_l_ = false, alt_r_ = false;
};

}  // namespace porthole::agent
