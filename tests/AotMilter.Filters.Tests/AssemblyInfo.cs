using System.Runtime.Versioning;

// The server and its unix sockets are Linux only, like the daemon.
[assembly: SupportedOSPlatform("linux")]
