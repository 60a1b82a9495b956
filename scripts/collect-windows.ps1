<#
.SYNOPSIS
Writes the vulnloop inventory of this Windows host as JSON: the OS release,
its build and revision (UBR), the installed updates and the servicing stack.

.DESCRIPTION
Runs on Windows PowerShell 5.1 and PowerShell 7, locally or through a
Windows OpenSSH server, and needs no module and no administrator rights.
The output is read by `vulnloop scan --inventory FILE`.

.EXAMPLE
powershell -NoProfile -ExecutionPolicy Bypass -File collect-windows.ps1 > inventory.json

.EXAMPLE
ssh admin@winhost "powershell -NoProfile -ExecutionPolicy Bypass -Command -" < collect-windows.ps1 > inventory.json
#>

$ErrorActionPreference = 'Stop'

$os = Get-CimInstance -ClassName Win32_OperatingSystem
$current = Get-ItemProperty -Path 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion'

# DisplayVersion (20H2 and later) replaced ReleaseId (1507 to 2009).
$displayVersion = $current.DisplayVersion
if (-not $displayVersion) { $displayVersion = $current.ReleaseId }

# The servicing stack is the version of the Windows Modules Installer.
$servicingStack = $null
$trustedInstaller = Join-Path $env:SystemRoot 'servicing\TrustedInstaller.exe'
if (Test-Path -LiteralPath $trustedInstaller) {
    $servicingStack = (Get-Item -LiteralPath $trustedInstaller).VersionInfo.ProductVersion
}

$hotfixes = @(Get-HotFix | ForEach-Object {
    $installedOn = $null
    if ($_.InstalledOn) { $installedOn = $_.InstalledOn.ToString('yyyy-MM-dd') }
    [ordered]@{
        HotFixID    = [string]$_.HotFixID
        Description = [string]$_.Description
        InstalledOn = $installedOn
    }
})

$ubr = $null
if ($null -ne $current.UBR) { $ubr = [int]$current.UBR }

$inventory = [ordered]@{
    format             = 'vulnloop-windows-collector'
    format_version     = 1
    collected_at       = (Get-Date).ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ')
    hostname           = $env:COMPUTERNAME
    caption            = [string]$os.Caption
    edition_id         = [string]$current.EditionID
    display_version    = $displayVersion
    version            = [string]$os.Version
    ubr                = $ubr
    service_pack_major = [int]$os.ServicePackMajorVersion
    os_architecture    = [string]$os.OSArchitecture
    servicing_stack    = $servicingStack
    hotfixes           = $hotfixes
}

# UTF-8 without a byte order mark on both PowerShell versions.
$json = ConvertTo-Json -InputObject $inventory -Depth 4
[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false
[Console]::Out.Write($json)
[Console]::Out.Write("`n")
