#include <string>

#include "input/injector.hpp"
#include "input/none.hpp"
#ifdef _WIN32
#include "input/sendinput.hpp"
#else
#include "input/uinput.hpp"
#endif

namespace porthole::agent {

Result<std::unique_ptr<InputInjector>> make_injector(std::string_view kind) {
    if (kind == "none") return std::unique_ptr<InputInjector>(std::make_unique<NullInjector>());
#ifdef _WIN32
    if (kind == "sendinput")
        return std::unique_ptr<InputInjector>(std::make_unique<win::SendInputInjector>());
    const char* offered = "sendinput, none";
#else
    if (kind == "uinput") {
        auto pointer = open_uinput();
        if (!pointer) return pointer.error();
        auto tablet = open_uinput();
        if (!tablet) return tablet.error();
        auto inj = UinputInjector::create(std::move(*pointer), std::move(*tablet),
                                          [] { return open_uinput(); });
        if (!inj) return inj.error();
        return std::unique_ptr<InputInjector>(std::move(*inj));
    }
    const char* offered = "uinput, none";
#endif
    return Error::make("unknown input injector '" + std::string(kind) + "': this build offers " +
                       offered);
}

}  // namespace porthole::agent
