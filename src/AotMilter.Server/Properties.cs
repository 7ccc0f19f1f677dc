// The daemon talks to unix sockets, chown and statx: it is a Linux program.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
