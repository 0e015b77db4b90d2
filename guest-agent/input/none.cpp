#include "input/none.hpp"

namespace porthole::agent {

Status NullInjector::inject(std::span<const protocol::InputEvent> events) {
    stats_.unmapped += events.size();  // counted so the overlay can show input goes nowhere
    return {};
}

}  // namespace porthole::agent
