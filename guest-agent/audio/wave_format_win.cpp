#include "audio/wave_format_win.hpp"

#include <ksmedia.h>

namespace porthole::agent::audio {

WaveFormatFields wave_format_fields(const WAVEFORMATEX& w) {
    WaveFormatFields f;
    f.tag = w.wFormatTag;
    f.channels = w.nChannels;
    f.rate = w.nSamplesPerSec;
    f.block_align = w.nBlockAlign;
    f.bits = w.wBitsPerSample;
    constexpr WORD kExtensibleBytes = sizeof(WAVEFORMATEXTENSIBLE) - sizeof(WAVEFORMATEX);  // 22
    if (w.wFormatTag == WAVE_FORMAT_EXTENSIBLE && w.cbSize >= kExtensibleBytes) {
        const auto& x = reinterpret_cast<const WAVEFORMATEXTENSIBLE&>(w);
        f.valid_bits = x.Samples.wValidBitsPerSample;
        f.channel_mask = x.dwChannelMask;
        if (IsEqualGUID(x.SubFormat, KSDATAFORMAT_SUBTYPE_IEEE_FLOAT))
            f.sub = WaveFormatFields::SubFormat::ieee_float;
        else if (IsEqualGUID(x.SubFormat, KSDATAFORMAT_SUBTYPE_PCM))
            f.sub = WaveFormatFields::SubFormat::pcm;
        else
            f.sub = WaveFormatFields::SubFormat::other;
    }
    return f;
}

}  // namespace porthole::agent::audio
