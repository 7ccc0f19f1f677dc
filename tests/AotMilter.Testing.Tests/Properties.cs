// The fake milter listens on unix sockets in a temporary directory.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
