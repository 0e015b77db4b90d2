#pragma once
// What the renderer needs from a window system: the instance extensions its
// surfaces require, a surface for an instance, and the drawable size in pixels.
// The display module implements it (SDL2); headless rendering passes none.

#include <vulkan/vulkan_core.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "porthole/util/result.hpp"

namespace porthole::client {

class SurfaceProvider {
  public:
    virtual ~SurfaceProvider() = default;
    // Instance extensions the surface needs (VK_KHR_surface and the platform's).
    [[nodiscard]] virtual std::vector<std::string> vulkan_instance_extensions() const = 0;
    // A new surface owned by the caller (destroyed with vkDestroySurfaceKHR).
    virtual Result<VkSurfaceKHR> create_vulkan_surface(VkInstance instance) = 0;
    // The size to render at, in pixels (may differ from window units on HiDPI).
    [[nodiscard]] virtual std::pair<std::uint32_t, std::uint32_t> drawable_size() const = 0;
    // The scale text is drawn at: drawable pixels per window unit (2 on a HiDPI
    // display), or what the desktop or the user set (SdlWindow).
    [[nodiscard]] virtual float pixel_density() const { return 1.0F; }
};

}  // namespace porthole::client
