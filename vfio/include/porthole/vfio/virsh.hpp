#pragma once
// virsh, run with its output captured: read a domain's XML, define one.
// The connection is --connect URI when given, else virsh's own choice
// (LIBVIRT_DEFAULT_URI, then qemu:///system for root).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "porthole/util/result.hpp"

namespace porthole::vfio {

struct CommandOutput {
    int status = 0;  // exit status; 127: not found
    std::string out;
    std::string err;
};

// Runs argv (PATH searched) with `input` on its stdin; waits at most `timeout_s`
// seconds, then kills it. An Error only when it could not run at all or timed out.
[[nodiscard]] Result<CommandOutput> run_captured(const std::vector<std::string>& argv,
                                                 std::string_view input = {}, int timeout_s = 60);

class Virsh {
  public:
    explicit Virsh(std::string uri = {}) : uri_(std::move(uri)) {}

    // The domain's persistent (inactive) XML with secrets; nullopt when no such domain.
    [[nodiscard]] Result<std::optional<std::string>> inactive_xml(const std::string& name) const;
    // `virsh define` with the XML on stdin; replaces a definition of the same name.
    [[nodiscard]] Status define(const std::string& xml) const;
    // The command line shown to users ("virsh -c URI").
    [[nodiscard]] std::string describe() const;

  private:
    [[nodiscard]] std::vector<std::string> base() const;
    std::string uri_;
};

}  // namespace porthole::vfio
