#pragma once
// Windows: reads a WAVEFORMATEX(TENSIBLE) as WASAPI's GetMixFormat returns
// it into the platform-neutral fields convert.hpp describes. Apart from
// wasapi.cpp so that it runs under Wine's tests with real structs.
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>
// windows.h first: mmreg.h needs its types.
#include <mmreg.h>

#include "audio/convert.hpp"

namespace porthole::agent::audio {

// The extensible fields (valid bits, sub-format, dwChannelMask) are read
// only when the tag says WAVE_FORMAT_EXTENSIBLE and cbSize covers them.
WaveFormatFields wave_format_fields(const WAVEFORMATEX& w);

}  // namespace porthole::agent::audio
