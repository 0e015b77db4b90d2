// The host's side of the region: a file QEMU shares (or a kvmfr-like
// device). What a client started before its VM may wait for, and what it
// must report as a mistake to fix.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "porthole/ivshmem/mapping.hpp"
#include "temp_dir.hpp"

namespace porthole::test {
namespace {

constexpr std::size_t kMiB = std::size_t{1} << 20;

TEST(HostRegion, MissingFileIsNotThereYetAndSaysWhoCreatesIt) {
    ScratchDir dir;
    auto r = ivshmem::open_host_region(dir.file("porthole"), 4096);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ENOENT);
    EXPECT_TRUE(ivshmem::region_not_there_yet(r.error()));
    EXPECT_NE(r.error().message.find(dir.file("porthole")), std::string::npos);
    EXPECT_NE(r.error().message.find("memory-backend-file"), std::string::npos)
        << r.error().message;
}

TEST(HostRegion, FileInAMissingDirectoryWillNeverAppear) {
    ScratchDir dir;
    auto r = ivshmem::open_host_region(dir.file("nowhere/porthole"), 4096);
    ASSERT_FALSE(r);
    EXPECT_FALSE(ivshmem::region_not_there_yet(r.error()));
    EXPECT_NE(r.error().message.find(dir.file("nowhere") + " does not exist"), std::string::npos)
        << r.error().message;
}

TEST(HostRegion, EmptyFileIsNotThereYet) {
    // QEMU creates the file, then sizes it: a reader can see it empty.
    ScratchDir dir;
    const auto path = dir.write("porthole", 0);
    auto r = ivshmem::open_host_region(path, 4096);
    ASSERT_FALSE(r);
    EXPECT_TRUE(ivshmem::region_not_there_yet(r.error()));
    EXPECT_NE(r.error().message.find("empty"), std::string::npos) << r.error().message;
}

TEST(HostRegion, TooSmallFileSaysHowMuchIsNeededAndIsNoWait) {
    ScratchDir dir;
    const auto path = dir.write("porthole", 2 * kMiB);
    auto r = ivshmem::open_host_region(path, 32 * kMiB);
    ASSERT_FALSE(r);
    EXPECT_FALSE(ivshmem::region_not_there_yet(r.error()));
    EXPECT_NE(r.error().message.find("2 MiB"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("32 MiB"), std::string::npos) << r.error().message;
}

// Opens `path` as an unprivileged user: root opens anything, so when the
// test runs as root a child process drops to nobody first.
Error open_as_unprivileged(const std::string& path) {
    if (::geteuid() != 0) {
        auto r = ivshmem::open_host_region(path, 4096);
        return r ? Error{"opened", 0} : r.error();
    }
    int fds[2];
    if (::pipe(fds) != 0) return Error{"pipe failed", -1};
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::close(fds[0]);
        if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(100);
        auto r = ivshmem::open_host_region(path, 4096);
        const std::string msg = r ? "opened" : r.error().message;
        [[maybe_unused]] auto n = ::write(fds[1], msg.data(), msg.size());
        ::_exit(r ? 0 : r.error().code);
    }
    ::close(fds[1]);
    std::string msg;
    char buf[512];
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;)
        msg.append(buf, static_cast<std::size_t>(n));
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return Error{msg, WIFEXITED(status) ? WEXITSTATUS(status) : -1};
}

TEST(HostRegion, UnreadableFileNamesOwnerGroupAndMode) {
    ScratchDir dir;
    std::filesystem::permissions(
        dir.file(""), std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
                          std::filesystem::perms::group_exec | std::filesystem::perms::others_read |
                          std::filesystem::perms::others_exec);
    const auto path = dir.write("porthole", kMiB);
    std::filesystem::permissions(
        path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    const Error e = open_as_unprivileged(path);
    ASSERT_NE(e.code, 100) << "could not drop to user nobody";
    EXPECT_EQ(e.code, EACCES) << e.message;
    EXPECT_FALSE(ivshmem::region_not_there_yet(e));
    EXPECT_NE(e.message.find("mode 0600"), std::string::npos) << e.message;
    // The fix for a region file is the tmpfiles.d rule porthole-vfio writes, never udev.
    EXPECT_NE(e.message.find("sudo porthole-vfio region --user $USER --path " + path),
              std::string::npos)
        << e.message;
    EXPECT_EQ(e.message.find("udev"), std::string::npos) << e.message;
}

TEST(HostRegion, DirectoryIsNeitherFileNorDevice) {
    ScratchDir dir;
    std::filesystem::create_directories(dir.file("d"));
    auto r = ivshmem::open_host_region(dir.file("d"), 4096);
    ASSERT_FALSE(r);
    EXPECT_FALSE(ivshmem::region_not_there_yet(r.error()));
}

TEST(HostRegion, TwoMappingsOfTheFileShareTheirBytes) {
    // As QEMU and the client do: a write through one is read through the other.
    ScratchDir dir;
    const auto path = dir.write("porthole", 4 * kMiB);
    auto a = ivshmem::open_host_region(path, 4096);
    auto b = ivshmem::open_host_region(path, 4096);
    ASSERT_TRUE(a && b);
    ASSERT_EQ(a->bytes().size(), 4 * kMiB);
    std::memcpy(a->bytes().data() + 12345, "porthole", 8);
    EXPECT_EQ(std::memcmp(b->bytes().data() + 12345, "porthole", 8), 0);
    EXPECT_NE(a->description().find("4 MiB"), std::string::npos) << a->description();
}

TEST(HostRegion, CreateRegionFileGrowsButNeverShrinks) {
    ScratchDir dir;
    const auto path = dir.file("porthole");
    {
        auto m = ivshmem::create_region_file(path, 2 * kMiB);
        ASSERT_TRUE(m) << m.error().message;
        EXPECT_EQ(m->bytes().size(), 2 * kMiB);
    }
    EXPECT_EQ(std::filesystem::file_size(path), 2 * kMiB);
    {
        auto m = ivshmem::create_region_file(path, kMiB);  // a larger file is kept whole
        ASSERT_TRUE(m);
        EXPECT_EQ(m->bytes().size(), 2 * kMiB);
    }
    EXPECT_EQ(std::filesystem::file_size(path), 2 * kMiB);
}

}  // namespace
}  // namespace porthole::test
