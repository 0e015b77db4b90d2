; porthole-agent's Windows installer (NSIS, built by makensis on Linux):
; installs porthole-agent.exe into Program Files, lets services send
; Ctrl+Alt+Del (SoftwareSASGeneration), registers and starts the service
; (porthole-agent install), checks for the IVSHMEM driver and says where to
; get it, and adds an uninstaller. /S installs silently.
; makensis -DVERSION=X.Y.Z -DAGENT_EXE=path -DOUTFILE=path porthole-agent.nsi
; A 64-bit installer: the agent is 64-bit only, and Wine's wine64 (CI) runs no 32-bit code.
Target amd64-unicode
ManifestDPIAware true
!include "MUI2.nsh"
!include "LogicLib.nsh"
!include "x64.nsh"

!ifndef VERSION | AGENT_EXE | OUTFILE
  !error "give -DVERSION=X.Y.Z -DAGENT_EXE=path -DOUTFILE=path"
!endif

!define UNINST_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\PortholeAgent"
!define SAS_KEY "SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System"
!define OUR_KEY "SOFTWARE\Porthole"
!define VIRTIO_WIN "https://fedorapeople.org/groups/virt/virtio-win/direct-downloads/stable-virtio/"

Name "Porthole agent ${VERSION}"
OutFile "${OUTFILE}"
InstallDir "$PROGRAMFILES64\Porthole"
RequestExecutionLevel admin
SetCompressor /SOLID lzma
ShowInstDetails show
ShowUninstDetails show

VIProductVersion "${VERSION}.0"
VIFileVersion "${VERSION}.0"
VIAddVersionKey /LANG=1033 "ProductName" "Porthole agent"
VIAddVersionKey /LANG=1033 "ProductVersion" "${VERSION}"
VIAddVersionKey /LANG=1033 "FileVersion" "${VERSION}"
VIAddVersionKey /LANG=1033 "FileDescription" "Porthole agent setup"
VIAddVersionKey /LANG=1033 "CompanyName" "Porthole"
VIAddVersionKey /LANG=1033 "LegalCopyright" "the Porthole authors"

!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "English"

Function .onInit
  ${IfNot} ${RunningX64}
    MessageBox MB_ICONSTOP "The Porthole agent needs 64-bit Windows." /SD IDOK
    Abort
  ${EndIf}
  SetRegView 64
FunctionEnd

Section "Porthole agent"
  SetRegView 64
  ; An earlier agent's service stops and goes before its program is replaced.
  ${If} ${FileExists} "$INSTDIR\porthole-agent.exe"
    DetailPrint "Removing the earlier agent's service"
    ExecWait '"$INSTDIR\porthole-agent.exe" uninstall'
  ${EndIf}

  SetOutPath "$INSTDIR"
  File "/oname=porthole-agent.exe" "${AGENT_EXE}"
  WriteUninstaller "$INSTDIR\uninstall.exe"

  ; Ctrl+Alt+Del from the host: Windows lets a service send it only with this
  ; policy (1: services). The uninstaller removes it only if we added it.
  ClearErrors
  ReadRegDWORD $0 HKLM "${SAS_KEY}" "SoftwareSASGeneration"
  ${If} ${Errors}
    WriteRegDWORD HKLM "${OUR_KEY}" "SoftwareSASGenerationAdded" 1
  ${EndIf}
  WriteRegDWORD HKLM "${SAS_KEY}" "SoftwareSASGeneration" 1

  ; The IVSHMEM driver is Red Hat's (virtio-win), not ours to ship: say where it is.
  ClearErrors
  ReadRegStr $1 HKLM "SYSTEM\CurrentControlSet\Services\IVSHMEM" "ImagePath"
  ${If} ${Errors}
    WriteRegDWORD HKLM "${OUR_KEY}" "IvshmemDriverFound" 0
    DetailPrint "The IVSHMEM driver is not installed: the agent waits for it."
    MessageBox MB_ICONINFORMATION|MB_OK "The IVSHMEM driver is not installed. The agent is \
      installed and waits for it.$\r$\n$\r$\nGet virtio-win from ${VIRTIO_WIN}, then in \
      Device Manager open $\"PCI standard RAM Controller$\", choose Update driver and point it \
      at the virtio-win folder (Win10 or Win11, amd64, ivshmem)." /SD IDOK
  ${Else}
    WriteRegDWORD HKLM "${OUR_KEY}" "IvshmemDriverFound" 1
    DetailPrint "IVSHMEM driver found: $1"
  ${EndIf}

  DetailPrint "Registering and starting the service PortholeAgent"
  ExecWait '"$INSTDIR\porthole-agent.exe" install' $0
  ${If} $0 != 0
    MessageBox MB_ICONSTOP "Registering the service failed (porthole-agent install exited \
      with $0). See $INSTDIR\porthole-agent-service.log." /SD IDOK
    SetErrorLevel 3
  ${EndIf}

  WriteRegStr HKLM "${OUR_KEY}" "InstallDir" "$INSTDIR"
  WriteRegStr HKLM "${OUR_KEY}" "Version" "${VERSION}"
  WriteRegStr HKLM "${UNINST_KEY}" "DisplayName" "Porthole agent"
  WriteRegStr HKLM "${UNINST_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKLM "${UNINST_KEY}" "Publisher" "Porthole"
  WriteRegStr HKLM "${UNINST_KEY}" "DisplayIcon" "$INSTDIR\porthole-agent.exe"
  WriteRegStr HKLM "${UNINST_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKLM "${UNINST_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKLM "${UNINST_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKLM "${UNINST_KEY}" "NoModify" 1
  WriteRegDWORD HKLM "${UNINST_KEY}" "NoRepair" 1
SectionEnd

Function un.onInit
  SetRegView 64
FunctionEnd

Section "Uninstall"
  SetRegView 64
  DetailPrint "Stopping and removing the service PortholeAgent"
  ExecWait '"$INSTDIR\porthole-agent.exe" uninstall'
  Delete "$INSTDIR\porthole-agent.exe"
  Delete "$INSTDIR\porthole-agent.log"
  Delete "$INSTDIR\porthole-agent-service.log"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"

  ClearErrors
  ReadRegDWORD $0 HKLM "${OUR_KEY}" "SoftwareSASGenerationAdded"
  ${IfNot} ${Errors}
  ${AndIf} $0 == 1
    DeleteRegValue HKLM "${SAS_KEY}" "SoftwareSASGeneration"
  ${EndIf}
  DeleteRegKey HKLM "${UNINST_KEY}"
  DeleteRegKey HKLM "${OUR_KEY}"
SectionEnd
