// The kit runs the daemon's server (a Linux program) and uses socketpair(2): Linux only.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
