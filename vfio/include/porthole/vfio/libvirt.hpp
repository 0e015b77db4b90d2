#pragma once
// libvirt: the qemu hook dispatcher with ready hooks, and domain XML snippets.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "porthole/vfio/system.hpp"

namespace porthole::vfio {

// Bytes of the shared region for a resolution: header and rings plus frame slots,
// rounded up to a power-of-two MiB as IVSHMEM requires.
[[nodiscard]] uint64_t region_size_bytes(uint32_t width, uint32_t height);

// Where porthole-ivshmem-server listens unless told otherwise (its --socket default).
inline constexpr const char* kDefaultDoorbellSocket = "/run/porthole/ivshmem.sock";

// A socket path for <server path='...'/> and the server's unit: absolute, at most 107
// bytes (a UNIX socket's limit), UTF-8, no control characters (newline), quotes or
// backslashes (it goes into XML and a systemd unit line).
[[nodiscard]] Status validate_doorbell_socket(std::string_view path);

struct SnippetOptions {
    uint32_t width = 1920;
    uint32_t height = 1080;
    std::string page_size = "1G";          // memoryBacking page size: 2M or 1G (the CLI
                                           // passes the host's default_page_kib)
    std::string vendor_id = "porthole00";  // hyperv vendor_id: at most 12 characters
    int vcpus = 8;                         // virtio-net queues and iothreads follow it
    int iothreads = 1;
    uint32_t pipewire_uid = 1000;  // whose PipeWire runtime dir the audio backend uses
    // Empty: an ivshmem-plain region QEMU maps from /dev/shm. Else ivshmem-doorbell: the
    // region and the doorbell come from porthole-ivshmem-server on this socket.
    std::string doorbell_socket = {};
};

struct Snippet {
    std::string name;  // "memoryBacking", "features", ...
    std::string purpose;
    std::string xml;
};

[[nodiscard]] Result<std::vector<Snippet>> libvirt_snippets(const SnippetOptions& options);

struct HookOptions {
    std::string vm = {};
    std::vector<std::string> bdfs = {};  // bound on prepare, restored on release
    std::string hugepages = {};          // e.g. "16G"; empty: no hugepage hook
    std::string hugepage_size = {};      // "2M" or "1G"; install_hooks fills in the host's default
    int isolate_vcpus = 0;               // >0: isolate the host from this many vCPUs while running
    int host_cores = 1;
    std::string program = {};  // absolute path of porthole-vfio
    bool force = false;        // replace hook files porthole-vfio did not write (backed up)
};

// The line that marks a hook file as porthole-vfio's own.
inline constexpr const char* kHookMarker =
    "# Managed by porthole-vfio: `porthole-vfio libvirt hooks` replaces this file.";

// A libvirt domain name as libvirt accepts it, and safe as a directory name: not empty,
// at most 251 bytes (its XML file name must fit), no '/', no control characters, not
// "." or "..".
[[nodiscard]] Status validate_vm_name(std::string_view name);

struct HookProgram {
    std::string path;
    std::vector<std::string> warnings;
};
// The porthole-vfio the hooks call: `explicit_path` when given (absolute), else the
// running binary (`self`, /proc/self/exe resolved). Warns when it lives in a build tree
// (a CMakeCache.txt above it) or does not exist under the system's root.
[[nodiscard]] Result<HookProgram> hook_program(const System& sys, const std::string& explicit_path,
                                               const std::string& self);

// The dispatcher at /etc/libvirt/hooks/qemu, running qemu.d/<vm>/<phase>/<sub>/* in order.
[[nodiscard]] std::string hook_dispatcher_script();

struct HookFile {
    std::string path;  // logical
    std::string content;
};

// Every file the install writes (dispatcher first); every word in them shell-quoted.
[[nodiscard]] Result<std::vector<HookFile>> hook_files(const HookOptions& options);
// Writes them (mode 0755, atomically, a replaced file kept as a backup). Refuses, before
// writing anything, to replace a file without kHookMarker unless options.force.
[[nodiscard]] Result<std::vector<HookFile>> install_hooks(System& sys, HookOptions options);

}  // namespace porthole::vfio
