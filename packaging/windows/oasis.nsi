; Oasis installer (NSIS 3). Build from the repository root:
;   makensis /DVERSION=0.1.0 packaging\windows\oasis.nsi
Unicode true
!include "MUI2.nsh"
!ifndef VERSION
  !define VERSION "0.1.0"
!endif
!define APPNAME "Oasis"
!define ROOT "..\.."

Name "${APPNAME} ${VERSION}"
OutFile "${ROOT}\target\release\oasis-setup-${VERSION}.exe"
InstallDir "$PROGRAMFILES64\${APPNAME}"
InstallDirRegKey HKLM "Software\${APPNAME}" "InstallDir"
RequestExecutionLevel admin
SetCompressor /SOLID lzma
!define MUI_ICON "${ROOT}\packaging\windows\oasis.ico"
!define MUI_UNICON "${ROOT}\packaging\windows\oasis.ico"

!insertmacro MUI_PAGE_WELCOME
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "English"

Section "Oasis" SecMain
  SetOutPath "$INSTDIR"
  File "${ROOT}\target\release\oasis.exe"
  File "${ROOT}\target\release\oasis-cli.exe"
  File "${ROOT}\README.md"
  WriteRegStr HKLM "Software\${APPNAME}" "InstallDir" "$INSTDIR"
  CreateDirectory "$SMPROGRAMS\${APPNAME}"
  CreateShortcut "$SMPROGRAMS\${APPNAME}\Oasis.lnk" "$INSTDIR\oasis.exe"
  CreateShortcut "$DESKTOP\Oasis.lnk" "$INSTDIR\oasis.exe"
  WriteUninstaller "$INSTDIR\uninstall.exe"
  WriteRegStr HKLM "Software\Microsoft\Windows\CurrentVersion\Uninstall\${APPNAME}" "DisplayName" "${APPNAME}"
  WriteRegStr HKLM "Software\Microsoft\Windows\CurrentVersion\Uninstall\${APPNAME}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKLM "Software\Microsoft\Windows\CurrentVersion\Uninstall\${APPNAME}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKLM "Software\Microsoft\Windows\CurrentVersion\Uninstall\${APPNAME}" "DisplayIcon" "$INSTDIR\oasis.exe"
SectionEnd

Section "Uninstall"
  Delete "$INSTDIR\oasis.exe"
  Delete "$INSTDIR\oasis-cli.exe"
  Delete "$INSTDIR\README.md"
  Delete "$INSTDIR\uninstall.exe"
  Delete "$SMPROGRAMS\${APPNAME}\Oasis.lnk"
  Delete "$DESKTOP\Oasis.lnk"
  RMDir "$SMPROGRAMS\${APPNAME}"
  RMDir "$INSTDIR"
  DeleteRegKey HKLM "Software\Microsoft\Windows\CurrentVersion\Uninstall\${APPNAME}"
  DeleteRegKey HKLM "Software\${APPNAME}"
SectionEnd
