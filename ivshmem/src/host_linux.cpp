// Host side and /dev/shm test regions on Linux.
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "porthole/ivshmem/mapping.hpp"
#include "porthole/util/unique_fd.hpp"

namespace porthole::ivshmem {
namespace {

// MiB from 1 MiB up, else bytes: a region of a few KiB is not "0 MiB".
std::string mib(std::size_t bytes) {
    constexpr std::size_t kMiB = std::size_t{1024} * 1024;
    return bytes >= kMiB ? std::to_string(bytes / kMiB) + " MiB" : std::to_string(bytes) + " bytes";
}

std::string owner_of(const struct stat& st) {
    const passwd* pw = ::getpwuid(st.st_uid);
    const group* gr = ::getgrgid(st.st_gid);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
    return std::string("owned by ") + (pw ? pw->pw_name : std::to_string(st.st_uid)) + ":" +
           (gr ? gr->gr_name : std::to_string(st.st_gid)) + " mode " + mode;
}

bool parent_exists(const std::string& path) {
    const auto parent = std::filesystem::path(path).parent_path();
    std::error_code ec;
    return parent.empty() || std::filesystem::is_directory(parent, ec);
}

Error access_error(const std::string& path, int err) {
    struct stat st {};
    std::string msg = "cannot open " + path + ": " + std::strerror(err);
    if (err == EACCES && ::stat(path.c_str(), &st) == 0) {
        msg += " (" + owner_of(st) + ").";
        if (!S_ISCHR(st.st_mode)) {
            // QEMU makes the file as its own user, mode 0644, and a udev rule cannot
            // reach /dev/shm: a tmpfiles.d rule makes it first, for QEMU and the user.
            msg +=
                " Give your user read-write access at every boot: `sudo porthole-vfio region "
                "--user $USER" +
                (path == "/dev/shm/porthole" ? std::string() : " --path " + path) +
                "` (a tmpfiles.d rule: you as owner, QEMU's group, mode 0660)";
        } else {
            const group* gr = ::getgrgid(st.st_gid);
            msg +=
                " Give your user read-write access with a udev rule for the device, e.g. "
                "SUBSYSTEM==\"kvmfr\", OWNER=\"$USER\", GROUP=\"kvm\", MODE=\"0660\" (its group "
                "now is '" +
                (gr ? std::string(gr->gr_name) : std::to_string(st.st_gid)) + "')";
        }
    } else if (err == ENOENT && !parent_exists(path)) {
        // QEMU creates the file, never its directory: this will not fix itself.
        return Error::make("cannot open " + path + ": directory " +
                               std::filesystem::path(path).parent_path().string() +
                               " does not exist; pass --shm with the right path",
                           ENOTDIR);
    } else if (err == ENOENT) {
        msg +=
            ". Start the VM first (QEMU creates it with -object memory-backend-file,"
            "mem-path=" +
            path + ",share=on), or pass --shm with the right path";
    }
    return Error::make(msg, err);
}

Result<Mapping> map_fd(int fd, std::size_t size, std::string description) {
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        const int err = errno;
        return Error::make("cannot map " + description + ": " + std::strerror(err), err);
    }
    return Mapping(p, size, std::move(description));
}

}  // namespace

Result<Mapping> open_host_region(const std::string& path, std::size_t min_size) {
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    if (!fd) return access_error(path, errno);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return Error::make("cannot stat " + path, errno);
    std::size_t size = 0;
    if (S_ISREG(st.st_mode)) {
        size = static_cast<std::size_t>(st.st_size);
    } else if (S_ISCHR(st.st_mode)) {
        // kvmfr and similar devices report their size through lseek.
        const off_t end = ::lseek(fd.get(), 0, SEEK_END);
        if (end <= 0) return Error::make("cannot tell the size of device " + path, errno);
        size = static_cast<std::size_t>(end);
    } else {
        return Error::make(path + " is neither a regular file nor a character device");
    }
    if (size == 0) {
        return Error::make(path + " is empty: is the VM running with it as its IVSHMEM backend?",
                           ENODATA);
    }
    if (size < min_size) {
        return Error::make(
            path + " holds " + mib(size) + " but at least " + mib(min_size) +
            " are needed; enlarge the VM's IVSHMEM size (`porthole-vfio libvirt snippets "
            "--width W --height H` prints a sized <shmem> element)");
    }
    return map_fd(fd.get(), size, path + " (" + mib(size) + ")");
}

Result<Mapping> create_region_file(const std::string& path, std::size_t size) {
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0660));
    if (!fd) return access_error(path, errno);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return Error::make("cannot stat " + path, errno);
    if (S_ISREG(st.st_mode) && static_cast<std::size_t>(st.st_size) < size &&
        ::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) {
        const int err = errno;
        return Error::make("cannot size " + path + " to " + mib(size) + ": " + std::strerror(err),
                           err);
    }
    if (S_ISREG(st.st_mode) && static_cast<std::size_t>(st.st_size) > size) {
        size = static_cast<std::size_t>(st.st_size);
    }
    return map_fd(fd.get(), size, path + " (" + mib(size) + ")");
}

}  // namespace porthole::ivshmem
