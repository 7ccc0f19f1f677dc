// The server under test is a Linux program (unix sockets, chown, statx); so are its tests.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
