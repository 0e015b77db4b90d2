// The checks of --self-test on Windows (self_test.hpp).
#include <chrono>
#include <cmath>
#include <string>

#include "app/self_test.hpp"
#include "audio/probe.hpp"
#include "capture/win/dxgi.hpp"
#include "input/sendinput.hpp"
#include "porthole/ivshmem/mapping.hpp"
#include "porthole/util/version.hpp"
#include "win/service.hpp"

namespace porthole::agent {

namespace {
using Outcome = SelfTestCheck::Outcome;

SelfTestCheck check_ivshmem(unsigned index) {
    SelfTestCheck c{"ivshmem", Outcome::fail, {}, {}};
    auto m = ivshmem::open_windows_ivshmem(index);
    if (!m) {
        c.summary = m.error().message;
        return c;
    }
    c.outcome = Outcome::pass;
    c.summary = m->description() + " mapped";
    return c;
}

SelfTestCheck check_outputs() {
    SelfTestCheck c{"outputs", Outcome::fail, {}, {}};
    auto outputs = win::DxgiSource::enumerate();
    if (!outputs) {
        c.summary = outputs.error().message;
        return c;
    }
    c.details = win::list_outputs(*outputs);
    for (const auto& o : *outputs)
        if (!o.attached) c.details.push_back("not attached: " + o.device + " on " + o.adapter);
    const auto choice = win::choose_output(*outputs, "");
    if (choice.index) {
        c.outcome = Outcome::pass;
        c.summary = "capturing " + (*outputs)[*choice.index].device + " on " +
                    (*outputs)[*choice.index].adapter;
    } else {
        c.summary = choice.why;
    }
    return c;
}

SelfTestCheck check_dxgi_frame(SelfTestCheck& cursor_check) {
    SelfTestCheck c{"dxgi_frame", Outcome::fail, {}, {}};
    cursor_check = {"cursor_shape", Outcome::skip, "no DXGI duplication", {}};
    CaptureOptions o;
    auto src = win::DxgiSource::create(o);
    if (!src) {
        c.summary = src.error().message;
        return c;
    }
    CapturedFrame f;
    CaptureStatus st = CaptureStatus::timeout;
    bool shape = false;
    for (int i = 0; i < 20 && st != CaptureStatus::ok; ++i) {
        st = (*src)->next_frame(std::chrono::milliseconds(100), f);
        if (auto cur = (*src)->cursor(); cur && cur->shape) {
            shape = true;
            cursor_check = {"cursor_shape",
                            Outcome::pass,
                            std::to_string(cur->shape->width) + "x" +
                                std::to_string(cur->shape->height) + " type " +
                                std::to_string(static_cast<int>(cur->shape->type)),
                            {}};
        }
    }
    if (st != CaptureStatus::ok) {
        c.summary = "no frame within 2 s: " + (*src)->last_error();
        return c;
    }
    c.outcome = Outcome::pass;
    c.summary = std::to_string(f.image.width) + "x" + std::to_string(f.image.height) + " " +
                std::string(protocol::to_string(f.image.format));
    if (!shape) cursor_check.summary = "no cursor shape seen in 2 s (move the mouse and run again)";
    return c;
}

SelfTestCheck check_sendinput() {
    SelfTestCheck c{"sendinput", Outcome::fail, {}, {}};
    win::DesktopFollower desk;
    const bool on_input = desk.follow();
    INPUT in{};
    in.type = INPUT_MOUSE;
    in.mi.dwFlags = MOUSEEVENTF_MOVE;  // a move by 0,0: nothing visible happens
    const UINT sent = SendInput(1, &in, sizeof(in));
    std::string where;
    for (wchar_t ch : desk.current())
        where.push_back(ch > 0 && ch < 128 ? static_cast<char>(ch) : '?');
    if (sent == 1) {
        c.outcome = Outcome::pass;
        c.summary = "SendInput accepted a mouse event on desktop '" + where + "'";
    } else {
        c.summary = "SendInput refused a mouse event (error " + std::to_string(GetLastError()) +
                    ") on desktop '" + where + "'" + (on_input ? "" : " (not the input desktop)");
    }
    return c;
}

SelfTestCheck check_sas() {
    SelfTestCheck c{"ctrl_alt_del", Outcome::fail, {}, {}};
    HMODULE m = LoadLibraryW(L"sas.dll");
    const bool have = m != nullptr && GetProcAddress(m, "SendSAS") != nullptr;
    if (m != nullptr) FreeLibrary(m);
    const auto policy = win::software_sas_policy();
    const std::string p = policy ? std::to_string(*policy) : std::string("not set");
    if (have && policy && (*policy & 1U) != 0) {
        c.outcome = Outcome::pass;
        c.summary = "SendSAS available, SoftwareSASGeneration = " + p;
    } else {
        c.summary = std::string(have ? "SendSAS available" : "sas.dll/SendSAS missing") +
                    ", SoftwareSASGeneration = " + p +
                    " (Ctrl+Alt+Del from the host needs both; the installer sets the policy)";
    }
    return c;
}

// 100 ms of the default render device's loopback, read back as the host
// reads the audio channel: the format it would be given and the level.
SelfTestCheck check_wasapi_loopback() {
    SelfTestCheck c{"wasapi_loopback", Outcome::fail, {}, {}};
    auto probe = audio::probe_audio_source("wasapi", std::chrono::milliseconds(100));
    if (!probe) {
        c.summary = probe.error().message + " (the host will hear nothing from this guest)";
        return c;
    }
    c.outcome = Outcome::pass;
    c.summary = audio::describe(*probe);
    if (std::isinf(probe->peak_dbfs))
        c.details.push_back(
            "digital silence: play a sound in the guest while the self-test runs to check the "
            "level");
    return c;
}

SelfTestCheck check_service() {
    SelfTestCheck c{"service", Outcome::fail, {}, {}};
    auto s = service::query();
    if (!s) {
        c.summary = "not installed (" + s.error().message +
                    "): the login and UAC screens need 'porthole-agent install'";
        return c;
    }
    c.outcome = Outcome::pass;
    c.summary = "installed, start type " + std::to_string(s->start_type);
    c.details.push_back(s->command_line);
    return c;
}

}  // namespace

SelfTestReport run_self_test(unsigned device_index) {
    SelfTestReport r;
    r.agent_version = version_line("porthole-agent");
    r.checks.push_back(check_ivshmem(device_index));
    r.checks.push_back(check_outputs());
    SelfTestCheck cursor;
    r.checks.push_back(check_dxgi_frame(cursor));
    r.checks.push_back(cursor);
    r.checks.push_back(check_wasapi_loopback());
    r.checks.push_back(check_sendinput());
    r.checks.push_back(check_sas());
    r.checks.push_back(check_service());
    return r;
}

}  // namespace porthole::agent
