#pragma once
// The --usb devices: one key (capture key + U) attaches every listed host USB
// device to the VM through QEMU's QMP socket (device_add usb-host) and the
// next press gives them back. The QMP work is blocking (QEMU confirms a
// detach with an event), so it runs on a worker thread of its own, never on
// the render loop; outcomes come back as log lines and as notices for the
// window. Only the devices this client attached are ever detached: one the
// user attached with `porthole-vfio usb attach` stays (QEMU refuses the
// second device_add as a duplicate id). When the client ends, every device it
// attached is given back before the program exits.

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "app/options.hpp"
#include "porthole/qmp/session.hpp"
#include "porthole/qmp/usb.hpp"
#include "porthole/util/result.hpp"
#include "qmp/shared_channel.hpp"

namespace porthole::client {

class UsbSubsystem {
  public:
    // nullptr when no --usb device is given; an error for a bad --usb or --qmp
    // (parse_options refuses those first, this is the second line). With
    // `input_qmp` (input goes over QMP and holds QEMU's socket, which serves
    // one client) the commands share that connection; else each press opens
    // its own. `input_qmp` outlives the subsystem.
    static Result<std::unique_ptr<UsbSubsystem>> create(const Options& o,
                                                        qmp::QmpClient* input_qmp = nullptr);
    // Gives back every device this client attached, then stops the worker.
    ~UsbSubsystem();
    UsbSubsystem(const UsbSubsystem&) = delete;
    UsbSubsystem& operator=(const UsbSubsystem&) = delete;

    // The key: attach all when none of ours is in the VM, else give them back.
    // Returns at once; the worker does the QMP work.
    void toggle();
    // Notices (lines for the window) produced since the last call, oldest first.
    std::vector<std::vector<std::string>> take_notices();

  private:
    UsbSubsystem(std::string socket, std::vector<porthole::qmp::UsbSelector> devices,
                 qmp::QmpClient* input_qmp);
    // The shared input connection, or a session of its own in `own`.
    Result<porthole::qmp::Channel*> channel(std::optional<porthole::qmp::Session>& own);
    void work(std::stop_token stop);
    void attach_all();
    void give_back(bool exiting);
    void notice(std::vector<std::string> lines);

    const std::string socket_;
    const std::vector<porthole::qmp::UsbSelector> devices_;
    std::unique_ptr<qmp::SharedChannel> shared_;  // over the input connection, if any

    std::mutex mutex_;  // guards pending_ and notices_
    std::condition_variable_any wake_;
    int pending_ = 0;  // key presses not yet handled
    std::vector<std::vector<std::string>> notices_;

    // The worker's alone.
    std::vector<porthole::qmp::UsbSelector> attached_;   // ours, in the VM
    std::vector<porthole::qmp::UsbSelector> uncertain_;  // device_add sent, the answer lost

    std::jthread worker_;  // last: started once everything above exists
};

}  // namespace porthole::client
