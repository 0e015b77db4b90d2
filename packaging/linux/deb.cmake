# The Debian packages, one per component: `cpack -G DEB` in a release build
# gives porthole_VERSION_amd64.deb, porthole-vfio_... and porthole-agent_...,
# their library dependencies computed by dpkg-shlibdeps.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME porthole)
set(CPACK_PACKAGE_VENDOR "Porthole")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "Porthole maintainers <maintainers@porthole.invalid>")
set(CPACK_PACKAGE_HOMEPAGE_URL "https://porthole.invalid/")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_COMPONENTS_ALL porthole porthole-vfio porthole-agent)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_RELEASE "")

set(CPACK_DEBIAN_PORTHOLE_PACKAGE_NAME porthole)
set(CPACK_DEBIAN_PORTHOLE_PACKAGE_SECTION x11)
# Vulkan-Hpp opens libvulkan.so.1 at run time (dlopen): shlibdeps cannot see it.
set(CPACK_DEBIAN_PORTHOLE_PACKAGE_DEPENDS "libvulkan1")
# The Vulkan driver (ICD) is the loader's business, found at run time; the
# overlay's font falls back to a bitmap font without DejaVu.
set(CPACK_DEBIAN_PORTHOLE_PACKAGE_RECOMMENDS "mesa-vulkan-drivers | vulkan-icd, pipewire, fonts-dejavu-core")
set(CPACK_DEBIAN_PORTHOLE_PACKAGE_SUGGESTS "porthole-vfio")
set(CPACK_DEBIAN_PORTHOLE_DESCRIPTION
 "VFIO virtual machine's screen, input and sound in a Linux window
porthole shows the screen of a GPU-passthrough (VFIO) virtual machine in a
window at near-native latency: the guest's agent writes its frames into
shared memory (IVSHMEM) and porthole draws them with Vulkan. Keyboard and
mouse go to the guest with a hotkey to switch (window or evdev capture),
and the guest's sound plays through PipeWire.

The guest runs porthole-agent (Windows installer, or the porthole-agent
package for Linux guests). The porthole-ivshmem-server service (not enabled
by default) serves the region and its doorbell to VMs with an
ivshmem-doorbell device.")

set(CPACK_DEBIAN_PORTHOLE-VFIO_PACKAGE_NAME porthole-vfio)
set(CPACK_DEBIAN_PORTHOLE-VFIO_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PORTHOLE-VFIO_PACKAGE_RECOMMENDS "qemu-system-x86, ovmf")
set(CPACK_DEBIAN_PORTHOLE-VFIO_PACKAGE_SUGGESTS "libvirt-daemon-system, porthole")
set(CPACK_DEBIAN_PORTHOLE-VFIO_DESCRIPTION
 "host preparation for GPU passthrough to virtual machines
porthole-vfio lists IOMMU groups and whether each can be passed to a VM,
binds devices to vfio-pci with rollback (never taking what the host needs),
writes the boot configuration, plans CPU pinning, reserves huge pages,
prints and installs libvirt XML and hooks, sets the shared region's
permissions (tmpfiles.d) and checks everything with `doctor`.")

set(CPACK_DEBIAN_PORTHOLE-AGENT_PACKAGE_NAME porthole-agent)
set(CPACK_DEBIAN_PORTHOLE-AGENT_PACKAGE_SECTION x11)
set(CPACK_DEBIAN_PORTHOLE-AGENT_DESCRIPTION
 "Porthole's guest agent for Linux virtual machines
porthole-agent runs inside the virtual machine: it captures the X11
desktop and cursor into the IVSHMEM shared region that porthole shows on
the host, injects the host's keyboard and mouse with uinput and captures
the guest's sound from PipeWire.")

include(CPack)
