// Windows: WASAPI shared-mode loopback capture of the default render device,
// event-driven (with a 10 ms poll as a fallback: before Windows 10 the event
// is not signalled in loopback mode). Follows default-device changes
// (IMMNotificationClient) and format changes (the stream is invalidated and
// reopened). While nothing plays WASAPI delivers nothing: StreamClock fills
// the silence so the host's position keeps going. Sample conversion lives in
// convert.cpp (tested on Linux and under Wine); the mix format's fields, its
// speaker mask among them, are read in wave_format_win.cpp (tested under
// Wine). The endpoint's master volume and mute are polled every 100 ms and
// reported in the channel, for hosts that follow them (loopback captures the
// mix before the endpoint volume).
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <audioclient.h>
#include <avrt.h>
#include <endpointvolume.h>
#include <ksmedia.h>
#include <mmdeviceapi.h>
#include <windows.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "audio/backends.hpp"
#include "audio/convert.hpp"
#include "audio/stream_clock.hpp"
#include "audio/wave_format_win.hpp"
#include "porthole/util/adaptive_wait.hpp"

namespace porthole::agent::audio {
namespace {

// Owns one COM reference.
template <class T>
class ComPtr {
  public:
    ComPtr() = default;
    ComPtr(const ComPtr&) = delete;
    ComPtr& operator=(const ComPtr&) = delete;
    ComPtr(ComPtr&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
    ComPtr& operator=(ComPtr&& o) noexcept {
        if (this != &o) {
            reset();
            p_ = std::exchange(o.p_, nullptr);
        }
        return *this;
    }
    ~ComPtr() { reset(); }
    void reset() {
        if (p_ != nullptr) p_->Release();
        p_ = nullptr;
    }
    T* get() const { return p_; }
    T* operator->() const { return p_; }
    T** put() {
        reset();
        return &p_;
    }
    void** put_void() { return reinterpret_cast<void**>(put()); }
    explicit operator bool() const { return p_ != nullptr; }

  private:
    T* p_ = nullptr;
};

// Owns a kernel HANDLE.
class Handle {
  public:
    explicit Handle(HANDLE h = nullptr) : h_(h) {}
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    ~Handle() {
        if (h_ != nullptr) CloseHandle(h_);
    }
    HANDLE get() const { return h_; }

  private:
    HANDLE h_;
};

// Frees a WAVEFORMATEX from GetMixFormat.
struct CoTaskFree {
    void* p = nullptr;
    CoTaskFree() = default;
    CoTaskFree(const CoTaskFree&) = delete;
    CoTaskFree& operator=(const CoTaskFree&) = delete;
    ~CoTaskFree() { CoTaskMemFree(p); }
};

std::string hr_text(const char* what, HRESULT hr) {
    char buf[64];
    std::snprintf(buf, sizeof buf, " failed (HRESULT 0x%08lx)", static_cast<unsigned long>(hr));
    return std::string(what) + buf;
}

// Signals `event` when the default render device changes. COM interfaces
// have no virtual destructor by design (Release does the deleting; here the
// owner does).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
class DeviceWatcher final : public IMMNotificationClient {
  public:
    explicit DeviceWatcher(HANDLE event) : event_(event) {}
    ULONG STDMETHODCALLTYPE AddRef() override { return static_cast<ULONG>(++refs_); }
    ULONG STDMETHODCALLTYPE Release() override {
        return static_cast<ULONG>(--refs_);
    }  // owned by WasapiSource
    HRESULT STDMETHODCALLTYPE QueryInterface(REFIID riid, void** out) override {
        if (riid == __uuidof(IUnknown) || riid == __uuidof(IMMNotificationClient)) {
            *out = static_cast<IMMNotificationClient*>(this);
            AddRef();
            return S_OK;
        }
        *out = nullptr;
        return E_NOINTERFACE;
    }
    HRESULT STDMETHODCALLTYPE OnDefaultDeviceChanged(EDataFlow flow, ERole role, LPCWSTR) override {
        if (flow == eRender && role == eConsole) SetEvent(event_);
        return S_OK;
    }
    HRESULT STDMETHODCALLTYPE OnDeviceAdded(LPCWSTR) override { return S_OK; }
    HRESULT STDMETHODCALLTYPE OnDeviceRemoved(LPCWSTR) override { return S_OK; }
    HRESULT STDMETHODCALLTYPE OnDeviceStateChanged(LPCWSTR, DWORD) override { return S_OK; }
    HRESULT STDMETHODCALLTYPE OnPropertyValueChanged(LPCWSTR, const PROPERTYKEY) override {
        return S_OK;
    }

  private:
    HANDLE event_;
    std::atomic<long> refs_{1};
};
#pragma GCC diagnostic pop

class WasapiSource final : public AudioSource {
  public:
    explicit WasapiSource(protocol::AudioWriter& writer)
        : writer_(writer),
          stop_(CreateEventW(nullptr, TRUE, FALSE, nullptr)),
          device_changed_(CreateEventW(nullptr, FALSE, FALSE, nullptr)),
          data_ready_(CreateEventW(nullptr, FALSE, FALSE, nullptr)),
          watcher_(device_changed_.get()) {
        thread_ = std::thread([this] { run(); });
    }
    ~WasapiSource() override {
        SetEvent(stop_.get());
        thread_.join();
    }
    WasapiSource(const WasapiSource&) = delete;
    WasapiSource& operator=(const WasapiSource&) = delete;
    std::string_view name() const override { return "wasapi"; }
    const AudioSourceStats& stats() const override { return stats_; }
    std::string last_error() const override {
        std::lock_guard lock(mutex_);
        return error_;
    }

  private:
    struct Stream {
        ComPtr<IMMDevice> device;
        ComPtr<IAudioClient> client;
        ComPtr<IAudioCaptureClient> capture;
        ComPtr<IAudioEndpointVolume> volume;  // empty if the device has none
        CaptureFormat format;
    };

    void run() {
        if (FAILED(CoInitializeEx(nullptr, COINIT_MULTITHREADED))) {
            fail("CoInitializeEx failed: the WASAPI capture thread cannot use COM");
            return;
        }
        DWORD task = 0;
        HANDLE mmcss =
            AvSetMmThreadCharacteristicsW(L"Pro Audio", &task);  // low-latency scheduling
        ComPtr<IMMDeviceEnumerator> enumerator;
        HRESULT hr = CoCreateInstance(__uuidof(MMDeviceEnumerator), nullptr, CLSCTX_ALL,
                                      __uuidof(IMMDeviceEnumerator), enumerator.put_void());
        if (FAILED(hr)) {
            fail(hr_text("creating the audio device enumerator", hr));
        } else {
            enumerator->RegisterEndpointNotificationCallback(&watcher_);
            loop(enumerator.get());
            enumerator->UnregisterEndpointNotificationCallback(&watcher_);
        }
        if (mmcss != nullptr) AvRevertMmThreadCharacteristics(mmcss);
        enumerator.reset();
        CoUninitialize();
    }

    // Opens the default device, captures until it changes or fails, repeats.
    void loop(IMMDeviceEnumerator* enumerator) {
        while (WaitForSingleObject(stop_.get(), 0) != WAIT_OBJECT_0) {
            Stream s;
            if (auto ok = open(enumerator, s); !ok) {
                {
                    std::lock_guard lock(mutex_);
                    error_ = ok.error().message;  // not fatal: no device yet, or it is changing
                }
                idle_until_retry();
                continue;
            }
            capture(s);
            stats_.restarts.fetch_add(1);
        }
    }

    Status open(IMMDeviceEnumerator* enumerator, Stream& s) {
        HRESULT hr = enumerator->GetDefaultAudioEndpoint(eRender, eConsole, s.device.put());
        if (FAILED(hr)) return Error::make(hr_text("finding the default playback device", hr));
        hr = s.device->Activate(__uuidof(IAudioClient), CLSCTX_ALL, nullptr, s.client.put_void());
        if (FAILED(hr)) return Error::make(hr_text("activating the playback device", hr));
        CoTaskFree mix;
        hr = s.client->GetMixFormat(reinterpret_cast<WAVEFORMATEX**>(&mix.p));
        if (FAILED(hr)) return Error::make(hr_text("reading the device's mix format", hr));
        auto format = describe_wave_format(wave_format_fields(*static_cast<WAVEFORMATEX*>(mix.p)));
        if (!format) return format.error();
        s.format = *format;
        constexpr REFERENCE_TIME kBuffer = 200000;  // 20 ms, in 100 ns units
        hr = s.client->Initialize(AUDCLNT_SHAREMODE_SHARED,
                                  AUDCLNT_STREAMFLAGS_LOOPBACK | AUDCLNT_STREAMFLAGS_EVENTCALLBACK,
                                  kBuffer, 0, static_cast<WAVEFORMATEX*>(mix.p), nullptr);
        if (FAILED(hr)) return Error::make(hr_text("starting loopback capture", hr));
        hr = s.client->SetEventHandle(data_ready_.get());
        if (FAILED(hr)) return Error::make(hr_text("setting the capture event", hr));
        hr = s.client->GetService(__uuidof(IAudioCaptureClient), s.capture.put_void());
        if (FAILED(hr)) return Error::make(hr_text("getting the capture client", hr));
        const protocol::AudioFormat out = protocol_format_for(s.format);
        if (!has_format_ || out != current_) {  // a new format restarts the host's stream
            if (auto ok = writer_.set_format(out); !ok) return ok;
            current_ = out;
            has_format_ = true;
            clock_ = StreamClock(out.rate);
            stats_.format_changes.fetch_add(1);
        }
        clock_.on_frames(0, monotonic_ns());
        // Without a volume control the host just keeps full level.
        if (FAILED(s.device->Activate(__uuidof(IAudioEndpointVolume), CLSCTX_ALL, nullptr,
                                      s.volume.put_void())))
            s.volume.reset();
        report_volume(s);
        hr = s.client->Start();
        if (FAILED(hr)) return Error::make(hr_text("starting the capture stream", hr));
        return {};
    }

    void capture(Stream& s) {
        const HANDLE waits[3] = {stop_.get(), device_changed_.get(), data_ready_.get()};
        ULONGLONG next_volume = GetTickCount64() + 100;
        for (;;) {
            const DWORD w = WaitForMultipleObjects(3, waits, FALSE, 10);
            if (w == WAIT_OBJECT_0 || w == WAIT_OBJECT_0 + 1)
                break;             // stop, or a new default device
            if (!drain(s)) break;  // device invalidated (unplugged, format changed)
            fill_silence();
            if (GetTickCount64() >= next_volume) {
                report_volume(s);
                next_volume = GetTickCount64() + 100;
            }
        }
        s.client->Stop();
    }

    // The endpoint's attenuation in dB, as the linear gain the host applies
    // (the scalar level is the slider's audio-tapered position, not a gain).
    void report_volume(Stream& s) {
        float db = 0.0F;
        BOOL mute = FALSE;
        if (s.volume && SUCCEEDED(s.volume->GetMasterVolumeLevel(&db)) &&
            SUCCEEDED(s.volume->GetMute(&mute))) {
            volume_.report(db_to_gain(db), mute != FALSE);
        } else {
            volume_.report(1.0F, false);
        }
    }

    bool drain(Stream& s) {
        for (;;) {
            UINT32 packet = 0;
            HRESULT hr = s.capture->GetNextPacketSize(&packet);
            if (FAILED(hr)) return false;
            if (packet == 0) return true;
            BYTE* data = nullptr;
            UINT32 frames = 0;
            DWORD flags = 0;
            hr = s.capture->GetBuffer(&data, &frames, &flags, nullptr, nullptr);
            if (FAILED(hr)) return false;
            const std::size_t out_bytes = std::size_t{frames} * current_.frame_bytes();
            scratch_.resize(out_bytes);
            if ((flags & AUDCLNT_BUFFERFLAGS_SILENT) != 0 || data == nullptr) {
                std::fill(scratch_.begin(), scratch_.end(), std::byte{0});
            } else {
                const std::span<const std::byte> src(reinterpret_cast<const std::byte*>(data),
                                                     std::size_t{frames} * s.format.frame_bytes());
                convert_frames(s.format, src, frames, scratch_);
            }
            s.capture->ReleaseBuffer(frames);
            const std::uint64_t now = monotonic_ns();
            if (auto ok = writer_.write(scratch_, now); !ok) {
                fail(ok.error().message);
                return false;
            }
            clock_.on_frames(frames, now);
            stats_.frames.fetch_add(frames);
        }
    }

    void fill_silence() {
        if (!has_format_) return;
        const std::uint64_t n =
            std::min<std::uint64_t>(clock_.silence_due(monotonic_ns()), current_.rate);
        if (n == 0) return;
        scratch_.assign(n * current_.frame_bytes(), std::byte{0});
        if (writer_.write(scratch_, monotonic_ns())) {
            clock_.on_silence(n);
            stats_.silence_frames.fetch_add(n);
        }
    }

    // No device: keep the stream's clock going for a second, then retry.
    void idle_until_retry() {
        for (int i = 0; i < 100; ++i) {
            if (WaitForSingleObject(stop_.get(), 10) == WAIT_OBJECT_0) return;
            fill_silence();
        }
    }

    void fail(std::string msg) {
        std::lock_guard lock(mutex_);
        error_ = std::move(msg);
    }

    protocol::AudioWriter& writer_;
    Handle stop_;
    Handle device_changed_;
    Handle data_ready_;
    DeviceWatcher watcher_;
    AudioSourceStats stats_;
    VolumeReporter volume_{writer_, stats_};
    StreamClock clock_{48000};
    protocol::AudioFormat current_{};
    bool has_format_ = false;
    std::vector<std::byte> scratch_;
    mutable std::mutex mutex_;
    std::string error_;
    std::thread thread_;  // last: started after every member it uses
};

}  // namespace

Result<std::unique_ptr<AudioSource>> start_wasapi_source(protocol::AudioWriter& writer,
                                                         const AudioSourceOptions&) {
    return std::unique_ptr<AudioSource>(std::make_unique<WasapiSource>(writer));
}

}  // namespace porthole::agent::audio
