// The boot configuration read as the shell reads it and edited in place: every
// edited GRUB file is sourced by the real `sh`, which must give the old value plus
// the flags, and every byte outside the edit must stay.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "porthole/vfio/boot_config.hpp"
#include "porthole/vfio/shell.hpp"
#include "support/command_output.hpp"

namespace porthole::vfio {
namespace {

namespace fs = std::filesystem;

// A scratch root with /etc/default/grub (and grub.d files) for a System to read.
class ScratchRoot {
  public:
    ScratchRoot() {
        std::random_device rd;
        dir_ = fs::temp_directory_path() / ("porthole-boot-" + std::to_string(rd()));
        fs::create_directories(dir_ / "root/etc/default");
    }
    ~ScratchRoot() {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    void write(const std::string& logical, const std::string& text) const {
        fs::create_directories((dir_ / "root" / logical.substr(1)).parent_path());
        std::ofstream(dir_ / "root" / logical.substr(1), std::ios::binary | std::ios::trunc)
            << text;
    }
    [[nodiscard]] fs::path path(const std::string& logical) const {
        return dir_ / "root" / logical.substr(1);
    }
    [[nodiscard]] System system() const {
        return System({dir_ / "sys", dir_ / "proc", dir_ / "root"},
                      std::make_unique<DryRunBackend>());
    }

  private:
    fs::path dir_;
};

// What `sh` says the variable holds after sourcing `files` in order.
std::string sourced(const std::vector<fs::path>& files, const std::string& name) {
    std::string script;
    for (const auto& f : files)
        script += ". '" + f.string() + "'; ";
    script += "printf '[%s]' \"$" + name + "\"";
    return porthole::test::command_output("sh -c " + shell_quote(script));
}

struct GrubCase {
    std::string label;
    std::string input;
    std::string output;  // the whole file after adding the flags
};

const std::vector<std::string> kFlags = {"intel_iommu=on", "iommu=pt"};

std::vector<GrubCase> grub_cases() {
    return {
        {"debian_default",
         "# If you change this file, run 'update-grub' afterwards\n\nGRUB_DEFAULT=0\n"
         "GRUB_DISTRIBUTOR=`lsb_release -i -s 2> /dev/null || echo Debian`\n"
         "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\nGRUB_CMDLINE_LINUX=\"\"\n\n"
         "# Uncomment to disable graphical terminal (grub-pc only)\n#GRUB_TERMINAL=console\n",
         "# If you change this file, run 'update-grub' afterwards\n\nGRUB_DEFAULT=0\n"
         "GRUB_DISTRIBUTOR=`lsb_release -i -s 2> /dev/null || echo Debian`\n"
         "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet intel_iommu=on iommu=pt\"\nGRUB_CMDLINE_LINUX=\"\"\n\n"
         "# Uncomment to disable graphical terminal (grub-pc only)\n#GRUB_TERMINAL=console\n"},
        {"later_override_wins",
         "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet splash\"\nGRUB_TIMEOUT=5\n"
         "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet nvidia-drm.modeset=1\"\n",
         "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet splash\"\nGRUB_TIMEOUT=5\n"
         "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet nvidia-drm.modeset=1 intel_iommu=on iommu=pt\"\n"},
        {"single_quotes_holding_double_quotes",
         "GRUB_CMDLINE_LINUX_DEFAULT='quiet acpi_osi=\"Windows 2015\"'\n",
         "GRUB_CMDLINE_LINUX_DEFAULT='quiet acpi_osi=\"Windows 2015\" intel_iommu=on iommu=pt'\n"},
        {"trailing_comment", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\" # see the wiki\n",
         "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet intel_iommu=on iommu=pt\" # see the wiki\n"},
        {"export_and_indentation",
         "if_unrelated=1\n  export GRUB_CMDLINE_LINUX_DEFAULT=\"nvidia-drm.modeset=1 quiet\"\n",
         "if_unrelated=1\n  export GRUB_CMDLINE_LINUX_DEFAULT=\"nvidia-drm.modeset=1 quiet "
         "intel_iommu=on iommu=pt\"\n"},
        {"commented_out_flags_do_not_count",
         "#GRUB_CMDLINE_LINUX_DEFAULT=\"quiet intel_iommu=on iommu=pt\"\n"
         "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n",
         "#GRUB_CMDLINE_LINUX_DEFAULT=\"quiet intel_iommu=on iommu=pt\"\n"
         "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet intel_iommu=on iommu=pt\"\n"},
        {"blank_lines_kept", "\n\nGRUB_DEFAULT=0\n\n\nGRUB_CMDLINE_LINUX_DEFAULT=\"\"\n\n",
         "\n\nGRUB_DEFAULT=0\n\n\nGRUB_CMDLINE_LINUX_DEFAULT=\"intel_iommu=on iommu=pt\"\n\n"},
        {"line_continuation_inside_quotes", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet \\\nsplash\"\n",
         "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet \\\nsplash intel_iommu=on iommu=pt\"\n"},
        {"line_continuation_between_words",
         "GRUB_TIMEOUT=5 \\\n  GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n",
         "GRUB_TIMEOUT=5 \\\n  GRUB_CMDLINE_LINUX_DEFAULT=\"quiet intel_iommu=on iommu=pt\"\n"},
        {"unquoted_word", "GRUB_CMDLINE_LINUX_DEFAULT=quiet\n",
         "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet intel_iommu=on iommu=pt\"\n"},
        {"empty_unquoted", "GRUB_CMDLINE_LINUX_DEFAULT=\nGRUB_TIMEOUT=5\n",
         "GRUB_CMDLINE_LINUX_DEFAULT=\"intel_iommu=on iommu=pt\"\nGRUB_TIMEOUT=5\n"},
        {"unquoted_with_escaped_blank", "GRUB_CMDLINE_LINUX_DEFAULT=quiet\\ splash\n",
         "GRUB_CMDLINE_LINUX_DEFAULT=quiet\\ splash\" intel_iommu=on iommu=pt\"\n"},
        {"appends_to_itself",
         "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n"
         "GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT splash\"\n",
         "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n"
         "GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT splash intel_iommu=on "
         "iommu=pt\"\n"},
        {"no_assignment_and_no_final_newline", "GRUB_CMDLINE_LINUX=\"crashkernel=auto rhgb\"",
         "GRUB_CMDLINE_LINUX=\"crashkernel=auto rhgb\"\n"
         "GRUB_CMDLINE_LINUX_DEFAULT=\"intel_iommu=on iommu=pt\"\n"},
        {"several_assignments_on_one_line",
         "GRUB_TIMEOUT=5 GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\" GRUB_DEFAULT=0\n",
         "GRUB_TIMEOUT=5 GRUB_CMDLINE_LINUX_DEFAULT=\"quiet intel_iommu=on iommu=pt\" "
         "GRUB_DEFAULT=0\n"},
        {"semicolon_separated", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"; GRUB_TIMEOUT=1\n",
         "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet intel_iommu=on iommu=pt\"; GRUB_TIMEOUT=1\n"},
        {"escapes_inside_double_quotes", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet \\\"x\\\" \\$y\"\n",
         "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet \\\"x\\\" \\$y intel_iommu=on iommu=pt\"\n"},
        {"mixed_quote_segments", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"' splash'\n",
         "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"' splash intel_iommu=on iommu=pt'\n"},
        {"tabs_and_a_hash_inside_a_word",
         "\tGRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\t# tab then comment\nGRUB_X=a#b\n",
         "\tGRUB_CMDLINE_LINUX_DEFAULT=\"quiet intel_iommu=on iommu=pt\"\t# tab then comment\n"
         "GRUB_X=a#b\n"},
    };
}

class GrubEdit : public ::testing::TestWithParam<GrubCase> {};

TEST_P(GrubEdit, AddsFlagsToTheEffectiveAssignmentAndTheShellAgrees) {
    const GrubCase& c = GetParam();
    ScratchRoot root;
    root.write(kGrubDefault, c.input);
    System sys = root.system();
    auto grub = read_grub_defaults(sys);
    ASSERT_TRUE(grub) << grub.error().message;
    // The scanner reads the value the shell reads.
    const std::string before = sourced({root.path(kGrubDefault)}, kGrubCmdlineDefault);
    auto it = grub->env.find(kGrubCmdlineDefault);
    std::string parsed = it == grub->env.end() ? "" : it->second.value_or("<unknown>");
    EXPECT_EQ("[" + parsed + "]", before);

    auto edited = grub_add_flags(*grub, kFlags);
    ASSERT_TRUE(edited) << edited.error().message;
    EXPECT_EQ(edited->path, kGrubDefault);
    EXPECT_EQ(edited->text, c.output);  // every other byte kept

    root.write(kGrubDefault, edited->text);
    std::string old = before.substr(1, before.size() - 2);
    std::string sep = old.empty() || old.back() == ' ' ? "" : " ";
    EXPECT_EQ(sourced({root.path(kGrubDefault)}, kGrubCmdlineDefault),
              "[" + old + sep + "intel_iommu=on iommu=pt]");
}

INSTANTIATE_TEST_SUITE_P(Shapes, GrubEdit, ::testing::ValuesIn(grub_cases()),
                         [](const auto& param_info) { return param_info.param.label; });

TEST(GrubDefaults, CommentedOutFlagsAreNotPresent) {
    ScratchRoot root;
    root.write(kGrubDefault,
               "#GRUB_CMDLINE_LINUX_DEFAULT=\"intel_iommu=on\"\n"
               "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet # not a comment inside quotes\"\n");
    System sys = root.system();
    auto grub = read_grub_defaults(sys);
    ASSERT_TRUE(grub);
    auto words = grub_kernel_words(*grub);
    ASSERT_TRUE(words);
    EXPECT_FALSE(kernel_flag_present(*words, "intel_iommu=on"));
    EXPECT_TRUE(kernel_flag_present(*words, "quiet"));
}

TEST(GrubDefaults, DropInFilesAreReadAfterTheMainFileAndTheLastAssignmentIsEdited) {
    ScratchRoot root;
    root.write(kGrubDefault, "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\nGRUB_CMDLINE_LINUX=\"\"\n");
    root.write("/etc/default/grub.d/50-cloud.cfg",
               "GRUB_CMDLINE_LINUX_DEFAULT=\"console=ttyS0\"\n");
    root.write("/etc/default/grub.d/60-more.cfg",
               "GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT nomodeset\"\n");
    root.write("/etc/default/grub.d/README", "GRUB_CMDLINE_LINUX_DEFAULT=\"ignored\"\n");
    System sys = root.system();
    auto grub = read_grub_defaults(sys);
    ASSERT_TRUE(grub) << grub.error().message;
    ASSERT_EQ(grub->files.size(), 3u);  // README is not a .cfg
    auto words = grub_kernel_words(*grub);
    ASSERT_TRUE(words);
    EXPECT_EQ(*words, (std::vector<std::string>{"console=ttyS0", "nomodeset"}));
    auto edited = grub_add_flags(*grub, {"iommu=pt"});
    ASSERT_TRUE(edited) << edited.error().message;
    EXPECT_EQ(edited->path, "/etc/default/grub.d/60-more.cfg");
    root.write(edited->path, edited->text);
    EXPECT_EQ(sourced({root.path(kGrubDefault), root.path("/etc/default/grub.d/50-cloud.cfg"),
                       root.path("/etc/default/grub.d/60-more.cfg")},
                      kGrubCmdlineDefault),
              "[console=ttyS0 nomodeset iommu=pt]");
}

struct Refusal {
    std::string label;
    std::string input;
    std::string says;
};

class GrubRefusal : public ::testing::TestWithParam<Refusal> {};

TEST_P(GrubRefusal, WhatCannotBeToldWithoutRunningItIsLeftToTheUser) {
    ScratchRoot root;
    root.write(kGrubDefault, GetParam().input);
    System sys = root.system();
    auto grub = read_grub_defaults(sys);
    std::string message;
    if (!grub) {
        message = grub.error().message;
    } else {
        auto edited = grub_add_flags(*grub, kFlags);
        ASSERT_FALSE(edited) << edited->text;
        message = edited.error().message;
    }
    EXPECT_NE(message.find(GetParam().says), std::string::npos) << message;
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, GrubRefusal,
    ::testing::Values(Refusal{"command_substitution",
                              "GRUB_CMDLINE_LINUX_DEFAULT=\"$(cat /etc/cmdline)\"\n", "by hand"},
                      Refusal{"inside_a_condition",
                              "if [ -e /x ]; then\n  GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\nfi\n",
                              "by hand"},
                      Refusal{"sources_another_file",
                              ". /etc/default/grub.local\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n",
                              "by hand"},
                      Refusal{"unterminated_quote", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\n",
                              "unterminated double quote"},
                      Refusal{"another_line_depends_on_it",
                              "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n"
                              "GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX_DEFAULT\"\n",
                              "depends on it"}),
    [](const auto& param_info) { return param_info.param.label; });

TEST(GrubDefaults, AnUnreadableDropInStopsEverything) {
    ScratchRoot root;
    root.write(kGrubDefault, "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n");
    fs::create_directories(root.path("/etc/default/grub.d/40-broken.cfg"));  // EISDIR on read
    System sys = root.system();
    auto grub = read_grub_defaults(sys);
    ASSERT_FALSE(grub);
    EXPECT_NE(grub.error().message.find("/etc/default/grub.d/40-broken.cfg"), std::string::npos);
    EXPECT_NE(grub.error().message.find("Is a directory"), std::string::npos);
}

TEST(KernelCmdline, WordsKeepQuotedValuesTogether) {
    EXPECT_EQ(kernel_cmdline_words("root=UUID=1 acpi_osi=\"Windows 2015\"  quiet\n"),
              (std::vector<std::string>{"root=UUID=1", "acpi_osi=\"Windows 2015\"", "quiet"}));
}

TEST(KernelCmdline, FlagPresenceComparesParametersNotStrings) {
    std::vector<std::string> w = {"intel_iommu=on,igfx_off", "vfio_pci.ids=10de:10f0,10de:1b80",
                                  "iommu=soft"};
    EXPECT_TRUE(kernel_flag_present(w, "intel_iommu=on"));
    EXPECT_TRUE(kernel_flag_present(w, "vfio-pci.ids=10de:1b80,10de:10f0"));
    EXPECT_FALSE(kernel_flag_present(w, "iommu=pt"));
    EXPECT_EQ(kernel_flag_conflicts(w, "iommu=pt"), std::vector<std::string>{"iommu=soft"});
    EXPECT_TRUE(kernel_flag_conflicts(w, "video=efifb:off").empty());
}

TEST(KernelCmdline, FlagsGoAfterTheLastWordAndEverythingElseStays) {
    EXPECT_EQ(append_to_cmdline_text("root=UUID=1 rw\n", {"iommu=pt"}),
              "root=UUID=1 rw iommu=pt\n");
    EXPECT_EQ(append_to_cmdline_text("root=UUID=1 rw  \n\n", {"a", "b"}),
              "root=UUID=1 rw a b  \n\n");
    EXPECT_EQ(append_to_cmdline_text("root=UUID=1 rw", {"iommu=pt"}), "root=UUID=1 rw iommu=pt");
    EXPECT_EQ(append_to_cmdline_text("root=UUID=1\nrw quiet\n", {"iommu=pt"}),
              "root=UUID=1\nrw quiet iommu=pt\n");
}

TEST(LoaderEntries, FlagsGoOnTheLastOptionsLine) {
    const std::string entry =
        "title Arch\n# options commented\nlinux /vmlinuz-linux\noptions root=PARTUUID=1 rw\n"
        "options quiet\ninitrd /initramfs-linux.img\n";
    EXPECT_TRUE(loader_entry_is_linux(entry));
    EXPECT_EQ(loader_entry_words(entry),
              (std::vector<std::string>{"root=PARTUUID=1", "rw", "quiet"}));
    EXPECT_EQ(loader_entry_add_flags(entry, {"iommu=pt"}),
              "title Arch\n# options commented\nlinux /vmlinuz-linux\noptions root=PARTUUID=1 rw\n"
              "options quiet iommu=pt\ninitrd /initramfs-linux.img\n");
    EXPECT_EQ(loader_entry_add_flags("title X\nlinux /v", {"a"}), "title X\nlinux /v\noptions a\n");
    EXPECT_FALSE(loader_entry_is_linux("title Windows\nefi /EFI/Microsoft/Boot/bootmgfw.efi\n"));
}

TEST(ShellQuote, TheShellReadsBackExactlyTheWord) {
    for (const std::string word :
         {"plain", "with space", "it's", "$HOME", "`id`", "a\"b", "new\nline", "-n", "", "*"}) {
        EXPECT_EQ(porthole::test::command_output("sh -c " +
                                                 shell_quote("printf '[%s]' " + shell_quote(word))),
                  "[" + word + "]")
            << word;
    }
}

}  // namespace
}  // namespace porthole::vfio
